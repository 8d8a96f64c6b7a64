/**
 * Every side effect of an order, as activities, one file per area: ./orders.ts, ./inventory.ts,
 * ./payment.ts, ./promotion.ts, ./production.ts, ./fulfilment.ts. Activities run at least once, so each is
 * idempotent by a key derived from the workflow (order id, operation, attempt number). Their
 * errors cross into the workflow as ./failures.ts says.
 *
 * An activity's name is its key here and is recorded in every workflow history: renaming one, or
 * changing its arguments or result, breaks the replay of running orders.
 */
import type { Knex } from 'knex';
import type { InventoryStrategy } from '../domain/order';
import type { PaymentProvider } from '../services/payment/provider';
import type { Warehouse } from '../services/warehouse/warehouse';
import type { CodeVendor } from '../services/production/code-vendor';
import { guarded } from './failures';
import { fulfilmentActivities } from './fulfilment';
import { inventoryActivities } from './inventory';
import { orderActivities } from './orders';
import { paymentActivities } from './payment';
import { productionActivities } from './production';
import { promotionActivities } from './promotion';

export { chargeKey } from './payment';

export interface ActivityDeps {
  db: Knex;
  payments: PaymentProvider;
  defaultInventoryStrategy: InventoryStrategy;
  /** Where fulfilments go (FULFILMENT=warehouse); unset: nowhere, the merchant ships. */
  warehouse?: Warehouse;
  /** Where digital goods' codes come from (CODE_VENDOR_URL); unset: made here. */
  codes?: CodeVendor;
}

export function createActivities(deps: ActivityDeps) {
  return guarded({
    ...orderActivities(deps),
    ...inventoryActivities(deps),
    ...paymentActivities(deps),
    ...promotionActivities(deps),
    ...productionActivities(deps),
    ...fulfilmentActivities(deps),
  });
}

export type OrderActivities = ReturnType<typeof createActivities>;
