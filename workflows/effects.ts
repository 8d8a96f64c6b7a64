/**
 * What each machine effect (domain/machine.ts `Effect`) does, as activity calls. Returns the
 * changes to the order; throws an ApplicationFailure when the action must not happen (declined
 * payment, stock gone), in which case no transition is recorded.
 */
import { CancellationScope } from '@temporalio/workflow';
import type { Effect } from '../domain/machine';
import type { ActionRequest, OrderState } from '../domain/order';
import { payment, refunds, store } from './activities';

export interface EffectContext {
  order: OrderState;
  request: ActionRequest | null;
  /** Numbers payment attempts, so each has its own idempotency key. */
  nextPaymentAttempt: () => number;
}

type Changes = Partial<Pick<OrderState, 'amounts' | 'shipment' | 'delivery'>>;

/** Compensations and refunds finish even if the workflow is being cancelled. */
const nonCancellable = <T>(fn: () => Promise<T>) => CancellationScope.nonCancellable(fn);

async function charge(ctx: EffectContext, amount: number, settlesOrder: boolean): Promise<Changes> {
  const { order } = ctx;
  const attempt = ctx.nextPaymentAttempt();
  if (order.amounts.paid === 0) await store.secureStockForPayment({ orderId: order.id, attempt });
  try {
    await payment.capturePayment.executeWithOptions(
      { ...PAYMENT_OPTIONS, summary: `charge ${amount} ${order.currency} (attempt ${attempt})` },
      [
        {
          orderId: order.id,
          attempt,
          amount,
          currency: order.currency,
          token: ctx.request?.paymentToken ?? '',
        },
      ],
    );
  } catch (err) {
    // Registered before the charge ran; undone only if the charge did not happen.
    if (order.amounts.paid === 0)
      await nonCancellable(() => store.releasePaymentStock({ orderId: order.id, attempt }));
    throw err;
  }
  if (settlesOrder) {
    await nonCancellable(async () => {
      await store.commitStock({ orderId: order.id });
      await store.redeemCoupon({ orderId: order.id });
    });
  }
  return { amounts: { ...order.amounts, paid: order.amounts.paid + amount } };
}

const PAYMENT_OPTIONS = {
  startToCloseTimeout: '20s',
  retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 8 },
} as const;

async function refundEverything(order: OrderState, reason: string): Promise<Changes> {
  return nonCancellable(async () => {
    const refunded = await refunds.refundAll({ orderId: order.id, tag: 'cancel', reason });
    await store.releaseHolds({ orderId: order.id, tag: 'cancel' });
    await store.restockSold({ orderId: order.id, tag: 'cancel' });
    return { amounts: { ...order.amounts, refunded: order.amounts.refunded + refunded } };
  });
}

export async function runEffect(effect: Effect | undefined, ctx: EffectContext): Promise<Changes> {
  const { order, request } = ctx;
  const due = order.amounts.total - order.amounts.paid;
  switch (effect) {
    case undefined:
      return {};
    case 'capturePayment':
      return charge(ctx, due, true);
    case 'captureDeposit':
      return charge(ctx, order.presale?.deposit ?? due, false);
    case 'captureBalance':
      return charge(ctx, due, true);
    case 'releaseHolds':
    case 'forfeitDeposit':
      await nonCancellable(() => store.releaseHolds({ orderId: order.id, tag: 'cancel' }));
      return {};
    case 'cancelPresale':
      // The presale rule (domain/machines/presale.ts): a customer's cancel keeps the deposit.
      if (request?.actor.role === 'customer') return runEffect('forfeitDeposit', ctx);
      return refundEverything(order, request?.reason ?? 'cancelled');
    case 'refundAndRelease':
      return refundEverything(order, request?.reason ?? 'cancelled');
    case 'openProduction':
      await store.openProduction({ orderId: order.id, kind: 'manufacture' });
      return {};
    case 'deliverGoods': {
      const { deliveryCode } = await store.openProduction({ orderId: order.id, kind: 'digital_code' });
      return { delivery: { code: deliveryCode ?? '' } };
    }
    case 'recordShipment':
      return { shipment: request?.shipment ?? null };
  }
}
