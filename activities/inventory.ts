/** Inventory: stock taken, given back, sold and restocked through the ledger, idempotent by `tag`. */
import type { Knex } from 'knex';
import { mergedUnits, type LocationAllocation } from '../domain/order';
import { priceNewUnits, type ExchangeLine } from '../domain/exchanges';
import { BusinessRuleError } from '../domain/errors';
import { readProducts, unpriceable, wrongKind } from '../services/orders/read-pricing';
import { settleSale } from '../services/orders/settle-sale';
import {
  allocationOf,
  commitAll,
  settleReservation,
  recordLoss,
  release,
  reserve,
  restock,
  restockAllBut,
  soldNotRestocked,
  writeOff,
  writeOffSold,
  type StockLine,
} from '../services/inventory/ledger';

export function inventoryActivities({ db }: { db: Knex }) {
  /** The lines whose stock is taken at payment time. */
  async function onPaymentLines(orderId: string): Promise<StockLine[]> {
    return db('order_items')
      .where({ order_id: orderId, inventory_strategy: 'on_payment' })
      .select('sku', 'quantity');
  }

  return {
    /** `on_payment` lines: take the stock before any money moves, so nobody pays for goods that cannot ship. */
    async secureStockForPayment(args: { orderId: string; attempt: number }): Promise<void> {
      const lines = await onPaymentLines(args.orderId);
      if (lines.length === 0) return;
      await db.transaction((trx) => reserve(trx, args.orderId, lines, `pay${args.attempt}`));
    },

    /** Compensation of secureStockForPayment when the charge did not go through. */
    async releasePaymentStock(args: { orderId: string; attempt: number }): Promise<void> {
      const lines = await onPaymentLines(args.orderId);
      if (lines.length === 0) return;
      await db.transaction((trx) => release(trx, args.orderId, lines, `pay${args.attempt}`));
    },

    /** The held stock becomes sold; answers where the order's units come from, for the order's record. */
    async commitStock(args: { orderId: string }): Promise<LocationAllocation[]> {
      return db.transaction(async (trx) => {
        await commitAll(trx, args.orderId, 'paid');
        return allocationOf(trx, args.orderId);
      });
    },

    /**
     * The sale, once paid, in one transaction: the held stock becomes sold and the order's locked
     * coupon use is redeemed (commitStock and redeemCoupon, which older histories ran apart).
     * Answers where the units come from, for the order's record. Idempotent.
     */
    async settleSale(args: { orderId: string }): Promise<LocationAllocation[]> {
      return db.transaction((trx) => settleSale(trx, args.orderId));
    },

    /** Goods sold but not shipped go back on hand. */
    async restockSold(args: {
      orderId: string;
      tag: string;
      /**
       * Parcels asked back from the carrier: their units are restocked when they arrive, and what a
       * short pick left out of them (`missing`) is written off where it was missing.
       */
      stillOut?: (LocationAllocation & { missing: StockLine[] })[];
    }): Promise<void> {
      await db.transaction(async (trx) => {
        if (!args.stillOut)
          return restock(trx, args.orderId, await soldNotRestocked(trx, args.orderId), args.tag);
        // A short parcel's missing units stay out of this restock too: the write-off puts them back and takes them out.
        const out = args.stillOut.map((o) => ({ location: o.location, items: [...o.items, ...o.missing] }));
        await restockAllBut(trx, args.orderId, out, args.tag);
        // One write-off per location, of what every parcel from there was missing: its key is the
        // location's, so two stopped parcels of one location must not each take it.
        const missingAt = new Map<string, StockLine[]>();
        for (const { location, missing } of args.stillOut)
          missingAt.set(location, [...(missingAt.get(location) ?? []), ...missing]);
        for (const [location, missing] of missingAt)
          if (missing.length > 0)
            await writeOff(trx, args.orderId, location, mergedUnits(missing), `${args.tag}:${location}`);
      });
    },

    /** Returned goods that came back damaged: written off where they were sold from, never back on sale. */
    async writeOffReturned(args: { orderId: string; items: StockLine[]; tag: string }): Promise<void> {
      await db.transaction((trx) => writeOffSold(trx, args.orderId, args.items, args.tag));
    },

    /**
     * Units a warehouse location refused to send, refunded: not put back on sale there (it said it
     * could not send them), and no longer the order's sale, so that a later cancel's restock does
     * not put them back either. Written off at those locations only. Idempotent by `tag`.
     */
    async writeOffUnsent(args: {
      orderId: string;
      items: StockLine[];
      locations: string[];
      tag: string;
    }): Promise<void> {
      await db.transaction((trx) => writeOffSold(trx, args.orderId, args.items, args.tag, args.locations));
    },

    /** A claim's replacement units (an exchange's: `holdExchangeUnits`), held from stock now (a shortage is a refusal: OUT_OF_STOCK). */
    async reserveReplacement(args: { orderId: string; items: StockLine[]; tag: string }): Promise<void> {
      await db.transaction((trx) => reserve(trx, args.orderId, args.items, args.tag));
    },

    /**
     * An exchange's new units, priced from the catalogue and held from stock in one transaction:
     * unknown, of another currency or kind than a standard order's, or short, nothing is held.
     */
    async holdExchangeUnits(args: {
      orderId: string;
      currency: string;
      items: StockLine[];
      tag: string;
    }): Promise<ExchangeLine[]> {
      return db.transaction(async (trx) => {
        const products = await readProducts(
          trx,
          args.items.map((i) => i.sku),
        );
        const refused =
          unpriceable(new Map(args.items.map((i) => [i.sku, i.quantity])), products) ??
          wrongKind('standard', products);
        if (refused) throw refused;
        if (products.some((p) => p.currency.trim() !== args.currency))
          throw new BusinessRuleError('CURRENCY_MISMATCH', 'the new units must be in the order’s currency');
        const lines = priceNewUnits(args.items, products);
        await reserve(trx, args.orderId, args.items, args.tag);
        return lines;
      });
    },

    /** The replacement left: its held units are sold. */
    async commitReplacement(args: { orderId: string; tag: string }): Promise<void> {
      await db.transaction((trx) => settleReservation(trx, args.orderId, args.tag, 'commit'));
    },

    /** The replacement will not ship: its held units go back. */
    async releaseReplacement(args: { orderId: string; tag: string }): Promise<void> {
      await db.transaction((trx) => settleReservation(trx, args.orderId, args.tag, 'release'));
    },

    /** Sold units lost or ruined after they left (a claim of damaged goods): a loss in the ledger, never back on sale. */
    async recordLoss(args: { orderId: string; items: StockLine[]; tag: string }): Promise<void> {
      await db.transaction((trx) => recordLoss(trx, args.orderId, args.items, args.tag));
    },

    /** Goods back in stock (a received return, units refunded before shipping), never more than sold. */
    async restockItems(args: {
      orderId: string;
      items: StockLine[];
      tag: string;
      location?: string;
    }): Promise<void> {
      await db.transaction((trx) => restock(trx, args.orderId, args.items, args.tag, args.location));
    },
  };
}
