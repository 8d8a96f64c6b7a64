/** Issue 21, item 2: the claim's machine, checked as data, and the actions a claim offers. */
import { claimActions, claimMachine } from '../../domain/claims';
import { allowedActions, decide, isTerminal, validateMachine } from '../../domain/machine';
import { unitsHeld } from '../../domain/order-actions';

test('the claim machine is well formed, and only staff decide', () => {
  expect(validateMachine(claimMachine)).toEqual([]);
  expect(allowedActions(claimMachine, 'REQUESTED', 'customer')).toEqual([]);
  expect(allowedActions(claimMachine, 'REQUESTED', 'merchant')).toEqual(['approve', 'reject']);
  expect(decide(claimMachine, 'REQUESTED', 'approve', 'customer')).toMatchObject({
    ok: false,
    reason: 'forbidden',
  });
  // The refund is the order's to make; shipping a replacement is staff's.
  expect(decide(claimMachine, 'APPROVED', 'refund', 'support')).toMatchObject({ ok: false });
  expect(decide(claimMachine, 'APPROVED', 'refund', 'system')).toMatchObject({ ok: true });
  for (const end of ['REJECTED', 'REFUNDED', 'REPLACED']) expect(isTerminal(claimMachine, end)).toBe(true);
});

test('a claim settled by refund offers nothing to ship', () => {
  const actions = allowedActions(claimMachine, 'APPROVED', 'merchant');
  expect(claimActions({ resolution: 'replace' }, actions)).toEqual(['ship', 'refund_instead']);
  expect(claimActions({ resolution: 'refund' }, actions)).toEqual([]);
});

test('open claims hold their units as returns do', () => {
  const open = new Map([
    ['ret_1', { items: [{ sku: 'a', quantity: 1 }] }],
    ['clm_1', { items: [{ sku: 'a', quantity: 2 }], kind: 'claim' as const }],
  ]);
  expect(unitsHeld(open)).toEqual({ a: 3 });
  expect(unitsHeld(open, 'clm_1')).toEqual({ a: 1 });
});
