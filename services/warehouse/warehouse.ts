/**
 * The warehouse interface the activities depend on: what a logistics provider's adapter implements
 * (./http-warehouse.ts speaks to the sandbox warehouse service, sandboxes/warehouse). A request
 * carries the id the workflow derives (`<orderId>:<location>`), so a retry after a lost answer
 * finds the first request instead of making a second.
 */
import type { FulfilmentRecord } from '../../domain/fulfilment';
import type { LineQuantity } from '../../domain/order';

export type { FulfilmentRecord };

export interface Warehouse {
  /** Accepted or refused, once per id. */
  request(input: {
    id: string;
    orderId: string;
    location: string;
    items: LineQuantity[];
  }): Promise<FulfilmentRecord>;
  get(id: string): Promise<FulfilmentRecord | null>;
  /**
   * Stopped if it has not left the building, as it then stands (what its pick found, if it had
   * picked: units short on the shelf); `too_late` once it has left (it stands).
   */
  cancel(id: string): Promise<FulfilmentRecord | 'too_late'>;
  /**
   * A parcel that has left is asked back from the carrier: it comes back to its location
   * (`delivery_failed` later) unless it was already delivered, which the answer's status says.
   */
  recall(id: string): Promise<FulfilmentRecord>;
}

/** No answer, or a hiccup: the outcome is unknown, and the same id is tried again. */
export class TransientWarehouseError extends Error {
  override name = 'TransientWarehouseError';
}
