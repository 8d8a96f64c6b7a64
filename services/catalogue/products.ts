/** The catalogue: products with their price, kind and stock figures; merchants and support write it. */
import type { Knex } from 'knex';
import { NotFoundError } from '../../domain/errors';
import type { InventoryStrategy, PresaleTerms } from '../../domain/order';
import { DEFAULT_LOCATION, setOnHand } from '../inventory/ledger';
import { stockOf } from '../inventory/locations';

export interface ProductInput {
  name: string;
  price: number;
  currency: string;
  kind: 'physical' | 'virtual';
  /** On hand at the default location: the ledger records the adjustment. */
  stock: number;
  inventoryStrategy?: InventoryStrategy;
  presale?: PresaleTerms;
}

/**
 * Creates or replaces a product and sets its on-hand stock at the default location, in one
 * transaction; true if it was created. `requestId`: the request's own id (from its
 * Idempotency-Key), so that a retry of a request that did commit sets nothing again: units sold
 * since are not put back by it.
 */
export async function putProduct(
  db: Knex,
  sku: string,
  product: ProductInput,
  requestId?: string,
): Promise<boolean> {
  return db.transaction(async (trx) => {
    const inserted = await trx('products')
      .insert({
        sku,
        name: product.name,
        price: product.price,
        currency: product.currency,
        kind: product.kind,
        inventory_strategy: product.inventoryStrategy ?? null,
        presale: product.presale ? JSON.stringify(product.presale) : null,
      })
      .onConflict('sku')
      .merge(['name', 'price', 'currency', 'kind', 'inventory_strategy', 'presale', 'updated_at'])
      .returning(trx.raw('(xmax = 0) AS inserted'));
    await setOnHand(trx, sku, DEFAULT_LOCATION, product.stock, requestId);
    return Boolean((inserted[0] as { inserted?: boolean })?.inserted);
  });
}

export async function readProduct(db: Knex, sku: string) {
  const row = await db('products').where('sku', sku).first();
  if (!row) throw new NotFoundError(`product ${sku}`);
  return {
    sku: row.sku as string,
    name: row.name as string,
    price: row.price as number,
    currency: (row.currency as string).trim(),
    kind: row.kind as ProductInput['kind'],
    inventoryStrategy: (row.inventory_strategy as InventoryStrategy | null) ?? undefined,
    presale: (row.presale as ProductInput['presale'] | null) ?? undefined,
    stock: await stockOf(db, sku),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
