// The console for merchants and support staff: the public API with the caller's own token, nothing
// else. No build step; every element is made with textContent, never from HTML strings.

const TOKEN_KEY = 'order-console-token';
const uiUrl = document.body.dataset.temporalUi || '';
const namespace = document.body.dataset.namespace || 'default';
const main = document.getElementById('main');
const notice = document.getElementById('notice');

/** An element: attributes (`on*` become listeners) and children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat())
    if (child !== undefined && child !== null && child !== false)
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

function say(message, kind = 'ok') {
  notice.replaceChildren(message ? h('div', { class: kind }, message) : '');
}

// ---- The token: from the link `npm start` prints (#token=…), or pasted; kept for this tab only.

function readToken() {
  const match = /^#token=([\w.-]+)$/.exec(location.hash);
  if (match) {
    const held = sessionStorage.getItem(TOKEN_KEY);
    const offered = claimsOf(match[1]);
    // A link must not swap the signed-in person for another without asking.
    const take =
      offered &&
      (!held || held === match[1] || window.confirm(`Sign in as ${offered.role} ${offered.sub} instead?`));
    if (take) sessionStorage.setItem(TOKEN_KEY, match[1]);
    history.replaceState(null, '', `${location.pathname}#/`);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return null;
  }
}

let token = readToken();
let me = token ? claimsOf(token) : null;
const staff = () => me && (me.role === 'merchant' || me.role === 'support');

class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** `key`: the form's Idempotency-Key, the same on every try of one submission (a retried click is the same refund). */
async function api(method, path, body, key) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['idempotency-key'] = key ?? crypto.randomUUID();
  }
  const reply = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await reply.text();
  const json = text ? JSON.parse(text) : null;
  if (reply.status === 401) signOut('Your token was refused: sign in again.');
  if (!reply.ok) throw new ApiError(reply.status, json);
  return json;
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  me = null;
  render();
  if (message) say(message, 'error');
}

// ---- Money and labels, for people.

const digitsCache = new Map();
function money(minor, currency) {
  if (typeof minor !== 'number' || !currency) return '';
  if (!digitsCache.has(currency)) {
    const f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    digitsCache.set(currency, [f, f.resolvedOptions().maximumFractionDigits]);
  }
  const [format, digits] = digitsCache.get(currency);
  return format.format(minor / 10 ** digits);
}
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

let machines = null;
async function machineOf(type) {
  if (!machines) machines = (await api('GET', '/v1/order-types')).items;
  return machines.find((m) => m.type === type);
}
function labelOf(machine, state) {
  const def = machine?.states.find((s) => s.name === state);
  const labels = def?.labels ?? {};
  return labels[me.role] ?? labels.customer ?? state;
}

// ---- Views.

function signInView() {
  const area = h('textarea', { id: 'token', 'aria-label': 'Bearer token', required: true });
  return h(
    'section',
    { class: 'signin' },
    h('h1', { text: 'Sign in' }),
    h('p', { class: 'muted', text: 'Paste a bearer token (npm start prints a console link for each role).' }),
    h(
      'form',
      {
        onsubmit: (e) => {
          e.preventDefault();
          const value = area.value.trim();
          if (!claimsOf(value)) return say('That is not a token.', 'error');
          sessionStorage.setItem(TOKEN_KEY, value);
          token = value;
          me = claimsOf(value);
          say('');
          render();
        },
      },
      area,
      h('p', {}, h('button', { class: 'primary', type: 'submit', text: 'Sign in' })),
    ),
  );
}

async function statsHeader() {
  if (!staff()) return '';
  const from = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const { groups } = await api(
    'GET',
    `/v1/orders/stats?groupBy=status&createdFrom=${encodeURIComponent(from)}`,
  );
  const byStatus = new Map();
  for (const g of groups) byStatus.set(g.key, (byStatus.get(g.key) ?? 0) + g.count);
  const total = [...byStatus.values()].reduce((a, b) => a + b, 0);
  return h(
    'section',
    { class: 'stats', 'aria-label': 'Orders of the last 30 days' },
    h('div', { class: 'stat' }, h('b', { text: total }), 'orders, 30 days'),
    [...byStatus].map(([status, count]) =>
      h('a', { class: 'stat', href: `#/?status=${status}` }, h('b', { text: count }), status),
    ),
  );
}

const FILTERS = ['q', 'status', 'type', 'channel', 'createdFrom', 'createdTo', 'sort'];

async function listView(params) {
  const query = new URLSearchParams();
  for (const key of FILTERS) if (params.get(key)) query.set(key, params.get(key));
  if (params.get('cursor')) query.set('cursor', params.get('cursor'));
  query.set('limit', '25');
  const toIso = (v) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T00:00:00Z`).toISOString() : v);
  for (const key of ['createdFrom', 'createdTo']) if (query.get(key)) query.set(key, toIso(query.get(key)));
  const [stats, page] = await Promise.all([statsHeader(), api('GET', `/v1/orders?${query}`)]);
  const field = (name, label, input) => h('label', {}, label, input);
  const value = (name) => params.get(name) ?? '';
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        const next = new URLSearchParams();
        for (const [k, v] of new FormData(e.target)) if (v) next.set(k, String(v));
        location.hash = `#/?${next}`;
      },
    },
    field(
      'q',
      'Search (order id, customer, tracking)',
      h('input', { name: 'q', id: 'search', value: value('q'), size: 28 }),
    ),
    field(
      'status',
      'Status',
      h('input', { name: 'status', value: value('status'), size: 14, placeholder: 'IN_PRODUCTION' }),
    ),
    field(
      'type',
      'Type',
      h(
        'select',
        { name: 'type' },
        ['', 'standard', 'virtual', 'presale', 'external'].map((t) =>
          h('option', { value: t, selected: value('type') === t, text: t || 'any' }),
        ),
      ),
    ),
    field('channel', 'Channel', h('input', { name: 'channel', value: value('channel'), size: 10 })),
    field(
      'createdFrom',
      'From',
      h('input', { name: 'createdFrom', type: 'date', value: value('createdFrom') }),
    ),
    field('createdTo', 'Before', h('input', { name: 'createdTo', type: 'date', value: value('createdTo') })),
    field(
      'sort',
      'Sort',
      h(
        'select',
        { name: 'sort' },
        [
          ['-createdAt', 'newest first'],
          ['createdAt', 'oldest first'],
        ].map(([v, t]) => h('option', { value: v, selected: value('sort') === v, text: t })),
      ),
    ),
    h('button', { class: 'primary', type: 'submit', text: 'Find' }),
  );
  const rows = await Promise.all(
    page.items.map(async (o) =>
      h(
        'tr',
        {},
        h('td', {}, h('a', { href: `#/orders/${o.id}`, text: o.id })),
        h('td', { text: o.type }),
        h('td', { text: o.channel }),
        h('td', { text: o.customerId }),
        h(
          'td',
          {},
          h('span', { class: 'badge', text: o.statusLabel }),
          ' ',
          h('span', { class: 'muted', text: o.status }),
        ),
        h('td', { text: o.paymentStatus }),
        h('td', { class: 'num', text: money(o.amounts.total, o.currency) }),
        h('td', { text: when(o.createdAt) }),
      ),
    ),
  );
  const more = page.nextCursor
    ? h('p', {}, h('a', { href: `#/?${withParam(params, 'cursor', page.nextCursor)}`, text: 'Next page →' }))
    : '';
  return h(
    'section',
    {},
    stats,
    h('h1', { text: 'Orders' }),
    form,
    page.items.length
      ? h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Order', 'Type', 'Channel', 'Customer', 'Status', 'Payment', 'Total', 'Created'].map((t) =>
                h('th', { class: t === 'Total' ? 'num' : undefined, text: t }),
              ),
            ),
          ),
          h('tbody', {}, rows),
        )
      : h('p', { class: 'muted', text: 'No orders match.' }),
    more,
  );
}

function withParam(params, key, value) {
  const next = new URLSearchParams(params);
  next.set(key, value);
  return next;
}

function table(headers, rows) {
  if (rows.length === 0) return h('p', { class: 'muted', text: 'None.' });
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map(([t, num]) => h('th', { class: num ? 'num' : undefined, text: t })),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((cells) =>
        h(
          'tr',
          {},
          cells.map(([v, num]) => h('td', { class: num ? 'num' : undefined }, v)),
        ),
      ),
    ),
  );
}

/** The form an action needs, or none; submitting it calls the API and shows the order again. */
function actionForm(order, action, done) {
  const reason = () => h('label', {}, 'Reason', h('input', { name: 'reason', required: true, size: 24 }));
  const lineSelect = () =>
    h(
      'label',
      {},
      'Line',
      h(
        'select',
        { name: 'sku' },
        order.items.map((i) =>
          h('option', {
            value: i.sku,
            text: `${i.sku} · ${i.name} (${i.quantity - i.refundedQuantity} left)`,
          }),
        ),
      ),
    );
  const quantity = () =>
    h(
      'label',
      {},
      'Quantity',
      h('input', { name: 'quantity', type: 'number', min: 1, value: 1, required: true, size: 4 }),
    );
  // Some units of one line and why, posted to the order's `path` (a refund, a return, a claim).
  const unitsForm = (path, extra = () => [], extraBody = () => ({})) => ({
    fields: () => [lineSelect(), quantity(), ...extra(), reason()],
    send: (f, key) =>
      api(
        'POST',
        `/v1/orders/${order.id}/${path}`,
        {
          items: [{ sku: f.get('sku'), quantity: Number(f.get('quantity')) }],
          ...extraBody(f),
          reason: f.get('reason'),
        },
        key,
      ),
  });
  const choice = (name, label, values) =>
    h(
      'label',
      {},
      label,
      h(
        'select',
        { name },
        values.map((v) => h('option', { value: v, text: v })),
      ),
    );
  const forms = {
    ship: {
      fields: () => [
        h('label', {}, 'Carrier', h('input', { name: 'carrier', required: true, size: 12 })),
        h('label', {}, 'Tracking number', h('input', { name: 'trackingNumber', required: true, size: 16 })),
      ],
      send: (f, key) =>
        api(
          'POST',
          `/v1/orders/${order.id}/ship`,
          {
            carrier: f.get('carrier'),
            trackingNumber: f.get('trackingNumber'),
          },
          key,
        ),
    },
    ship_part: {
      fields: () => [
        h('label', {}, 'Carrier', h('input', { name: 'carrier', required: true, size: 12 })),
        h('label', {}, 'Tracking number', h('input', { name: 'trackingNumber', required: true, size: 16 })),
        lineSelect(),
        quantity(),
      ],
      send: (f, key) =>
        api(
          'POST',
          `/v1/orders/${order.id}/ship`,
          {
            carrier: f.get('carrier'),
            trackingNumber: f.get('trackingNumber'),
            items: [{ sku: f.get('sku'), quantity: Number(f.get('quantity')) }],
          },
          key,
        ),
    },
    refund: unitsForm('refunds'),
    refund_all: {
      fields: () => [reason()],
      send: (f, key) => api('POST', `/v1/orders/${order.id}/refunds`, { reason: f.get('reason') }, key),
    },
    cancel: {
      fields: () => [reason()],
      send: (f, key) => api('POST', `/v1/orders/${order.id}/cancel`, { reason: f.get('reason') }, key),
    },
    reject: {
      fields: () => [reason()],
      send: (f, key) => api('POST', `/v1/orders/${order.id}/reject`, { reason: f.get('reason') }, key),
    },
    approve: { fields: () => [], send: (_f, key) => api('POST', `/v1/orders/${order.id}/approve`, {}, key) },
    confirm: { fields: () => [], send: (_f, key) => api('POST', `/v1/orders/${order.id}/confirm`, {}, key) },
    pay: {
      fields: () => [
        h('label', {}, 'Payment token', h('input', { name: 'paymentToken', required: true, size: 16 })),
      ],
      send: (f, key) =>
        api('POST', `/v1/orders/${order.id}/pay`, { paymentToken: f.get('paymentToken') }, key),
    },
    open_claim: unitsForm(
      'claims',
      () => [
        choice('kind', 'What happened', ['damaged', 'missing', 'wrong_item']),
        choice('resolution', 'Wanted', ['refund', 'replace']),
      ],
      (f) => ({ kind: f.get('kind'), resolution: f.get('resolution') }),
    ),
    request_return: unitsForm('returns'),
    // Some units of one line sent back for units of another product.
    open_exchange: {
      fields: () => [
        lineSelect(),
        quantity(),
        h('label', {}, 'For SKU', h('input', { name: 'newSku', required: true, size: 14 })),
        h(
          'label',
          {},
          'Quantity',
          h('input', { name: 'newQuantity', type: 'number', min: 1, value: 1, required: true, size: 4 }),
        ),
        reason(),
      ],
      send: (f, key) =>
        api(
          'POST',
          `/v1/orders/${order.id}/exchanges`,
          {
            returnItems: [{ sku: f.get('sku'), quantity: Number(f.get('quantity')) }],
            newItems: [{ sku: f.get('newSku'), quantity: Number(f.get('newQuantity')) }],
            reason: f.get('reason'),
          },
          key,
        ),
    },
  };
  const spec = forms[action];
  if (!spec) return null;
  // One key for this form: trying again after an outage or a lost answer repeats the same request;
  // after a clear refusal (a 4xx), the next try is a new one.
  let key = crypto.randomUUID();
  const form = h(
    'form',
    {
      class: 'action-form',
      'aria-label': action,
      onsubmit: async (e) => {
        e.preventDefault();
        const button = form.querySelector('button[type=submit]');
        button.disabled = true;
        try {
          await spec.send(new FormData(form), key);
          say(`${action.replace('_', ' ')}: done.`);
          await done();
        } catch (err) {
          // A key whose first try still runs is no refusal: the same key asks again (never a second refund).
          const inUse = err instanceof ApiError && err.body?.code === 'IDEMPOTENCY_KEY_IN_USE';
          if (err instanceof ApiError && err.status < 500 && !inUse) key = crypto.randomUUID();
          say(err.message, 'error');
          button.disabled = false;
        }
      },
    },
    spec.fields(),
    h('button', { class: 'primary', type: 'submit', text: action.replace('_', ' ') }),
  );
  return form;
}

async function orderView(id) {
  const [{ order }, refunds, returns, claims, exchanges] = await Promise.all([
    api('GET', `/v1/orders/${encodeURIComponent(id)}`),
    api('GET', `/v1/refunds?orderId=${encodeURIComponent(id)}&limit=100`),
    api('GET', `/v1/returns?orderId=${encodeURIComponent(id)}&limit=100`),
    api('GET', `/v1/claims?orderId=${encodeURIComponent(id)}&limit=100`),
    api('GET', `/v1/exchanges?orderId=${encodeURIComponent(id)}&limit=100`),
  ]);
  const machine = await machineOf(order.type);
  const m = (v) => money(v, order.currency);
  const slot = h('div');
  const again = () => route();
  const actions = h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': 'Actions' },
    order.allowedActions.map((action) => {
      const form = actionForm(order, action, again);
      return h('button', {
        type: 'button',
        'data-action': action,
        disabled: !form,
        title: form ? undefined : 'not available in the console: use the API',
        text: action.replace('_', ' '),
        onclick: () => {
          slot.replaceChildren(form);
          form.querySelector('input, select, button')?.focus();
        },
      });
    }),
  );
  const a = order.amounts;
  return h(
    'section',
    {},
    h('p', {}, h('a', { href: '#/', text: '← Orders' })),
    h(
      'h1',
      {},
      `Order ${order.id} `,
      h('span', { class: 'badge', id: 'status-label', text: order.statusLabel }),
    ),
    h(
      'p',
      { class: 'muted' },
      `${order.type} · channel ${order.channel} · customer ${order.customerId} · placed ${when(order.createdAt)} · `,
      h('span', { id: 'status', text: order.status }),
      uiUrl
        ? [
            ' · ',
            h('a', {
              href: `${uiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(order.id)}`,
              target: '_blank',
              rel: 'noopener',
              text: 'workflow in the Temporal Web UI',
            }),
          ]
        : '',
    ),
    order.allowedActions.length
      ? actions
      : h('p', { class: 'muted', text: 'Nothing you can do to this order now.' }),
    slot,
    h(
      'div',
      { class: 'grid' },
      [
        ['Subtotal', a.subtotal],
        ['Discount', a.discount],
        ['Shipping', a.shipping],
        ['Total', a.total],
        ['Paid', a.paid],
        ['Refunded', a.refunded],
      ].map(([label, value]) =>
        h('div', { class: 'card' }, h('div', { class: 'muted', text: label }), h('b', { text: m(value) })),
      ),
    ),
    h('h2', { text: 'Lines' }),
    table(
      [
        ['SKU'],
        ['Name'],
        ['Qty', 1],
        ['Unit price', 1],
        ['Discount', 1],
        ['Total', 1],
        ['Refunded', 1],
        ['Exchanged', 1],
      ],
      order.items.map((i) => [
        [i.sku],
        [i.name],
        [i.quantity, 1],
        [m(i.unitPrice), 1],
        [m(i.discount), 1],
        [m(i.total), 1],
        [i.refundedQuantity, 1],
        [i.exchangedQuantity ?? 0, 1],
      ]),
    ),
    h('h2', { text: 'Timeline' }),
    h(
      'ol',
      { class: 'timeline', id: 'timeline' },
      order.history.map((e) =>
        h(
          'li',
          { 'data-action': e.action },
          h('span', { class: 'muted', text: when(e.at) }),
          ' · ',
          h('b', { text: e.action.replace(/_/g, ' ') }),
          ` → ${labelOf(machine, e.to)} `,
          h('span', { class: 'muted', text: `(${e.to}) by ${e.actor}${e.reason ? `: ${e.reason}` : ''}` }),
        ),
      ),
    ),
    h('h2', { text: 'Payments' }),
    table(
      [['Payment'], ['Method'], ['Status'], ['Amount', 1], ['Refunded', 1]],
      order.payments.map((p) => [[p.id], [p.method ?? ''], [p.status], [m(p.amount), 1], [m(p.refunded), 1]]),
    ),
    h('h2', { text: 'Shipments' }),
    table(
      [['Parcel'], ['From'], ['Carrier'], ['Tracking'], ['Status'], ['Units', 1]],
      order.shipments.map((s) => [
        [s.id],
        [s.location ?? 'by hand'],
        [s.carrier],
        [s.trackingNumber],
        [s.status],
        [s.items.reduce((n, i) => n + i.quantity, 0), 1],
      ]),
    ),
    h('h2', { text: 'Refunds' }),
    table(
      [['Refund'], ['Source'], ['Reason'], ['When'], ['Amount', 1]],
      refunds.items.map((r) => [
        [r.id],
        [r.owedBy ? `${r.source}, owed by ${r.owedBy}` : r.source],
        [r.reason ?? ''],
        [when(r.createdAt)],
        [m(r.amount), 1],
      ]),
    ),
    h('h2', { text: 'Returns' }),
    table(
      [['Return'], ['Status'], ['Reason'], ['Units', 1], ['Refunded', 1]],
      returns.items.map((r) => [
        [r.id],
        [r.statusLabel],
        [r.reasonCode ?? r.reason ?? ''],
        [r.items.reduce((n, i) => n + i.quantity, 0), 1],
        [r.refundedAmount === null ? '' : m(r.refundedAmount), 1],
      ]),
    ),
    h('h2', { text: 'Claims' }),
    table(
      [['Claim'], ['Status'], ['What happened'], ['Settled by'], ['Units', 1], ['Refunded', 1]],
      claims.items.map((c) => [
        [c.id],
        [c.statusLabel],
        [c.kind],
        [c.shipment ? `${c.resolution}: ${c.shipment.carrier} ${c.shipment.trackingNumber}` : c.resolution],
        [c.items.reduce((n, i) => n + i.quantity, 0), 1],
        [c.refundedAmount === null ? '' : m(c.refundedAmount), 1],
      ]),
    ),
    h('h2', { text: 'Exchanges' }),
    table(
      [['Exchange'], ['Status'], ['Back'], ['For'], ['Difference', 1], ['Payment'], ['Refunded', 1]],
      exchanges.items.map((x) => [
        [x.id],
        [x.statusLabel],
        [x.returnItems.map((i) => `${i.quantity} × ${i.sku}`).join(', ')],
        [x.newItems.map((i) => `${i.quantity} × ${i.sku}`).join(', ')],
        [m(x.difference), 1],
        [x.payment ? x.payment.status : ''],
        [x.refundedAmount === null ? '' : m(x.refundedAmount), 1],
      ]),
    ),
  );
}

// ---- Routing: #/?filters and #/orders/<id>.

async function route() {
  const hash = location.hash || '#/';
  const [path, search] = hash.slice(1).split('?');
  try {
    const view = path.startsWith('/orders/')
      ? await orderView(decodeURIComponent(path.slice('/orders/'.length)))
      : await listView(new URLSearchParams(search ?? ''));
    main.replaceChildren(view);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404)
      main.replaceChildren(h('p', { text: 'No such order.' }));
    else if (token) say(err.message, 'error');
  }
}

function render() {
  const who = document.getElementById('who');
  const out = document.getElementById('sign-out');
  if (!token || !me) {
    who.textContent = '';
    out.hidden = true;
    main.replaceChildren(signInView());
    return;
  }
  who.textContent = `${me.role}${me.channel ? ` of ${me.channel}` : ''} · ${me.sub}`;
  out.hidden = false;
  route();
}

document.getElementById('sign-out').addEventListener('click', () => signOut());
window.addEventListener('hashchange', () => {
  const now = readToken();
  if (now !== token) {
    token = now;
    me = token ? claimsOf(token) : null;
  }
  say('');
  render();
});
// `/` jumps to the search box, as in most consoles.
document.addEventListener('keydown', (e) => {
  const typing = e.target instanceof HTMLElement && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
  if (e.key === '/' && !typing) {
    const search = document.getElementById('search');
    if (search) {
      e.preventDefault();
      search.focus();
    }
  }
});
render();
