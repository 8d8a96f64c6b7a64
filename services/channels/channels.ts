/** Sales channels: who may place orders through them, of which types, with what payment timeout. */
import type { Knex } from 'knex';
import { keysetPage, pageResult, type PageQuery } from '../paging';
import { ForbiddenError } from '../../domain/errors';

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

/**
 * The channel an order of `type` is placed through, if it may be: registered, and the type one of
 * its own (a 403 otherwise).
 */
export async function channelForOrder(db: Knex, id: string, type: string): Promise<Channel> {
  const channel = await getChannel(db, id);
  if (!channel) throw new ForbiddenError('the channel is not registered');
  if (channel.orderTypes && !channel.orderTypes.includes(type))
    throw new ForbiddenError('the channel may not place orders of this type');
  return channel;
}

/** A page of the channels, by id. */
export async function listChannels(db: Knex, page: PageQuery) {
  const rows = await keysetPage(db('channels'), ['id'], 'asc', page);
  return pageResult(rows, page, 'channels', (row) => [row.id], view);
}
