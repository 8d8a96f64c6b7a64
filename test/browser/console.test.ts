/**
 * Issue 23, item 5: the console at /console, in headless Debian Chromium (playwright-core). A
 * merchant signs in through the link `npm start` prints, finds an order, ships it, refunds a line
 * and sees the timeline change; every action is a button drawn from the order's allowedActions. The
 * screenshots are kept in docs/ (the README shows one).
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { tokenFor } from '../../devstack/test-tokens';
import { apiUrl, call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';

const DOCS = path.resolve(__dirname, '..', '..', 'docs');
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(() => browser?.close());

/** A page that records what went wrong in it: script errors and refused resources (CSP). */
async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  return { page, problems };
}

test('a merchant finds an order, ships it, refunds a line and sees the timeline change', async () => {
  const sku = uniqueSku('con');
  await putProduct(sku, { price: 2500, stock: 10, name: 'Console mug' });
  const owner = customer();
  const order = (await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 2 }] } }))
    .body.order;
  expect(
    (await call('POST', `/v1/orders/${order.id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } }))
      .status,
  ).toBe(200);
  await waitForOrder(order.id, owner, (o) => o.status === 'IN_PRODUCTION');

  const { page, problems } = await openPage();
  const reply = await page.goto(`${apiUrl()}/console#token=${tokenFor('merchant', 'console-merchant')}`, {
    waitUntil: 'networkidle',
  });
  // Scripts from this origin only, none inline.
  expect(reply!.headers()['content-security-policy']).toContain("script-src 'self'");
  // The token left the address bar once kept for the tab.
  expect(page.url()).not.toContain('token=');
  await page.getByText('merchant · console-merchant').waitFor();
  await page.locator('.stats').waitFor();

  // `/` jumps to the search; an order id's beginning finds it.
  await page.keyboard.press('/');
  expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('search');
  await page.keyboard.type(order.id.slice(0, 16));
  await page.keyboard.press('Enter');
  await page.getByRole('link', { name: order.id }).waitFor();
  await page.screenshot({ path: path.join(DOCS, 'console-orders.png') });
  await page.getByRole('link', { name: order.id }).click();
  await page.locator('#status-label', { hasText: 'To ship' }).waitFor();
  expect(
    await page.locator('a', { hasText: 'workflow in the Temporal Web UI' }).getAttribute('href'),
  ).toContain(`/workflows/${order.id}`);

  // Ship: the button comes from allowedActions; its form asks for the parcel.
  const buttons = await page
    .locator('.actions button')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
  const shown = (await call('GET', `/v1/orders/${order.id}`, { as: merchant })).body.order.allowedActions;
  expect(buttons).toEqual(shown);
  await page.locator('button[data-action=ship]').click();
  await page.getByLabel('Carrier').fill('UPS');
  await page.getByLabel('Tracking number').fill('1ZCONSOLE');
  await page.locator('form[aria-label=ship] button[type=submit]').click();
  await page.locator('#status-label', { hasText: 'Shipped' }).waitFor();
  await page.locator('#timeline li[data-action=ship]').waitFor();

  // Refund one unit of the line: the timeline and the refunds show it.
  await page.locator('button[data-action=refund]').click();
  await page.getByLabel('Quantity').fill('1');
  await page.getByLabel('Reason').fill('scratched');
  await page.locator('form[aria-label=refund] button[type=submit]').click();
  await page.locator('#timeline li[data-action=refund]').waitFor();
  await page.getByText('scratched').first().waitFor();
  await page.screenshot({ path: path.join(DOCS, 'console-order.png'), fullPage: true });

  const after = (await call('GET', `/v1/orders/${order.id}`, { as: merchant })).body.order;
  expect(after).toMatchObject({ status: 'SHIPPED', amounts: { refunded: 2500 } });
  expect(problems).toEqual([]);
  await page.close();
}, 90_000);

test('a refund whose first try is still running (409, key in use) is asked again under the same key: one refund', async () => {
  const sku = uniqueSku('con');
  await putProduct(sku, { price: 1200, stock: 10, name: 'Console cup' });
  const owner = customer();
  const order = (await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 2 }] } }))
    .body.order;
  await call('POST', `/v1/orders/${order.id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } });
  await waitForOrder(order.id, owner, (o) => o.status === 'IN_PRODUCTION');

  const { page, problems } = await openPage();
  // The first click's answer: the one the API gives while a lost first try still holds the key.
  const keys: string[] = [];
  await page.route('**/refunds', async (route) => {
    keys.push(route.request().headers()['idempotency-key']!);
    if (keys.length > 1) return route.continue();
    await route.fulfill({
      status: 409,
      contentType: 'application/problem+json',
      body: JSON.stringify({
        type: 'about:blank#409',
        title: 'Conflict',
        status: 409,
        detail: 'a request with this Idempotency-Key is still in progress',
        code: 'IDEMPOTENCY_KEY_IN_USE',
      }),
    });
  });
  await page.goto(`${apiUrl()}/console#token=${tokenFor('merchant', 'console-merchant')}`);
  await page.goto(`${apiUrl()}/console#/orders/${order.id}`);
  await page.locator('button[data-action=refund]').click();
  await page.getByLabel('Quantity').fill('1');
  await page.getByLabel('Reason').fill('chipped');
  const submit = page.locator('form[aria-label=refund] button[type=submit]');
  await submit.click();
  await page.getByText('still in progress').waitFor();
  await submit.click();
  await page.locator('#timeline li[data-action=refund]').waitFor();
  expect(keys).toHaveLength(2);
  expect(keys[1]).toBe(keys[0]);
  const after = (await call('GET', `/v1/orders/${order.id}`, { as: merchant })).body.order;
  expect(after.amounts.refunded).toBe(1200);
  expect(problems.filter((p) => !p.includes('409'))).toEqual([]);
  await page.close();
}, 90_000);

test('without a token the console asks for one; a customer’s token shows only its own orders, and no staff figures', async () => {
  const sku = uniqueSku('con');
  await putProduct(sku, { price: 1200, stock: 10 });
  const owner = customer();
  const mine = (await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 1 }] } })).body
    .order;
  const other = (
    await call('POST', '/v1/orders', { as: customer(), body: { items: [{ sku, quantity: 1 }] } })
  ).body.order;
  const { page, problems } = await openPage();
  await page.goto(`${apiUrl()}/console`, { waitUntil: 'networkidle' });
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Bearer token').fill(tokenFor('customer', owner.id));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: mine.id }).waitFor();
  expect(await page.getByRole('link', { name: other.id }).count()).toBe(0);
  expect(await page.locator('.stats').count()).toBe(0);
  // Another customer's order by its address: as the API says, there is no such order.
  await page.goto(`${apiUrl()}/console#/orders/${other.id}`, { waitUntil: 'networkidle' });
  await page.getByText('No such order.').waitFor();
  expect(problems.filter((p) => !p.includes('404'))).toEqual([]);
  await page.close();
}, 60_000);

test('a customer exchanges a unit from the console: the form posts it, the order shows it in its exchanges', async () => {
  const sku = uniqueSku('con');
  const other = uniqueSku('con');
  await putProduct(sku, { price: 1000, stock: 10 });
  await putProduct(other, { price: 1300, stock: 10 });
  const owner = customer();
  const order = (await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 2 }] } }))
    .body.order;
  await call('POST', `/v1/orders/${order.id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } });
  await waitForOrder(order.id, owner, (o) => o.status === 'IN_PRODUCTION');
  await call('POST', `/v1/orders/${order.id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: 'CX' },
  });
  const { page, problems } = await openPage();
  await page.goto(`${apiUrl()}/console#token=${tokenFor('customer', owner.id)}`, {
    waitUntil: 'networkidle',
  });
  await page.goto(`${apiUrl()}/console#/orders/${order.id}`, { waitUntil: 'networkidle' });
  await page.locator('button[data-action=open_exchange]').click();
  const form = page.locator('form[aria-label=open_exchange]');
  await form.locator('input[name=quantity]').fill('1');
  await form.locator('input[name=newSku]').fill(other);
  await form.getByLabel('Reason').fill('a bigger one');
  await form.locator('button[type=submit]').click();
  await page.locator('#timeline li[data-action=open_exchange]').waitFor();
  await page.getByRole('cell', { name: `1 × ${other}` }).waitFor();
  const exchanges = (await call('GET', `/v1/exchanges?orderId=${order.id}`, { as: owner })).body.items;
  expect(exchanges).toEqual([expect.objectContaining({ difference: 300, status: 'REQUESTED' })]);
  expect(problems).toEqual([]);
  await page.close();
}, 60_000);

test('the API reference: the OpenAPI document in Swagger UI, offline, and a call tried with a pasted token', async () => {
  const { page, problems } = await openPage();
  const outside: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(apiUrl())) outside.push(r.url());
  });
  const reply = await page.goto(`${apiUrl()}/docs`, { waitUntil: 'networkidle' });
  expect(reply!.headers()['content-security-policy']).toContain("script-src 'self'");
  await page.getByText('/v1/orders/import').first().waitFor();
  // Authorize with a merchant's token, then try listing the channels.
  await page.getByRole('button', { name: 'Authorize' }).first().click();
  await page.locator('.modal-ux input[type=text]').fill(tokenFor('merchant', 'docs-merchant'));
  await page.locator('.modal-ux button.authorize').click();
  await page.locator('.modal-ux button.btn-done').click();
  const block = page
    .locator('.opblock', { hasText: 'GET/v1/channels' })
    .filter({ hasNotText: '{id}' })
    .first();
  await block.locator('.opblock-summary').click();
  await block.getByRole('button', { name: 'Try it out' }).click();
  await block.getByRole('button', { name: 'Execute' }).click();
  await block.locator('.live-responses-table .response-col_status', { hasText: '200' }).first().waitFor();
  expect(outside).toEqual([]);
  expect(problems).toEqual([]);
  await page.close();
}, 60_000);
