/** What the after-sales tests (claims, exchanges) start from: a shipped order, and stock levels to compare. */
import type { Db } from '../../db/knex';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder, type As } from './api';

export interface Shipped {
  id: string;
  owner: As;
  sku: string;
}

/** A paid order of 3 units at 1000 (shipping 800), in production, from a product with `stock` units. */
export async function orderInProduction(prefix: string, stock = 20): Promise<Shipped> {
  const sku = uniqueSku(prefix);
  await putProduct(sku, { price: 1000, stock });
  const owner = customer();
  const created = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 3 }] } });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');
  return { id, owner, sku };
}

/** A shipped order of 3 units at 1000 (shipping 800), from a product with `stock` units. */
export async function shippedOrder(prefix: string, stock = 20): Promise<Shipped> {
  const { id, owner, sku } = await orderInProduction(prefix, stock);
  const shipped = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: `${prefix}-1` },
  });
  expect(shipped.status).toBe(200);
  return { id, owner, sku };
}

/** A SKU's units on hand and reserved, over every location. */
export async function stockLevel(db: Db, sku: string) {
  const row = await db('stock_levels')
    .where({ sku })
    .first(db.raw('sum(on_hand)::int AS on_hand'), db.raw('sum(reserved)::int AS reserved'));
  return { onHand: row.on_hand as number, reserved: row.reserved as number };
}
