/**
 * One order's state inside its workflow and the operations on it: validate a request, take an
 * action (effect, then the record in PostgreSQL), refund a return, publish for support staff.
 * The workflow function (./order-workflow.ts) registers handlers and runs the loop around it.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  patched,
  startChild,
  setCurrentDetails,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { FailureType, REFUSAL_TYPES, RERUNNABLE } from '../../domain/errors';
import { decide, isTerminal, type OrderMachine, type StateDef, type TimerName } from '../../domain/machine';
import {
  actionsNow,
  CHARGES,
  checkAction,
  deadlineOf,
  editBlocked,
  heldBack,
  resolveAction,
  unitsHeld,
} from '../../domain/order-actions';
import { refundPlannable } from '../../domain/refunds';
import { CANCELLATION_REQUEST } from '../cancellation-request';
import {
  actionRequestProblem,
  actorName,
  keyFirstUse,
  pendingPollDelay,
  resendable,
  UNSHOWN_CHARGE_WATCH_MS,
  type ActionRequest,
  type HistoryEntry,
  type LineQuantity,
  type LocationAllocation,
  type OrderPayment,
  type OrderState,
  type UnsettledAction,
} from '../../domain/order';
import { invalidInput, notNow } from '../../domain/refusals';
import { needsReview } from '../../domain/review';
import {
  fulfilmentId,
  fulfilmentWorkflowId,
  missingUnits,
  staleAfterCancel,
  workflowIdOf,
  type FulfilmentRecord,
} from '../../domain/fulfilment';
import { fulfilmentFlow } from '../fulfilment/fulfilment-flow';
import { goodsHaveLeft, unshipped } from '../../domain/shipping';
import type { ChargeOutcome } from '../../activities/payment';
import { buyerSide, ROLES, type Actor } from '../../domain/roles';
import { local, payment, reconcile, refunds, store } from '../activities';
import {
  orderActionUpdate,
  searchAttributes,
  type OrderWorkflowInput,
  type PaymentUpdate,
} from '../messages';
import { Mutex } from '../mutex';
import { refuse } from '../refusals';
import { returnRefundedSignal, type CaseNews } from '../reverse/messages';
import type { ExchangeCredit } from '../../domain/exchanges';
import {
  captureHeld,
  declineCode,
  chargeAmount,
  heldPayment,
  paidNothing,
  lostChargeOf,
  lookUpHere,
  runEffect,
  withPayment,
  type Changes,
  type PendingCharge,
  type StepWrites,
} from './effects';
import { describeForSupport } from './support-details';

/**
 * How long an ended order waits for a warehouse's parcel still with the carrier to be delivered or
 * come back, and a cancelled one for a recalled parcel to come back (orders placed before
 * PARCEL_NEWS_WAIT was in their policy).
 */
const PARCEL_NEWS_WAIT_MS = 30 * 86_400_000;
/** How long a refused cancel, asked again, is the one first asked (`depositFoundOnCancel`). */
const CANCEL_ASKED_AGAIN_MS = 86_400_000;

/** A charge's key kept unspent (its charge not shown), and how often it has been looked for. */
interface UnshownKey {
  attempt: number;
  since: number;
  /**
   * When a charge first used the key, as far as known (`since` is when it was last kept): how old
   * the provider's memory of it is. 0 where that use is unknown (a lost Update's), taken as long ago.
   */
  firstUsedAt?: number;
  lookedAt: number;
  lookups: number;
  /** Kept on the API's word that a pay went unanswered (`unanswered-pay-key-watched`), not by a charge of this workflow's. */
  onWord?: true;
}

/** The pending action of an edit's charge found on its own (`lookUpUnshownCharge`): no machine has it. */
const UNAPPLIED_EDIT_CHARGE = 'unapplied_edit_charge';

/**
 * Tells a return, claim or exchange what its refund came to. One that ended meanwhile (an
 * operator terminated it) has nobody to hear: the order goes on rather than fail with the signal.
 */
const tellRefunded = (caseId: string, amount: number) =>
  getExternalWorkflowHandle(caseId)
    .signal(returnRefundedSignal, { amount })
    .catch((err: unknown) => {
      // Histories recorded before failed here, and replay so.
      if (!patched('case-signal-may-fail')) throw err;
      log.warn('a case told of its refund had ended');
    });

/** A transition made in the workflow, to be recorded in PostgreSQL (`OrderEntity.record`). */
interface Step {
  order: OrderState;
  entry: HistoryEntry;
  writes?: StepWrites;
}

/** Where placement and the projection's writes run: local activities, or activities for orders started before. */
export type QuickWrites = Pick<
  typeof local | typeof store,
  'placeOrder' | 'recordTransition' | 'recordPayments'
>;

export class OrderEntity {
  /** Set once placed. */
  private order: OrderState | undefined;
  /** How many times the payments were recorded without a transition (`recordPayments`' rev). */
  private paymentWrites = 0;
  /** Set if placement was refused: the createOrder Update answers with it. */
  rejection: ApplicationFailure | undefined;
  /** One action at a time: Updates, timers and return refunds. */
  readonly lock = new Mutex();
  private paymentAttempts = 0;
  /** Charges tried, and their keys kept unspent (an unshown charge's): what a failed action spent. */
  private chargesTried = 0;
  private chargeKeysKept = 0;
  /**
   * Returns and claims in progress, the units each holds and, once received, the units a return
   * refunds (fewer when some never came). A claim refunds all it holds, with nothing sent back.
   */
  private readonly openReturns = new Map<
    string,
    {
      items: LineQuantity[];
      reason: string;
      refund?: LineQuantity[];
      kind?: 'claim' | 'exchange';
      /** An exchange's: what it credited (its units are out of the lines already) and what it refunds. */
      exchange?: { credits: ExchangeCredit[]; refundDue: number };
    }
  >();
  /** Exchanges' and claims' news (a parcel left, an exchange ended), handled in order by the loop. */
  readonly caseNews: CaseNews[] = [];
  /** Returns whose goods are back, and claims approved for a refund, waiting for their refund. */
  readonly returnsToRefund: string[] = [];
  /** Refunds done, by id: a retried refund answers with the order as it is. */
  private readonly refundsDone = new Set<string>();
  /** The actions Updates are performing, by Update id, as they came: their records keep them. */
  private readonly performing = new Map<string, ActionRequest>();
  /** A charge the provider has not decided, and the action it pays for. */
  private pending: (PendingCharge & { action: string; actor: Actor; request: ActionRequest }) | undefined;
  /** When the provider was last asked about the pending charge. */
  private polledAt = 0;
  /** Questions asked about the pending charge so far: the next waits longer (`pendingPollDelay`). */
  private polls = 0;
  /** When the pending charge went pending. */
  private pendingSince = 0;
  /** The provider's news of pending charges (webhooks, lookups), handled in order by the loop. */
  readonly settlements: PaymentUpdate[] = [];
  /** The fulfilments' news (accepted, shipped, delivered...), handled in order by the loop. */
  readonly parcelNews: FulfilmentRecord[] = [];
  /** The payment method of a held payment, for authorising it again before the hold runs out. */
  private authToken: string | undefined;
  /**
   * A hold is renewed no sooner than this: half-way through its life (a hold shorter than the
   * margin is not renewed at once, again and again), or a minute after a renewal got no answer.
   */
  private reauthorizeNotBefore = 0;
  /** A renewal whose request may still land: tried again under the same key, never a second hold. */
  private renewalAttempt: number | undefined;
  /** What that renewal asked for: its key holds this amount, so a try again asks the same. */
  private renewalAmount: number | undefined;
  /**
   * That renewal, found still processing when its answer was given up on (the provider will not
   * cancel it, and it may settle as a hold): asked about at the pending poll, then twice as long
   * each time, not made again. It renews the hold if it settles while that hold lasts and is still
   * to be renewed; settled once the order no longer needs it (shipped on the old hold, ended), it
   * is let go. Data only: set under `renewal-waits-while-processing`.
   */
  private renewalProcessing:
    { paymentId: string; amount: number; lookups: number; unwantedSince?: number } | undefined;
  /**
   * A charge whose answers were all lost and which the provider did not show (its search may lag
   * behind its writes): its key is the next attempt's, asked again by the next pay and looked up
   * before the order ends; once the order has ended, looked up now and then for a day, so that a
   * charge shown late is refunded (`lookUpUnshownCharge`). Set only by the charge's patched branch.
   */
  private unshownCharge: UnshownKey | undefined;
  /**
   * The charge a presale customer's cancel of an unpaid deposit found (its pay's answer lost, a
   * 503 to them) and was refused for: if it pays the deposit, their cancel asked again is the one
   * they asked first, and the deposit is not kept.
   */
  private depositFoundOnCancel: { paymentId: string; at: number } | undefined;
  /**
   * A pay the API got no answer to (`payUnansweredSignal`), and the attempt a charge of it would
   * carry: a lost Update's charge may be there. Forgotten when that Update runs after all.
   */
  private unansweredPay: { updateId?: string; attempt: number; at?: number } | undefined;
  /** The pay Updates this workflow ran: the API's word that one went unanswered is then stale. */
  private readonly payUpdates = new Set<string>();
  /**
   * Edits' charges kept so (`edit-keeps-unshown-key`), one per edit: each key asked again by its
   * own edit only, and looked for while the order is open too, since it paid for no edit applied.
   */
  private readonly unshownEditCharges: (UnshownKey & { editId: string })[] = [];
  /** Edits' keys kept so far, again or anew: the loop wakes to look for each at its time. */
  private keptEditKeys = 0;
  /**
   * A renewal refused after goods left: the hold is captured instead, at this time (again after no
   * answer), and never renewed; undefined once taken, or when there is no such hold.
   */
  private holdCaptureAt: number | undefined;
  /** That capture got no answer (said once in the history). */
  private holdCaptureUnanswered = false;
  /**
   * A capture after shipment that got no answer, still owed (`captureOwnWord`): which hold, and
   * when it was last tried. The order's flag says so too, until another flag (a failed delivery,
   * a short pick) takes its place; this does not, so the retries go on.
   */
  private captureOwed: { paymentId: string; triedAt: number } | undefined;
  /** A state's search attributes not upserted yet (`publish`). */
  private held = false;
  /** Why a cancellation request (the workflow's, `cancelOnRequest`) was not taken, for support. */
  private cancelRequestNotTaken?: string;

  constructor(
    private readonly input: OrderWorkflowInput,
    readonly machine: OrderMachine,
    private readonly quick: QuickWrites,
    /** Step writes with their record (./effects.ts `EffectContext.stepWrites`), decided when the order started. */
    private readonly stepWrites = false,
    /** The charge as a local activity (./effects.ts `EffectContext.chargeInWorker`), decided likewise. */
    private readonly chargeInWorker = false,
    /** A step into production recorded with the step before it (`apply`), decided likewise. */
    private readonly autoStepWithRecord = false,
    /** A refund of units waits for the warehouse's parcels (`validate`), decided likewise. */
    private readonly refundsWaitForWarehouse = false,
    /** Refunds wait while a capture of the held payment has no answer (`validate`), decided likewise. */
    private readonly refundsWaitForCapture = false,
    /** That capture is retried on the workflow's own word (`captureOwed`), not the order's flag, decided likewise. */
    private readonly captureOwnWord = false,
  ) {}

  get placed(): boolean {
    return this.order !== undefined;
  }

  get current(): OrderState {
    if (!this.order) throw new Error('order not placed');
    return this.order;
  }

  /** For the query: null until placed. */
  snapshot(): OrderState | null {
    return this.order ?? null;
  }

  allowedActionsByRole(): Record<string, string[]> {
    return this.order ? Object.fromEntries(ROLES.map((role) => [role, this.actionsNow(role)])) : {};
  }

  /** The system's action on entering a state: its hold instead, when the order must wait for staff first. */
  autoAction(state: StateDef<string>): string {
    if (state.hold && needsReview(this.current, this.input.policy) && patched('review-hold'))
      return state.hold;
    return state.auto!;
  }

  /** When the system's step is tried again after the code vendor refused it; undefined when it is not waiting. */
  private autoRetryAt: number | undefined;

  /** Milliseconds until the system's step may be tried again (the code vendor refused it); undefined: now. */
  msUntilAutoRetry(): number | undefined {
    return this.autoRetryAt === undefined ? undefined : Math.max(0, this.autoRetryAt - Date.now());
  }

  /**
   * The system's step on entering a state. A digital good's code the vendor refused is no reason to
   * fail the order's task for ever: support is told, staff may cancel meanwhile (the order is not
   * held), and it is asked for again after `deliverRetryMs`.
   */
  async runAuto(action: string): Promise<void> {
    try {
      await this.apply(action, 'system', null);
      this.autoRetryAt = undefined;
    } catch (err) {
      const refused =
        err instanceof ActivityFailure &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === FailureType.VendorRefused;
      if (!refused || !patched('vendor-refusal-waits')) throw err;
      this.autoRetryAt = Date.now() + (this.input.policy.deliverRetryMs ?? 900_000);
      // Said once: the retries that follow add nothing to the history (nor a webhook each).
      if (this.current.attention?.detail !== 'code_vendor')
        await this.recordFact(
          'deliver_failed',
          'the code vendor refused to issue a code: asked again later',
          {
            attention: { code: 'fulfilment_refused', detail: 'code_vendor', at: new Date().toISOString() },
          },
        );
    }
  }

  get hasOpenReturns(): boolean {
    return this.openReturns.size > 0;
  }

  /**
   * The machine's answer, and the request's own checks, as the failure an Update returns.
   * Re-checked under the lock. `fresh` (the Update's validator, which replay never runs): also
   * the rules a request accepted before them would not have met, so that its history replays.
   */
  validate(request: ActionRequest, fresh = false): void {
    const unstorable = actionRequestProblem(request);
    if (unstorable) throw refuse(invalidInput('the request', unstorable));
    if (!this.order) throw refuse(notNow('the order is still being placed', 'PLACING', []));
    // Sent again from the order center's row: its place is the transition it wrote there. A
    // workflow holding a transition at that place took the action, or moved on without it (what it
    // holds there tells which); one more than one behind has its own to redo first. Histories that
    // met a resend before this check replay as they ran.
    const place = request.resend?.seq;
    if (place !== undefined && (fresh || patched('resend-place-taken'))) {
      const held = this.order.history[place - 1];
      if (held)
        throw ApplicationFailure.create({
          type: FailureType.PlaceTaken,
          message: 'the action was sent again, and its place in the order is taken',
          nonRetryable: true,
          details: [{ action: held.action, to: held.to }],
        });
      if (place > this.order.history.length + 1)
        throw refuse(notNow('the order has transitions to redo first', this.order.status, []));
    }
    if (request.refund && this.refundsDone.has(request.refund.refundId)) return; // a retry: answered with the order as it is
    const refusal = checkAction(this.machine, this.order, request, this.openReturns, this.heldContext);
    if (refusal) throw refuse(refusal);
    // What the order's goods and payments hold back (domain/order-actions.ts), as its view lists it.
    const held = heldBack(this.machine, this.order, request.action, request.actor.role, {
      ...this.heldContext,
      ...(fresh ? {} : { afterSalesClosed: false }),
      refundsUnits: request.refund?.amount === undefined,
    });
    if (held) throw refuse(notNow(held, this.order.status, this.actionsNow(request.actor.role)));
    // A pay's charge with no answer keeps its key and the stock held for the lines it was made for,
    // for the next pay (answered with that charge, if it was made) or the order's own lookup:
    // those lines stay as they are until then (an edit would leave the stock held for the old ones).
    if (request.action === 'edit' && this.payKeyKept && (fresh || patched('edit-waits-for-kept-pay-key')))
      throw refuse(
        notNow(
          'a payment of this order got no answer: pay again (answered with that charge if it was made), then edit',
          this.order.status,
          this.actionsNow(request.actor.role),
        ),
      );
  }

  /**
   * Since when a charge under `attempt`'s key may have been made unseen, the first time: the pay's
   * kept key, an edit's, or a pay the API got no answer to (its lost Update may have charged).
   */
  private keyUsedSince(attempt: number): number | undefined {
    const times: number[] = [];
    const kept = this.unshownCharge;
    if (kept?.attempt === attempt) times.push(kept.firstUsedAt ?? kept.since);
    if (this.unansweredPay?.attempt === attempt && this.unansweredPay.at !== undefined)
      times.push(this.unansweredPay.at);
    for (const edit of this.unshownEditCharges) if (edit.attempt === attempt) times.push(edit.since);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** The pay's key is kept for its next try (its charge got no answer, and was not shown), and nothing is paid yet. */
  private get payKeyKept(): boolean {
    return (
      this.unshownCharge !== undefined &&
      this.unshownCharge.attempt === this.paymentAttempts + 1 &&
      paidNothing(this.current)
    );
  }

  /** What only the workflow knows of `heldBack`'s questions. */
  private get heldContext() {
    return {
      refundsWaitForWarehouse: this.refundsWaitForWarehouse,
      refundsWaitForCapture: this.refundsWaitForCapture,
      // Its own word, not the order's flag: another flag (a short pick) may stand in its place.
      captureUnanswered:
        this.captureOutstanding || (this.holdCaptureAt !== undefined && this.holdCaptureUnanswered),
      // An edit's charge found on its own holds back what an edit's pending charge does.
      pendingFor: this.pending?.action === UNAPPLIED_EDIT_CHARGE ? 'edit' : (this.pending?.action ?? null),
      afterSalesClosed: this.afterSalesClosed,
    };
  }

  /** Past the after-sales window's end, waiting only for open cases to settle (the workflow's clock). */
  private get afterSalesClosed(): boolean {
    const after = this.order && this.machine.states[this.order.status]?.after;
    return after?.timer === 'afterSalesWindow' && Date.now() >= this.deadline('afterSalesWindow');
  }

  /** What `role` may do now, as the order's view lists it, with what only the workflow knows. */
  private actionsNow(role: Actor): string[] {
    const now = actionsNow(this.machine, this.order!, role, this.heldContext);
    return this.payKeyKept ? now.filter((a) => a !== 'edit') : now;
  }

  get paymentPending(): boolean {
    return this.pending !== undefined;
  }

  /** Milliseconds until the provider is asked again about the pending charge; undefined when none is. */
  msUntilPoll(): number | undefined {
    if (!this.pending) return undefined;
    const delay = pendingPollDelay(this.input.policy.pendingPaymentPollMs ?? 30_000, this.polls);
    return Math.max(0, this.polledAt + delay - Date.now());
  }

  /** How long past the payment timeout a pending charge is waited for. */
  get pendingGraceMs(): number {
    return this.input.policy.pendingPaymentGraceMs ?? 600_000;
  }

  /** Still waiting for the customer (3-D Secure), not for the provider. */
  get awaitingCustomer(): boolean {
    return this.pending?.nextAction !== undefined;
  }

  paymentUpdate(update: PaymentUpdate): void {
    if (this.pending?.paymentId === update.paymentId) this.settlements.push(update);
  }

  /** Asks the provider about the pending charge (a webhook may never come). */
  async pollPending(): Promise<void> {
    const pending = this.pending;
    if (!pending) return;
    this.polledAt = Date.now();
    // Asked less and less often (histories recorded before: every poll, for as long as it was pending).
    if (patched('pending-poll-backs-off')) this.polls += 1;
    const outcome = await reconcile.reconcileCharge({ orderId: this.current.id, attempt: pending.attempt });
    if (outcome.status === 'succeeded' || outcome.status === 'declined' || outcome.status === 'authorized')
      this.paymentUpdate({
        paymentId: pending.paymentId,
        status: outcome.status,
        ...(outcome.status === 'declined' ? { code: outcome.code } : {}),
        ...(outcome.status === 'authorized' ? { captureBefore: outcome.captureBefore } : {}),
      });
  }

  /** A new hold: it is renewed no sooner than half-way through its life. */
  private noteHold(captureBefore: string): void {
    const now = Date.now();
    this.reauthorizeNotBefore = now + Math.max(0, Date.parse(captureBefore) - now) / 2;
  }

  /**
   * When an edit's charge waiting on a step the customer never finished (3-D Secure) is given up:
   * its grace after it went pending. No payment timeout does it there (the order is paid, in
   * production, say), and meanwhile the edit holds back every action but a cancel. Given up, the
   * edit's units go back and it is a preview again (`settle`, as for a declined charge). Histories
   * recorded before replay as they ran; an order already waiting gives its step up on its next
   * task once the grace has passed.
   */
  private abandonAt(): number | undefined {
    const pending = this.pending;
    const edits = pending?.action === 'edit' || pending?.action === UNAPPLIED_EDIT_CHARGE;
    if (!edits || !pending?.nextAction || isTerminal(this.machine, this.current.status)) return undefined;
    return patched('edit-step-given-up') ? this.pendingSince + this.pendingGraceMs : undefined;
  }

  /** The held payment to renew before it runs out: while the goods have not left and no capture of it is under way. */
  private holdToRenew(): (OrderPayment & { captureBefore: string }) | undefined {
    const order = this.current;
    const held = heldPayment(order);
    if (
      !held?.captureBefore ||
      order.shipment ||
      isTerminal(this.machine, order.status) ||
      this.holdCaptureAt !== undefined
    )
      return undefined;
    return { ...held, captureBefore: held.captureBefore };
  }

  /** When a held payment must be authorised again (before it runs out), while the goods have not left. */
  private reauthorizeAt(): number | undefined {
    // A renewal left processing is asked about, whatever the order has done since.
    if (this.renewalProcessing) return this.reauthorizeNotBefore;
    const held = this.holdToRenew();
    if (!held) return undefined;
    const at = Date.parse(held.captureBefore) - (this.input.policy.reauthorizeBeforeMs ?? 86_400_000);
    return Math.max(at, this.reauthorizeNotBefore);
  }

  /** A renewal still processing at the provider: the workflow stays open for it, even once the order has ended. */
  get renewalOutstanding(): boolean {
    return this.renewalProcessing !== undefined;
  }

  /** When a capture that got no answer is tried again. */
  private captureRetryAt(): number | undefined {
    const retryMs = this.input.policy.captureRetryMs ?? 3_600_000;
    if (this.captureOwnWord) {
      const owed = this.captureOwed;
      // Let go meanwhile (a cancel voided it): nothing left to capture.
      if (!owed || !this.order || heldPayment(this.order)?.id !== owed.paymentId) return undefined;
      return owed.triedAt + retryMs;
    }
    const attention = this.order?.attention;
    if (attention?.detail !== 'no_answer' || !heldPayment(this.current)) return undefined;
    return Date.parse(attention.at) + retryMs;
  }

  /** Parcels of a cancelled order that the carrier is bringing back: the workflow restocks them when they arrive. */
  get parcelsComingBack(): boolean {
    return !this.recallsGivenUp && this.recalledOut().length > 0;
  }

  private recalledOut() {
    return (this.order?.shipments ?? []).filter(
      (s) => s.recalledAt !== undefined && (s.status === 'shipped' || s.status === 'in_transit'),
    );
  }

  /** A cancelled order stopped waiting for its recalled parcels (`parcelNewsWaitMs` passed): lost. */
  private recallsGivenUp = false;

  private get parcelNewsWaitMs(): number {
    const ms = this.input.policy.parcelNewsWaitMs;
    return ms !== undefined && Number.isFinite(ms) && ms >= 0 ? ms : PARCEL_NEWS_WAIT_MS;
  }

  /** Until a cancelled order stops waiting for its recalled parcels, from the latest recall. */
  msUntilRecallGivenUp(): number {
    const recalls = this.recalledOut()
      .map((s) => Date.parse(s.recalledAt!))
      .filter(Number.isFinite);
    const latest = recalls.length > 0 ? Math.max(...recalls) : Date.now();
    return Math.max(0, latest + this.parcelNewsWaitMs - Date.now());
  }

  /**
   * Recalled parcels that never came back, nor were delivered: lost by the carrier, as far as the
   * order can tell. Support is asked (their units are not on hand to restock, and the workflow ends).
   */
  async giveUpRecalledParcels(): Promise<void> {
    const lost = this.recalledOut();
    this.recallsGivenUp = true;
    if (lost.length === 0) return;
    const where = [...new Set(lost.map((s) => s.location ?? 'the carrier'))].join(', ');
    await this.recordFact('recall_lost', where, {
      attention: { code: 'recall_failed', detail: where, at: new Date().toISOString() },
    });
    // Their fulfilments wait for the carrier's news as well: they end with the order.
    const orderId = this.current.id;
    for (const { id, location } of lost)
      if (location !== null)
        await getExternalWorkflowHandle(workflowIdOf({ id, orderId, location }))
          .cancel()
          .catch(() => log.warn("a lost parcel's fulfilment had ended"));
  }

  /**
   * A warehouse's parcel still with the carrier, of an order that has ended (refunded in full,
   * completed before the carrier said so): its news is still to come, and a parcel back at its
   * sender must reach support.
   */
  get parcelsOnTheirWay(): boolean {
    if (this.parcelNewsGivenUp) return false;
    return (this.order?.shipments ?? []).some(
      (s) =>
        s.location !== null &&
        s.recalledAt === undefined &&
        !s.returnedAt &&
        (s.status === 'shipped' || s.status === 'in_transit'),
    );
  }

  /** An ended order stopped waiting for its parcels' last news (`parcelNewsWaitMs` passed). */
  private parcelNewsGivenUp = false;

  /** Until an ended order stops waiting for its parcels' news: a parcel lost without a word from the carrier. */
  msUntilParcelNewsGivenUp(): number {
    const ended = this.current.history.find((h) => isTerminal(this.machine, h.to));
    const since = ended ? Date.parse(ended.at) : Date.now();
    return Math.max(0, since + this.parcelNewsWaitMs - Date.now());
  }

  giveUpParcelNews(): void {
    this.parcelNewsGivenUp = true;
  }

  /** A capture after shipment is still owed (it got no answer): the workflow stays open for it. */
  get captureOutstanding(): boolean {
    return this.order !== undefined && this.captureRetryAt() !== undefined;
  }

  /**
   * An ended order still looks for a charge not shown when it was made (`unshownCharge`): it stays
   * open. An open one looks for an edit's: nothing else would (its pay, it has made already). An
   * edit's key is its own (`nextPaymentAttempt` gives it to edits only); a pay's is the next one's.
   */
  get unshownChargeWatched(): boolean {
    return this.watchedKeys.length > 0;
  }

  /** The keys looked for now and then: the pay's once the order has ended (the next attempt's), and edits'. */
  get watchedKeys(): readonly (UnshownKey & { editId?: string })[] {
    const order = this.order;
    if (order === undefined) return [];
    const kept = this.unshownCharge;
    const pays =
      kept !== undefined &&
      kept.attempt === this.paymentAttempts + 1 &&
      isTerminal(this.machine, order.status);
    return pays ? [kept, ...this.unshownEditCharges] : this.unshownEditCharges;
  }

  /** The key to look for next, and when: at the pending-payment poll, then twice as long each time. */
  private nextUnshownLookup(): { kept: UnshownKey & { editId?: string }; at: number } | undefined {
    let next: { kept: UnshownKey & { editId?: string }; at: number } | undefined;
    for (const kept of this.watchedKeys) {
      const at =
        kept.lookedAt + pendingPollDelay(this.input.policy.pendingPaymentPollMs ?? 30_000, kept.lookups);
      if (next === undefined || at < next.at) next = { kept, at };
    }
    return next;
  }

  get editKeysKept(): number {
    return this.keptEditKeys;
  }

  private forgetEditKey(kept: UnshownKey): void {
    const i = this.unshownEditCharges.findIndex((k) => k === kept);
    if (i >= 0) this.unshownEditCharges.splice(i, 1);
  }

  private unshownLookupAt(): number | undefined {
    return this.nextUnshownLookup()?.at;
  }

  /**
   * Looks for that charge: found, it is the order's pending charge, which an ended order refunds
   * (or lets go, if only held) when it settles, as an open one does an edit's (no edit was applied
   * for it); declined, or not shown for a day, it is given up.
   */
  private async lookUpUnshownCharge(
    kept: UnshownKey & { editId?: string } = this.nextUnshownLookup()!.kept,
  ): Promise<void> {
    kept.lookedAt = Date.now();
    // Another charge is pending (its settlement is the order's one at a time): asked next time.
    if (this.pending) return;
    kept.lookups += 1;
    const there = await reconcile.reconcileCharge({ orderId: this.current.id, attempt: kept.attempt });
    const found = lostChargeOf(there, kept.attempt);
    const forget = () => {
      if (kept.editId === undefined) this.unshownCharge = undefined;
      else this.forgetEditKey(kept);
    };
    if (!found) {
      if (there.status === 'declined' || Date.now() - kept.since >= UNSHOWN_CHARGE_WATCH_MS) forget();
      return;
    }
    forget();
    this.paymentAttempts = Math.max(this.paymentAttempts, kept.attempt);
    // An edit's, found on its own, paid for no edit applied: an action no order takes, so refunded.
    const action = kept.editId !== undefined ? UNAPPLIED_EDIT_CHARGE : 'pay';
    await this.holdPending(found, action, 'customer', {
      action,
      actor: { id: this.input.customerId, role: 'customer' },
      reason: 'paid by a request whose answer was lost',
    });
  }

  /** Milliseconds until the next thing the workflow must do on its own (ask, renew, capture); undefined when none. */
  msUntilDue(): number | undefined {
    if (!this.order) return undefined;
    const poll = this.msUntilPoll();
    const times = [
      this.abandonAt(),
      this.reauthorizeAt(),
      this.captureRetryAt(),
      this.holdCaptureAt,
      this.unshownLookupAt(),
    ].filter((t): t is number => t !== undefined);
    if (times.length === 0) return poll;
    const soonest = Math.max(0, Math.min(...times) - Date.now());
    return poll === undefined ? soonest : Math.min(poll, soonest);
  }

  /** Does what is due: asks about a pending charge, renews a hold, or tries a capture again. */
  async runDue(): Promise<void> {
    if (this.msUntilPoll() === 0) return this.pollPending();
    const now = Date.now();
    if ((this.abandonAt() ?? Infinity) <= now) return this.abandonPending();
    if ((this.reauthorizeAt() ?? Infinity) <= now) return this.reauthorize();
    if ((this.captureRetryAt() ?? Infinity) <= now) return this.retryCapture();
    if ((this.holdCaptureAt ?? Infinity) <= now) return this.captureUnrenewedHold();
    if ((this.unshownLookupAt() ?? Infinity) <= now) return this.lookUpUnshownCharge();
  }

  /**
   * A held payment nears the end of its hold before the goods left: authorise the same method
   * again, then let the old hold go. Refused, the order is cancelled (nothing was taken); no
   * answer, it is tried again a minute later; still processing, it is waited for
   * (`renewalProcessing`).
   */
  private async reauthorize(): Promise<void> {
    if (this.renewalProcessing) return this.askAboutRenewal();
    const order = this.current;
    const held = heldPayment(order);
    if (!held) return;
    // Only what is still owed (refunds before shipment released part of the hold), but a renewal
    // tried again asks what its first try did: the provider holds that under its key, and takes
    // the same key with another amount as a refusal (a capture never takes more than is owed).
    const owed = order.amounts.authorized ?? held.amount;
    const kept = this.renewalAttempt === undefined ? undefined : this.renewalAmount;
    const amount = kept !== undefined && kept !== owed && patched('renewal-keeps-its-amount') ? kept : owed;
    const attempt = this.renewalAttempt ?? ++this.paymentAttempts;
    this.renewalAttempt = attempt;
    this.renewalAmount = amount;
    let outcome: ChargeOutcome;
    try {
      const result = await payment.capturePayment({
        orderId: order.id,
        attempt,
        amount,
        currency: order.currency,
        token: this.authToken ?? '',
        capture: 'manual',
      });
      outcome = result;
    } catch (err) {
      outcome =
        err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable
          ? { status: 'declined', paymentId: '', code: 'declined' }
          : await reconcile.reconcileCharge({ orderId: order.id, attempt });
    }
    if (outcome.status === 'absent') {
      this.reauthorizeNotBefore = Date.now() + 60_000;
      return;
    }
    this.renewalAttempt = undefined;
    // Still processing, with no step of the customer's: cancelling it would not stop it (the
    // provider refuses to), and giving it up left its hold on an order cancelled for want of one.
    if (
      outcome.status === 'pending' &&
      outcome.nextAction === undefined &&
      patched('renewal-waits-while-processing')
    ) {
      this.renewalAttempt = attempt;
      this.renewalProcessing = { paymentId: outcome.paymentId, amount, lookups: 0 };
      return this.awaitRenewal();
    }
    if (outcome.status === 'pending' || outcome.status === 'declined') {
      // A step the customer would have to take (3-D Secure) is no renewal: given up.
      if (outcome.status === 'pending')
        await CancellationScope.nonCancellable(() =>
          reconcile.cancelPayment({ orderId: order.id, paymentId: outcome.paymentId }),
        );
      return this.renewalRefused(order);
    }
    return this.renewWith(held, outcome, amount);
  }

  /** No renewal: what the hold holds is taken if goods have left on it, or the order is cancelled. */
  private async renewalRefused(order = this.current): Promise<void> {
    // Goods have left on this hold, and it is still good until its end: what it holds is taken,
    // rather than let go with the goods unpaid. Only a refused capture cancels the order then.
    if (goodsHaveLeft(order) && patched('capture-hold-not-renewed')) {
      this.holdCaptureAt = Date.now();
      return this.captureUnrenewedHold();
    }
    await this.apply('cancel', 'system', null, 'authorization_expired');
  }

  /** What the renewal left processing is now: it renews the hold, is let go, or is waited for again. */
  private async askAboutRenewal(): Promise<void> {
    const waiting = this.renewalProcessing!;
    waiting.lookups += 1;
    const there = await reconcile.reconcileCharge({
      orderId: this.current.id,
      attempt: this.renewalAttempt!,
    });
    if (there.status === 'pending' || there.status === 'absent') return this.awaitRenewal();
    return this.renewalSettled(there);
  }

  /** Asked about again at the next poll, if that comes while it may still be of use; given up otherwise. */
  private async awaitRenewal(): Promise<void> {
    const waiting = this.renewalProcessing!;
    const held = this.holdToRenew();
    const next =
      Date.now() + pendingPollDelay(this.input.policy.pendingPaymentPollMs ?? 30_000, waiting.lookups);
    // Wanted, before the hold it would replace runs out; no longer wanted, for a day from then (as an unshown charge).
    if (!held) waiting.unwantedSince ??= Date.now();
    if (next < (held ? Date.parse(held.captureBefore) : waiting.unwantedSince! + UNSHOWN_CHARGE_WATCH_MS)) {
      this.reauthorizeNotBefore = next;
      return;
    }
    // Given up: let go if the provider will. It voids a settled hold; a charge settled just now (a
    // method that cannot be held) or a hold its cancel did not reach is taken as the renewal's answer.
    const now = await CancellationScope.nonCancellable(() =>
      reconcile.cancelPayment({ orderId: this.current.id, paymentId: waiting.paymentId }),
    );
    if (now.status === 'authorized' || now.status === 'succeeded') return this.renewalSettled(now);
    if (now.status === 'pending' && held) {
      // Still not cancellable: watched for a day as a renewal no longer wanted, let go once settled.
      this.reauthorizeNotBefore = next;
    } else {
      this.renewalProcessing = undefined;
      this.renewalAttempt = undefined;
    }
    if (held) return this.renewalRefused();
  }

  /** The renewal left processing has settled: the hold's renewal if it is still to be renewed; let go if not. */
  private async renewalSettled(
    there: Exclude<ChargeOutcome, { status: 'pending' } | { status: 'absent' }>,
  ): Promise<void> {
    const { amount } = this.renewalProcessing!;
    this.renewalProcessing = undefined;
    this.renewalAttempt = undefined;
    const held = this.holdToRenew();
    if (there.status === 'declined') return held ? this.renewalRefused() : undefined;
    if (held) return this.renewWith(held, there, amount);
    // Shipped on the old hold, or ended: a hold is all a renewal makes (a manual capture), let go.
    // (A method that cannot be held would have been charged: none is renewed, since none is held.)
    await CancellationScope.nonCancellable(() =>
      reconcile.cancelPayment({ orderId: this.current.id, paymentId: there.paymentId }),
    );
  }

  /** The old hold let go, the new one (or a charge, for a method that cannot be held) recorded. */
  private async renewWith(
    held: OrderPayment,
    renewed: Extract<ChargeOutcome, { status: 'authorized' } | { status: 'succeeded' }>,
    amount: number,
  ): Promise<void> {
    const order = this.current;
    await CancellationScope.nonCancellable(() =>
      reconcile.cancelPayment({ orderId: order.id, paymentId: held.id }),
    );
    if (renewed.status === 'authorized') this.noteHold(renewed.captureBefore);
    const payments = withPayment(order, { ...held, status: 'voided' });
    await this.recordFact('reauthorized', `payment ${held.id} renewed as ${renewed.paymentId}`, {
      ...(renewed.status === 'succeeded'
        ? {
            amounts: { ...order.amounts, paid: order.amounts.paid + amount, authorized: 0 },
            payments: [...payments, { ...held, id: renewed.paymentId, amount, status: 'succeeded' as const }],
          }
        : {
            payments: [
              ...payments,
              { ...held, id: renewed.paymentId, amount, captureBefore: renewed.captureBefore },
            ],
          }),
    });
  }

  /**
   * A hold that could not be renewed after goods left, still good until its end: what it holds is
   * taken, rather than let go with the goods unpaid. No answer: tried again later (the hold's own
   * end answers at last); refused: the order is cancelled, as when nothing had left.
   */
  private async captureUnrenewedHold(): Promise<void> {
    const order = this.current;
    // Let go meanwhile (a cancel), or all shipped since: the shipment's own capture has it then.
    if (!heldPayment(order) || order.shipment) {
      this.holdCaptureAt = undefined;
      return;
    }
    const { attention, ...changes } = await captureHeld(order);
    if (attention?.detail === 'no_answer') {
      const first = !this.holdCaptureUnanswered;
      this.holdCaptureAt = Date.now() + (this.input.policy.captureRetryMs ?? 3_600_000);
      this.holdCaptureUnanswered = true;
      // Said once, and flagged for support unless something else is (not `no_answer`: that detail
      // is the shipment's capture's, tried again on its own schedule).
      if (first)
        await this.recordFact(
          'capture_failed',
          'the hold could not be renewed after goods left; its capture got no answer',
          order.attention ? {} : { attention: { ...attention, detail: 'hold_not_renewed' } },
        );
      return;
    }
    this.holdCaptureAt = undefined;
    if (attention) {
      await this.apply('cancel', 'system', null, 'authorization_expired');
      return;
    }
    // Only a capture's own flag is cleared: another (a refused part, a short pick) stays for support.
    const cleared = order.attention?.code === 'capture_failed' ? { attention: null } : {};
    await this.recordFact(
      'payment_captured',
      'the hold could not be renewed after goods left: it was captured',
      {
        ...changes,
        ...cleared,
      },
    );
  }

  /**
   * The shipment's capture (`captureOwnWord`): one that got no answer is owed, and retried. Taken,
   * or without an answer, it leaves another flag standing on the order (a short pick); refused, it
   * flags the order as before (support must act: nothing else will take that money).
   */
  private shipmentCaptured(before: OrderState, changes: Changes): void {
    const attention = changes.attention;
    if (attention === undefined) return;
    const unanswered = attention?.code === 'capture_failed' && attention.detail === 'no_answer';
    if (unanswered) {
      const held = heldPayment(before);
      if (held) this.captureOwed = { paymentId: held.id, triedAt: Date.parse(attention.at) };
    }
    const refused = attention !== null && !unanswered;
    if (!refused && before.attention && before.attention.code !== 'capture_failed') delete changes.attention;
  }

  /** A capture after shipment that got no answer, tried again. */
  private async retryCapture(): Promise<void> {
    if (this.captureOwnWord) return this.retryOwedCapture();
    const changes = await captureHeld(this.current);
    const captured = changes.attention === null;
    await this.recordFact(
      captured ? 'payment_captured' : 'capture_failed',
      captured ? 'the held payment was captured' : `the capture failed again (${changes.attention!.detail})`,
      changes,
    );
  }

  /**
   * The owed capture tried again (`captureOwnWord`). Taken, it clears only the capture's own flag;
   * without an answer, it leaves another (a failed delivery, a short pick) standing while the
   * retries go on under it; refused, it flags the order whatever stood (support must act).
   */
  private async retryOwedCapture(): Promise<void> {
    const order = this.current;
    const { attention, ...changes } = await captureHeld(order);
    const ownFlag = !order.attention || order.attention.code === 'capture_failed';
    if (attention?.detail === 'no_answer') {
      this.captureOwed!.triedAt = Date.now();
      await this.recordFact(
        'capture_failed',
        'the capture failed again (no_answer)',
        ownFlag ? { attention } : {},
      );
      return;
    }
    // Captured, or refused (let go at the provider): either way nothing is left to try.
    this.captureOwed = undefined;
    if (attention) {
      await this.recordFact('capture_failed', `the capture failed again (${attention.detail})`, {
        ...changes,
        attention,
      });
      return;
    }
    await this.recordFact('payment_captured', 'the held payment was captured', {
      ...changes,
      ...(order.attention?.code === 'capture_failed' ? { attention: null } : {}),
    });
  }

  /** Gives up a charge the customer never finished (3-D Secure); it may have succeeded meanwhile. */
  async abandonPending(): Promise<void> {
    const pending = this.pending;
    if (!pending?.nextAction) return;
    const outcome = await CancellationScope.nonCancellable(() =>
      reconcile.cancelPayment({ orderId: this.current.id, paymentId: pending.paymentId }),
    );
    // Finished by the customer just before, and now the provider's to decide (a redirect method
    // still processing; a hold it would not void): no longer the customer's step, so waited for
    // and settled as any pending charge, refunded if the order cannot take it. (Histories recorded
    // before replay as they ran: counted abandoned, a success that came later never refunded.)
    const decided = outcome.status === 'authorized' || (outcome.status === 'pending' && !outcome.nextAction);
    if (decided && patched('abandoned-step-kept-if-decided')) {
      if (outcome.status === 'authorized') {
        this.paymentUpdate({
          paymentId: pending.paymentId,
          status: 'authorized',
          captureBefore: outcome.captureBefore,
        });
        return;
      }
      const { nextAction: _step, ...charge } = pending;
      this.pending = charge;
      // Asked about soon, as a payment just gone to the bank; shown as processing, its page gone.
      this.polledAt = Date.now();
      this.polls = 0;
      const order = this.current;
      const shown = (order.payments ?? []).find((p) => p.id === pending.paymentId);
      if (shown) {
        const { nextAction: _page, ...rest } = shown;
        this.order = { ...order, payments: withPayment(order, { ...rest, status: 'processing' }) };
        await this.recordPayments();
        this.publish();
      }
      return;
    }
    this.paymentUpdate(
      outcome.status === 'succeeded'
        ? { paymentId: pending.paymentId, status: 'succeeded' }
        : { paymentId: pending.paymentId, status: 'declined', code: 'abandoned' },
    );
  }

  /**
   * The provider has decided a pending charge. Paid: the action it was for is taken now, if the
   * order can still take it; if not (cancelled, expired meanwhile), the money goes back and the
   * order says so. Declined: the stock held for it is given back and the order stays payable.
   */
  async settle(update: PaymentUpdate): Promise<void> {
    const pending = this.pending;
    if (!pending || pending.paymentId !== update.paymentId) return;
    this.pending = undefined;
    const order = this.current;
    // An edit's charge: applied only if the order can still take it as it was previewed.
    const edit = pending.action === 'edit' ? pending.request.editRequest : undefined;
    const decision = decide(this.machine, order.status, pending.action, pending.actor);
    const takes =
      decision.ok &&
      !(
        edit &&
        editBlocked({ ...order, payments: (order.payments ?? []).filter((p) => p.id !== pending.paymentId) })
      ) &&
      // A lost request's charge pays the order only if it is for what the order owes now (it may
      // have been modified since), and only if taken: a hold would need renewing with a card the
      // order never saw.
      !(
        pending.lost &&
        (pending.amount !== (edit ? edit.owed : chargeAmount(decision.transition.effect!, order)) ||
          update.status === 'authorized')
      );
    // What the order says of a charge it does not take: one after the order ended, or a lost request's.
    const untaken = pending.lost
      ? { fact: 'lost', why: 'was made by a request whose answer was lost' }
      : { fact: 'late', why: 'came after the order ended' };
    // A lost request's charge refused by an order still open: the stock held for it goes back.
    if (
      pending.lost &&
      !takes &&
      paidNothing(order) &&
      !isTerminal(this.machine, order.status) &&
      (update.status === 'succeeded' || update.status === 'authorized')
    )
      await CancellationScope.nonCancellable(() =>
        store.releasePaymentStock({ orderId: order.id, attempt: pending.attempt }),
      );
    if (edit && !takes)
      await CancellationScope.nonCancellable(() =>
        store.releaseEditUnits({
          orderId: order.id,
          editId: edit.editId,
          // An order that ended gave back everything it held already: the edit is only dropped.
          dropped: isTerminal(this.machine, order.status),
        }),
      );
    if (update.status === 'succeeded' || update.status === 'authorized') {
      if (takes) {
        const request = {
          ...pending.request,
          settledPayment: {
            paymentId: pending.paymentId,
            amount: pending.amount,
            method: pending.method,
            ...(pending.lost?.risk ? { risk: pending.lost.risk } : {}),
            ...(update.status === 'authorized'
              ? { captureBefore: update.captureBefore ?? new Date(Date.now() + 6 * 86_400_000).toISOString() }
              : {}),
          },
        };
        await this.apply(pending.action, pending.actor, request, pending.request.reason);
        return;
      }
      if (update.status === 'authorized') {
        // Only held, for an order that ended: let go, nothing to refund.
        await CancellationScope.nonCancellable(() =>
          reconcile.cancelPayment({ orderId: order.id, paymentId: pending.paymentId }),
        );
        await this.recordFact(
          `${untaken.fact}_authorization_voided`,
          pending.lost
            ? `payment ${pending.paymentId} ${untaken.why}`
            : `payment ${pending.paymentId} was authorised after the order ended`,
          {
            payments: withPayment(order, {
              id: pending.paymentId,
              status: 'voided',
              ...(pending.method ? { method: pending.method } : {}),
              amount: pending.amount,
              refunded: 0,
            }),
          },
        );
        return;
      }
      // Money back for an order that ended, or for an edit not applied: a compensation, finished
      // even if the workflow is cancelled.
      const refunded = await CancellationScope.nonCancellable(() =>
        refunds.refundPayment({
          orderId: order.id,
          paymentId: pending.paymentId,
          refundId: `late-${pending.paymentId}`,
          amount: pending.amount,
          reason: pending.lost ? 'lost_request' : 'paid after the order ended',
          // Found late, it may have been refunded already: a cancel refunds all the provider lists.
          ...(pending.lost ? { onlyWhatIsLeft: true } : {}),
        }),
      );
      await this.recordFact(
        `${untaken.fact}_payment_refunded`,
        `payment ${pending.paymentId} ${untaken.why}`,
        {
          amounts: {
            ...order.amounts,
            paid: order.amounts.paid + pending.amount,
            refunded: order.amounts.refunded + refunded,
          },
          payments: withPayment(order, {
            id: pending.paymentId,
            status: 'succeeded',
            ...(pending.method ? { method: pending.method } : {}),
            amount: pending.amount,
            refunded,
          }),
        },
      );
      return;
    }
    if (paidNothing(order) && !isTerminal(this.machine, order.status))
      await CancellationScope.nonCancellable(() =>
        store.releasePaymentStock({ orderId: order.id, attempt: pending.attempt }),
      );
    // An edit whose charge failed: the units held for it go back; the order stays as it was.
    if (edit && takes)
      await CancellationScope.nonCancellable(() =>
        store.releaseEditUnits({ orderId: order.id, editId: edit.editId }),
      );
    this.order = {
      ...order,
      payments: withPayment(order, {
        id: pending.paymentId,
        status: 'failed',
        ...(pending.method ? { method: pending.method } : {}),
        amount: pending.amount,
        refunded: 0,
        code: update.code ?? 'declined',
      }),
    };
    await this.recordPayments();
    this.publish();
  }

  /**
   * A pay whose Update was lost (its worker died before the task that ran the charge completed)
   * may have charged under the next attempt's key, and only there: a lost Update never moves the
   * count. Looked up before an order that can still be charged times out or ends. Found, it is the
   * order's pending charge: paid, it pays the order if the order can take it, else it is refunded
   * (`settle`). True when one was found.
   */
  async lostCharge(attempt = this.paymentAttempts + 1, here = false): Promise<boolean> {
    if (!this.chargeInWorker || this.pending) return false;
    const order = this.current;
    const pay = this.machine.transitions.find(
      (t) => t.from === order.status && t.effect !== undefined && CHARGES.has(t.effect),
    );
    if (!pay) return false;
    const lookUp = here ? lookUpHere : reconcile.reconcileCharge;
    const found = lostChargeOf(await lookUp({ orderId: order.id, attempt }), attempt);
    if (!found) {
      // Not shown yet, where a pay got no answer (a provider's search lags its writes): the key is
      // kept and looked for, after the order ends too, as a pay's own unshown charge's is.
      if (
        attempt === this.paymentAttempts + 1 &&
        this.unansweredPay?.attempt === attempt &&
        this.unshownCharge?.attempt !== attempt &&
        patched('unanswered-pay-key-watched')
      ) {
        const now = Date.now();
        this.unshownCharge = { attempt, since: now, lookedAt: now, lookups: 1, onWord: true };
      }
      return false;
    }
    this.paymentAttempts = Math.max(this.paymentAttempts, attempt);
    // The customer's pay (a channel's, for its customer, reads the same).
    const role = pay.by.find((r) => r !== 'system') ?? 'customer';
    await this.holdPending(found, pay.action, role, {
      action: pay.action,
      actor: { id: this.input.customerId, role },
      reason: 'paid by a request whose answer was lost',
    });
    return true;
  }

  /** The API got no answer to a pay: the key a lost Update's charge would carry (data only, no command). */
  payUnanswered(updateId: string | undefined): void {
    if (updateId !== undefined && this.payUpdates.has(updateId)) return;
    this.unansweredPay = {
      ...(updateId !== undefined ? { updateId } : {}),
      attempt: this.paymentAttempts + 1,
      at: Date.now(),
    };
  }

  /** A pay Update this workflow runs (data only): the API's word that it went unanswered no longer counts. */
  payAsked(updateId: string | undefined): void {
    if (updateId === undefined) return;
    this.payUpdates.add(updateId);
    if (this.unansweredPay?.updateId === updateId) this.unansweredPay = undefined;
  }

  /** A charge the provider has not decided: the action waits; the order shows the payment as pending. */
  private async holdPending(
    charge: PendingCharge,
    action: string,
    actor: Actor,
    request: ActionRequest | null,
  ): Promise<void> {
    this.pending = { ...charge, action, actor, request: request! };
    this.polledAt = Date.now();
    this.pendingSince = this.polledAt;
    this.polls = 0;
    // A lost request's charge the provider has decided: settled at once, by the loop.
    const lost = charge.lost;
    if (lost && lost.status !== 'pending')
      this.settlements.push({
        paymentId: charge.paymentId,
        status: lost.status,
        ...(lost.captureBefore ? { captureBefore: lost.captureBefore } : {}),
      });
    const order = this.current;
    this.order = {
      ...order,
      payments: withPayment(order, {
        id: charge.paymentId,
        status: charge.nextAction ? 'requires_action' : 'processing',
        ...(charge.method ? { method: charge.method } : {}),
        amount: charge.amount,
        refunded: 0,
        ...(charge.nextAction ? { nextAction: charge.nextAction } : {}),
      }),
    };
    await this.recordPayments();
    this.publish();
  }

  private async recordPayments(): Promise<void> {
    const order = this.current;
    await this.quick.recordPayments({
      orderId: order.id,
      seq: order.history.length,
      payments: order.payments ?? [],
      at: new Date().toISOString(),
      // Counted in the workflow (replayed alike): a held-up attempt of an older write changes nothing.
      rev: ++this.paymentWrites,
    });
  }

  /**
   * A fulfilment moved. Shipped: the parcel (what was picked) ships the order, in part or in full.
   * Delivered: the parcel says so, and once every parcel of a fully shipped order is delivered the
   * auto-confirm window counts from then. Refused, short, undeliverable: support is asked to act.
   */
  async takeParcelNews(record: FulfilmentRecord): Promise<void> {
    const order = this.current;
    // Stopped by the order's cancel, which this news had not yet reached: it would show the parcel
    // going on (and tell subscribers so) on an order cancelled and refunded.
    const known = order.fulfilments?.find((f) => f.id === record.id)?.status;
    if (staleAfterCancel(known, record.status) && patched('stale-parcel-news-after-cancel')) return;
    const fulfilments = (order.fulfilments ?? []).map((f) =>
      f.id === record.id ? { ...f, status: record.status } : f,
    );
    const at = new Date().toISOString();
    const units = (items: LineQuantity[]) => items.reduce((a, i) => a + i.quantity, 0);
    if (record.status === 'shipped') {
      const missing = missingUnits(record);
      // A cancelled order's parcel found short had its missing units written off by the cancel.
      const ended = () => isTerminal(this.machine, order.status) && patched('cancel-recalls-parcels');
      if (missing.length > 0 && patched('short-pick') && !ended())
        await this.shortPick(record, missing, fulfilments);
      const request: ActionRequest = {
        action: 'ship',
        actor: { id: 'system', role: 'support' },
        shipment: {
          carrier: record.carrier ?? 'unknown',
          trackingNumber: record.trackingNumber ?? 'unknown',
          items: (record.picked ?? record.items).filter((i) => i.quantity > 0),
          fulfilment: { id: record.id, location: record.location },
        },
      };
      const now = this.current;
      const shipped = now.fulfilments === order.fulfilments ? fulfilments : now.fulfilments;
      const resolved = resolveAction(this.machine, now, request, 'system', {});
      if ('action' in resolved && decide(this.machine, now.status, resolved.action, 'system').ok) {
        this.order = { ...now, fulfilments: shipped };
        await this.apply(resolved.action, 'system', request, `parcel from ${record.location}`);
        // Orders from before short picks were handled: support is asked.
        const short = record.picked && units(record.picked) < units(record.items);
        if (short && missing.length > 0 && !patched('short-pick'))
          await this.recordFact('short_pick', record.location, {
            attention: { code: 'short_pick', detail: record.location, at },
          });
        return;
      }
      // The parcel was empty (every unit of it missing, and refunded) and was the last to come.
      if (this.nothingLeftToShip(now)) {
        this.order = { ...now, fulfilments: shipped };
        return this.shipWhatIsLeft();
      }
      return this.recordFact('parcel_shipped', record.location, { fulfilments: shipped });
    }
    const shipments = (order.shipments ?? []).map((s) =>
      s.id === record.id &&
      (record.status === 'in_transit' || record.status === 'delivered' || record.status === 'delivery_failed')
        ? { ...s, status: record.status }
        : s,
    );
    const recalled = shipments.find((s) => s.id === record.id)?.recalledAt !== undefined;
    if (record.status === 'delivered') {
      const all =
        unshipped({ items: order.items, shipments }).size === 0 &&
        shipments.every((s) => s.status === 'delivered' || s.location === null || s.returnedAt);
      return this.recordFact('parcel_delivered', record.location, {
        fulfilments,
        shipments,
        ...(all ? { deliveredAt: at } : {}),
        // Delivered before the carrier could bring it back: the customer has refunded goods.
        ...(recalled ? { attention: { code: 'recall_failed' as const, detail: record.location, at } } : {}),
      });
    }
    if (record.status === 'delivery_failed' && recalled) {
      // A cancelled order's parcel is back where it left from: its units are on hand there again.
      const parcel = shipments.find((s) => s.id === record.id)!;
      await CancellationScope.nonCancellable(() =>
        store.restockItems({
          orderId: order.id,
          items: parcel.items,
          tag: `rts-${record.id}`,
          location: record.location,
        }),
      );
      return this.recordFact('parcel_returned', record.location, { fulfilments, shipments });
    }
    if (record.status === 'delivery_failed') {
      // Returned to its sender: the units are on hand there again, and the customer is refunded for them.
      const parcel = shipments.find((s) => s.id === record.id);
      const refundId = `rts-${record.id}`;
      const request: ActionRequest = {
        action: 'refund',
        actor: { id: 'system', role: 'support' },
        reason: 'returned to sender',
        refund: { refundId, items: parcel?.items ?? [] },
      };
      const held = unitsHeld(this.openReturns);
      const resolved = resolveAction(this.machine, order, request, 'system', held);
      // Units of it an open return, claim or exchange holds, or already refunded: not this refund's
      // to settle (its plan would fail the task, and a return's receipt would restock them again).
      // Support is asked instead, as when the order cannot be refunded at all. Orders whose task
      // failed on this before restocked the parcel first: they replay that, then ask support.
      const plannable =
        parcel !== undefined && refundPlannable(order.items, order.amounts.shipping, parcel.items, held);
      // While a capture of the held payment has no answer, the money may be taken already: the
      // hold is not shrunk for it, support is asked (as staff refunds wait, `heldContext`).
      const captureUnanswered = this.captureOwnWord && this.heldContext.captureUnanswered;
      if (
        !captureUnanswered &&
        parcel &&
        (plannable || !patched('delivery-failed-held-units')) &&
        'action' in resolved &&
        decide(this.machine, order.status, resolved.action, 'system').ok &&
        patched('return-to-sender')
      ) {
        // Compensations finish even if the workflow is being cancelled.
        await CancellationScope.nonCancellable(() =>
          store.restockItems({
            orderId: order.id,
            items: parcel.items,
            tag: refundId,
            location: record.location,
          }),
        );
        if (!plannable)
          return this.recordFact('delivery_failed', record.location, {
            fulfilments,
            shipments,
            attention: { code: 'delivery_failed', detail: record.location, at },
          });
        // Its units now count as refunded, not shipped: what is left to ship stays right.
        const returned = patched('returned-parcel-refunded')
          ? shipments.map((s) => (s.id === record.id ? { ...s, returnedAt: at } : s))
          : shipments;
        this.order = { ...order, fulfilments, shipments: returned };
        await this.apply(resolved.action, 'system', request, 'returned to sender');
        return;
      }
      return this.recordFact('delivery_failed', record.location, {
        fulfilments,
        shipments,
        attention: { code: 'delivery_failed', detail: record.location, at },
      });
    }
    if (record.status === 'refused')
      return this.recordFact('fulfilment_refused', record.location, {
        fulfilments,
        attention: { code: 'fulfilment_refused', detail: record.location, at },
      });
    if (record.status === 'accepted')
      return this.recordFact('fulfilment_accepted', record.location, { fulfilments });
    // Picked, packed, in transit: the order center's fulfilment rows say it; the order keeps it until its next record.
    this.order = { ...order, fulfilments, shipments };
  }

  /**
   * A warehouse found fewer units than it held for this order: they are written off there and taken
   * from another location if one has them (a fulfilment of its own, which ships them later); if
   * none has, they are refunded. Either way the order's history says which.
   */
  private async shortPick(
    record: FulfilmentRecord,
    missing: LineQuantity[],
    fulfilments: NonNullable<OrderState['fulfilments']>,
  ): Promise<void> {
    const order = this.current;
    // The write-off and the units' new home are settled even if the workflow is being cancelled.
    const { moved, allocation } = await CancellationScope.nonCancellable(() =>
      store.shortPicked({ orderId: order.id, location: record.location, missing, tag: record.id }),
    );
    const what = missing.map((m) => `${m.sku} × ${m.quantity}`).join(', ');
    if (moved) {
      const added: NonNullable<OrderState['fulfilments']> = [];
      for (const { location, items } of moved) {
        const round = 1 + [...fulfilments, ...added].filter((f) => f.location === location).length;
        await CancellationScope.nonCancellable(() =>
          startChild(fulfilmentFlow, {
            workflowId: fulfilmentWorkflowId(order.id, location, round),
            args: [{ orderId: order.id, location, items, round }],
            parentClosePolicy: ParentClosePolicy.ABANDON,
          }),
        );
        added.push({ id: fulfilmentId(order.id, location, round), location, status: 'requested' });
      }
      return this.recordFact(
        'short_pick',
        `${what} short at ${record.location}, sent from ${moved.map((m) => m.location).join(', ')}`,
        {
          fulfilments: [...fulfilments, ...added],
          allocation,
        },
      );
    }
    this.order = { ...order, fulfilments, allocation };
    const request: ActionRequest = {
      action: 'refund',
      actor: { id: 'system', role: 'support' },
      reason: `short pick at ${record.location}`,
      refund: { refundId: `short-${record.id}`, items: missing, restock: false },
    };
    const held = unitsHeld(this.openReturns);
    const resolved = resolveAction(this.machine, this.current, request, 'system', held);
    // Units already refunded, or held by a return, are not this refund's (its plan would fail the
    // task): support is asked instead.
    const plannable =
      refundPlannable(this.current.items, this.current.amounts.shipping, missing, held) ||
      !patched('short-pick-unplannable');
    if (
      plannable &&
      'action' in resolved &&
      decide(this.machine, this.current.status, resolved.action, 'system').ok
    )
      await this.apply(resolved.action, 'system', request, `${what} short at ${record.location}, refunded`);
    else
      await this.recordFact('short_pick', record.location, {
        attention: { code: 'short_pick', detail: record.location, at: new Date().toISOString() },
      });
  }

  /** Something the order must say that is not a transition of its machine (a late payment refunded). */
  private async recordFact(action: string, reason: string, changes: Partial<OrderState>): Promise<void> {
    const before = this.current;
    const at = new Date().toISOString();
    const entry: HistoryEntry = {
      seq: before.history.length + 1,
      from: before.status,
      action,
      to: before.status,
      actor: 'system',
      at,
      reason,
    };
    const order: OrderState = { ...before, ...changes, updatedAt: at, history: [...before.history, entry] };
    this.order = order;
    const { history: _history, id: _id, ...snapshot } = order;
    await this.quick.recordTransition({ orderId: order.id, entry, snapshot, ...this.unsettled() });
    this.publish();
  }

  /** Places the order (price, holds, row); false if refused, with the refusal kept for the createOrder Update. */
  async place(): Promise<boolean> {
    const { input } = this;
    try {
      const placed = await this.quick.placeOrder({ ...input, now: new Date().toISOString() });
      this.order = {
        ...placed,
        id: input.orderId,
        type: input.type,
        customerId: input.customerId,
        ...(input.channel ? { channel: input.channel } : {}),
        status: this.machine.initial,
        couponCode: input.couponCode ?? null,
        shippingAddress: input.shippingAddress ?? null,
        shipment: null,
        delivery: null,
        updatedAt: placed.createdAt,
      };
      // Imported: it joins in the state its source left it, paid there, perhaps shipped.
      if (input.imported) {
        const { status, shipment, updatedAt } = placed as unknown as Pick<
          OrderState,
          'status' | 'shipment' | 'updatedAt'
        >;
        this.order = { ...this.order, status, shipment, updatedAt };
      }
    } catch (err) {
      this.rejection = asApplicationFailure(err);
      return false;
    }
    this.publish();
    return true;
  }

  reject(failure: ApplicationFailure): void {
    this.rejection = failure;
  }

  deadline(timer: TimerName): number {
    return deadlineOf(timer, this.current, this.input.policy);
  }

  /**
   * Search attributes and current details follow every transition, for support staff in the Web
   * UI. With step writes, a state the loop leaves at once (an `auto` rule: paid, then into
   * production) is not upserted on its own: the next state's upsert (in the same workflow task
   * unless the auto action waits on an activity) replaces it, and the loop publishes what is left
   * before it waits (`publishHeld`).
   */
  publish(): void {
    this.held = this.stepWrites && this.leavesAtOnce();
    if (!this.held) this.upsertSearchAttributes();
    setCurrentDetails(this.details());
  }

  /** The current details support staff read in the Web UI (./support-details.ts, and what only the workflow knows). */
  private details(): string {
    const o = this.current;
    const after = this.machine.states[o.status]?.after;
    const waiting = after ? new Date(this.deadline(after.timer)).toISOString() : null;
    return (
      describeForSupport(this.machine, o, waiting) +
      (this.openReturns.size ? `\n\nOpen returns: ${[...this.openReturns.keys()].join(', ')}` : '') +
      // Said while it matters: once the order has ended, its history says the rest.
      (this.cancelRequestNotTaken && !isTerminal(this.machine, o.status)
        ? `\n\nCancellation requested in Temporal, not taken (${this.cancelRequestNotTaken}): cancel through the API once the order may be.`
        : '')
    );
  }

  /**
   * Whether the loop moves the order on at once, in this worker and the same task: an `auto` step
   * that only opens the production job (a digital code, a warehouse or a review waits longer, and
   * is published as it stands).
   */
  private leavesAtOnce(o: OrderState = this.current): boolean {
    const state = this.machine.states[o.status];
    if (!state?.auto || (state.hold && needsReview(o, this.input.policy))) return false;
    const next = decide(this.machine, o.status, state.auto, 'system');
    return (
      next.ok && next.transition.effect === 'openProduction' && this.input.policy.fulfilment !== 'warehouse'
    );
  }

  /** What `publish` held back, published before the loop waits. */
  publishHeld(): void {
    if (!this.held) return;
    this.held = false;
    this.upsertSearchAttributes();
  }

  private upsertSearchAttributes(): void {
    const o = this.current;
    upsertSearchAttributes([
      { key: searchAttributes.OrderStatus, value: o.status },
      { key: searchAttributes.OrderTotal, value: o.amounts.total },
      { key: searchAttributes.PaymentDeadline, value: new Date(o.paymentDeadline) },
    ]);
  }

  /**
   * Runs the transition's effect, then records the transition: in the workflow, then in PostgreSQL.
   * Answers the order as this transition left it. With `autoStepWithRecord`, a state the loop would
   * leave at once for production (`leavesAtOnce`) is left here too, and both transitions are
   * recorded by one local activity: the order has moved on, but the answer is this action's.
   */
  async apply(
    action: string,
    actor: Actor,
    request: ActionRequest | null,
    reason?: string,
    /** The caller looked for a lost charge under the same hold of the lock (`lostCharge`). */
    lostChargeChecked = false,
  ): Promise<OrderState> {
    const step = await this.transition(action, actor, request, reason, lostChargeChecked);
    if (!step) return this.current;
    const state = this.machine.states[step.order.status];
    const next =
      this.autoStepWithRecord && state?.auto && this.leavesAtOnce(step.order)
        ? await this.transition(this.autoAction(state), 'system', null, undefined, false)
        : undefined;
    const allocation = await this.record(step, next);
    this.publish();
    return allocation ? { ...step.order, allocation } : step.order;
  }

  /** The transition in the workflow: its effect run, the order moved on. Nothing when a charge is left pending. */
  private async transition(
    action: string,
    actor: Actor,
    request: ActionRequest | null,
    reason: string | undefined,
    lostChargeChecked: boolean,
  ): Promise<Step | undefined> {
    const decision = decide(this.machine, this.current.status, action, actor);
    if (!decision.ok) throw new Error(`machine refused ${action} by ${actor} in ${this.current.status}`);
    // Ending while it could still be charged: a charge whose Update was lost is found first. A
    // person's cancel is then refused, to be asked again once that payment is settled (a presale's
    // cancel refunds every charge the provider has, and would refund that one twice).
    const ends = isTerminal(this.machine, decision.transition.to);
    // An edit's charge not shown yet is looked for first, so that a cancel's refund of all the
    // provider shows leaves it, once found, to be refunded as the pending charge it is (not twice).
    if (ends)
      for (const kept of [...this.unshownEditCharges]) {
        if (this.pending) break;
        await this.lookUpUnshownCharge(kept);
      }
    if (
      this.chargeInWorker &&
      ends &&
      !lostChargeChecked &&
      (await this.lostCharge()) &&
      actor !== 'system'
    ) {
      if (this.current.status === 'PENDING_DEPOSIT' && buyerSide(actor))
        this.depositFoundOnCancel = this.pending && { paymentId: this.pending.paymentId, at: Date.now() };
      throw refuse(
        notNow(
          'a payment of this order whose answer was lost has been found, and is being settled: try again',
          this.current.status,
          [],
        ),
      );
    }
    const before = this.current;
    const editId = request?.editRequest?.editId;
    /** This edit's kept key, asked again by it. */
    let reused: UnshownKey | undefined;
    const effect = runEffect(decision.transition.effect, {
      order: before,
      request,
      nextPaymentAttempt: () => {
        this.chargesTried++;
        // An edit's kept key is asked again by the same edit's charge (one charge, never two), and
        // by no other. Asked again within the charge, that key was declined there: it is spent.
        if (reused) this.forgetEditKey(reused);
        else if (editId !== undefined) {
          reused = this.unshownEditCharges.find((k) => k.editId === editId);
          if (reused) return reused.attempt;
        }
        return ++this.paymentAttempts;
      },
      // An edit's kept key stays out of the count: no other charge may take it.
      unusedPaymentAttempt: () => void (editId !== undefined ? undefined : --this.paymentAttempts),
      chargeUnshown: (attempt, firstUse) => {
        this.chargeKeysKept++;
        const now = Date.now();
        if (editId === undefined) {
          const again = this.unshownCharge?.attempt === attempt ? this.unshownCharge : undefined;
          const firstUsedAt = keyFirstUse(firstUse, again && (again.firstUsedAt ?? again.since));
          this.unshownCharge = { attempt, since: now, lookedAt: now, lookups: 0, firstUsedAt };
          return;
        }
        this.keptEditKeys++;
        // The same key kept again: looked for anew, for a day from the first time.
        const again = this.unshownEditCharges.find((k) => k.editId === editId && k.attempt === attempt);
        if (again) Object.assign(again, { lookedAt: now, lookups: 0 });
        else this.unshownEditCharges.push({ editId, attempt, since: now, lookedAt: now, lookups: 0 });
      },
      keyUsedSince: (attempt) => this.keyUsedSince(attempt),

      held: unitsHeld(this.openReturns, request?.refund?.refundId),
      onReturnOpened: (returnId, items, kind, exchange) =>
        this.openReturns.set(returnId, {
          items,
          reason: request?.reason ?? kind ?? 'return',
          ...(kind ? { kind } : {}),
          ...(exchange ? { exchange } : {}),
        }),
      captureLater: this.input.policy.capture === 'on_shipment',
      warehouse: this.input.policy.fulfilment === 'warehouse',
      returns: this.input.policy,
      stepWrites: this.stepWrites,
      chargeInWorker: this.chargeInWorker,
      refundsWaitForWarehouse: this.refundsWaitForWarehouse,
      // Kept by the order's own charge: one kept on the API's word alone is too weak to give a deposit back.
      chargeKeyKept:
        this.unshownCharge !== undefined &&
        this.unshownCharge.attempt === this.paymentAttempts + 1 &&
        this.unshownCharge.onWord !== true,
      // Within a day of the refused cancel: asked again, not a change of mind weeks later.
      depositFoundOnCancel:
        this.depositFoundOnCancel !== undefined &&
        Date.now() - this.depositFoundOnCancel.at <= CANCEL_ASKED_AGAIN_MS
          ? this.depositFoundOnCancel.paymentId
          : undefined,
    });
    // A kept key asked again is spent once the step succeeds (the edit's charge answered, or pending
    // for it) or the charge is declined there. Any other failure, a later step's too, leaves it kept
    // and looked for: a charge found is refunded, or answers the edit confirmed again.
    const { pending, writes, ...changes } = await effect.catch((err: unknown) => {
      if (reused && declineCode(err) !== undefined) this.forgetEditKey(reused);
      throw err;
    });
    if (reused) this.forgetEditKey(reused);
    if (pending) {
      await this.holdPending(pending, action, actor, request);
      return undefined;
    }
    if (this.captureOwnWord && decision.transition.effect === 'recordShipment')
      this.shipmentCaptured(before, changes);
    if (request?.paymentToken && (changes.amounts?.authorized ?? 0) > 0) {
      this.authToken = request.paymentToken;
      const held = changes.payments?.find((p) => p.status === 'authorized');
      if (held?.captureBefore) this.noteHold(held.captureBefore);
    }
    const at = new Date().toISOString();
    const entry: HistoryEntry = {
      seq: before.history.length + 1,
      from: before.status,
      action,
      to: decision.transition.to,
      actor: actorName(actor, request?.actor.id),
      at,
      ...(reason ? { reason } : {}),
    };
    const order: OrderState = {
      ...before,
      ...changes,
      status: entry.to,
      updatedAt: at,
      history: [...before.history, entry],
    };
    this.order = order;
    const next = this.machine.states[entry.to]?.after;
    if (next?.action === 'expire' && entry.from !== entry.to)
      order.paymentDeadline = new Date(this.deadline(next.timer)).toISOString();
    // The window's end, for the order's view (its timer is the workflow's): no command, only the record.
    if (next?.timer === 'afterSalesWindow' && entry.from !== entry.to)
      order.afterSalesUntil = new Date(this.deadline(next.timer)).toISOString();
    if (request?.refund) this.refundsDone.add(request.refund.refundId);
    return { order, entry, writes };
  }

  /** A transition (and the one it led to at once) in PostgreSQL; the sale's allocation, if it made one. */
  private async record(step: Step, next?: Step): Promise<LocationAllocation[] | undefined> {
    const snapshotOf = ({ history: _history, id: _id, ...snapshot }: OrderState) => snapshot;
    const orderId = step.order.id;
    const unsettled = this.unsettled();
    if (!step.writes && !next) {
      await this.quick.recordTransition({
        orderId,
        entry: step.entry,
        snapshot: snapshotOf(step.order),
        ...unsettled,
      });
      return undefined;
    }
    // The step's own writes with its record, in one local activity (the sale commits first): once
    // paid, the sale happens even if the workflow is being cancelled.
    const { allocation } = await CancellationScope.nonCancellable(() =>
      local.recordStep({
        orderId,
        entry: step.entry,
        snapshot: snapshotOf(step.order),
        ...step.writes,
        ...(next ? { next: { entry: next.entry, snapshot: snapshotOf(next.order), ...next.writes } } : {}),
        ...unsettled,
      }),
    );
    if (allocation) this.order = { ...this.current, allocation };
    return allocation;
  }

  /**
   * Partly shipped, and the rest refunded (units a warehouse could not find, or that staff refunded
   * when their location refused them): nothing is left to ship, so the order has shipped all it
   * will, or it would wait in PARTIALLY_SHIPPED for ever.
   */
  private nothingLeftToShip(order: OrderState): boolean {
    return (
      order.status === 'PARTIALLY_SHIPPED' && unshipped(order).size === 0 && patched('empty-last-parcel')
    );
  }

  private async shipWhatIsLeft(): Promise<void> {
    const actor = { id: 'system', role: 'support' } as const;
    await this.apply('ship', 'system', { action: 'ship', actor }, 'nothing left to ship');
  }

  /**
   * The action of the Update this code runs for, if its record may keep it: a local activity writes
   * before the workflow task that ran it completes, and an Update lost with that task is then sent
   * again from the row (worker/unsettled-actions.ts). Data only: no command.
   */
  private unsettled(): { unsettled: UnsettledAction } | undefined {
    const update = currentUpdateInfo();
    const request = update && this.performing.get(update.id);
    return request ? { unsettled: { updateId: update.id, request } } : undefined;
  }

  /** An accepted Update's action, under the lock. */
  perform(request: ActionRequest): Promise<OrderState> {
    const update = currentUpdateInfo();
    if (update?.name !== orderActionUpdate.name || !resendable(request)) return this.performNow(request);
    // As it came (the workflow adds to a request as it goes: a charge's settlement), without the
    // place a resend carried: the worker adds its own.
    const { resend: _resend, ...asSent } = request;
    this.performing.set(update.id, JSON.parse(JSON.stringify(asSent)) as ActionRequest);
    const done = this.performNow(request);
    // Forgotten on a side chain: the caller awaits the same promise as before this was kept.
    done.then(
      () => this.performing.delete(update.id),
      () => this.performing.delete(update.id),
    );
    return done;
  }

  private async performNow(request: ActionRequest): Promise<OrderState> {
    if (request.refund && this.refundsDone.has(request.refund.refundId)) return this.current;
    this.validate(request); // again, under the lock: another action may have moved the order meanwhile
    // A person's refund while partly shipped was the machine's to refuse before: orders that met one
    // under the lock (a parcel shipped first) refused it then, and replay the same.
    const partlyShipped = request.action === 'refund' && this.order!.status === 'PARTIALLY_SHIPPED';
    if (partlyShipped && !patched('staff-refunds-partly-shipped'))
      throw refuse(
        notNow(
          'the order is partly shipped: refund once it has shipped',
          this.order!.status,
          this.actionsNow(request.actor.role).filter((a) => a !== 'refund'),
        ),
      );
    const tried = this.chargesTried;
    const kept = this.chargeKeysKept;
    try {
      const done = await this.apply(
        this.actionFor(request, request.actor.role),
        request.actor.role,
        request,
        request.reason,
      );
      if (request.action !== 'refund' || !this.nothingLeftToShip(done)) return done;
      await this.shipWhatIsLeft();
      return this.current;
    } catch (err) {
      const failure = asApplicationFailure(err);
      if (request.action === 'pay' && isOutOfStock(failure)) {
        // The attempt that found no stock may hold a lost pay's charge: looked up, not the next
        // (in this worker first: the customer's 422 waits on it).
        if (this.chargeInWorker) {
          await this.lostCharge(this.paymentAttempts, patched('stock-out-looked-up-here'));
          await this.apply('stock_out', 'system', null, 'out_of_stock', true);
        } else await this.apply('stock_out', 'system', null, 'out_of_stock');
      }
      // A payment call's outage that tried no charge, or kept the key of the one it tried: run
      // again, it does nothing twice, so the answer says so and a retry under the client's key runs
      // it again (api/idempotency.ts). Not a charge whose key was spent, nor anything else (a child
      // workflow ended by an operator midway). Data only: no command.
      const rerunnable =
        !REFUSAL_TYPES.includes(failure.type ?? '') &&
        fromPaymentCall(err) &&
        (this.chargesTried === tried || this.chargeKeysKept > kept);
      if (rerunnable)
        throw ApplicationFailure.create({
          type: failure.type ?? undefined,
          message: failure.message,
          nonRetryable: true,
          details: [RERUNNABLE],
        });
      throw failure;
    }
  }

  /**
   * The workflow was asked to cancel (the Web UI's "Request Cancellation", or any client's): the
   * order is cancelled as support's cancel through the API would cancel it, refund, stock and coupon
   * given back. Where the machine refuses (a parcel has left, the order has ended), nothing changes
   * and the order goes on: a cancellation request never ends an order without its compensations.
   */
  async cancelOnRequest(): Promise<void> {
    if (isTerminal(this.machine, this.current.status)) return;
    const request: ActionRequest = { action: 'cancel', ...CANCELLATION_REQUEST };
    try {
      this.validate(request);
      await this.perform(request);
    } catch (err) {
      // `perform` answers every failure as an ApplicationFailure: a refusal, or a step that failed
      // for good. Either way the request is taken once; support reads why in the current details.
      const failure = asApplicationFailure(err);
      this.cancelRequestNotTaken = `${failure.type ?? 'failed'}: ${failure.message}`;
      log.warn('a cancellation request was not taken', { status: this.current.status, type: failure.type });
      // The details alone: no search attribute changed, and an upsert would be a command of its own.
      setCurrentDetails(this.details());
    }
  }

  /** A return's goods are back in stock: refund them, then tell the return. */
  async refundReturn(returnId: string): Promise<void> {
    const open = this.openReturns.get(returnId);
    if (!open) return;
    if (open.exchange) return this.refundExchange(returnId, open.exchange, open.reason);
    const items = open.refund ?? open.items;
    if (items.length === 0) {
      // Nothing it held arrived: nothing to refund (the units are the customer's still).
      this.openReturns.delete(returnId);
      await tellRefunded(returnId, 0);
      this.publish();
      return;
    }
    const claim = open.kind === 'claim';
    const request: ActionRequest = {
      action: claim ? 'claim_refund' : 'return_refund',
      actor: { id: 'system', role: 'support' },
      reason: open.reason,
      refund: { refundId: returnId, items },
      ...(claim ? { claimRequest: { claimId: returnId, items } } : { returnRequest: { returnId, items } }),
    };
    const before = this.current.amounts.refunded;
    await this.apply(
      this.actionFor(request, 'system'),
      'system',
      request,
      `${claim ? 'claim' : 'return'} ${returnId}`,
    );
    this.openReturns.delete(returnId);
    await tellRefunded(returnId, this.current.amounts.refunded - before);
    this.publish();
  }

  /** An exchange's goods are back: the order refunds what they were worth beyond the new units, then tells it. */
  private async refundExchange(
    exchangeId: string,
    exchange: { credits: ExchangeCredit[]; refundDue: number },
    reason: string,
  ): Promise<void> {
    const before = this.current.amounts.refunded;
    // Asked twice (a signal sent again), it is refunded once.
    if (exchange.refundDue > 0 && !this.refundsDone.has(exchangeId))
      await this.apply(
        'exchange_refund',
        'system',
        {
          action: 'exchange_refund',
          actor: { id: 'system', role: 'support' },
          reason,
          refund: { refundId: exchangeId, amount: exchange.refundDue },
          exchangeRequest: { exchangeId, credits: exchange.credits },
        },
        `exchange ${exchangeId}`,
      );
    this.refundsDone.add(exchangeId);
    await tellRefunded(exchangeId, this.current.amounts.refunded - before);
  }

  /**
   * A claim's replacement or an exchange's new units left (another parcel of the order), or an
   * exchange ended (not made: its units are the order's again).
   */
  async takeCaseNews(news: CaseNews): Promise<void> {
    const id = news.caseId;
    const take = async (action: string, extra: Partial<ActionRequest>) => {
      // Only where the machine has it (an order that ended another way keeps its record as it was).
      if (decide(this.machine, this.current.status, action, 'system').ok)
        await this.apply(
          action,
          'system',
          { action, actor: { id: 'system', role: 'support' }, ...extra },
          `${news.kind ?? 'exchange'} ${id}`,
        );
    };
    // A claim may have closed already (it closes once replaced): its parcel is recorded all the same.
    if (news.kind === 'claim') {
      if (news.shipment)
        await take('claim_ship', { shipment: news.shipment, claimRequest: { claimId: id, items: [] } });
      return;
    }
    const open = this.openReturns.get(id);
    if (!open?.exchange) return;
    const exchangeRequest = { exchangeId: id, credits: open.exchange.credits };
    if (news.shipment) await take('exchange_ship', { shipment: news.shipment, exchangeRequest });
    if (news.closed) {
      if (news.closed.revert) await take('exchange_revert', { exchangeRequest });
      this.openReturns.delete(id);
      this.publish();
    }
  }

  /** A return's goods are back: `items` are the units it refunds, when not all it holds came back sellable. */
  returnReceived(returnId: string, items?: LineQuantity[]): void {
    const open = this.openReturns.get(returnId);
    if (!open || this.returnsToRefund.includes(returnId)) return;
    if (items) this.openReturns.set(returnId, { ...open, refund: items });
    this.returnsToRefund.push(returnId);
  }

  returnClosed(returnId: string): void {
    this.openReturns.delete(returnId);
    if (this.order) this.publish();
  }

  /** The machine action of a request already validated. */
  private actionFor(request: ActionRequest, actor: Actor): string {
    const resolved = resolveAction(
      this.machine,
      this.current,
      request,
      actor,
      unitsHeld(this.openReturns, request.refund?.refundId),
    );
    if ('refusal' in resolved) throw refuse(resolved.refusal);
    return resolved.action;
  }
}

/** A failure as an Update answers it: a refusal as it is; anything that outlived its retries as an outage. */
export function asApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  // Through every layer: an activity of a child workflow (a modification's repricing) is two deep.
  let cause: unknown = err;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    // A transient error that outlived its retries is an outage, not a refusal.
    if (
      !cause.nonRetryable &&
      cause.type !== FailureType.Business &&
      cause.type !== FailureType.PaymentDeclined
    ) {
      return ApplicationFailure.create({
        type: FailureType.Unavailable,
        message: cause.message,
        nonRetryable: true,
      });
    }
    return cause;
  }
  return ApplicationFailure.create({
    type: FailureType.Unavailable,
    message: err instanceof Error ? err.message : String(err),
    nonRetryable: true,
  });
}

/** The payment calls retried a bounded number of times, whose outage an action can end in. */
const PAYMENT_CALLS: readonly string[] = ['capturePayment', 'captureAuthorized'];

/** A bounded payment call's failure (an activity's, a local activity's own last attempt's, the charge's). */
function fromPaymentCall(err: unknown): boolean {
  if (err instanceof ActivityFailure) return PAYMENT_CALLS.includes(err.activityType);
  return (
    err instanceof TimeoutFailure ||
    (err instanceof ApplicationFailure &&
      (err.type === FailureType.Unavailable || err.type === FailureType.TransientPayment))
  );
}

function isOutOfStock(failure: ApplicationFailure): boolean {
  const detail = failure.details?.[0] as { code?: string } | undefined;
  return failure.type === FailureType.Business && detail?.code === 'OUT_OF_STOCK';
}
