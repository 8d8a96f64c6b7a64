/**
 * What each machine effect (domain/machine.ts `Effect`) does, as activity calls and child
 * workflows. Returns the changes to the order; throws an ApplicationFailure when the action must
 * not happen (declined payment, stock gone), in which case no transition is recorded.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  startChild,
  TimeoutFailure,
} from '@temporalio/workflow';
import { FailureType, KEY_REUSED } from '../../domain/errors';
import type { Effect } from '../../domain/machine';
import type {
  ActionRequest,
  Attention,
  LineQuantity,
  OrderPayment,
  OrderPolicy,
  OrderState,
  Shipment,
} from '../../domain/order';
import { depositForfeitable, keyOutlivesMemory, paymentsKept, providerPaymentIds } from '../../domain/order';
import type { ClaimInput, ReturnInput } from '../reverse/messages';
import { notYetShipped, planParcel } from '../../domain/shipping';
import {
  FULFILMENT_RANK,
  fulfilmentId,
  fulfilmentWorkflowId,
  missingUnits,
  type FulfilmentStatus,
} from '../../domain/fulfilment';
import { fulfilmentFlow } from '../fulfilment/fulfilment-flow';
import { applyRefund, planGoodwill, planRefund } from '../../domain/refunds';
import { externalPayer } from '../../domain/imports';
import type { ChargeOutcome } from '../../activities/payment';
import { local, localPayment, payment, reconcile, store, warehouse } from '../activities';
import { notNow } from '../../domain/refusals';
import { buyerSide, type Actor } from '../../domain/roles';
import { refuse } from '../refusals';
import { cancelOrderFlow, type CancelOrderInput } from '../reverse/cancel-order';
import { modifyOrderFlow } from '../reverse/modify-order';
import { refundOrderFlow } from '../reverse/refund-order';
import { initialReturnRecord, returnOrderFlow } from '../reverse/return-order';
import { claimOrderFlow, initialClaimRecord } from '../reverse/claim-order';
import { exchangeOrderFlow } from '../reverse/exchange-order';
import { editOrderFlow } from '../reverse/edit-order';
import { applyExchange, exchangeCredits, type ExchangeCredit } from '../../domain/exchanges';
import { allocate } from '../../domain/allocate';

export interface EffectContext {
  order: OrderState;
  request: ActionRequest | null;
  /** Numbers payment attempts, so each has its own idempotency key. */
  nextPaymentAttempt: () => number;
  /** Hands the last attempt's number back: its key is to be looked up again later (`charge`). */
  unusedPaymentAttempt?: () => void;
  /**
   * That attempt's charge may have been made, unshown yet: an ended order keeps looking for it.
   * `firstUse`: when a charge first used the key, where known (this charge's own start).
   */
  chargeUnshown?: (attempt: number, firstUse?: number) => void;
  /**
   * Since when a charge under `attempt`'s key may have been made unseen (a key kept, a pay the API
   * got no answer to): the first time; undefined for a key no earlier charge may have used.
   */
  keyUsedSince?: (attempt: number) => number | undefined;
  /** Units promised to open returns (other than the one being refunded). */
  held: Record<string, number>;
  /** A return or claim now holds these units (until refunded or closed). */
  onReturnOpened: (
    returnId: string,
    items: LineQuantity[],
    kind?: 'claim' | 'exchange',
    exchange?: { credits: ExchangeCredit[]; refundDue: number },
  ) => void;
  /** The order's payment is authorised now and captured at shipment (PAYMENT_CAPTURE=on_shipment). */
  captureLater?: boolean;
  /** Production hands each stock location's part to the warehouse (FULFILMENT=warehouse). */
  warehouse?: boolean;
  /** The order's return rules, fixed when it was placed. */
  returns?: Pick<
    OrderPolicy,
    | 'returnDecisionWindowMs'
    | 'returnShipWindowMs'
    | 'pendingPaymentPollMs'
    | 'pendingPaymentGraceMs'
    | 'chargeKeyMemoryMs'
  >;
  /**
   * Placed with `patched('step-writes-with-record')` (decided once when the order starts): the
   * step's database writes go with its transition's record (`StepWrites`).
   */
  stepWrites?: boolean;
  /**
   * Placed with `patched('charge-in-worker')`: the order's charge is a local activity, and a charge
   * whose Update was lost is looked up by its key (./order-entity.ts, `lostCharge`).
   */
  chargeInWorker?: boolean;
  /**
   * Placed with `patched('refunds-wait-for-warehouse')`: no refund takes units a warehouse is
   * packing, so a fulfilment that shipped without a parcel of the order's shipped nothing.
   */
  refundsWaitForWarehouse?: boolean;
  /** A charge of the order got no answer and is not shown yet: its key is kept, looked for after the order ends. */
  chargeKeyKept?: boolean;
  /** The charge a presale customer's cancel of its unpaid deposit found and was refused for (./order-entity.ts). */
  depositFoundOnCancel?: string;
}

/** Writes a step leaves to its transition's record, made by the same local activity (`recordStep`). */
export interface StepWrites {
  /** The sale: held stock sold, the locked coupon redeemed; its allocation joins the order. */
  sale?: boolean;
  /** The manufacture job. */
  production?: boolean;
}

/** A charge the provider has not decided: the action waits for it (./order-entity.ts). */
export interface PendingCharge {
  paymentId: string;
  attempt: number;
  amount: number;
  method?: string;
  nextAction?: { redirectUrl: string };
  /**
   * Found at the provider, made by a request whose answer was lost: how it stands there. It pays
   * the order only if it is for what the order owes (./order-entity.ts, `settle`).
   */
  lost?: {
    status: 'succeeded' | 'authorized' | 'pending';
    captureBefore?: string;
    risk?: OrderPayment['risk'];
  };
}

/**
 * A charge about to be made under a key an earlier charge may have used unseen, longer ago than
 * the provider remembers keys: looked up first (`kept-key-looked-up-when-old`).
 */
function keyOutlived(ctx: EffectContext, attempt: number): boolean {
  const since = ctx.keyUsedSince?.(attempt);
  return (
    since !== undefined &&
    keyOutlivesMemory(since, Date.now(), ctx.returns?.chargeKeyMemoryMs) &&
    patched('kept-key-looked-up-when-old')
  );
}

/** A charge looked up under an attempt's key, as the order's pending charge; undefined if none is there. */
export function lostChargeOf(found: ChargeOutcome, attempt: number): PendingCharge | undefined {
  if (found.status !== 'succeeded' && found.status !== 'authorized' && found.status !== 'pending')
    return undefined;
  return {
    paymentId: found.paymentId,
    attempt,
    amount: found.amount ?? 0,
    ...(found.method ? { method: found.method } : {}),
    ...(found.status === 'pending' && found.nextAction ? { nextAction: found.nextAction } : {}),
    lost: {
      status: found.status,
      ...(found.status === 'authorized' ? { captureBefore: found.captureBefore } : {}),
      ...(found.status !== 'pending' && found.risk ? { risk: found.risk } : {}),
    },
  };
}

export type Changes = Partial<
  Pick<
    OrderState,
    | 'amounts'
    | 'shipment'
    | 'shipments'
    | 'deliveredAt'
    | 'fulfilments'
    | 'delivery'
    | 'items'
    | 'discounts'
    | 'presale'
    | 'shippingAddress'
    | 'payments'
    | 'attention'
    | 'allocation'
  >
> & { pending?: PendingCharge; writes?: StepWrites };

/**
 * The forward path's quick database writes (pay-time stock, the sale, the production job) run as
 * local activities in the worker that holds the workflow, and the sale's two writes as one: each
 * saved a round trip through the server, a workflow task and its events (docs/BENCHMARKS.md,
 * tuning 4). Orders whose history predates it replay the activities they ran.
 */
const leanForwardPath = (ctx: EffectContext) => ctx.stepWrites || patched('lean-forward-path');

/**
 * A charge whose answer never came and that the provider does not show is tried again under the
 * same key, with the stock held for it kept; before this patch the key was spent (a second charge
 * if the first had been made) and, when a lookup lagged, the stock let go and never held again.
 */
const KEY_KEEPS_STOCK = 'unshown-charge-keeps-key';

/**
 * An edit's charge whose answers were all lost and which the provider does not show keeps its key,
 * as the order's pay does: the edit confirmed again asks under it (one charge, never two), and
 * the open order looks for it until it shows, then refunds it. Before this patch the key was
 * spent: a second confirm charged again, and the first charge was never found.
 */
const EDIT_KEY_KEPT = 'edit-keeps-unshown-key';

/**
 * A presale's deposit and balance keep an unshown charge's key as the order's pay does: tried
 * again under it, looked up when the window ends, and looked for after the order ended (refunded
 * once shown). Before this patch the key was spent: the next try charged again, and the first
 * charge, once shown, was never looked for.
 */
const PRESALE_KEY_KEPT = 'presale-charges-keep-unshown-key';

/** Compensations and refunds finish even if the workflow is being cancelled. */
const nonCancellable = <T>(fn: () => Promise<T>) => CancellationScope.nonCancellable(fn);

async function charge(
  ctx: EffectContext,
  amount: number,
  settlesOrder: boolean,
  /**
   * Asked only where it matters: whether a key the provider did not show is kept (`charge`'s
   * catch). The order's pay keeps it (the payment timeout and a cancel look it up: `lostCharge`),
   * and an edit's charge (its provider's key-reused refusal looked up too; the open order looks
   * for the charge: ./order-entity.ts, `unshownChargeWatched`), and a presale's deposit and
   * balance (`PRESALE_KEY_KEPT`). Without it (a history from before those patches) the key is spent.
   */
  keepKey?: () => boolean,
): Promise<Changes> {
  const { order, request } = ctx;
  // A pending charge the provider has now made pays the action it was made for: nothing to ask again.
  let paymentId = request?.settledPayment?.paymentId;
  let method = request?.settledPayment?.method;
  /** Set when the money is only held (authorised), to be captured at shipment: until when. */
  let captureBefore = request?.settledPayment?.captureBefore;
  let heldOnly = captureBefore !== undefined;
  /** The provider's fraud score, when above normal: the order waits for review before production. */
  let risk: OrderPayment['risk'] = request?.settledPayment?.risk;
  if (request?.settledPayment) amount = request.settledPayment.amount;
  // Nothing is due (a free order): there is no charge to make; stock and coupon settle as when paid.
  const free = !paymentId && amount <= 0 && patched('free-orders');
  const lean = leanForwardPath(ctx);
  // Pay-time stock: taken only for `on_payment` lines (none: nothing to take or give back), in
  // this worker (a quick write the charge waits on) on the lean path.
  const takesStock =
    paidNothing(order) && !(lean && order.items.every((l) => l.inventoryStrategy === 'on_order'));
  const secureStock = (attempt: number) =>
    (lean ? local : store).secureStockForPayment({ orderId: order.id, attempt });
  if (free && takesStock) await secureStock(ctx.nextPaymentAttempt());
  if (!paymentId && !free) {
    const attempt = ctx.nextPaymentAttempt();
    if (takesStock) await secureStock(attempt);
    /** That key's charge was declined at the provider: the key is spent, and this charge made under the next. */
    const underNextKey = async () => {
      if (takesStock) await nonCancellable(() => store.releasePaymentStock({ orderId: order.id, attempt }));
      return charge(ctx, amount, settlesOrder, keepKey);
    };
    // A key kept longer than the provider remembers keys would not stop a second charge (Stripe's
    // are forgotten after a day): what its earlier use left is looked up first, never guessed.
    if (keyOutlived(ctx, attempt)) {
      const there = await reconcile.reconcileCharge({ orderId: order.id, attempt });
      const lost = lostChargeOf(there, attempt);
      if (lost) return { pending: lost };
      if (there.status === 'declined') return underNextKey();
      // Not there after that long: no charge was made under it, and the provider no longer knows it.
    }
    let outcome: ChargeOutcome;
    const tried = Date.now();
    try {
      // In this worker, the charge leaves its trace with the task that accepts the Update: a worker
      // that dies first leaves a charge the order does not know (looked up: `lostCharge`).
      const args = {
        orderId: order.id,
        attempt,
        amount,
        currency: order.currency,
        token: request?.paymentToken ?? '',
        ...(ctx.captureLater && settlesOrder ? { capture: 'manual' as const } : {}),
      };
      const result = await (ctx.chargeInWorker ? chargeHere(args) : payment.capturePayment(args));
      outcome =
        result.status === 'pending'
          ? {
              status: 'pending',
              paymentId: result.paymentId,
              method: result.method,
              nextAction: result.nextAction,
            }
          : result.status === 'authorized'
            ? { ...result }
            : {
                status: 'succeeded',
                paymentId: result.paymentId,
                method: result.method,
                ...(result.risk ? { risk: result.risk } : {}),
              };
    } catch (err) {
      // The key holds a charge made with other parameters (another card, another amount) by a pay
      // whose Update was lost: that charge is the order's pending one, not a second charge.
      // An edit's charge (an activity's) under its kept key: looked up too (only under its patch).
      const editKey = !ctx.chargeInWorker && request?.editRequest !== undefined;
      if (declineCode(err) === KEY_REUSED && (ctx.chargeInWorker || (editKey && (keepKey?.() ?? false)))) {
        const there = await reconcile.reconcileCharge({ orderId: order.id, attempt });
        const lost = lostChargeOf(there, attempt);
        if (lost) return { pending: lost };
        // Not shown yet (a provider whose lookup lags): the key is looked up again, later, and
        // the stock held under it stays held for that charge (held again, its tag would do nothing).
        if (there.status === 'declined') return underNextKey();
        const keyKept = keepKey?.() ?? false;
        if (takesStock && !keyKept)
          await nonCancellable(() => store.releasePaymentStock({ orderId: order.id, attempt }));
        ctx.unusedPaymentAttempt?.();
        // First used by a lost request, at a time nobody knows.
        if (keyKept) ctx.chargeUnshown?.(attempt);
        throw unshownCharge('order');
      }
      // No answer came back however often it was asked: what happened is looked up, never guessed.
      const found =
        outcomeUnknown(err) && patched('reconcile-unknown-charge')
          ? await reconcile.reconcileCharge({ orderId: order.id, attempt })
          : undefined;
      if (found?.status !== 'succeeded' && found?.status !== 'pending' && found?.status !== 'authorized') {
        // Not there is not proof that it never happened: a provider's search may lag behind its
        // writes. The pay's key (and the stock held under it) is kept, so the next try is answered
        // with that charge if it was made, and the order looks it up again before it ends (`lostCharge`).
        const keyKept = found?.status === 'absent' && (keepKey?.() ?? false);
        // Registered before the charge ran; undone only if the charge did not happen.
        if (takesStock && !keyKept)
          await nonCancellable(() => store.releasePaymentStock({ orderId: order.id, attempt }));
        if (keyKept) {
          ctx.unusedPaymentAttempt?.();
          ctx.chargeUnshown?.(attempt, tried);
        }
        throw found?.status === 'declined' ? declined(found.code) : err;
      }
      outcome = found;
    }
    // Not decided yet (a bank transfer, a 3-D Secure step): no transition; the stock stays held.
    if (outcome.status === 'pending' && patched('async-payments'))
      return {
        pending: {
          paymentId: outcome.paymentId,
          attempt,
          amount,
          ...(outcome.method ? { method: outcome.method } : {}),
          nextAction: outcome.nextAction,
        },
      };
    paymentId = outcome.paymentId;
    method = outcome.method;
    if (outcome.status !== 'pending') risk = outcome.risk;
    if (outcome.status === 'authorized') {
      heldOnly = true;
      captureBefore = outcome.captureBefore;
    }
  }
  // Orders whose history predates stock locations had commitStock answer nothing.
  let allocation: Changes = {};
  if (settlesOrder && ctx.stepWrites) allocation = { writes: { sale: true } };
  else if (settlesOrder) {
    await nonCancellable(async () => {
      // Lean: the sale (stock sold, coupon redeemed) in one transaction, in this worker.
      if (lean) {
        allocation = { allocation: await local.settleSale({ orderId: order.id }) };
        return;
      }
      const committed = await store.commitStock({ orderId: order.id });
      if (committed) allocation = { allocation: committed };
      await store.redeemCoupon({ orderId: order.id });
    });
  }
  if (!paymentId) return allocation; // free: nothing was charged
  if (heldOnly)
    return {
      ...allocation,
      amounts: {
        ...order.amounts,
        authorized: (order.amounts.authorized ?? 0) + amount,
        released: order.amounts.released ?? 0,
      },
      payments: withPayment(order, {
        id: paymentId,
        status: 'authorized',
        ...(method ? { method } : {}),
        amount,
        refunded: 0,
        captureBefore,
        ...(risk ? { risk } : {}),
      }),
    };
  return {
    ...allocation,
    amounts: { ...order.amounts, paid: order.amounts.paid + amount },
    payments: withPayment(order, {
      id: paymentId,
      status: 'succeeded',
      ...(method ? { method } : {}),
      amount,
      refunded: 0,
      ...(risk ? { risk } : {}),
    }),
  };
}

/**
 * One fulfilment per stock location the order's units come from, each a child workflow of its own
 * that asks the warehouse and reports back (../fulfilment/fulfilment-flow.ts). Abandoned, not
 * ended, with the order: a parcel on its way still reports where it is.
 */
async function handToWarehouses(order: OrderState): Promise<NonNullable<OrderState['fulfilments']>> {
  for (const { location, items } of order.allocation ?? [])
    await startChild(fulfilmentFlow, {
      workflowId: fulfilmentWorkflowId(order.id, location),
      args: [{ orderId: order.id, location, items }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  return (order.allocation ?? []).map(({ location }) => ({
    id: fulfilmentId(order.id, location),
    location,
    status: 'requested' as const,
  }));
}

/** The order's parcels with this one added: the units it names (all that is left when none), from where. */
function withParcel(order: OrderState, request: ActionRequest | null): Shipment[] {
  const shipments = order.shipments ?? [];
  const given = request?.shipment;
  if (!given) return shipments;
  const parcel = planParcel(order, given.items);
  return [
    ...shipments,
    {
      id: given.fulfilment?.id ?? `${order.id}:parcel${shipments.length + 1}`,
      location: given.fulfilment?.location ?? null,
      items: parcel.ok ? parcel.items : [],
      carrier: given.carrier,
      trackingNumber: given.trackingNumber,
      status: 'shipped',
    },
  ];
}

/** The order's payments with this one added, or updated if it is there (a pending one settled). */
export function withPayment(order: OrderState, payment: OrderPayment): OrderPayment[] {
  const payments = order.payments ?? [];
  return payments.some((p) => p.id === payment.id)
    ? payments.map((p) => (p.id === payment.id ? payment : p))
    : [...payments, payment];
}

/**
 * A charge in the worker that holds the workflow: its first tries there, the rest as an activity
 * under the same key (../activities.ts, `localPayment`). Orders whose tries all ran here
 * replay so (no marker: the patch is asked only once the first tries are out).
 */
async function chargeHere(args: Parameters<typeof payment.capturePayment>[0]) {
  try {
    return await localPayment.capturePayment(args);
  } catch (err) {
    // A cancelled charge (an order placed before 'cancellation-request-cancels-order', whose body
    // a cancellation request reaches) keeps its old path: the cancel looks the charge up.
    if (!outcomeUnknown(err) || isCancellation(err) || !patched('charge-retries-as-activity')) throw err;
    return payment.capturePayment(args);
  }
}

/**
 * A lookup whose answer a customer waits for (a pay refused for want of stock): its first tries in
 * the worker that holds the workflow, as the charge's are, the rest as an activity. A burst of such
 * refusals (a sale's last units) then costs no trip through the server's activity queue each.
 */
export async function lookUpHere(args: Parameters<typeof reconcile.reconcileCharge>[0]) {
  try {
    return await localPayment.reconcileCharge(args);
  } catch (err) {
    if (isCancellation(err)) throw err;
    return reconcile.reconcileCharge(args);
  }
}

/** The provider holds an earlier charge of this order (or exchange) under the key, not shown yet: an outage. */
export const unshownCharge = (of: 'order' | 'exchange') =>
  ApplicationFailure.create({
    type: FailureType.Unavailable,
    message: `the payment provider holds an earlier payment of this ${of} it cannot show yet`,
    nonRetryable: true,
  });

/** A charge whose retries ran out (or timed out) may have happened; a decline or a refusal did not. */
export function outcomeUnknown(err: unknown): boolean {
  // An activity's failure comes wrapped in an ActivityFailure; a local activity's may come as its
  // last attempt's own.
  const last = err instanceof ActivityFailure ? err.cause : err;
  if (!(
    err instanceof ActivityFailure ||
    last instanceof ApplicationFailure ||
    last instanceof TimeoutFailure
  ))
    return false;
  return !(last instanceof ApplicationFailure && last.nonRetryable);
}

/** The provider's decline code of a charge refused, if `err` is one. */
export function declineCode(err: unknown): string | undefined {
  const last = err instanceof ActivityFailure ? err.cause : err;
  if (!(last instanceof ApplicationFailure) || last.type !== FailureType.PaymentDeclined) return undefined;
  return (last.details?.[0] as { code?: string } | undefined)?.code;
}

export const declined = (code: string) =>
  ApplicationFailure.create({
    type: FailureType.PaymentDeclined,
    message: `payment declined: ${code}`,
    nonRetryable: true,
    details: [{ code }],
  });

/**
 * An order cancelled after the hand-off: each warehouse still holding its part is asked to stop.
 * A parcel that has already left is asked back from the carrier (recalled): it is restocked when
 * it arrives, not now, and the order keeps it in `shipments` with `recalledAt`. One delivered
 * before the recall reached the carrier is flagged for support.
 */
async function stopFulfilments(order: OrderState, emptyParcelsKnown: boolean) {
  let fulfilments = order.fulfilments ?? [];
  let shipments = order.shipments ?? [];
  const stillOut: NonNullable<CancelOrderInput['stillOut']> = [];
  let attention: Attention | undefined;
  const at = new Date().toISOString();
  const set = (id: string, status: FulfilmentStatus) =>
    (fulfilments = fulfilments.map((x) => (x.id === id ? { ...x, status } : x)));
  for (const f of order.fulfilments ?? []) {
    if (f.status === 'refused' || f.status === 'cancelled') continue;
    const known = shipments.find((s) => s.id === f.id);
    // Delivered: its units are the customer's, not stock to put back. Only the system cancels then
    // (a held payment that could not be authorised again), and support is asked, as when a recall
    // comes too late: the customer has goods the cancel let go of.
    if (known?.status === 'delivered' && !known.returnedAt && patched('cancel-keeps-delivered-parcels')) {
      stillOut.push({ location: f.location, items: known.items, missing: [] });
      attention = { code: 'recall_failed', detail: f.location, at };
      continue;
    }
    if (known && known.status !== 'shipped' && known.status !== 'in_transit') continue;
    // Shipped with nothing in it (every unit short, refunded and written off then): nothing to stop
    // or bring back, and nothing to write off again. (On older orders a refund could take units
    // being packed, and a parcel's ship be refused for that: those are recalled as before.)
    const emptyParcel = emptyParcelsKnown && !known && FULFILMENT_RANK[f.status] >= FULFILMENT_RANK.shipped;
    if (emptyParcel && patched('cancel-skips-empty-parcels')) continue;
    if (!known) {
      const reportMissing = patched('cancel-writes-off-short-picks');
      const answer = await nonCancellable(() =>
        warehouse.cancelFulfilment({
          orderId: order.id,
          location: f.location,
          id: f.id,
          ...(reportMissing ? { reportMissing } : {}),
        }),
      );
      if (answer === 'cancelled') {
        set(f.id, 'cancelled');
        continue;
      }
      if (typeof answer === 'object') {
        // Stopped after its pick found units short: those are written off there, not restocked.
        set(f.id, 'cancelled');
        stillOut.push({ location: f.location, items: [], missing: answer.missing });
        continue;
      }
    }
    const record = await nonCancellable(() => warehouse.recallFulfilment({ id: f.id }));
    const sent = record.picked ?? record.items;
    stillOut.push({
      location: f.location,
      items: known ? known.items : sent,
      missing: known ? [] : missingUnits(record),
    });
    if (record.status === 'delivered') attention = { code: 'recall_failed', detail: f.location, at };
    shipments = known
      ? shipments.map((s) => (s.id === f.id ? { ...s, recalledAt: at } : s))
      : [
          ...shipments,
          {
            id: f.id,
            location: f.location,
            items: sent.filter((i) => i.quantity > 0),
            carrier: record.carrier ?? 'unknown',
            trackingNumber: record.trackingNumber ?? 'unknown',
            // What the order has heard: the news of it moving on comes through the fulfilment.
            status: 'shipped' as const,
            recalledAt: at,
          },
        ];
  }
  return { fulfilments, shipments, stillOut, attention };
}

/** The cancel flow as a child workflow, so its steps show on their own in the Web UI. */
async function cancel(
  order: OrderState,
  refund: boolean,
  reason: string,
  actor: Actor = 'system',
  emptyParcelsKnown = false,
): Promise<Changes> {
  const held = (order.amounts.authorized ?? 0) > 0;
  // Handed to warehouses: each is asked to stop first.
  const handedOff = (order.fulfilments ?? []).filter(
    (f) => f.status !== 'refused' && f.status !== 'cancelled',
  );
  let fulfilments = order.fulfilments;
  const stopped: Changes = {};
  let stillOut: CancelOrderInput['stillOut'];
  if (handedOff.length > 0 && patched('cancel-fulfilments')) {
    if (patched('cancel-recalls-parcels')) {
      // A parcel already gone is asked back from the carrier.
      const outcome = await stopFulfilments(order, emptyParcelsKnown);
      fulfilments = outcome.fulfilments;
      stillOut = outcome.stillOut;
      stopped.shipments = outcome.shipments;
      if (outcome.attention) stopped.attention = outcome.attention;
    } else {
      // Orders from before recalls: a parcel already gone refused a person's cancel.
      for (const f of handedOff) {
        const answer = await nonCancellable(() =>
          warehouse.cancelFulfilment({ orderId: order.id, location: f.location }),
        );
        const outcome = typeof answer === 'object' ? answer.outcome : answer;
        if (outcome === 'too_late' && actor !== 'system')
          throw refuse(
            notNow('a parcel has already left the warehouse: return it once it arrives', order.status, []),
          );
        if (outcome === 'cancelled')
          fulfilments = (fulfilments ?? []).map((x) =>
            x.id === f.id ? { ...x, status: 'cancelled' as const } : x,
          );
      }
    }
  }
  const owed = refund ? owedRefund(order) : undefined;
  // A charge still pending here (an edit's, a balance's) is the order's own to settle once its news
  // comes: refunded late or let go (order-entity.ts). The provider may have taken it already, and
  // the cancel's refund would refund it too: it leaves that payment alone.
  const pendingCharges =
    refund && patched('cancel-leaves-pending-charges')
      ? (order.payments ?? [])
          .filter((p) => p.status === 'processing' || p.status === 'requires_action')
          .map((p) => p.id)
      : [];
  const known = providerPaymentIds(order);
  const { refunded } = await nonCancellable(() =>
    executeChild(cancelOrderFlow, {
      workflowId: `${order.id}-cancel`,
      args: [
        {
          orderId: order.id,
          refund,
          reason,
          ...(pendingCharges.length ? { leave: pendingCharges } : {}),
          ...(known.length ? { payments: known } : {}),
          ...(owed ? { owed } : {}),
          ...(held ? { voidAuthorizations: true } : {}),
          ...(stillOut?.length ? { stillOut } : {}),
        },
      ],
    }),
  );
  const amounts = refund ? { ...order.amounts, refunded: order.amounts.refunded + refunded } : order.amounts;
  // The cancel flow gave every unit back to where it came from (a recalled parcel's, once it is back).
  const stock: Changes = {
    ...stopped,
    ...(order.allocation?.length ? { allocation: [] } : {}),
    ...(fulfilments !== order.fulfilments ? { fulfilments } : {}),
  };
  if (!held) return refund ? { amounts, ...stock } : stock;
  // What was only held is let go: nothing was taken, so nothing is refunded.
  return {
    ...stock,
    amounts: { ...amounts, authorized: 0 },
    payments: (order.payments ?? []).map((p) =>
      p.status === 'authorized' ? { ...p, status: 'voided' as const } : p,
    ),
  };
}

/** What a cancel gives back of an order paid in another system: everything left, owed by that channel. */
function owedRefund(order: OrderState): CancelOrderInput['owed'] {
  const channel = externalPayer(order);
  if (!channel) return undefined;
  const left = order.items.some((l) => l.quantity > l.refundedQuantity);
  if (!left) return undefined;
  return {
    channel,
    plan: planRefund(order.items, order.amounts.shipping, undefined),
    at: new Date().toISOString(),
  };
}

/** The payment held for an order to capture at shipment, if any. */
/**
 * Whether the order has been paid nothing it kept (`paymentsKept`): an order open after a charge
 * it refused still takes its pay-time stock, and is charged in full by an edit. Orders from before
 * counted every charge (`patched` only where the two differ).
 */
export function paidNothing(order: OrderState): boolean {
  const gross = order.amounts.paid === 0;
  const kept = paymentsKept(order) <= 0;
  return gross === kept ? gross : patched('untaken-charges-paid-nothing') ? kept : gross;
}

export function heldPayment(order: OrderState): OrderPayment | undefined {
  if ((order.amounts.authorized ?? 0) === 0) return undefined;
  return [...(order.payments ?? [])].reverse().find((p) => p.status === 'authorized');
}

/**
 * The goods have left: the held payment is captured, for what the order now costs (refunds
 * before shipment lowered it; the rest of the hold is released). A refusal does not stop the
 * shipment: the order is flagged for support. No answer after the retries is looked up at the
 * provider, never guessed: captured after all, or still held (flagged, and tried again later).
 */
export async function captureHeld(order: OrderState): Promise<Changes> {
  const held = heldPayment(order);
  if (!held) return {};
  // What is still owed: the hold, less what refunds before shipment released from it.
  const amount = Math.min(held.amount, order.amounts.authorized ?? 0);
  let captured: number | undefined;
  let refusal: string | undefined;
  try {
    captured = await payment.captureAuthorized({ orderId: order.id, paymentId: held.id, amount });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    if (err.cause instanceof ApplicationFailure && err.cause.type === FailureType.CaptureFailed)
      refusal = (err.cause.details?.[0] as { code?: string } | undefined)?.code ?? 'declined';
    else {
      const found = await reconcile.lookupPayment({ orderId: order.id, paymentId: held.id });
      if (found.status === 'succeeded') captured = found.amount;
      else if (found.status !== 'authorized') refusal = found.status; // let go meanwhile (expired)
    }
  }
  if (captured === undefined)
    return {
      attention: { code: 'capture_failed', detail: refusal ?? 'no_answer', at: new Date().toISOString() },
    };
  const { captureBefore: _gone, ...rest } = held;
  return {
    amounts: { ...order.amounts, paid: order.amounts.paid + captured, authorized: 0 },
    payments: withPayment(order, { ...rest, status: 'succeeded', amount: captured }),
    attention: null,
  };
}

/**
 * A previewed edit confirmed (checked against the order's version before): the units it adds held
 * (a shortage refuses it, nothing else done), what a paid order's customer owes charged (declined:
 * the units go back; pending: the edit waits for it), then stock and lines as the preview said,
 * and what a paid order was paid beyond its new total refunded.
 */
async function applyEdit(ctx: EffectContext): Promise<Changes> {
  const { order, request } = ctx;
  const { editId, owed, refund } = request!.editRequest!;
  const paid = !paidNothing(order);
  await store.holdEditUnits({ orderId: order.id, editId, paid });
  let charged: Changes = {};
  if (owed > 0) {
    try {
      // An ordinary activity: a lost one would be on a paid order that may never be charged again,
      // where nothing would look for it.
      charged = await charge({ ...ctx, chargeInWorker: false }, owed, false, () => patched(EDIT_KEY_KEPT));
    } catch (err) {
      await nonCancellable(() => store.releaseEditUnits({ orderId: order.id, editId }));
      throw err;
    }
    if (charged.pending) return charged;
  }
  const owedBy = externalPayer(order);
  const paidWith = providerPaymentIds({ payments: charged.payments ?? order.payments });
  const applied = await nonCancellable(() =>
    executeChild(editOrderFlow, {
      workflowId: `${order.id}-edit-${editId}`,
      args: [
        {
          orderId: order.id,
          editId,
          paid,
          refund,
          reason: request!.reason ?? 'order edited',
          at: new Date().toISOString(),
          ...(owedBy ? { owedBy } : {}),
          ...(paidWith.length ? { payments: paidWith } : {}),
        },
      ],
    }),
  );
  const refunded = applied.refunded;
  const amounts = charged.amounts ?? order.amounts;
  return {
    ...charged,
    items: applied.items,
    discounts: applied.discounts,
    allocation: applied.allocation,
    amounts: { ...amounts, ...applied.amounts, refunded: amounts.refunded + refunded },
    ...refundShort(order, applied.short),
  };
}

/**
 * The order's own refund (a return's, an edit's...) that the payments could not give in full
 * (refunded or disputed outside this service): what they gave is recorded, and support is told
 * how much is still owed (`detail`, in minor units) and settles it outside.
 */
function refundShort(order: OrderState, short: number | undefined): Changes {
  if (!short) return {};
  // A second short refund adds to what the first left owed.
  const before = order.attention?.code === 'refund_short' ? Number(order.attention.detail) || 0 : 0;
  return {
    attention: { code: 'refund_short', detail: String(before + short), at: new Date().toISOString() },
  };
}

/**
 * An exchange opens: its returned units are credited and taken out of the order's lines, its new
 * units priced and held (a shortage refuses it, nothing held), and its own workflow started.
 */
async function openExchange(ctx: EffectContext): Promise<Changes> {
  const { order, request } = ctx;
  const { exchangeId, returnItems, newItems } = request!.exchangeRequest!;
  // Checked before the action was taken (domain/order-actions.ts).
  const credits = exchangeCredits(order.items, returnItems!, ctx.held);
  const priced = await store.holdExchangeUnits({
    orderId: order.id,
    currency: order.currency,
    items: newItems!,
    tag: `exchange:${exchangeId}`,
  });
  const at = new Date().toISOString();
  const credit = credits.reduce((a, c) => a + c.amount, 0);
  const newTotal = priced.reduce((a, l) => a + l.total, 0);
  const record = {
    id: exchangeId,
    orderId: order.id,
    customerId: order.customerId,
    status: 'REQUESTED',
    currency: order.currency,
    returnItems: credits,
    newItems: priced,
    credit,
    newTotal,
    difference: newTotal - credit,
    refundedAmount: null,
    reason: request!.reason ?? 'exchange',
    history: [
      {
        from: null,
        action: 'request',
        to: 'REQUESTED',
        actor: `${request!.actor.role}:${request!.actor.id}`,
        at,
      },
    ],
    createdAt: at,
    updatedAt: at,
  };
  // Recorded before its workflow starts, so the API can show it as soon as it answers.
  await store.saveExchange(record);
  await startChild(exchangeOrderFlow, {
    workflowId: exchangeId,
    parentClosePolicy: ParentClosePolicy.ABANDON,
    args: [
      {
        record,
        pendingPaymentPollMs: ctx.returns?.pendingPaymentPollMs ?? 30_000,
        // A 3-D Secure step of the difference never finished is given up (exchanges opened before waited).
        ...(patched('exchange-step-given-up')
          ? { pendingPaymentGraceMs: ctx.returns?.pendingPaymentGraceMs ?? 600_000 }
          : {}),
        ...(ctx.returns?.returnDecisionWindowMs !== undefined && ctx.returns.returnShipWindowMs !== undefined
          ? {
              windows: {
                decisionMs: ctx.returns.returnDecisionWindowMs,
                shipMs: ctx.returns.returnShipWindowMs,
              },
            }
          : {}),
        ...(ctx.returns?.chargeKeyMemoryMs !== undefined
          ? { keyMemoryMs: ctx.returns.chargeKeyMemoryMs }
          : {}),
      },
    ],
  });
  ctx.onReturnOpened(exchangeId, [], 'exchange', { credits, refundDue: Math.max(0, credit - newTotal) });
  return { items: applyExchange(order.items, credits, 1) };
}

/** What a charging effect asks of the customer now. */
export function chargeAmount(effect: Effect, order: OrderState): number {
  // Net of refunds: a deposit partly refunded by a modification is owed again with the balance.
  const due = order.amounts.total - (order.amounts.paid - order.amounts.refunded);
  return effect === 'captureDeposit' ? (order.presale?.deposit ?? due) : due;
}

export async function runEffect(effect: Effect | undefined, ctx: EffectContext): Promise<Changes> {
  const { order, request } = ctx;
  const reason = request?.reason ?? 'cancelled';
  switch (effect) {
    case undefined:
      return {};
    case 'capturePayment':
      return charge(ctx, chargeAmount(effect, order), true, () => patched(KEY_KEEPS_STOCK));
    case 'captureBalance':
      return charge(ctx, chargeAmount(effect, order), true, () => patched(PRESALE_KEY_KEPT));
    case 'captureDeposit':
      return charge(ctx, chargeAmount(effect, order), false, () => patched(PRESALE_KEY_KEPT));
    case 'releaseHolds':
      return cancel(order, false, reason, request?.actor.role, ctx.refundsWaitForWarehouse);
    case 'forfeitDeposit': {
      // The balance went unpaid: the deposit is kept, unless the customer had no fair chance at it,
      // or a charge of the balance got no answer and is not shown yet (its key kept: looked for
      // after the order ends, and refunded once found), as one still processing spares it.
      const refund =
        (!depositForfeitable(order) && patched('presale-deposit-fair-chance')) ||
        (ctx.chargeKeyKept === true && patched('kept-balance-key-spares-deposit'));
      return cancel(order, refund, reason, request?.actor.role, ctx.refundsWaitForWarehouse);
    }
    case 'cancelPresale': {
      // The presale rule (domain/machines/presale.ts): a customer's cancel keeps the deposit (its
      // channel's, made for it, too). Not a deposit they were told had failed (a 503) and whose
      // charge turned up only when they cancelled: that cancel was refused, and is asked again.
      const byCustomer = buyerSide(request?.actor.role);
      const foundOnCancel = ctx.depositFoundOnCancel;
      const refund =
        !byCustomer ||
        (foundOnCancel !== undefined &&
          (order.payments ?? []).some((p) => p.id === foundOnCancel && p.status === 'succeeded') &&
          patched('cancel-before-found-deposit-refunds'));
      return cancel(order, refund, reason, request?.actor.role, ctx.refundsWaitForWarehouse);
    }
    case 'refundAndRelease': {
      const cancelled = await cancel(order, true, reason, request?.actor.role, ctx.refundsWaitForWarehouse);
      // A code the vendor refused is no longer owed: support's flag of it goes.
      return order.attention?.detail === 'code_vendor' ? { ...cancelled, attention: null } : cancelled;
    }
    case 'openProduction': {
      // A row in PostgreSQL: in this worker on the lean path (a digital code, below, asks the vendor).
      const fulfils = ctx.warehouse && !!order.allocation?.length;
      // The job is opened with the transition's record (fulfilments, below, need it first).
      if (ctx.stepWrites && !fulfils) return { writes: { production: true } };
      await (leanForwardPath(ctx) ? local : store).openProduction({ orderId: order.id, kind: 'manufacture' });
      if (fulfils && patched('warehouse-fulfilment')) return { fulfilments: await handToWarehouses(order) };
      return {};
    }
    case 'deliverGoods': {
      const refusalIsFinal = patched('vendor-refusal-waits');
      const { deliveryCode } = await store.openProduction({
        orderId: order.id,
        kind: 'digital_code',
        ...(refusalIsFinal ? { refusalIsFinal } : {}),
      });
      // Issued after the vendor had refused it: support's flag of that refusal goes.
      const refusedBefore = order.attention?.detail === 'code_vendor';
      return { delivery: { code: deliveryCode ?? '' }, ...(refusedBefore ? { attention: null } : {}) };
    }
    case 'recordParcel':
      return { shipments: withParcel(order, request) };
    case 'recordShipment': {
      // Shipped with no parcel of its own (the rest was refunded): the last parcel's is the order's.
      const last = (order.shipments ?? []).filter((s) => !s.returnedAt).at(-1);
      const given = request?.shipment ?? (last && patched('ship-takes-last-parcel') ? last : undefined);
      const shipment = given ? { carrier: given.carrier, trackingNumber: given.trackingNumber } : null;
      return { shipment, shipments: withParcel(order, request), ...(await captureHeld(order)) };
    }
    case 'refundItems': {
      const { refundId, items, amount: goodwill } = request!.refund!;
      const plan =
        goodwill !== undefined
          ? planGoodwill(order.items, goodwill)
          : planRefund(order.items, order.amounts.shipping, items, ctx.held);
      const source = request!.returnRequest ? 'return' : request!.claimRequest ? 'claim' : 'refund';
      // Nothing taken yet (captured at shipment): the refund shrinks the hold instead.
      const fromHold = heldPayment(order) !== undefined;
      // Paid in another order system (imported): that channel owes the money back, not the provider.
      const owedBy = externalPayer(order);
      // A refund that takes all the hold has left (goodwill for the rest) lets it go at the provider,
      // as the order below says it does.
      const spendsHold =
        fromHold &&
        !plan.completesOrder &&
        (order.amounts.authorized ?? 0) - plan.amount <= 0 &&
        patched('refund-voids-spent-hold');
      // Staff refund units of an order partly shipped by hand: those not yet shipped will not ship,
      // and go back on the shelf as before any parcel left (units that left are the customer's). A
      // warehouse's are not: the location that refused them said it could not send them.
      const restockUnshipped =
        source === 'refund' &&
        goodwill === undefined &&
        request!.refund!.restock !== false &&
        order.status === 'PARTIALLY_SHIPPED' &&
        (order.fulfilments ?? []).length === 0 &&
        patched('partly-shipped-refund-restocks');
      // A warehouse's units refused by their location are not put back there: written off, so that
      // a cancel later (which gives back what is still the order's sale) does not put them back
      // either. Staff's refunds only: the system's (a parcel returned to its sender) restock.
      // An order every location refused waits in production, nothing sent: the same holds there.
      const fulfilments = order.fulfilments ?? [];
      const refusedAt = [
        ...new Set(fulfilments.filter((f) => f.status === 'refused').map((f) => f.location)),
      ];
      const allRefused =
        order.status === 'IN_PRODUCTION' &&
        fulfilments.length > 0 &&
        fulfilments.every((f) => f.status === 'refused');
      const unsent =
        source === 'refund' &&
        goodwill === undefined &&
        request!.refund!.restock !== false &&
        request!.actor.id !== 'system' &&
        (order.status === 'PARTIALLY_SHIPPED' || allRefused) &&
        refusedAt.length > 0
          ? notYetShipped(order, plan.lines)
          : [];
      const writesOffUnsent =
        unsent.length > 0 &&
        (allRefused ? patched('refund-writes-off-refused') : patched('refund-writes-off-unsent'));
      const { amount, codeVoidRefused, short } = await nonCancellable(() =>
        executeChild(refundOrderFlow, {
          workflowId: `${order.id}-refund-${refundId}`,
          args: [
            {
              orderId: order.id,
              refundId,
              plan,
              reason: request!.reason ?? source,
              source,
              restock:
                source === 'refund' &&
                goodwill === undefined &&
                request!.refund!.restock !== false &&
                ['PAID', 'IN_PRODUCTION'].includes(order.status) &&
                !writesOffUnsent,
              at: new Date().toISOString(),
              ...(fromHold ? { fromHold: true } : {}),
              ...(spendsHold ? { voidHold: true } : {}),
              ...(owedBy ? { owedBy } : {}),
              ...(providerPaymentIds(order).length ? { payments: providerPaymentIds(order) } : {}),
              ...(restockUnshipped ? { restockItems: notYetShipped(order, plan.lines) } : {}),
              ...(writesOffUnsent ? { writeOffUnsent: { items: unsent, locations: refusedAt } } : {}),
            },
          ],
        }),
      );
      // A code the vendor would not void (already redeemed) still works: support is told, and the
      // order does not claim it was voided.
      const voided =
        plan.completesOrder && order.delivery && patched('full-refund-keeps-promises')
          ? codeVoidRefused !== undefined
            ? {
                attention: {
                  code: 'void_refused' as const,
                  detail: 'code_vendor',
                  at: new Date().toISOString(),
                },
              }
            : { delivery: { ...order.delivery, voidedAt: new Date().toISOString() } }
          : {};
      const lines = applyRefund(order.items, plan);
      if (fromHold) {
        const left = plan.completesOrder ? 0 : Math.max(0, (order.amounts.authorized ?? 0) - amount);
        return {
          items: lines,
          amounts: { ...order.amounts, authorized: left, released: (order.amounts.released ?? 0) + amount },
          // Nothing left to take: the hold was voided, and nothing is left for support to chase.
          ...(left === 0
            ? {
                payments: (order.payments ?? []).map((p) =>
                  p.status === 'authorized' ? { ...p, status: 'voided' as const } : p,
                ),
                attention: null,
              }
            : {}),
          ...voided,
        };
      }
      return {
        items: lines,
        amounts: { ...order.amounts, refunded: order.amounts.refunded + amount },
        ...voided,
        ...refundShort(order, short),
      };
    }
    case 'openReturn': {
      const { returnId, items, reasonCode } = request!.returnRequest!;
      const rules = ctx.returns ?? {};
      const input: ReturnInput = {
        returnId,
        orderId: order.id,
        customerId: order.customerId,
        items,
        reason: request!.reason ?? 'return',
        requestedAt: new Date().toISOString(),
        requestedBy: `${request!.actor.role}:${request!.actor.id}`,
        ...(reasonCode ? { reasonCode } : {}),
        // Orders placed before return windows: their returns wait as they always did.
        ...(rules.returnDecisionWindowMs !== undefined && rules.returnShipWindowMs !== undefined
          ? { windows: { decisionMs: rules.returnDecisionWindowMs, shipMs: rules.returnShipWindowMs } }
          : {}),
      };
      // Recorded before the return's workflow starts, so the API can show it as soon as it answers.
      await store.saveReturn(initialReturnRecord(input));
      await startChild(returnOrderFlow, {
        workflowId: returnId,
        // The order waits for open returns before it completes; ended any other way (an operator), the return still finishes.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [input],
      });
      ctx.onReturnOpened(returnId, items);
      return {};
    }
    case 'openClaim': {
      const { claimId, items, kind, resolution } = request!.claimRequest!;
      const input: ClaimInput = {
        claimId,
        orderId: order.id,
        customerId: order.customerId,
        // Checked before the action was taken (domain/order-actions.ts).
        kind: kind!,
        resolution: resolution!,
        items,
        reason: request!.reason ?? 'claim',
        requestedAt: new Date().toISOString(),
        requestedBy: `${request!.actor.role}:${request!.actor.id}`,
      };
      // Recorded before the claim's workflow starts, so the API can show it as soon as it answers.
      await store.saveClaim(initialClaimRecord(input));
      await startChild(claimOrderFlow, {
        workflowId: claimId,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [input],
      });
      ctx.onReturnOpened(claimId, items, 'claim');
      return {};
    }
    case 'openExchange':
      return openExchange(ctx);
    case 'refundExchange': {
      // What the returned units were worth beyond the new ones, spread over them by their credit.
      const { refundId, amount } = request!.refund!;
      const credits = request!.exchangeRequest!.credits!;
      const shares = allocate(
        amount!,
        credits.map((c) => c.amount),
      );
      const plan = {
        lines: credits
          .map((c, i) => ({ sku: c.sku, quantity: 0, amount: shares[i]! }))
          .filter((l) => l.amount > 0),
        shipping: 0,
        amount: amount!,
        completesOrder: false,
      };
      const owedBy = externalPayer(order);
      const refunded = await nonCancellable(() =>
        executeChild(refundOrderFlow, {
          workflowId: `${order.id}-refund-${refundId}`,
          args: [
            {
              orderId: order.id,
              refundId,
              plan,
              reason: request!.reason ?? 'exchange',
              source: 'exchange',
              restock: false,
              at: new Date().toISOString(),
              ...(owedBy ? { owedBy } : {}),
              ...(providerPaymentIds(order).length ? { payments: providerPaymentIds(order) } : {}),
            },
          ],
        }),
      );
      return {
        amounts: { ...order.amounts, refunded: order.amounts.refunded + refunded.amount },
        ...refundShort(order, refunded.short),
      };
    }
    case 'recordCaseParcel': {
      // An exchange's new units, or a claim's replacement: not the order's lines.
      const of = request!.exchangeRequest
        ? { exchangeId: request!.exchangeRequest.exchangeId }
        : { claimId: request!.claimRequest!.claimId };
      const given = request!.shipment!;
      const id = `${of.exchangeId ?? of.claimId}:parcel`;
      const shipments = order.shipments ?? [];
      if (shipments.some((s) => s.id === id)) return {};
      return {
        shipments: [
          ...shipments,
          {
            id,
            location: null,
            items: given.items ?? [],
            carrier: given.carrier,
            trackingNumber: given.trackingNumber,
            status: 'shipped',
            ...of,
          },
        ],
      };
    }
    case 'applyEdit':
      return applyEdit(ctx);
    case 'revertExchange':
      return { items: applyExchange(order.items, request!.exchangeRequest!.credits!, -1) };
    case 'applyModification': {
      const { items, shippingAddress } = request!.modification!;
      const changes: Changes = shippingAddress ? { shippingAddress } : {};
      if (items && !patched('modify-as-child-workflow')) {
        // Orders modified before this change ran the repricing inline; their histories replay so.
        Object.assign(
          changes,
          await store.modifyItems({ orderId: order.id, items, tag: `modify${order.history.length + 1}` }),
        );
      } else if (items) {
        const tag = `modify${order.history.length + 1}`;
        // What the customer still has paid in: a second modification must not refund the first's
        // refund again. Modifications started before passed the gross amount.
        const paid = patched('modify-net-of-refunds')
          ? order.amounts.paid - order.amounts.refunded
          : order.amounts.paid;
        const { refunded, short, ...modified } = await nonCancellable(() =>
          executeChild(modifyOrderFlow, {
            workflowId: `${order.id}-${tag}`,
            args: [
              {
                orderId: order.id,
                items,
                tag,
                paid,
                ...(providerPaymentIds(order).length ? { payments: providerPaymentIds(order) } : {}),
              },
            ],
          }),
        );
        Object.assign(changes, modified, {
          amounts: {
            ...modified.amounts,
            paid: order.amounts.paid,
            refunded: order.amounts.refunded + refunded,
          },
          ...refundShort(order, short),
        });
      }
      return changes;
    }
  }
}
