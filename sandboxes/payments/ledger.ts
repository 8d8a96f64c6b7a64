/**
 * The sandbox payment service's own books, in its own database: payment intents and refunds,
 * each created once per idempotency key, as a real provider keeps them. Nothing here knows the
 * order service; it knows amounts, currencies, tokens and the metadata a client attaches.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export type IntentStatus = 'processing' | 'succeeded' | 'requires_payment_method';

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

/** The sandbox's own tables, created when missing: it needs no migration tool of the order service. */
export async function ensureSchema(db: Knex): Promise<void> {
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
      t.integer('attempts').notNullable().defaultTo(0);
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    });
  }
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
}

const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}`;

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
  constructor(private readonly db: Knex) {}

  /**
   * The intent under this key, created if new (status `processing`), with the number of times it
   * was asked for. The same key with other parameters is refused, as a real provider refuses it.
   */
  async open(args: {
    key: string;
    orderId: string;
    metadata: Record<string, string>;
    amount: number;
    currency: string;
    token: string;
  }): Promise<IntentRow> {
    return this.db.transaction(async (trx) => {
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
        })
        .onConflict('idempotency_key')
        .ignore();
      const row: IntentRow = await trx('sandbox_payment_intents')
        .where('idempotency_key', args.key)
        .forUpdate()
        .first();
      if (Number(row.amount) !== args.amount || row.order_id !== args.orderId || row.token !== args.token)
        throw new InvalidRequest('an idempotency key was reused with other parameters', 'idempotency_error');
      const [updated] = await trx('sandbox_payment_intents')
        .where('id', row.id)
        .update({ attempts: row.attempts + 1, updated_at: trx.fn.now() })
        .returning('*');
      return updated as IntentRow;
    });
  }

  /** Settles a processing intent; a settled one keeps its outcome (a replay answers with it). */
  async settle(
    id: string,
    outcome: { status: 'succeeded' } | { status: 'requires_payment_method'; code: string },
  ) {
    const [row] = await this.db('sandbox_payment_intents')
      .where({ id, status: 'processing' })
      .update({
        status: outcome.status,
        decline_code: outcome.status === 'succeeded' ? null : outcome.code,
        updated_at: this.db.fn.now(),
      })
      .returning('*');
    return (row as IntentRow | undefined) ?? this.intent(id);
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
      if (Number(total) + args.amount > Number(intent.amount))
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

  async refundsOf(orderId: string): Promise<RefundRow[]> {
    return this.db('sandbox_refunds').where('order_id', orderId).orderBy('created_at').orderBy('id');
  }
}
