/** Calls to the real HTTP API as the tests and the history recorder make them, and helpers that arrange data. */
import { randomUUID } from 'node:crypto';
import type { Role } from '../domain/roles';
import { tokenFor } from './test-tokens';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export const apiUrl = () => {
  const url = process.env.TEST_API_URL;
  if (!url) throw new Error('TEST_API_URL is not set: run through jest (test/global-setup.ts)');
  return url;
};

export interface As {
  role: Role;
  id: string;
  /** A channel's token names its channel; a channel's customer's too (none: the web shop's). */
  channel?: string;
}

export const customer = (id = `cus_${randomUUID().slice(0, 8)}`): As => ({ role: 'customer', id });
export const merchant: As = { role: 'merchant', id: 'merchant-1' };
export const support: As = { role: 'support', id: 'support-1' };

export async function call<T = any>(
  method: string,
  path: string,
  options: { as?: As; body?: unknown; headers?: Record<string, string>; baseUrl?: string } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.as)
    headers.authorization = `Bearer ${tokenFor(options.as.role, options.as.id, options.as.channel)}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${options.baseUrl ?? apiUrl()}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/**
 * A careful client's call: under one Idempotency-Key, asked again while the answer is a 503 (an
 * outage, or an answer that took too long on a loaded machine), at most `tries` times. `tries` in
 * the reply: how many it took.
 */
export async function callUntilAnswered<T = any>(
  method: string,
  path: string,
  options: Parameters<typeof call>[2] = {},
  tries = 5,
): Promise<Reply<T> & { tries: number }> {
  const headers = { 'idempotency-key': randomUUID(), ...options.headers };
  let reply = await call<T>(method, path, { ...options, headers });
  let tried = 1;
  for (; tried < tries && reply.status === 503; tried++)
    reply = await call<T>(method, path, { ...options, headers });
  return { ...reply, tries: tried };
}

export const uniqueSku = (prefix = 'sku') => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function putProduct(
  sku: string,
  product: Partial<{
    name: string;
    price: number;
    currency: string;
    kind: string;
    stock: number;
    inventoryStrategy: string;
    presale: unknown;
  }> = {},
  baseUrl?: string,
) {
  const reply = await call('PUT', `/v1/products/${sku}`, {
    as: merchant,
    baseUrl,
    body: { name: `Product ${sku}`, price: 1000, currency: 'USD', kind: 'physical', stock: 10, ...product },
  });
  if (reply.status >= 300)
    throw new Error(`PUT product ${sku}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** One unit of a product of its own, ordered by a new customer, not paid yet. */
export async function unpaidOrder({
  price = 2000,
  stock = 100,
  baseUrl,
}: { price?: number; stock?: number; baseUrl?: string } = {}) {
  const sku = uniqueSku('unpaid');
  await putProduct(sku, { price, stock }, baseUrl);
  const owner = customer();
  const reply = await call('POST', '/v1/orders', {
    as: owner,
    baseUrl,
    body: { items: [{ sku, quantity: 1 }] },
  });
  if (reply.status !== 201) throw new Error(`POST /v1/orders: ${reply.status} ${JSON.stringify(reply.body)}`);
  const order = reply.body.order;
  return {
    id: order.id as string,
    owner,
    sku,
    total: order.amounts.total as number,
    currency: order.currency as string,
  };
}

/** Polls the order until `predicate` holds; bounded, so a stuck order fails the test instead of hanging it. */
export async function waitForOrder(
  id: string,
  as: As,
  predicate: (order: any) => boolean,
  timeoutMs = 30_000,
  baseUrl?: string,
) {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    const reply = await call('GET', `/v1/orders/${id}`, { as, baseUrl });
    last = reply.body?.order;
    if (reply.status === 200 && predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `order ${id} did not reach the expected state; last seen: ${JSON.stringify(last?.status)} ${JSON.stringify(last?.history)}`,
  );
}

/**
 * Every item of a paged list (`{ items, nextCursor }`), `limit` at a time, following `nextCursor`;
 * bounded, so a list that never ends fails the test instead of hanging it.
 */
export async function allPages<T = any>(path: string, as: As, limit: number, maxPages = 1000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const at: string = `${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const reply: Reply = await call('GET', at, { as });
    if (reply.status !== 200) throw new Error(`GET ${at}: ${reply.status} ${JSON.stringify(reply.body)}`);
    items.push(...reply.body.items);
    if (reply.body.items.length > limit) throw new Error(`GET ${at}: more than ${limit} items`);
    cursor = reply.body.nextCursor;
    if (!cursor) return items;
  }
  throw new Error(`GET ${path}: more than ${maxPages} pages`);
}

/** A standard order's history, action by action, from placement to completion on the forward path. */
export const FORWARD_PATH = ['place', 'pay', 'start_production', 'ship', 'confirm', 'complete'];
