/** Sales channels: who may place orders through them, of which types, with what payment timeout. */
import type { Knex } from 'knex';

export interface ChannelInput {
  name: string;
  /** Milliseconds; overrides PAYMENT_TIMEOUT for the channel's orders. */
  paymentTimeoutMs?: number;
  orderTypes?: string[];
}

interface ChannelRow {
  id: string;
  name: string;
  payment_timeout_ms: string | number | null;
  order_types: string[] | null;
  created_at: Date;
  updated_at: Date;
}

export interface Channel {
  id: string;
  name: string;
  paymentTimeoutMs: number | null;
  orderTypes: string[] | null;
  createdAt: string;
  updatedAt: string;
}

const view = (row: ChannelRow): Channel => ({
  id: row.id,
  name: row.name,
  paymentTimeoutMs: row.payment_timeout_ms === null ? null : Number(row.payment_timeout_ms),
  orderTypes: row.order_types,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
});

export async function putChannel(db: Knex, id: string, input: ChannelInput) {
  const values = {
    name: input.name,
    payment_timeout_ms: input.paymentTimeoutMs ?? null,
    order_types: input.orderTypes ?? null,
  };
  const [row] = await db('channels')
    .insert({ id, ...values })
    .onConflict('id')
    .merge({ ...values, updated_at: db.fn.now() })
    .returning(['*', db.raw('(xmax = 0) AS created')]);
  return { channel: view(row), created: row.created === true };
}

export async function getChannel(db: Knex, id: string): Promise<Channel | null> {
  const row = await db('channels').where({ id }).first();
  return row ? view(row) : null;
}

export async function listChannels(db: Knex): Promise<Channel[]> {
  return (await db('channels').orderBy('id').limit(500)).map(view);
}
