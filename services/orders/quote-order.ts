/**
 * What an order would cost right now, read without locking anything: the API writes it into the
 * workflow's static summary so support staff see the total in the Web UI's list. Placement prices
 * the order again inside its own transaction, from the same read (./read-pricing.ts), and that is
 * what the order keeps; the two differ only if a price or promotion changed in between.
 */
import type { Knex } from 'knex';
import { priceOrder } from '../../domain/pricing';
import { readPricing, type PricingRequest } from './read-pricing';

export interface Quote {
  total: number;
  currency: string;
}

/** Null when the order cannot be priced (an unknown product, mixed currencies): placement refuses it and says why. */
export async function quoteOrder(db: Knex, input: PricingRequest): Promise<Quote | null> {
  const read = await readPricing(db, input);
  if (!read) return null;
  return { total: priceOrder(read.pricing).amounts.total, currency: read.currency };
}
