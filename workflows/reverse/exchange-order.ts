/**
 * An exchange, as its own workflow with its own machine (domain/exchanges.ts). Started by the
 * order, which has already priced and held the new units and credited the returned ones; this one
 * takes the difference's payment (under its own reference at the provider), receives the goods
 * (the order refunds a negative difference), ships the new units (sold then, a parcel of the
 * order) and, rejected or cancelled, gives everything back: held units, a paid difference, and the
 * returned units to the order. The order holds its completion until this one ends.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { ChargeOutcome } from '../../activities/payment';
import { stepCase } from '../../domain/case-record';
import {
  exchangeMachine,
  exchangeReceiptProblem,
  isPendingPayment,
  owed,
  type ExchangePayment,
  type ExchangeRecord,
} from '../../domain/exchanges';
import { decide, isTerminal } from '../../domain/machine';
import {
  actionRequestProblem,
  keyFirstUse,
  keyOutlivesMemory,
  pendingPollDelay,
  UNSHOWN_CHARGE_WATCH_MS,
} from '../../domain/order';
import { businessRefusal, invalidInput, notNow, refusalFor } from '../../domain/refusals';
import type { ReceivedUnits } from '../../domain/returns';
import type { Actor } from '../../domain/roles';
import { payment, reconcile, refunds, store } from '../activities';
import { declineCode, declined, outcomeUnknown, unshownCharge } from '../order/effects';
import { KEY_REUSED, RERUNNABLE } from '../../domain/errors';
import { asApplicationFailure } from '../order/order-entity';
import { CANCELLATION_REQUEST, caseCancellation } from '../cancellation-request';
import { Mutex } from '../mutex';
import { refuse } from '../refusals';
import {
  exchangeActionUpdate,
  caseNewsSignal,
  exchangePaymentSignal,
  exchangeStateQuery,
  returnReceivedSignal,
  returnRefundedSignal,
  type ExchangeActionRequest,
  type ExchangeInput,
} from './messages';

const nonCancellable = <T>(fn: () => Promise<T>) => CancellationScope.nonCancellable(fn);

/** A pay whose charge got no answer and is not shown yet keeps its key for the next pay. */
const KEY_KEPT = 'exchange-keeps-unshown-key';

/** A pending charge's news, from the provider's webhook or from asking it. */
type PaymentNews = { paymentId: string; status: 'succeeded' | 'authorized' | 'declined'; code?: string };

/** The exchange's payment as a decided or pending charge left it. */
function paymentOf(outcome: Exclude<ChargeOutcome, { status: 'absent' }>, amount: number): ExchangePayment {
  const method = 'method' in outcome && outcome.method ? { method: outcome.method } : {};
  if (outcome.status === 'pending')
    return {
      id: outcome.paymentId,
      status: outcome.nextAction ? 'requires_action' : 'processing',
      amount,
      ...method,
      ...(outcome.nextAction ? { nextAction: outcome.nextAction } : {}),
    };
  if (outcome.status === 'declined')
    return { id: outcome.paymentId, status: 'failed', amount, code: outcome.code };
  // An automatic capture is never only authorised.
  return { id: outcome.paymentId, status: 'succeeded', amount, ...method };
}

export async function exchangeOrderFlow(input: ExchangeInput): Promise<ExchangeRecord> {
  let record = input.record;
  const id = record.id;
  const order = getExternalWorkflowHandle(record.orderId);
  // The new units' stock movements, under the exchange's own name.
  const tag = `exchange:${id}`;
  // One step at a time (a staff action, a customer's payment, a payment's news, a window's step):
  // checked and taken at once, so two Updates arriving together are served one after the other.
  const mutex = new Mutex();
  let attempts = 0;
  let pendingAttempt = 0;
  /** A pay's key kept because its charge was not shown (KEY_KEPT): looked up before anything is given back. */
  let keptAttempt: number | undefined;
  /** When a charge first used that key, as far as known (0: a lost request's, at a time nobody knows). */
  let keptKeyUsedAt = 0;
  /** Questions asked about the pending payment so far: the next waits longer (`pendingPollDelay`). */
  let polls = 0;
  let refunded: number | undefined;
  const news: PaymentNews[] = [];
  // A cancellation request cancels the exchange as support would (its held units back, a paid
  // difference refunded) while it may be; past that, it goes on (its details say why). Exchanges
  // from before ended where they stood.
  const cancellation = caseCancellation(
    patched('case-cancellation-requests'),
    'exchange',
    () => record.status,
    () => act({ action: 'cancel', ...CANCELLATION_REQUEST }),
    asApplicationFailure,
  );
  const { shielded } = cancellation;

  async function move(
    action: string,
    actor: Actor,
    actorId?: string,
    reason?: string,
    changes: Partial<ExchangeRecord> = {},
  ): Promise<void> {
    const at = new Date().toISOString();
    record = stepCase(exchangeMachine, { ...record, ...changes }, { action, actor, actorId, reason, at });
    await store.saveExchange(record);
    setCurrentDetails(
      `**${record.status}** (difference ${record.difference} ${record.currency}${record.payment ? `, payment ${record.payment.status}` : ''}): ${exchangeMachine.states[record.status as 'REQUESTED']?.labels.support ?? ''}`,
    );
  }

  function validate(request: ExchangeActionRequest): void {
    const unstorable = actionRequestProblem(request);
    if (unstorable) throw refuse(invalidInput('the request', unstorable));
    const { action, actor } = request;
    if ((request.shipment !== undefined) !== (action === 'ship'))
      throw refuse(invalidInput('the request', 'shipment'));
    if ((request.paymentToken !== undefined) !== (action === 'pay'))
      throw refuse(invalidInput('the request', 'paymentToken'));
    if (request.received !== undefined) {
      if (action !== 'receive') throw refuse(invalidInput('the request', 'items'));
      const problem = exchangeReceiptProblem(record.returnItems, request.received);
      if (problem)
        throw refuse(
          businessRefusal(
            'RECEIPT_MISMATCH',
            'the receipt must account for every unit this exchange takes back, sellable or damaged',
            { field: problem },
          ),
        );
    }
    const decision = decide(exchangeMachine, record.status, action, actor.role);
    if (!decision.ok)
      throw refuse(refusalFor(decision, { kind: 'exchange', status: record.status }, action, actor.role));
    if (action === 'pay' && owed(record) === 0)
      throw refuse(businessRefusal('NOTHING_TO_PAY', 'nothing is owed on this exchange'));
    if (isPendingPayment(record.payment) && (action === 'pay' || action === 'receive' || action === 'ship'))
      throw refuse(
        notNow('a payment of the difference is pending: wait for its outcome', record.status, ['cancel']),
      );
    // Goods move only once the difference is settled: before, staff may cancel instead.
    if ((action === 'receive' || action === 'ship') && owed(record) > 0)
      throw refuse(
        businessRefusal('DIFFERENCE_UNPAID', 'the customer has not paid the difference yet', {
          owed: owed(record),
        }),
      );
  }

  /** Charges the difference, once per attempt key; an answer that never came is looked up. */
  async function pay(request: ExchangeActionRequest): Promise<void> {
    const attempt = ++attempts;
    const amount = record.difference;
    // A kept key older than the provider remembers keys would not stop a second charge: what its
    // earlier use left is looked up first (as the order's pay does: ../order/effects.ts, `charge`).
    const old =
      keptAttempt === attempt &&
      keyOutlivesMemory(keptKeyUsedAt, Date.now(), input.keyMemoryMs) &&
      patched('kept-key-looked-up-when-old');
    const there = old ? await reconcile.reconcileCharge({ orderId: id, attempt }) : undefined;
    if (there?.status === 'declined') {
      keptAttempt = undefined;
      return pay(request);
    }
    let outcome: ChargeOutcome;
    const tried = Date.now();
    if (there !== undefined && there.status !== 'absent') outcome = there;
    else
      try {
        const result = await payment.capturePayment({
          orderId: id,
          attempt,
          amount,
          currency: record.currency,
          token: request.paymentToken!,
        });
        outcome =
          result.status === 'pending'
            ? {
                status: 'pending',
                paymentId: result.paymentId,
                method: result.method,
                nextAction: result.nextAction,
              }
            : { status: 'succeeded', paymentId: result.paymentId, method: result.method };
      } catch (err) {
        // The key holds a charge made with another card by a pay whose every answer was lost (its
        // key kept, below): that charge, looked up, is the difference's payment, never a second one.
        const reused = declineCode(err) === KEY_REUSED && patched(KEY_KEPT);
        if (!outcomeUnknown(err) && !reused) throw err;
        outcome = await reconcile.reconcileCharge({ orderId: id, attempt });
        if (outcome.status === 'absent') {
          // Not shown is no proof it never happened (a provider's search lags behind its writes):
          // the key is kept, so the next pay asks under it and is answered with that charge if it
          // was made. (Histories recorded before spent it, and a later pay could charge twice.)
          if (!reused && !patched(KEY_KEPT)) throw err;
          attempts = attempt - 1;
          // First used by this charge (a key asked again: by its first), or by a lost request's.
          keptKeyUsedAt = keyFirstUse(
            reused ? undefined : tried,
            keptAttempt === attempt ? keptKeyUsedAt : undefined,
          );
          keptAttempt = attempt;
          // Run again, it charges nothing twice: a retry under the client's Idempotency-Key runs it
          // again (api/idempotency.ts). Data only: no command.
          const failure = reused ? unshownCharge('exchange') : asApplicationFailure(err);
          throw ApplicationFailure.create({
            type: failure.type ?? undefined,
            message: failure.message,
            nonRetryable: true,
            details: [RERUNNABLE],
          });
        }
        // Declined there: that key is spent, and this pay charges under the next one.
        if (reused && outcome.status === 'declined') {
          keptAttempt = undefined;
          return pay(request);
        }
      }
    // The key's charge is known now (made, pending or declined): nothing is kept.
    keptAttempt = undefined;
    if (outcome.status === 'declined') throw declined(outcome.code);
    if (outcome.status === 'pending') pendingAttempt = attempt;
    await move('pay', request.actor.role, request.actor.id, request.reason, {
      payment: paymentOf(outcome, amount),
    });
  }

  /** A pending payment decided: recorded; if the exchange ended meanwhile, a success is given back. */
  async function settle(update: PaymentNews): Promise<void> {
    if (!isPendingPayment(record.payment) || record.payment!.id !== update.paymentId) return;
    const decided = paymentOf(
      update.status === 'declined'
        ? { status: 'declined', paymentId: update.paymentId, code: update.code ?? 'declined' }
        : { status: 'succeeded', paymentId: update.paymentId },
      record.payment!.amount,
    );
    await move('settle_payment', 'system', undefined, undefined, {
      payment: { ...record.payment!, ...decided, nextAction: undefined },
    });
  }

  /**
   * A 3-D Secure step of the difference never finished, given up at the provider: declined
   * (`abandoned`) and payable again, or paid if the customer finished it after all; one the bank
   * has now (a redirect method, processing) is waited for as any pending payment.
   */
  async function giveUpStep(): Promise<void> {
    const step = record.payment;
    if (!step || !isPendingPayment(step) || !step.nextAction) return;
    const now = await nonCancellable(() => reconcile.cancelPayment({ orderId: id, paymentId: step.id }));
    if (now.status === 'pending' && !now.nextAction) {
      // Asked about soon, as a payment just gone to the bank. (Its record is saved with the next
      // step it takes: until then the exchange's view still shows the customer's step.)
      record = { ...record, payment: { ...step, status: 'processing', nextAction: undefined } };
      polls = 0;
      return;
    }
    // Settled here, under the lock: the provider's own news of the cancel, queued meanwhile, then
    // finds nothing pending.
    await settle(
      now.status === 'succeeded' || now.status === 'authorized'
        ? { paymentId: step.id, status: 'succeeded' }
        : { paymentId: step.id, status: 'declined', code: 'abandoned' },
    );
  }

  /** Rejected or cancelled: a 3-D Secure step is given up, the held units go back, a paid difference is refunded. */
  async function giveBack(): Promise<Partial<ExchangeRecord>> {
    let paid = record.payment;
    // A pay's charge not shown then may be there now: it is the payment given back (a pending
    // one is the exchange's pending payment from now, waited for if the bank has it).
    if ((!paid || paid.status === 'failed') && keptAttempt !== undefined) {
      const there = await reconcile.reconcileCharge({ orderId: id, attempt: keptAttempt });
      if (there.status !== 'absent') {
        if (there.status === 'pending') pendingAttempt = keptAttempt;
        keptAttempt = undefined;
        if (there.status !== 'declined') {
          paid = paymentOf(there, record.difference);
          record = { ...record, payment: paid };
        }
      }
    }
    if (paid && isPendingPayment(paid)) {
      const now = await reconcile.cancelPayment({ orderId: id, paymentId: paid.id });
      // A bank transfer under way cannot be stopped: its outcome is waited for first.
      if (now.status === 'pending' || now.status === 'absent')
        throw refuse(notNow('a payment of the difference is still processing', record.status, []));
      paid = { ...paid, ...paymentOf(now, paid.amount), nextAction: undefined };
    }
    // The money first: a refund that cannot be made leaves the exchange (and its held units) as it was.
    return nonCancellable(async () => {
      let changes: Partial<ExchangeRecord> = paid ? { payment: paid } : {};
      if (paid?.status === 'succeeded') {
        const amount = await refunds.refundPayment({
          orderId: id,
          paymentId: paid.id,
          refundId: `${id}-giveback`,
          amount: paid.amount,
          reason: 'exchange_not_made',
        });
        changes = { payment: { ...paid, status: 'refunded' as const }, refundedAmount: amount };
      }
      await store.releaseReplacement({ orderId: record.orderId, tag });
      return changes;
    });
  }

  /** The goods are back: sellable ones restocked, damaged ones written off, a negative difference refunded. */
  async function receive(received: ReceivedUnits[] | undefined): Promise<Partial<ExchangeRecord>> {
    const units = (pick: (r: ReceivedUnits) => number) =>
      (received ?? []).map((r) => ({ sku: r.sku, quantity: pick(r) })).filter((l) => l.quantity > 0);
    const sellable = received
      ? units((r) => r.sellable)
      : record.returnItems.map(({ sku, quantity }) => ({ sku, quantity }));
    const damaged = units((r) => r.damaged);
    if (sellable.length > 0) await store.restockItems({ orderId: record.orderId, items: sellable, tag: id });
    if (damaged.length > 0)
      await store.writeOffReturned({ orderId: record.orderId, items: damaged, tag: `${id}:damaged` });
    const changes: Partial<ExchangeRecord> = received ? { received } : {};
    if (record.difference >= 0) return changes;
    // The order gives back what the returned units were worth beyond the new ones.
    await order.signal(returnReceivedSignal, { returnId: id });
    await condition(() => refunded !== undefined);
    return { ...changes, refundedAmount: refunded! };
  }

  setHandler(exchangeStateQuery, () => record);
  setHandler(returnRefundedSignal, ({ amount }) => void (refunded = amount));
  setHandler(exchangePaymentSignal, (update) => void news.push(update));
  /** A person's action (an Update, or a cancellation request taken as support's cancel). */
  function act(request: ExchangeActionRequest): Promise<ExchangeRecord> {
    return mutex.run(async () => {
      // The exchange as it is once the step before finished decides.
      validate(request);
      try {
        const { action, actor, reason } = request;
        if (action === 'pay') await pay(request);
        else if (action === 'receive')
          await move(action, actor.role, actor.id, reason, await receive(request.received));
        else if (action === 'ship') {
          await store.commitReplacement({ orderId: record.orderId, tag });
          const items = record.newItems.map(({ sku, quantity }) => ({ sku, quantity }));
          await order.signal(caseNewsSignal, {
            caseId: id,
            shipment: { ...request.shipment!, items },
          });
          const shipment = { ...request.shipment!, shippedAt: new Date().toISOString() };
          await move(action, actor.role, actor.id, reason, { shipment });
        } else if (action === 'reject' || action === 'cancel')
          await move(action, actor.role, actor.id, reason, await giveBack());
        else await move(action, actor.role, actor.id, reason);
      } catch (err) {
        throw asApplicationFailure(err);
      }
      return record;
    });
  }

  setHandler(exchangeActionUpdate, (request) => shielded(() => act(request)), {
    // The validator refuses what no wait can mend; the handler asks again once it holds the lock.
    validator: validate,
  });

  return shielded(run);

  async function run(): Promise<ExchangeRecord> {
    await store.saveExchange(record);
    const windows = input.windows;
    while (!isTerminal(exchangeMachine, record.status)) {
      if (news.length > 0) {
        await mutex.run(() => settle(news.shift()!));
        continue;
      }
      const seq = record.history.length;
      const pending = isPendingPayment(record.payment);
      if (!pending) polls = 0;
      // A state's window (nobody decided, goods never sent), once no payment is pending.
      const after =
        windows && !pending ? exchangeMachine.states[record.status as 'REQUESTED'].after : undefined;
      const due = after
        ? Date.parse(record.history.at(-1)!.at) +
          (after.timer === 'returnShipWindow' ? windows!.shipMs : windows!.decisionMs)
        : undefined;
      // A webhook may never come: the provider is asked about a pending payment now and then.
      // A 3-D Secure step the customer never finished: given up after the grace.
      const giveUpAt =
        pending && record.payment!.nextAction && input.pendingPaymentGraceMs !== undefined
          ? Date.parse(
              [...record.history].reverse().find((h) => h.action === 'pay')?.at ?? record.updatedAt,
            ) + input.pendingPaymentGraceMs
          : undefined;
      const waits = [
        due === undefined ? [] : [due - Date.now()],
        pending ? [pendingPollDelay(input.pendingPaymentPollMs, polls)] : [],
        giveUpAt === undefined ? [] : [giveUpAt - Date.now()],
      ].flat();
      const woken = () => news.length > 0 || record.history.length !== seq;
      if (waits.length === 0) {
        await condition(woken);
        continue;
      }
      if (await condition(woken, Math.max(0, Math.min(...waits)))) continue;
      if (due !== undefined && Date.now() >= due) {
        await mutex.run(async () => {
          if (record.history.length !== seq) return; // someone acted first
          let changes: Partial<ExchangeRecord> = {};
          try {
            if (after!.action === 'cancel') changes = await giveBack();
          } catch (err) {
            // A kept key's charge found as it gave back, still with the bank: it is the pending
            // payment now, waited for (the window with it), not a failed exchange.
            if (isPendingPayment(record.payment)) return;
            throw err;
          }
          await move(after!.action, 'system', undefined, after!.reason, changes);
        });
        continue;
      }
      if (giveUpAt !== undefined && Date.now() >= giveUpAt) {
        await mutex.run(giveUpStep);
        continue;
      }
      if (pending) {
        // Asked less and less often (histories recorded before: every poll, for as long as it was pending).
        if (patched('pending-poll-backs-off')) polls += 1;
        const found = await reconcile.reconcileCharge({ orderId: id, attempt: pendingAttempt });
        if (found.status === 'succeeded' || found.status === 'authorized' || found.status === 'declined')
          news.push({
            paymentId: found.paymentId,
            status: found.status,
            ...(found.status === 'declined' ? { code: found.code } : {}),
          });
      }
    }
    // The handler that ended it finishes saving (and answers its caller) first; so does a
    // cancellation request's cancel.
    await condition(allHandlersFinished);
    const taking = cancellation.taking();
    if (taking) await taking;
    // Done, or not made: the order stops waiting for it (and, not made, has its units back).
    await order.signal(caseNewsSignal, {
      caseId: id,
      closed: { revert: record.status === 'REJECTED' || record.status === 'CANCELLED' },
    });
    // Ended with a pay's charge still not shown (its key kept): looked for a while longer, less
    // and less often, and refunded if it shows. The order no longer waits for it.
    if (keptAttempt !== undefined) await refundIfShown(keptAttempt);
    return record;
  }

  async function refundIfShown(attempt: number): Promise<void> {
    const since = Date.now();
    for (let looks = 0; Date.now() - since < UNSHOWN_CHARGE_WATCH_MS; looks++) {
      await sleep(pendingPollDelay(input.pendingPaymentPollMs, looks));
      const there = await reconcile.reconcileCharge({ orderId: id, attempt });
      if (there.status === 'declined') return;
      if (there.status !== 'succeeded' && there.status !== 'authorized') continue;
      const amount = await nonCancellable(() =>
        refunds.refundPayment({
          orderId: id,
          paymentId: there.paymentId,
          refundId: `${id}-giveback`,
          amount: there.amount ?? record.difference,
          reason: 'exchange_not_made',
        }),
      );
      log.info('an exchange’s payment shown after it ended was refunded', { amount });
      return;
    }
  }
}
