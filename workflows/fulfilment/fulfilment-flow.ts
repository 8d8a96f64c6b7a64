/**
 * One location's part of an order, as a child workflow of the order (visible on its own in the
 * Web UI): the request to the warehouse, then each step it reports, recorded in the order center
 * and passed to the order, until the parcel is delivered, fails delivery, or the request is
 * refused or cancelled. News arriving twice or late (a step already passed) is ignored; news past
 * `shipped` that overtook it (a late answer, events out of order) tells the order it shipped first,
 * since the parcel is what ships the order.
 */
import { condition, getExternalWorkflowHandle, patched, setHandler } from '@temporalio/workflow';
import { FULFILMENT_RANK, isFulfilmentOver, type FulfilmentRecord } from '../../domain/fulfilment';
import { store, warehouse } from '../activities';
import { fulfilmentNewsSignal, parcelNewsSignal, type FulfilmentInput } from './messages';

/** What a parcel can become once it has shipped: each implies that it did. */
const LEFT_THE_WAREHOUSE: readonly FulfilmentRecord['status'][] = [
  'in_transit',
  'delivered',
  'delivery_failed',
];

export async function fulfilmentFlow(
  input: FulfilmentInput,
): Promise<{ status: FulfilmentRecord['status'] }> {
  const news: FulfilmentRecord[] = [];
  setHandler(fulfilmentNewsSignal, (record) => void news.push(record));
  const orderHandle = getExternalWorkflowHandle(input.orderId);
  // An order that has ended (cancelled, completed) hears nothing more; this fulfilment goes on to its end.
  const send = (record: FulfilmentRecord) =>
    orderHandle.signal(parcelNewsSignal, record).catch(() => undefined);
  let heard: FulfilmentRecord['status'] = 'requested';
  const tell = async (record: FulfilmentRecord) => {
    const skipped =
      FULFILMENT_RANK[heard] < FULFILMENT_RANK.shipped &&
      LEFT_THE_WAREHOUSE.includes(record.status) &&
      patched('fulfilment-shipped-first');
    if (skipped) await send({ ...record, status: 'shipped' });
    heard = record.status;
    await send(record);
  };

  let current = await warehouse.requestFulfilment(input);
  await tell(current);
  while (!isFulfilmentOver(current.status)) {
    await condition(() => news.length > 0);
    const next = news.shift()!;
    if (FULFILMENT_RANK[next.status] <= FULFILMENT_RANK[current.status]) continue;
    current = { ...current, ...next };
    await store.recordFulfilment({ record: current, at: new Date().toISOString() });
    await tell(current);
  }
  return { status: current.status };
}
