/** Catalogue and stock: merchants and support create or replace products and set on-hand stock. */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Db } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import { setOnHand } from '../../services/inventory/ledger';
import { requireRole } from '../auth';
import { route } from '../problem';
import { productBody, skuParam } from '../schemas';

async function readProduct(db: Db, sku: string) {
  const row = await db('products').where('sku', sku).first();
  if (!row) throw new NotFoundError(`product ${sku}`);
  return {
    sku: row.sku,
    name: row.name,
    price: row.price,
    currency: row.currency.trim(),
    kind: row.kind,
    inventoryStrategy: row.inventory_strategy ?? undefined,
    presale: row.presale ?? undefined,
    stock: { onHand: row.on_hand, reserved: row.reserved, available: row.on_hand - row.reserved },
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export function productRoutes(db: Db): Router {
  const router = Router();

  router.put(
    '/:sku',
    requireRole('merchant', 'support'),
    route(async (req, res) => {
      const sku = skuParam.parse(req.params.sku);
      const body = productBody.parse(req.body);
      const created = await db.transaction(async (trx) => {
        const inserted = await trx('products')
          .insert({
            sku,
            name: body.name,
            price: body.price,
            currency: body.currency,
            kind: body.kind,
            inventory_strategy: body.inventoryStrategy ?? null,
            presale: body.presale ? JSON.stringify(body.presale) : null,
          })
          .onConflict('sku')
          .merge(['name', 'price', 'currency', 'kind', 'inventory_strategy', 'presale', 'updated_at'])
          .returning(trx.raw('(xmax = 0) AS inserted'));
        await setOnHand(trx, sku, body.stock, `adjust:${randomUUID()}`);
        return Boolean((inserted[0] as { inserted?: boolean })?.inserted);
      });
      res.status(created ? 201 : 200).json(await readProduct(db, sku));
    }),
  );

  router.get(
    '/:sku',
    requireRole('merchant', 'support', 'customer'),
    route(async (req, res) => {
      res.json(await readProduct(db, skuParam.parse(req.params.sku)));
    }),
  );

  return router;
}
