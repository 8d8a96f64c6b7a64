/** What the fulfilment workflows and the order workflow tell each other, and what the API tells a fulfilment. */
import { defineSignal } from '@temporalio/workflow';
import type { FulfilmentRecord } from '../../domain/fulfilment';
import type { LineQuantity } from '../../domain/order';

export interface FulfilmentInput {
  orderId: string;
  location: string;
  items: LineQuantity[];
  /** A location asked again for the same order (after a short pick elsewhere): 2, 3... */
  round?: number;
}

/** The warehouse's news of this fulfilment (POST /v1/inbound/fulfilment), in the order it sent them. */
export const fulfilmentNewsSignal = defineSignal<[FulfilmentRecord]>('fulfilmentNews');

/** To the order: a fulfilment moved (accepted, refused, shipped, delivered...). */
export const parcelNewsSignal = defineSignal<[FulfilmentRecord]>('parcelNews');
