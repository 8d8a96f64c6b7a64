/**
 * One location's part of an order, as a child workflow of the order (visible on its own in the
 * Web UI): the request to the warehouse, then each step it reports, recorded in the order center
 * and passed to the order, until the parcel is delivered, fails delivery, or the request is
 * refused or cancelled. News arriving twice or late (a step already passed) is ignored.
 */
import { condition, getExternalWorkflowHandle, setHandler } from '@temporalio/workflow';
import { FULFILMENT_RANK, isFulfilmentOver, type FulfilmentRecord } from '../../domain/fulfilment';
import { store, warehouse } from '../activities';
import { fulfilmentNewsSignal, parcelNewsSignal, type FulfilmentInput } from './messages';

export async function fulfilmentFlow(
  input: FulfilmentInput,
): Promise<{ status: FulfilmentRecord['status'] }> {
  const news: FulfilmentRecord[] = [];
  setHandler(fulfilmentNewsSignal, (record) => void news.push(record));
  const orderHandle = getExternalWorkflowHandle(input.orderId);
  // An order that has ended (cancelled, completed) hears nothing more; this fulfilment goes on to its end.
  const tell = (record: FulfilmentRecord) =>
    orderHandle.signal(parcelNewsSignal, record).catch(() => undefined);

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
