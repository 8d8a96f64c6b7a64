/**
 * The sandbox payment service's own books, in its own database: payment intents and refunds,
 * each created once per idempotency key, as a real provider keeps them. Nothing here knows the
 * order service; it knows amounts, currencies, tokens and the metadata a client attaches.
 */
import { randomUUID } from 'node:crypto';
import knex, { type Knex } from 'knex';

export type IntentStatus =
  | 'processing'
  | 'requires_action'
  | 'requires_capture'
  | 'succeeded'
  | 'requires_payment_method'
  | 'canceled';

/** How a settled intent ends: paid, authorised until `captureBefore` (manual capture), declined, or cancelled. */
export type Outcome =
  | { status: 'succeeded' }
  | { status: 'requires_capture'; captureBefore: Date }
  | { status: 'requires_payment_method'; code: string }
  | { status: 'canceled' };

/** Announces a settled row: the event the webhook sends, or nothing. */
export type Announce = (row: IntentRow) => { type: string; payload: Record<string, unknown> } | null;

export interface IntentRow {
  id: string;
  idempotency_key: string;
  order_id: string;
  metadata: Record<string, string>;
  amount: number;
  currency: string;
  token: string;
  status: IntentStatus;
  decline_code: string | null;
  /** `manual`: authorised now, captured later (up to `capture_before`), perhaps for less. */
  capture_method: 'automatic' | 'manual';
  capture_before: Date | null;
  /** What was captured; null until then (an automatic capture takes `amount`). */
  amount_captured: number | null;
  attempts: number;
  created_at: Date;
}

export interface RefundRow {
  id: string;
  idempotency_key: string;
  intent_id: string;
  order_id: string;
  metadata: Record<string, string>;
  amount: number;
  reason: string | null;
  created_at: Date;
}

export interface EventRow {
  id: string;
  type: string;
  intent_id: string;
  payload: Record<string, unknown>;
  attempts: number;
}

/** The sandbox's own tables, created when missing: it needs no migration tool of the order service. */
export async function ensureSchema(db: Knex): Promise<void> {
  if (!(await db.schema.hasTable('sandbox_events'))) {
    await db.schema.createTable('sandbox_events', (t) => {
      t.text('id').primary();
      t.text('type').notNullable();
      t.text('intent_id').notNullable();
      t.jsonb('payload').notNullable();
      t.integer('attempts').notNullable().defaultTo(0);
      t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('delivered_at', { useTz: true });
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.index(['delivered_at', 'next_attempt_at']);
    });
  }
  if (!(await db.schema.hasTable('sandbox_payment_intents'))) {
    await db.schema.createTable('sandbox_payment_intents', (t) => {
      t.text('id').primary();
      t.text('idempotency_key').notNullable().unique();
      t.text('order_id').notNullable().index();
      t.jsonb('metadata').notNullable();
      t.bigInteger('amount').notNullable();
      t.specificType('currency', 'char(3)').notNullable();
      t.text('token').notNullable();
      t.text('status').notNullable();
      t.text('decline_code');
      // Which sandbox process settles it and sends its events, when several share these books (tests).
      t.text('instance').notNullable().defaultTo('main');
      t.integer('attempts').notNullable().defaultTo(0);
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    });
  }
  // Books kept before processes shared them: every intent is the main process's.
  if (!(await db.schema.hasColumn('sandbox_payment_intents', 'instance')))
    await db.schema.alterTable('sandbox_payment_intents', (t) =>
      t.text('instance').notNullable().defaultTo('main'),
    );
  // Authorise now, capture later (added with manual capture).
  if (!(await db.schema.hasColumn('sandbox_payment_intents', 'capture_method')))
    await db.schema.alterTable('sandbox_payment_intents', (t) => {
      t.text('capture_method').notNullable().defaultTo('automatic');
      t.timestamp('capture_before', { useTz: true });
      t.bigInteger('amount_captured');
    });
  if (!(await db.schema.hasTable('sandbox_refunds'))) {
    await db.schema.createTable('sandbox_refunds', (t) => {
      t.text('id').primary();
      t.text('idempotency_key').notNullable().unique();
      t.text('intent_id').notNullable().references('sandbox_payment_intents.id');
      t.text('order_id').notNullable().index();
      t.jsonb('metadata').notNullable();
      t.bigInteger('amount').notNullable();
      t.text('reason');
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    });
    await db.raw('ALTER TABLE sandbox_refunds ADD CONSTRAINT sandbox_refund_positive CHECK (amount > 0)');
  }
  // A payment's refunds are listed by the payment too (a sandbox made before this gets the index now).
  await db.raw('CREATE INDEX IF NOT EXISTS sandbox_refunds_intent_id_index ON sandbox_refunds (intent_id)');
}

const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}`;

/** The event of a settled row, in the same transaction as the change it announces. */
async function recordEvent(trx: Knex, row: IntentRow, eventOf: Announce, deliverAfterMs: number) {
  const event = eventOf(row);
  if (!event) return;
  const eventId = newId('evt');
  await trx('sandbox_events').insert({
    id: eventId,
    type: event.type,
    intent_id: row.id,
    payload: JSON.stringify({ id: eventId, type: event.type, ...event.payload }),
    next_attempt_at: new Date(Date.now() + deliverAfterMs),
  });
}

/** A client error the API answers with a 400 (Stripe's `invalid_request_error`). */
export class InvalidRequest extends Error {
  constructor(
    message: string,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

export class Ledger {
  constructor(
    private readonly db: Knex,
    /** This process, among several that may share the books: it settles and announces only its own intents. */
    private readonly instance = 'main',
  ) {}

  /**
   * The intent under this key, created if new (status `processing`), with the number of times it
   * was asked for. The same key with other parameters is refused, as a real provider refuses it;
   * a key older than `keyTtlMs` is no longer known, and makes a new intent, as a real provider's does.
   */
  async open(args: {
    key: string;
    orderId: string;
    metadata: Record<string, string>;
    amount: number;
    currency: string;
    token: string;
    captureMethod?: 'automatic' | 'manual';
    /** How long a key is remembered (Stripe: 24 hours): an older one is forgotten, and its create is new. */
    keyTtlMs?: number;
  }): Promise<IntentRow> {
    return this.db.transaction(async (trx) => {
      // Forgotten, not deleted: the intent keeps its id and metadata, and the order's list still shows it.
      if (args.keyTtlMs !== undefined)
        await trx('sandbox_payment_intents')
          .where('idempotency_key', args.key)
          .whereRaw('created_at < now() - make_interval(secs => ?)', [args.keyTtlMs / 1000])
          .update({ idempotency_key: trx.raw("idempotency_key || ':forgotten:' || id") });
      await trx('sandbox_payment_intents')
        .insert({
          id: newId('pi'),
          idempotency_key: args.key,
          order_id: args.orderId,
          metadata: JSON.stringify(args.metadata),
          amount: args.amount,
          currency: args.currency,
          token: args.token,
          status: 'processing',
          capture_method: args.captureMethod ?? 'automatic',
          instance: this.instance,
        })
        .onConflict('idempotency_key')
        .ignore();
      const row: IntentRow = await trx('sandbox_payment_intents')
        .where('idempotency_key', args.key)
        .forUpdate()
        .first();
      if (
        Number(row.amount) !== args.amount ||
        row.order_id !== args.orderId ||
        row.token !== args.token ||
        row.capture_method !== (args.captureMethod ?? 'automatic')
      )
        throw new InvalidRequest('an idempotency key was reused with other parameters', 'idempotency_error');
      const [updated] = await trx('sandbox_payment_intents')
        .where('id', row.id)
        .update({ attempts: row.attempts + 1, updated_at: trx.fn.now() })
        .returning('*');
      return updated as IntentRow;
    });
  }

  /**
   * Settles an intent that is still open (processing, or waiting for the customer's action),
   * and records the event the webhook sends, in one transaction; a settled one keeps its outcome
   * (a replay answers with it). `eventOf` turns the settled row into the event's payload.
   */
  async settle(
    id: string,
    outcome: Outcome,
    eventOf: Announce,
    deliverAfterMs = 0,
    /** What it may be settled from: an open intent; a cancel also voids an authorisation. */
    from: IntentStatus[] = ['processing', 'requires_action'],
  ): Promise<IntentRow | null> {
    return this.db.transaction(async (trx) => {
      const [row] = await trx('sandbox_payment_intents')
        .where({ id })
        .whereIn('status', from)
        .update({
          status: outcome.status,
          decline_code: outcome.status === 'requires_payment_method' ? outcome.code : null,
          ...(outcome.status === 'requires_capture' ? { capture_before: outcome.captureBefore } : {}),
          ...(outcome.status === 'succeeded' ? { amount_captured: trx.ref('amount') } : {}),
          updated_at: trx.fn.now(),
        })
        .returning('*');
      if (!row) return (await trx('sandbox_payment_intents').where({ id }).first()) ?? null;
      await recordEvent(trx, row as IntentRow, eventOf, deliverAfterMs);
      return row as IntentRow;
    });
  }

  /**
   * Captures an authorisation, all of it or less (the rest is released, as at Stripe), once: a
   * replay of a captured intent answers with it. Past `capture_before` the authorisation is gone:
   * the intent is cancelled and the capture refused.
   */
  async capture(
    id: string,
    amount: number | undefined,
    eventOf: Announce,
    deliverAfterMs = 0,
  ): Promise<IntentRow> {
    const result = await this.db.transaction(async (trx) => {
      const row: IntentRow | undefined = await trx('sandbox_payment_intents')
        .where({ id })
        .forUpdate()
        .first();
      if (!row) throw new InvalidRequest('no such payment intent');
      if (row.status === 'succeeded' && row.capture_method === 'manual') return row;
      if (row.status !== 'requires_capture')
        throw new InvalidRequest(
          `payment intent ${id} is ${row.status}: nothing to capture`,
          'payment_intent_unexpected_state',
        );
      const toCapture = amount ?? Number(row.amount);
      if (!Number.isSafeInteger(toCapture) || toCapture <= 0 || toCapture > Number(row.amount))
        throw new InvalidRequest('amount_to_capture must be positive and at most the authorised amount');
      const expired = row.capture_before !== null && row.capture_before.getTime() < Date.now();
      const [settled] = await trx('sandbox_payment_intents')
        .where({ id })
        .update(
          expired
            ? { status: 'canceled', updated_at: trx.fn.now() }
            : { status: 'succeeded', amount_captured: toCapture, updated_at: trx.fn.now() },
        )
        .returning('*');
      await recordEvent(trx, settled as IntentRow, eventOf, deliverAfterMs);
      return settled as IntentRow;
    });
    // Committed first: the expired authorisation stays cancelled, and the capture is refused.
    if (result.status === 'canceled')
      throw new InvalidRequest('the authorisation expired', 'charge_expired_for_capture');
    return result;
  }

  /** Authorisations of this process past their `capture_before`: the bank lets them go. */
  async expiredAuthorizations(): Promise<IntentRow[]> {
    return this.db('sandbox_payment_intents')
      .where({ status: 'requires_capture', instance: this.instance })
      .where('capture_before', '<', this.db.fn.now())
      .limit(50);
  }

  /** Marks an open intent as waiting for the customer (3-D Secure). */
  async requireAction(id: string): Promise<IntentRow> {
    const [row] = await this.db('sandbox_payment_intents')
      .where({ id, status: 'processing' })
      .update({ status: 'requires_action', updated_at: this.db.fn.now() })
      .returning('*');
    return (row as IntentRow | undefined) ?? ((await this.intent(id)) as IntentRow);
  }

  /** A redirect method's customer is back: the bank has it (processing) from now. */
  async resume(id: string): Promise<IntentRow> {
    const [row] = await this.db('sandbox_payment_intents')
      .where({ id, status: 'requires_action' })
      .update({ status: 'processing', updated_at: this.db.fn.now() })
      .returning('*');
    return (row as IntentRow | undefined) ?? ((await this.intent(id)) as IntentRow);
  }

  /**
   * Asynchronous methods still processing after `ms`: the bank has answered. A redirect method's
   * (tok_3ds_async) counts from the customer's return, its last change.
   */
  async dueAsync(tokens: string[], ms: number): Promise<IntentRow[]> {
    return this.db('sandbox_payment_intents')
      .where({ status: 'processing', instance: this.instance })
      .whereIn('token', tokens)
      .whereRaw(`CASE WHEN token = 'tok_3ds_async' THEN updated_at ELSE created_at END < ?`, [
        new Date(Date.now() - ms),
      ])
      .limit(50);
  }

  /** Events waiting for delivery, oldest first. */
  async eventsDue(limit = 20): Promise<EventRow[]> {
    return this.db('sandbox_events as e')
      .join('sandbox_payment_intents as i', 'i.id', 'e.intent_id')
      .where('i.instance', this.instance)
      .whereNull('e.delivered_at')
      .where('e.next_attempt_at', '<=', this.db.fn.now())
      .orderBy('e.created_at')
      .limit(limit)
      .select('e.*');
  }

  async delivered(id: string): Promise<void> {
    await this.db('sandbox_events').where({ id }).update({ delivered_at: this.db.fn.now() });
  }

  /** Not delivered: the next attempt later, backing off to at most 30 s. */
  async deferred(event: EventRow): Promise<void> {
    const backoff = Math.min(30_000, 500 * 2 ** event.attempts);
    await this.db('sandbox_events')
      .where({ id: event.id })
      .update({ attempts: event.attempts + 1, next_attempt_at: new Date(Date.now() + backoff) });
  }

  async intent(id: string): Promise<IntentRow | null> {
    return (await this.db('sandbox_payment_intents').where('id', id).first()) ?? null;
  }

  async intentsOf(orderId: string): Promise<IntentRow[]> {
    return this.db('sandbox_payment_intents').where('order_id', orderId).orderBy('created_at').orderBy('id');
  }

  async refunded(intentIds: string[]): Promise<Map<string, number>> {
    const rows: { intent_id: string; total: string }[] = await this.db('sandbox_refunds')
      .whereIn('intent_id', intentIds)
      .groupBy('intent_id')
      .select('intent_id', this.db.raw('SUM(amount)::bigint AS total'));
    return new Map(rows.map((r) => [r.intent_id, Number(r.total)]));
  }

  /** A refund once per key, never more than is left on the intent. */
  async refund(args: {
    key: string;
    intentId: string;
    metadata: Record<string, string>;
    amount: number;
    reason: string | null;
  }): Promise<RefundRow> {
    return this.db.transaction(async (trx) => {
      const existing: RefundRow | undefined = await trx('sandbox_refunds')
        .where('idempotency_key', args.key)
        .first();
      if (existing) {
        if (existing.intent_id !== args.intentId || Number(existing.amount) !== args.amount)
          throw new InvalidRequest(
            'an idempotency key was reused with other parameters',
            'idempotency_error',
          );
        return existing;
      }
      const intent: IntentRow | undefined = await trx('sandbox_payment_intents')
        .where('id', args.intentId)
        .forUpdate()
        .first();
      if (!intent || intent.status !== 'succeeded')
        throw new InvalidRequest(`payment intent ${args.intentId} has nothing to refund`);
      const [{ total }] = await trx('sandbox_refunds')
        .where('intent_id', intent.id)
        .select(trx.raw('COALESCE(SUM(amount), 0)::bigint AS total'));
      if (Number(total) + args.amount > Number(intent.amount_captured ?? intent.amount))
        throw new InvalidRequest(`a refund of ${args.amount} exceeds what is left on ${intent.id}`);
      const [row] = await trx('sandbox_refunds')
        .insert({
          id: newId('re'),
          idempotency_key: args.key,
          intent_id: intent.id,
          order_id: intent.order_id,
          metadata: JSON.stringify(args.metadata),
          amount: args.amount,
          reason: args.reason,
        })
        .returning('*');
      return row as RefundRow;
    });
  }

  /** An order's refunds, or one payment's, oldest first. */
  async refundsOf(of: { order: string } | { intent: string }): Promise<RefundRow[]> {
    return this.db('sandbox_refunds')
      .where('order' in of ? { order_id: of.order } : { intent_id: of.intent })
      .orderBy('created_at')
      .orderBy('id');
  }
}

/** Marks an error a statement met: knex writes the statement (and its values) into its message. */
const FROM_STATEMENT = Symbol('statement error');

/** A sandbox's database, whose statements' errors `describeError` will not repeat. */
export function sandboxDb(url: string, max: number): Knex {
  const db = knex({ client: 'pg', connection: url, pool: { min: 0, max }, compileSqlOnError: false });
  db.on('query-error', (err: unknown) => {
    if (err && typeof err === 'object') (err as { [FROM_STATEMENT]?: true })[FROM_STATEMENT] = true;
  });
  return db;
}

/**
 * An error as a log line may carry it: a database error (it has a code) by its class and code,
 * one a statement met (a dropped connection has no code) by its class, never its message (knex
 * writes the statement, and its values, into that); our own by its message.
 */
export function describeError(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.code) return `${e.name ?? 'Error'} (${e.code})`;
  if (err && typeof err === 'object' && FROM_STATEMENT in err)
    return `${e.name ?? 'Error'} (a statement failed)`;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
}
