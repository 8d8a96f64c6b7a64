/**
 * Webhook subscriptions and their deliveries, as the order center keeps them. A subscription's
 * secret signs what it is sent and is never shown again. Deliveries are written with their events
 * (services/events/outbox.ts); the dispatcher (worker/webhook-dispatcher.ts) claims the due ones,
 * one order's in sequence, and records each attempt here.
 */
import type { Knex } from 'knex';
import { instantKeySql, keysetPage, pageResult, type PageQuery } from '../paging';

/**
 * A delivery sent again (redelivered, or its subscription made fresh) has a new retry window that
 * opens at its next attempt, not at the request: it may wait behind its order's earlier events for
 * as long as they take. Stored as `retry_from = 'infinity'` (no migration). A worker from before
 * this, on PostgreSQL 17, reads it as a window that never closes: it retries such a delivery at the
 * base backoff rather than failing it, until a worker of this version claims it (on PostgreSQL 16
 * and older its failure's update errs, and the delivery waits for such a worker).
 */
const NOT_YET = 'infinity';

/** Seals a secret for storage and opens it again (codec/secret-box.ts implements it). */
export interface SecretBox {
  seal(plain: string): string;
  open(stored: string): string;
}

export interface WebhookInput {
  url: string;
  events: string[];
  secret: string;
  active: boolean;
}

interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

const webhookView = (row: WebhookRow) => ({
  id: row.id,
  url: row.url,
  events: row.events,
  active: row.active,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
});

/** Creates or replaces a subscription; its secret is stored sealed (codec/secret-box.ts). */
export async function putWebhook(db: Knex, id: string, input: WebhookInput, box: SecretBox) {
  const stored = { ...input, secret: box.seal(input.secret) };
  return db.transaction(async (trx) => {
    // No key update: orders writing deliveries for it (a key-share lock) go on meanwhile.
    const before = await trx('webhooks').where({ id }).forNoKeyUpdate().first('url', 'active');
    // A new address, or a subscription made active again, is tried at once: the backoff earned by
    // the old address (up to WEBHOOK_BACKOFF_MAX) is not carried over, and the deliveries still
    // pending get a new retry window (a day stopped is not a day of failures), as a redelivery
    // does: an attempt still on the wire to the old address settles nothing.
    const fresh =
      before !== undefined && (before.url !== input.url || (input.active === true && !before.active));
    const [row] = await trx('webhooks')
      .insert({ id, ...stored })
      .onConflict('id')
      .merge({
        ...stored,
        updated_at: trx.fn.now(),
        ...(fresh ? { consecutive_failures: 0, retry_after: null } : {}),
      })
      .returning(['*', trx.raw('(xmax = 0) AS created')]);
    // Locked in each order's sequence, as settling locks a delivery and then the next one: two
    // updates of the same rows in opposite orders would deadlock.
    if (fresh)
      await trx.raw(
        `UPDATE webhook_deliveries d SET retry_from = ?, locked_until = NULL
           FROM (SELECT webhook_id, event_id FROM webhook_deliveries
                  WHERE webhook_id = ? AND status = 'pending'
                  ORDER BY order_id, seq FOR UPDATE) o
          WHERE d.webhook_id = o.webhook_id AND d.event_id = o.event_id`,
        [NOT_YET, id],
      );
    return { webhook: webhookView(row), created: row.created === true };
  });
}

export async function getWebhook(db: Knex, id: string) {
  const row = await db('webhooks').where({ id }).first();
  return row ? webhookView(row) : null;
}

/** A page of the subscriptions, by id. */
export async function listWebhooks(db: Knex, page: PageQuery) {
  const rows = await keysetPage(db('webhooks'), ['id'], 'asc', page);
  return pageResult(rows, page, 'webhooks', (row) => [row.id], webhookView);
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

interface DeliveryRow {
  event_id: string;
  type: string;
  order_id: string;
  seq: number;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
  delivered_at: Date | null;
  created_at: Date;
  /** The creation instant to the microsecond: the page's key. */
  created_key: string;
}

const deliveryView = (row: DeliveryRow) => ({
  eventId: row.event_id,
  type: row.type,
  orderId: row.order_id,
  sequence: row.seq,
  status: row.status,
  attempts: row.attempts,
  lastError: row.last_error,
  // null while it waits for its order's earlier event to this subscriber (not yet due).
  nextAttemptAt:
    row.status === 'pending' && Number.isFinite(new Date(row.next_attempt_at).getTime())
      ? new Date(row.next_attempt_at).toISOString()
      : null,
  deliveredAt: row.delivered_at ? new Date(row.delivered_at).toISOString() : null,
  createdAt: new Date(row.created_at).toISOString(),
});

const deliveries = (db: Knex) =>
  db('webhook_deliveries as d')
    .join('order_events as e', 'e.id', 'd.event_id')
    .select(
      'd.event_id',
      'e.type',
      'd.order_id',
      'd.seq',
      'd.status',
      'd.attempts',
      'd.last_error',
      'd.next_attempt_at',
      'd.delivered_at',
      'd.created_at',
      db.raw(`${instantKeySql('d.created_at')} AS created_key`),
    );

/**
 * A page of a subscription's deliveries, newest first (an order's events of one instant, latest
 * first), optionally of one status or one order.
 */
export async function deliveriesOf(
  db: Knex,
  webhookId: string,
  query: PageQuery & { status?: DeliveryStatus; orderId?: string },
) {
  const q = deliveries(db)
    .where('d.webhook_id', webhookId)
    .modify((q) => {
      if (query.status) q.andWhere('d.status', query.status);
      if (query.orderId) q.andWhere('d.order_id', query.orderId);
    });
  const rows: DeliveryRow[] = await keysetPage(q, ['d.created_at', 'd.order_id', 'd.seq'], 'desc', query, [
    '::timestamptz',
  ]);
  return pageResult(
    rows,
    query,
    'deliveries',
    (row) => [row.created_key, row.order_id, row.seq],
    deliveryView,
  );
}

/** Sent again as soon as the dispatcher can, with a new retry window; null when there is no such delivery. */
export async function redeliver(db: Knex, webhookId: string, eventId: string) {
  // One transaction: the row stays locked until it is read back, so the answer shows what this
  // request set (pending), not a dispatcher's delivery made in between.
  return db.transaction(async (trx) => {
    const updated = await trx('webhook_deliveries')
      .where({ webhook_id: webhookId, event_id: eventId })
      .update({
        status: 'pending',
        next_attempt_at: trx.fn.now(),
        retry_from: NOT_YET,
        locked_until: null,
        delivered_at: null,
      })
      .returning('event_id');
    if (updated.length === 0) return null;
    const [row] = await deliveries(trx).where({ 'd.webhook_id': webhookId, 'd.event_id': eventId });
    return deliveryView(row as DeliveryRow);
  });
}

/** A claimed delivery: the event to send, where, signed with what. */
export interface ClaimedDelivery {
  webhookId: string;
  url: string;
  /** null: sealed with a key this process does not have (a key added to the API before the worker). */
  secret: string | null;
  attempts: number;
  event: {
    id: string;
    type: string;
    order_id: string;
    seq: number;
    occurred_at: Date;
    data: Record<string, unknown>;
  };
}

/** What every dispatcher's claim takes first (`claimDue`): a number of its own among advisory locks. */
const CLAIM_LOCK = 0x77686b63; // 'whkc'

/**
 * Claims up to `limit` due deliveries for `leaseMs`: of active subscriptions that are not backing
 * off, not `busy` ones, and per subscription and order only the earliest still pending, so one
 * order's events never overtake each other. A subscription has no more than `perSubscriber`
 * deliveries in flight, counted over every dispatcher (their leases), and one (a probe) while it
 * is failing. One claim at a time across dispatchers: each sees the leases the one before took, so
 * no delivery is claimed twice and no share is exceeded by two claims at once.
 *
 * Read per subscription, through its own due deliveries only (`webhook_deliveries_claim`), at most
 * its share: a subscriber backing off costs nothing however large its backlog, and deliveries
 * waiting behind their order's earlier ones are not due (FAN_OUT_SQL), so they are not read either.
 */
export async function claimDue(
  db: Knex,
  options: { limit: number; leaseMs: number; busy: string[]; perSubscriber: number; box: SecretBox },
): Promise<ClaimedDelivery[]> {
  const rows: Record<string, unknown>[] = await db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [CLAIM_LOCK]);
    const claimed = await trx.raw(
      `WITH picked AS (
         SELECT d.webhook_id, d.event_id, d.next_attempt_at
           FROM webhooks w
           CROSS JOIN LATERAL (
             SELECT d.webhook_id, d.event_id, d.next_attempt_at FROM webhook_deliveries d
              WHERE d.webhook_id = w.id AND d.status = 'pending'
                AND d.next_attempt_at <= statement_timestamp()
                AND (d.locked_until IS NULL OR d.locked_until < statement_timestamp())
                -- Still checked: a delivery sent again, or written before waiting ones were, can
                -- be due behind an earlier one.
                AND NOT EXISTS (
                  SELECT 1 FROM webhook_deliveries p
                   WHERE p.webhook_id = d.webhook_id AND p.order_id = d.order_id
                     AND p.status = 'pending' AND p.seq < d.seq)
              ORDER BY d.next_attempt_at
              LIMIT greatest(0, CASE WHEN w.consecutive_failures > 0 THEN 1 ELSE ? END
                     - (SELECT count(*) FROM webhook_deliveries f
                         WHERE f.webhook_id = w.id AND f.status = 'pending'
                           AND f.locked_until >= statement_timestamp()))
           ) d
          WHERE w.active AND (w.retry_after IS NULL OR w.retry_after <= statement_timestamp())
            AND NOT (w.id = ANY (?))
          ORDER BY d.next_attempt_at
          LIMIT ?
       ), due AS (
         -- Only what is claimed is locked, and rechecked on the row as it is when locked: an
         -- attempt whose lease ran out may have finished it since this statement began.
         SELECT d.webhook_id, d.event_id FROM webhook_deliveries d
           JOIN picked p ON p.webhook_id = d.webhook_id AND p.event_id = d.event_id
          WHERE d.status = 'pending' AND d.next_attempt_at <= statement_timestamp()
            AND (d.locked_until IS NULL OR d.locked_until < statement_timestamp())
          FOR UPDATE OF d SKIP LOCKED
       )
       UPDATE webhook_deliveries d
          SET locked_until = statement_timestamp() + ? * interval '1 millisecond', attempts = d.attempts + 1,
              -- The window opens at the first attempt, not when the event was written: one that
              -- waited (behind its order's earlier events, or a stopped subscription) still gets its
              -- retries; so does one sent again (NOT_YET), at its first attempt since.
              retry_from = CASE WHEN d.attempts = 0 OR d.retry_from = 'infinity' THEN statement_timestamp()
                                ELSE d.retry_from END
         FROM due, order_events e, webhooks w
        WHERE d.webhook_id = due.webhook_id AND d.event_id = due.event_id
          AND e.id = d.event_id AND w.id = d.webhook_id
       RETURNING d.webhook_id, d.attempts, w.url, w.secret,
                 e.id, e.type, e.order_id, e.seq, e.occurred_at, e.data`,
      [options.perSubscriber, options.busy, options.limit, options.leaseMs],
    );
    return claimed.rows;
  });
  return rows.map((r) => ({
    webhookId: r.webhook_id as string,
    url: r.url as string,
    secret: openedOrNull(options.box, r.secret as string),
    attempts: r.attempts as number,
    event: {
      id: r.id as string,
      type: r.type as string,
      order_id: r.order_id as string,
      seq: r.seq as number,
      occurred_at: r.occurred_at as Date,
      data: r.data as Record<string, unknown>,
    },
  }));
}

/** A secret this process cannot open (sealed with a key it lacks) fails its delivery alone, not the batch. */
function openedOrNull(box: SecretBox, sealed: string): string | null {
  try {
    return box.open(sealed);
  } catch {
    return null;
  }
}

/**
 * An attempt still holding its claim: the row pending, claimed `attempt` times, and not asked to
 * go again since (a redelivery drops the lease; a later claim counts one more). Its outcome is the
 * row's; any other attempt's is not: a redelivery asked for while it was on the wire stands.
 */
const heldBy = (db: Knex, webhookId: string, eventId: string, attempt: number) =>
  db('webhook_deliveries')
    .where({ webhook_id: webhookId, event_id: eventId, status: 'pending', attempts: attempt })
    .whereNotNull('locked_until');

export async function markDelivered(
  db: Knex,
  webhookId: string,
  eventId: string,
  attempt: number,
): Promise<void> {
  const settled = await db.transaction(async (trx) => {
    await lockOrderOf(trx, webhookId, eventId);
    const rows: { order_id: string }[] = await heldBy(trx, webhookId, eventId, attempt)
      .update({ status: 'delivered', delivered_at: trx.fn.now(), locked_until: null, last_error: null })
      .returning('order_id');
    if (rows.length > 0) await promoteNext(trx, webhookId, rows[0]!.order_id);
    return rows.length > 0;
  });
  // An attempt that no longer holds the row settles nothing, the subscriber's backoff neither (it
  // may be an old address's answer). Otherwise it answers again: its deliveries go at full speed.
  if (!settled) return;
  await db('webhooks')
    .where({ id: webhookId })
    .andWhere('consecutive_failures', '>', 0)
    .update({ consecutive_failures: 0, retry_after: null });
}

/**
 * Settling one of an order's deliveries to a subscription waits for another settling of that
 * order's (an attempt and a redelivered earlier event's, at once): each would see the other still
 * pending and make nothing due. One at a time, the second sees the first settled.
 */
async function lockOrderOf(trx: Knex.Transaction, webhookId: string, eventId: string) {
  await trx.raw(
    `SELECT pg_advisory_xact_lock(hashtextextended(d.webhook_id || ' ' || d.order_id, 0))
       FROM webhook_deliveries d WHERE d.webhook_id = ? AND d.event_id = ?`,
    [webhookId, eventId],
  );
}

/**
 * The order's next delivery to a subscription, waiting behind one just settled, made due: in its
 * place among the subscription's due deliveries (when it was written), not behind those due now.
 * A statement of its own, after the settling one in its transaction: it sees a waiting delivery
 * whose writer held the settled row in share mode until it committed (FAN_OUT_SQL).
 */
async function promoteNext(trx: Knex.Transaction, webhookId: string, orderId: string) {
  await trx.raw(
    `UPDATE webhook_deliveries SET next_attempt_at = least(created_at, statement_timestamp())
      WHERE webhook_id = ? AND order_id = ? AND status = 'pending' AND next_attempt_at = 'infinity'
        AND seq = (SELECT min(seq) FROM webhook_deliveries
                    WHERE webhook_id = ? AND order_id = ? AND status = 'pending')`,
    [webhookId, orderId, webhookId, orderId],
  );
}

/**
 * Makes due the waiting deliveries with nothing of their order pending before them, among the
 * next `limit` pending deliveries after `after` (by subscription, order and sequence); returns
 * where to go on from, null at the end. Settling promotes at once (`promoteNext`); this sweep, run
 * now and then by every dispatcher, is for deliveries whose earlier one was settled by a worker
 * from before waiting deliveries (a rolling deploy). Bounded: it reads `limit` rows a call.
 */
export async function promoteStranded(
  db: Knex,
  after: StrandedCursor | null,
  limit: number,
): Promise<{ next: StrandedCursor | null; promoted: number }> {
  const from = after ?? { webhookId: '', orderId: '', seq: -1 };
  const result = await db.raw(
    `WITH chunk AS (
       SELECT webhook_id, order_id, seq, next_attempt_at FROM webhook_deliveries
        WHERE status = 'pending' AND (webhook_id, order_id, seq) > (?, ?, ?)
        ORDER BY webhook_id, order_id, seq
        LIMIT ?
     ), promoted AS (
       UPDATE webhook_deliveries d SET next_attempt_at = least(d.created_at, statement_timestamp())
         FROM chunk c
        WHERE c.next_attempt_at = 'infinity'
          AND d.webhook_id = c.webhook_id AND d.order_id = c.order_id AND d.seq = c.seq
          AND d.status = 'pending' AND d.next_attempt_at = 'infinity'
          AND NOT EXISTS (
            SELECT 1 FROM webhook_deliveries p
             WHERE p.webhook_id = d.webhook_id AND p.order_id = d.order_id
               AND p.status = 'pending' AND p.seq < d.seq)
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM promoted)::int AS promoted, last.webhook_id, last.order_id, last.seq, last.n
       FROM (SELECT c.*, count(*) OVER ()::int AS n FROM chunk c
              ORDER BY c.webhook_id DESC, c.order_id DESC, c.seq DESC LIMIT 1) last
      RIGHT JOIN (SELECT 1) one ON true`,
    [from.webhookId, from.orderId, from.seq, limit],
  );
  const row = result.rows[0] as {
    promoted: number;
    webhook_id: string | null;
    order_id: string;
    seq: number;
    n: number;
  };
  const next =
    row.webhook_id !== null && row.n >= limit
      ? { webhookId: row.webhook_id, orderId: row.order_id, seq: row.seq }
      : null;
  return { next, promoted: row.promoted };
}

export interface StrandedCursor {
  webhookId: string;
  orderId: string;
  seq: number;
}

/**
 * An attempt that failed: tried again after as long as its retry window has lasted (at least
 * `baseMs`, at most `maxMs`: base, base, 2×base, 4×base..., doubling; times `spread`, about 1, so
 * retries of many deliveries spread out), or, past its window (`forMs` from the row's
 * `retry_from`), marked failed. Both read the window from the row as it is now, on the database's
 * clock: a redelivery or a subscription made fresh opened a new one. The subscriber as a whole
 * waits too (doubling with its consecutive failures, up to the max) before any of its deliveries
 * is tried again, unless `subscribers` is false (the failure was this worker's, not the subscriber's).
 */
export async function markAttemptFailed(
  db: Knex,
  webhookId: string,
  eventId: string,
  /** The claim's count of attempts: a later claim of the row (this one's lease ran out) is left alone. */
  attempt: number,
  error: string,
  retry: { baseMs: number; maxMs: number; forMs: number; spread: number },
  subscribers: boolean,
): Promise<void> {
  const settled = await db.transaction(async (trx) => {
    await lockOrderOf(trx, webhookId, eventId);
    const rows: { order_id: string; status: DeliveryStatus }[] = await heldBy(
      trx,
      webhookId,
      eventId,
      attempt,
    )
      .update({
        last_error: error,
        locked_until: null,
        next_attempt_at: trx.raw(
          `statement_timestamp() + least(?::float8, greatest(?::float8,
             extract(epoch FROM statement_timestamp() - retry_from) * 1000)) * ?::float8 * interval '1 millisecond'`,
          [retry.maxMs, retry.baseMs, retry.spread],
        ),
        status: trx.raw(
          `CASE WHEN statement_timestamp() < retry_from + ? * interval '1 millisecond' THEN status ELSE 'failed' END`,
          [retry.forMs],
        ),
      })
      .returning(['order_id', 'status']);
    // Failed for good: the order's next event to this subscriber goes on.
    if (rows[0]?.status === 'failed') await promoteNext(trx, webhookId, rows[0].order_id);
    return rows.length > 0;
  });
  // Delivered or failed meanwhile, claimed again, or asked for again: the other attempt's outcome stands.
  if (!settled || !subscribers) return;
  await db('webhooks')
    .where({ id: webhookId })
    .update({
      consecutive_failures: db.raw('consecutive_failures + 1'),
      retry_after: db.raw(
        `now() + least(?::float8, ?::float8 * power(2, least(consecutive_failures, 30))) * interval '1 millisecond'`,
        [retry.maxMs, retry.baseMs],
      ),
    });
}
