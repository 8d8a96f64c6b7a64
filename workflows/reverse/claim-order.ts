/**
 * A claim, as its own workflow with its own machine (domain/claims.ts): staff approve or reject
 * it; approved, the order refunds its units, or replacement units are held from stock at once
 * and sold when staff ship them. Damaged units are recorded as a loss in the stock ledger. Started
 * by the order workflow, which holds the claimed units (and its completion) until this one ends.
 */
import {
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  patched,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import {
  CLAIM_RESOLUTIONS,
  claimMachine,
  REPLACEMENT_ACTIONS,
  type ClaimResolution,
} from '../../domain/claims';
import { stepCase } from '../../domain/case-record';
import { decide, isTerminal } from '../../domain/machine';
import { actionRequestProblem } from '../../domain/order';
import { businessRefusal, invalidInput, notNow, refusalFor } from '../../domain/refusals';
import type { Actor } from '../../domain/roles';
import { store } from '../activities';
import { asApplicationFailure } from '../order/order-entity';
import { CANCELLATION_REQUEST, caseCancellation } from '../cancellation-request';
import { refuse } from '../refusals';
import {
  caseNewsSignal,
  claimActionUpdate,
  claimStateQuery,
  returnClosedSignal,
  returnReceivedSignal,
  returnRefundedSignal,
  type ClaimActionRequest,
  type ClaimInput,
  type ClaimRecord,
} from './messages';

export function initialClaimRecord(input: ClaimInput): ClaimRecord {
  return {
    id: input.claimId,
    orderId: input.orderId,
    customerId: input.customerId,
    status: claimMachine.initial,
    kind: input.kind,
    resolution: input.resolution,
    items: input.items,
    reason: input.reason,
    refundedAmount: null,
    history: [
      {
        from: null,
        action: 'request',
        to: claimMachine.initial,
        actor: input.requestedBy,
        at: input.requestedAt,
      },
    ],
    createdAt: input.requestedAt,
    updatedAt: input.requestedAt,
  };
}

export async function claimOrderFlow(input: ClaimInput): Promise<ClaimRecord> {
  let record = initialClaimRecord(input);
  let refunded: number | undefined;
  let busy = false;
  const order = getExternalWorkflowHandle(input.orderId);
  // The replacement's stock movements, under the claim's own name.
  const tag = `claim:${input.claimId}`;
  // A cancellation request rejects the claim as support would, while it is undecided; decided,
  // it goes on (its details say why). Claims from before ended where they stood.
  const cancellation = caseCancellation(
    patched('case-cancellation-requests'),
    'claim',
    () => record.status,
    async () => {
      await condition(() => !busy);
      return act({ action: 'reject', ...CANCELLATION_REQUEST });
    },
    asApplicationFailure,
  );
  const { shielded } = cancellation;

  async function move(
    action: string,
    actor: Actor,
    actorId?: string,
    reason?: string,
    changes: Partial<ClaimRecord> = {},
  ): Promise<void> {
    const at = new Date().toISOString();
    record = stepCase(claimMachine, { ...record, ...changes }, { action, actor, actorId, reason, at });
    await store.saveClaim(record);
    setCurrentDetails(
      `**${record.status}** (${record.kind}, ${record.resolution}): ${claimMachine.states[record.status as 'REQUESTED']?.labels.support ?? ''}`,
    );
  }

  function validate(request: ClaimActionRequest): void {
    const unstorable = actionRequestProblem(request);
    if (unstorable) throw refuse(invalidInput('the request', unstorable));
    const { action, actor } = request;
    if (
      request.resolution !== undefined &&
      (action !== 'approve' || !CLAIM_RESOLUTIONS.includes(request.resolution))
    )
      throw refuse(invalidInput('the request', 'resolution'));
    if ((request.shipment !== undefined) !== (action === 'ship'))
      throw refuse(invalidInput('the request', 'shipment'));
    const decision = decide(claimMachine, record.status, action, actor.role);
    if (!decision.ok)
      throw refuse(refusalFor(decision, { kind: 'claim', status: record.status }, action, actor.role));
    if (REPLACEMENT_ACTIONS.includes(action) && record.resolution !== 'replace')
      throw refuse(
        businessRefusal('NOT_A_REPLACEMENT', 'this claim is settled by a refund: there is no replacement'),
      );
    // One action at a time: the one under way decides what comes next.
    if (busy) throw refuse(notNow(`cannot ${action} a claim that is ${record.status}`, record.status, []));
  }

  async function approve(request: ClaimActionRequest): Promise<void> {
    const resolution: ClaimResolution = request.resolution ?? record.resolution;
    // Held before the claim is approved: a shortage refuses the approval (staff may refund instead).
    if (resolution === 'replace')
      await store.reserveReplacement({ orderId: input.orderId, items: input.items, tag });
    // Ruined goods are a loss, whoever pays for them; missing or wrong ones are not known to be.
    if (record.kind === 'damaged')
      await store.recordLoss({ orderId: input.orderId, items: input.items, tag });
    await move('approve', request.actor.role, request.actor.id, request.reason, { resolution });
  }

  /** A person's action (an Update, or a cancellation request taken as support's reject). */
  async function act(request: ClaimActionRequest): Promise<ClaimRecord> {
    validate(request);
    busy = true;
    try {
      if (request.action === 'approve') await approve(request);
      else if (request.action === 'ship') {
        await store.commitReplacement({ orderId: input.orderId, tag });
        // Another parcel of the order (claims replaced before this: on the claim only).
        if (patched('claim-parcel-on-order'))
          await order.signal(caseNewsSignal, {
            caseId: input.claimId,
            kind: 'claim',
            shipment: { ...request.shipment!, items: input.items },
          });
        const shipment = { ...request.shipment!, shippedAt: new Date().toISOString() };
        await move('ship', request.actor.role, request.actor.id, request.reason, { shipment });
      } else if (request.action === 'refund_instead') {
        await store.releaseReplacement({ orderId: input.orderId, tag });
        await move('refund_instead', request.actor.role, request.actor.id, request.reason, {
          resolution: 'refund',
        });
      } else await move(request.action, request.actor.role, request.actor.id, request.reason);
    } catch (err) {
      throw asApplicationFailure(err);
    } finally {
      busy = false;
    }
    return record;
  }

  setHandler(claimStateQuery, () => record);
  setHandler(returnRefundedSignal, ({ amount }) => void (refunded = amount));
  setHandler(claimActionUpdate, (request) => shielded(() => act(request)), { validator: validate });

  return shielded(run);

  async function run(): Promise<ClaimRecord> {
    await store.saveClaim(record);
    // Decided, and the decision saved (a later step's save must not overtake it).
    await condition(() => record.status !== 'REQUESTED' && !busy);
    // A replacement waits for its parcel, unless staff refund it instead.
    await condition(
      () => isTerminal(claimMachine, record.status) || (record.resolution === 'refund' && !busy),
    );
    if (record.status === 'APPROVED' && record.resolution === 'refund') {
      // The order refunds the claimed units (no goods come back), then says how much.
      await order.signal(returnReceivedSignal, { returnId: input.claimId });
      await condition(() => refunded !== undefined);
      await move('refund', 'system', undefined, undefined, { refundedAmount: refunded! });
    }
    // The handler that ended it finishes saving (and answers its caller) first; so does a
    // cancellation request's reject.
    await condition(allHandlersFinished);
    const taking = cancellation.taking();
    if (taking) await taking;
    // Rejected or replaced: its units are free again (replaced ones stay the customer's, unrefunded).
    if (record.status !== 'REFUNDED') await order.signal(returnClosedSignal, { returnId: input.claimId });
    return record;
  }
}
