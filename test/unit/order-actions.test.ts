/**
 * The rules an action must pass before the order workflow takes it (domain/order-actions.ts) and
 * the refusals they answer with (domain/refusals.ts): pure, so asked here without a workflow.
 */
import { editEscapesReview, needsReview } from '../../domain/review';
import { FailureType } from '../../domain/errors';
import { standardMachine } from '../../domain/machines/standard';
import { allowedActions } from '../../domain/machine';
import type { ActionRequest, LineQuantity, OrderLine, OrderState } from '../../domain/order';
import {
  actionsNow,
  checkAction,
  deadlineOf,
  heldBack,
  resolveAction,
  unitsHeld,
} from '../../domain/order-actions';
import { depositForfeitable, paymentStatusOf } from '../../domain/order';
import { refusalWhenClosed } from '../../domain/refusals';
import { returnMachine } from '../../domain/returns';

const line = (sku: string, quantity: number, unitPrice = 1000): OrderLine => ({
  sku,
  name: sku,
  quantity,
  unitPrice,
  discount: 0,
  total: quantity * unitPrice,
  refundedQuantity: 0,
  inventoryStrategy: 'on_order',
});

function order(status: string, items = [line('mug', 2), line('cap', 1)]): OrderState {
  const total = items.reduce((a, l) => a + l.total, 0) + 500;
  return {
    id: 'ord_1',
    type: 'standard',
    customerId: 'cus_1',
    status,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    currency: 'USD',
    items,
    amounts: { subtotal: total - 500, discount: 0, shipping: 500, total, paid: total, refunded: 0 },
    discounts: [],
    presale: null,
    paymentDeadline: '2026-01-01T00:30:00.000Z',
    couponCode: null,
    shippingAddress: null,
    shipment: null,
    delivery: null,
    history: [
      {
        seq: 1,
        from: null,
        action: 'place',
        to: 'PENDING_PAYMENT',
        actor: 'customer:cus_1',
        at: '2026-01-01T00:00:00.000Z',
      },
      {
        seq: 2,
        from: 'PENDING_PAYMENT',
        action: 'pay',
        to: status,
        actor: 'customer:cus_1',
        at: '2026-01-01T00:10:00.000Z',
      },
    ],
  } as OrderState;
}

const as = (role: 'customer' | 'merchant' | 'support') => ({ id: `${role}-1`, role });
const noReturns = new Map<string, { items: LineQuantity[] }>();
const request = (
  r: Partial<ActionRequest> & { action: string },
  role: 'customer' | 'merchant' | 'support' = 'customer',
) => ({ actor: as(role), ...r }) as ActionRequest;

describe('resolveAction', () => {
  it('names a refund of everything left refund_all, and of some units refund', () => {
    const o = order('SHIPPED');
    const all = request({ action: 'refund', refund: { refundId: 'r1' } }, 'merchant');
    const some = request(
      { action: 'refund', refund: { refundId: 'r1', items: [{ sku: 'mug', quantity: 1 }] } },
      'merchant',
    );
    expect(resolveAction(standardMachine, o, all, 'merchant', {})).toEqual({ action: 'refund_all' });
    expect(resolveAction(standardMachine, o, some, 'merchant', {})).toEqual({ action: 'refund' });
  });

  it('keeps units held by open returns out of a refund: the rest does not close the order', () => {
    const o = order('SHIPPED');
    const units = (mug: number) =>
      request(
        {
          action: 'refund',
          refund: {
            refundId: 'r1',
            items: [
              { sku: 'cap', quantity: 1 },
              { sku: 'mug', quantity: mug },
            ],
          },
        },
        'merchant',
      );
    expect(resolveAction(standardMachine, o, units(2), 'merchant', {})).toEqual({ action: 'refund_all' });
    expect(resolveAction(standardMachine, o, units(1), 'merchant', { mug: 1 })).toEqual({ action: 'refund' });
    expect(resolveAction(standardMachine, o, units(2), 'merchant', { mug: 1 })).toEqual({
      refusal: expect.objectContaining({ details: expect.objectContaining({ sku: 'mug', refundable: 1 }) }),
    });
  });

  it('refuses an impossible refund only to a caller who could refund here; the machine answers the others', () => {
    const o = order('SHIPPED');
    const tooMany = { action: 'refund', refund: { refundId: 'r1', items: [{ sku: 'mug', quantity: 3 }] } };
    const merchant = resolveAction(standardMachine, o, request(tooMany, 'merchant'), 'merchant', {});
    expect(merchant).toEqual({ refusal: expect.objectContaining({ type: FailureType.Business }) });
    expect(resolveAction(standardMachine, o, request(tooMany), 'customer', {})).toEqual({ action: 'refund' });
    expect(resolveAction(standardMachine, o, request(tooMany, 'merchant'), 'system', {})).toEqual({
      action: 'refund',
    });
  });
});

describe('checkAction', () => {
  it('answers the machine: 403 for a role that never may, 409 with the allowed actions for not now', () => {
    const forbidden = checkAction(
      standardMachine,
      order('IN_PRODUCTION'),
      request({ action: 'ship' }),
      noReturns,
    );
    expect(forbidden).toEqual({
      type: FailureType.Forbidden,
      message: 'a customer may not ship a standard order',
      details: { status: 'IN_PRODUCTION', allowedActions: ['cancel', 'modify', 'edit'] },
    });
    const notNow = checkAction(standardMachine, order('SHIPPED'), request({ action: 'pay' }), noReturns);
    expect(notNow).toMatchObject({
      type: FailureType.IllegalTransition,
      message: 'cannot pay an order that is SHIPPED',
      details: {
        status: 'SHIPPED',
        allowedActions: ['request_return', 'open_claim', 'open_exchange', 'confirm'],
      },
    });
    expect(
      checkAction(standardMachine, order('SHIPPED'), request({ action: 'confirm' }), noReturns),
    ).toBeNull();
  });

  it('refuses a return of more units than are left, counting those other returns hold', () => {
    const ret = (quantity: number) =>
      request({
        action: 'request_return',
        returnRequest: { returnId: 'ret_2', items: [{ sku: 'mug', quantity }] },
      });
    const open = new Map([['ret_1', { items: [{ sku: 'mug', quantity: 1 }] }]]);
    expect(checkAction(standardMachine, order('SHIPPED'), ret(2), noReturns)).toBeNull();
    expect(checkAction(standardMachine, order('SHIPPED'), ret(2), open)).toMatchObject({
      type: FailureType.Business,
    });
    expect(checkAction(standardMachine, order('SHIPPED'), ret(1), open)).toBeNull();
  });

  it('lets a modification change only what the state allows, and quantities only go down', () => {
    const modify = (modification: ActionRequest['modification']) =>
      request({ action: 'modify', modification });
    const address = { name: 'A', line1: '1 Road', city: 'Town', postalCode: '1', country: 'US' };
    const unpaid = order('PENDING_PAYMENT');
    expect(checkAction(standardMachine, unpaid, modify({}), noReturns)).toMatchObject({
      details: { code: 'MODIFICATION_NOT_ALLOWED' },
    });
    expect(
      checkAction(standardMachine, unpaid, modify({ items: [{ sku: 'mug', quantity: 1 }] }), noReturns),
    ).toBeNull();
    expect(
      checkAction(standardMachine, unpaid, modify({ items: [{ sku: 'mug', quantity: 3 }] }), noReturns),
    ).toMatchObject({
      details: { code: 'MODIFICATION_NOT_ALLOWED', sku: 'mug' },
    });
    expect(
      checkAction(standardMachine, unpaid, modify({ items: [{ sku: 'hat', quantity: 1 }] }), noReturns),
    ).toMatchObject({
      details: { code: 'UNKNOWN_LINE' },
    });
    const late = checkAction(
      standardMachine,
      order('IN_PRODUCTION'),
      modify({ items: [{ sku: 'mug', quantity: 1 }], shippingAddress: address }),
      noReturns,
    );
    expect(late).toMatchObject({
      type: FailureType.IllegalTransition,
      message: 'items can no longer change: the order is IN_PRODUCTION',
    });
    expect(
      checkAction(standardMachine, order('IN_PRODUCTION'), modify({ shippingAddress: address }), noReturns),
    ).toBeNull();
  });
});

describe('a payment only held (captured at shipment)', () => {
  const held = (status: string, amounts: Partial<OrderState['amounts']> = {}) => {
    const o = order(status);
    return { ...o, amounts: { ...o.amounts, paid: 0, authorized: o.amounts.total, released: 0, ...amounts } };
  };

  it('may be refunded (the hold shrinks) but not returned against: nothing was taken for it', () => {
    const o = held('SHIPPED');
    expect(actionsNow(standardMachine, o, 'merchant')).toEqual(
      expect.arrayContaining(['refund', 'refund_all']),
    );
    expect(actionsNow(standardMachine, o, 'customer')).not.toContain('request_return');
    expect(actionsNow(standardMachine, order('SHIPPED'), 'customer')).toContain('request_return');
    const ret = request({
      action: 'request_return',
      returnRequest: { returnId: 'ret_1', items: [{ sku: 'mug', quantity: 1 }] },
    });
    expect(checkAction(standardMachine, o, ret, noReturns)).toMatchObject({
      type: FailureType.IllegalTransition,
      message: 'the payment was never captured: support must settle it before a return or claim',
      details: { status: 'SHIPPED', allowedActions: ['confirm'] },
    });
    expect(checkAction(standardMachine, order('SHIPPED'), ret, noReturns)).toBeNull();
    expect(
      checkAction(
        standardMachine,
        o,
        request({ action: 'refund', refund: { refundId: 'r1' } }, 'merchant'),
        noReturns,
      ),
    ).toBeNull();
  });

  it('is not refunded while a capture of it has no answer: the money may be taken already', () => {
    const at = '2026-01-02T00:00:00.000Z';
    for (const detail of ['no_answer', 'hold_not_renewed']) {
      const o = { ...held('SHIPPED'), attention: { code: 'capture_failed' as const, detail, at } };
      for (const action of ['refund', 'refund_all'])
        expect(heldBack(standardMachine, o, action, 'merchant')).toMatch(/capture .* got no answer/);
      expect(actionsNow(standardMachine, o, 'merchant')).not.toContain('refund');
      // Orders placed before the rule shrink the hold as they did.
      for (const action of ['refund', 'refund_all'])
        expect(heldBack(standardMachine, o, action, 'merchant', { refundsWaitForCapture: false })).toBeNull();
    }
    // The workflow's own word stands over the order's flag (another flag, a short pick, may be up).
    const flaggedElse = {
      ...held('SHIPPED'),
      attention: { code: 'short_pick' as const, detail: 'west', at },
    };
    expect(heldBack(standardMachine, flaggedElse, 'refund', 'merchant')).toBeNull();
    expect(heldBack(standardMachine, flaggedElse, 'refund', 'merchant', { captureUnanswered: true })).toMatch(
      /no answer/,
    );
    // A capture refused (a decline) is an answer: support may refund.
    const declined = {
      ...held('SHIPPED'),
      attention: { code: 'capture_failed' as const, detail: 'card_declined', at },
    };
    expect(heldBack(standardMachine, declined, 'refund', 'merchant')).toBeNull();
    // Taken meanwhile (nothing held): refunds as any paid order's.
    const taken = {
      ...order('SHIPPED'),
      attention: { code: 'capture_failed' as const, detail: 'no_answer', at },
    };
    expect(heldBack(standardMachine, taken, 'refund', 'merchant')).toBeNull();
  });

  it('says what the money is: held, taken, released, given back', () => {
    const o = held('IN_PRODUCTION');
    const total = o.amounts.total;
    expect(paymentStatusOf(o)).toBe('authorized');
    expect(paymentStatusOf({ ...o, amounts: { ...o.amounts, authorized: 0 } })).toBe('unpaid');
    expect(paymentStatusOf({ ...o, amounts: { ...o.amounts, authorized: 0, released: total } })).toBe(
      'refunded',
    );
    const captured = { ...o.amounts, authorized: 0, released: 1000, paid: total - 1000 };
    expect(paymentStatusOf({ ...o, amounts: captured })).toBe('partially_refunded');
    expect(paymentStatusOf({ ...o, amounts: { ...captured, released: 0, paid: total } })).toBe('paid');
    expect(paymentStatusOf({ ...o, amounts: { ...captured, refunded: total - 1000 } })).toBe('refunded');
  });
});

describe('what the order holds back: its listed actions are the ones the workflow takes', () => {
  const parcel = (status: 'shipped' | 'delivered', location: string | null) => ({
    id: 'p1',
    location,
    items: [{ sku: 'mug', quantity: 1 }],
    carrier: 'UPS',
    trackingNumber: '1Z',
    status,
  });

  it('a warehouse ships its parcels and keeps units back from a refund until they have left', () => {
    const o = {
      ...order('IN_PRODUCTION'),
      fulfilments: [{ id: 'f1', location: 'wh-a', status: 'picked' as const }],
    };
    const merchant = actionsNow(standardMachine, o, 'merchant');
    expect(merchant).not.toContain('ship');
    expect(merchant).not.toContain('ship_part');
    expect(merchant).not.toContain('refund_all');
    expect(merchant).not.toContain('edit');
    // An amount alone (goodwill) may be refunded meanwhile; a cancel stops the parcels.
    expect(merchant).toEqual(expect.arrayContaining(['refund', 'cancel']));
    expect(heldBack(standardMachine, o, 'refund', 'merchant', { refundsUnits: true })).toMatch(/warehouse/);
    expect(heldBack(standardMachine, o, 'refund', 'merchant', { refundsUnits: false })).toBeNull();
    // Orders from before the rule wait only while partly shipped.
    expect(
      heldBack(standardMachine, o, 'refund', 'merchant', {
        refundsUnits: true,
        refundsWaitForWarehouse: false,
      }),
    ).toBeNull();
    // Shipped by the merchant: all of it listed.
    expect(actionsNow(standardMachine, order('IN_PRODUCTION'), 'merchant')).toEqual(
      expect.arrayContaining(['ship', 'refund_all', 'edit']),
    );
  });

  it('a parcel delivered, or shipped by hand, is not recalled by a cancel', () => {
    const partly = order('PARTIALLY_SHIPPED');
    expect(actionsNow(standardMachine, { ...partly, shipments: [] }, 'customer')).toContain('cancel');
    for (const shipments of [[parcel('shipped', null)], [parcel('delivered', 'wh-a')]])
      expect(actionsNow(standardMachine, { ...partly, shipments }, 'customer')).not.toContain('cancel');
    // One a warehouse sent, still on its way, is asked back.
    expect(
      actionsNow(standardMachine, { ...partly, shipments: [parcel('shipped', 'wh-a')] }, 'customer'),
    ).toContain('cancel');
  });

  it('a refusal names what the order lists now, not all the machine allows in its state', () => {
    const byHand = { ...order('PARTIALLY_SHIPPED'), shipments: [parcel('shipped', null)] };
    const refused = checkAction(standardMachine, byHand, request({ action: 'pay' }), noReturns);
    expect(allowedActions(standardMachine, 'PARTIALLY_SHIPPED', 'customer')).toContain('cancel');
    expect(refused?.details.allowedActions).toEqual(
      allowedActions(standardMachine, 'PARTIALLY_SHIPPED', 'customer').filter((a) => a !== 'cancel'),
    );
    // A 403 keeps the machine's list (the role may never take the action); a 422 has none.
    const forbidden = checkAction(standardMachine, byHand, request({ action: 'ship' }), noReturns);
    expect(forbidden?.details.allowedActions).toEqual(
      allowedActions(standardMachine, 'PARTIALLY_SHIPPED', 'customer'),
    );
    // What only the workflow knows counts too: past the after-sales window, no new case.
    const shipped = order('SHIPPED');
    const closed = checkAction(standardMachine, shipped, request({ action: 'pay' }), noReturns, {
      afterSalesClosed: true,
    });
    expect(closed?.details.allowedActions).toEqual(['confirm']);
  });

  it('while a charge is pending only a cancel changes the order; an edit’s holds back everything else', () => {
    const unpaid = { ...order('PENDING_PAYMENT'), amounts: { ...order('PENDING_PAYMENT').amounts, paid: 0 } };
    const pending = {
      ...unpaid,
      payments: [{ id: 'pay_1', status: 'processing' as const, amount: unpaid.amounts.total, refunded: 0 }],
    };
    expect(actionsNow(standardMachine, unpaid, 'customer')).toEqual(
      expect.arrayContaining(['pay', 'modify']),
    );
    expect(actionsNow(standardMachine, pending, 'customer')).toEqual(['cancel']);
    const paid = order('IN_PRODUCTION');
    expect(actionsNow(standardMachine, paid, 'merchant', { pendingFor: 'edit' })).toEqual(['cancel']);
    expect(actionsNow(standardMachine, paid, 'merchant', { pendingFor: null })).toContain('ship');
  });
});

describe('deadlineOf', () => {
  const policy = { paymentTimeoutMs: 1_800_000, autoConfirmAfterMs: 60_000, afterSalesWindowMs: 120_000 };

  it('measures from entering the state; a self-loop (a refund) does not restart the timer', () => {
    const shipped = order('SHIPPED');
    const entered = Date.parse('2026-01-01T00:10:00.000Z');
    expect(deadlineOf('autoConfirmAfter', shipped, policy)).toBe(entered + 60_000);
    shipped.history.push({
      seq: 3,
      from: 'SHIPPED',
      action: 'refund',
      to: 'SHIPPED',
      actor: 'merchant:m',
      at: '2026-01-01T00:20:00.000Z',
    });
    expect(deadlineOf('autoConfirmAfter', shipped, policy)).toBe(entered + 60_000);
    expect(deadlineOf('paymentTimeout', shipped, policy)).toBe(Date.parse(shipped.paymentDeadline));
  });
});

describe('unitsHeld', () => {
  it('adds the units of open returns by SKU, leaving out the one named', () => {
    const open = new Map([
      ['ret_1', { items: [{ sku: 'mug', quantity: 1 }] }],
      [
        'ret_2',
        {
          items: [
            { sku: 'mug', quantity: 1 },
            { sku: 'cap', quantity: 1 },
          ],
        },
      ],
    ]);
    expect(unitsHeld(open)).toEqual({ mug: 2, cap: 1 });
    expect(unitsHeld(open, 'ret_2')).toEqual({ mug: 1 });
  });
});

describe('refusalWhenClosed', () => {
  it('answers for a closed order or return as its workflow would have, and not while it is open', () => {
    const subject = (status: string) => ({ kind: 'order' as const, type: 'standard', status });
    expect(refusalWhenClosed(standardMachine, subject('SHIPPED'), 'pay', 'customer')).toBeNull();
    expect(refusalWhenClosed(standardMachine, subject('COMPLETED'), 'cancel', 'customer')).toMatchObject({
      type: FailureType.IllegalTransition,
      details: { status: 'COMPLETED', allowedActions: [] },
    });
    expect(refusalWhenClosed(standardMachine, subject('COMPLETED'), 'ship', 'customer')).toMatchObject({
      type: FailureType.Forbidden,
    });
    expect(
      refusalWhenClosed(returnMachine, { kind: 'return', status: 'REFUNDED' }, 'approve', 'customer'),
    ).toMatchObject({
      type: FailureType.Forbidden,
      message: 'a customer may not approve a return',
    });
  });
});

test('review: above the threshold for the order’s currency, or any charge scored risky', () => {
  const order = (total: number, currency = 'USD', risk?: 'elevated') => ({
    currency,
    amounts: { subtotal: total, discount: 0, shipping: 0, total, paid: total, refunded: 0 },
    payments: [
      { id: 'p', status: 'succeeded' as const, amount: total, refunded: 0, ...(risk ? { risk } : {}) },
    ],
  });
  const policy = {
    paymentTimeoutMs: 1,
    autoConfirmAfterMs: 1,
    afterSalesWindowMs: 1,
    reviewAbove: { USD: 1000 },
  };
  expect(needsReview(order(1000), policy)).toBe(false);
  expect(needsReview(order(1001), policy)).toBe(true);
  expect(needsReview(order(5000, 'EUR'), policy)).toBe(false);
  expect(needsReview(order(10, 'EUR', 'elevated'), policy)).toBe(true);
  expect(needsReview(order(1_000_000), { ...policy, reviewAbove: undefined })).toBe(false);
});

test('an edit escapes review when it takes a paid order up past the threshold outside IN_REVIEW', () => {
  const order = (total: number, status = 'IN_PRODUCTION', currency = 'USD') => ({
    currency,
    status,
    amounts: { subtotal: total, discount: 0, shipping: 0, total, paid: total, refunded: 0 },
  });
  const policy = { reviewAbove: { USD: 1000 } };
  expect(editEscapesReview(order(500), 1001, policy)).toBe(true);
  expect(editEscapesReview(order(500, 'PAID'), 1001, policy)).toBe(true);
  expect(editEscapesReview(order(500), 1000, policy)).toBe(false); // at the threshold, not past it
  // Lowering a total, even one above the threshold (approved before), is never held back.
  expect(editEscapesReview(order(3000), 2000, policy)).toBe(false);
  expect(editEscapesReview(order(3000), 3001, policy)).toBe(true);
  // Unpaid: reviewed at payment with the new total; in review: staff decide anyway.
  expect(editEscapesReview(order(500, 'PENDING_PAYMENT'), 5000, policy)).toBe(false);
  expect(editEscapesReview(order(500, 'IN_REVIEW'), 5000, policy)).toBe(false);
  // No threshold for the currency, or none at all.
  expect(editEscapesReview(order(500, 'IN_PRODUCTION', 'EUR'), 5000, policy)).toBe(false);
  expect(editEscapesReview(order(500), 5000, {})).toBe(false);
});

describe('depositForfeitable: the presale rule keeps a deposit only when the balance had its chance', () => {
  const presale = {
    deposit: 1000,
    balanceStartsAt: '2026-12-01T00:00:00.000Z',
    balanceEndsAt: '2026-12-02T00:00:00.000Z',
    depositPerUnit: { a: 1000 },
  };
  const depositAt = (at: string) => [
    {
      seq: 1,
      from: null,
      action: 'place',
      to: 'PENDING_DEPOSIT',
      actor: 'customer:c',
      at: '2026-11-30T00:00:00.000Z',
    },
    { seq: 2, from: 'PENDING_DEPOSIT', action: 'pay', to: 'DEPOSIT_PAID', actor: 'customer:c', at },
  ];
  const payment = (status: string) => ({ id: `p-${status}`, status, amount: 1000, refunded: 0 });

  test('a deposit paid in time and a balance never tried: kept', () => {
    expect(
      depositForfeitable({
        presale,
        history: depositAt('2026-11-30T01:00:00.000Z'),
        payments: [payment('succeeded')],
      } as never),
    ).toBe(true);
  });
  test('a deposit that settled after the window closed: given back', () => {
    expect(
      depositForfeitable({
        presale,
        history: depositAt('2026-12-02T00:00:05.000Z'),
        payments: [payment('succeeded')],
      } as never),
    ).toBe(false);
  });
  test('a balance still processing when the window closed: given back', () => {
    expect(
      depositForfeitable({
        presale,
        history: depositAt('2026-11-30T01:00:00.000Z'),
        payments: [payment('succeeded'), payment('processing')],
      } as never),
    ).toBe(false);
  });
});
