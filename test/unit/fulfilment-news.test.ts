/** News of a fulfilment its order's cancel stopped (domain/fulfilment.ts `staleAfterCancel`). */
import { FULFILMENT_RANK, staleAfterCancel, type FulfilmentStatus } from '../../domain/fulfilment';

const statuses = Object.keys(FULFILMENT_RANK) as FulfilmentStatus[];

test('once a cancel stopped it, news of a step before shipping, or a refusal, is stale', () => {
  for (const news of ['requested', 'accepted', 'picked', 'packed', 'refused'] as const)
    expect(staleAfterCancel('cancelled', news)).toBe(true);
  // A parcel that left after all, or the warehouse's own cancel, is news still.
  for (const news of ['shipped', 'in_transit', 'delivered', 'delivery_failed', 'cancelled'] as const)
    expect(staleAfterCancel('cancelled', news)).toBe(false);
});

test('news of a fulfilment no cancel stopped is never stale', () => {
  for (const known of [...statuses.filter((s) => s !== 'cancelled'), undefined])
    for (const news of statuses) expect(staleAfterCancel(known, news)).toBe(false);
});
