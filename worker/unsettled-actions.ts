/**
 * Looks at the actions no one heard answered (services/orders/unsettled-actions.ts): those whose
 * caller went away, or gave up while a worker died with the task that wrote them. Temporal's server
 * is asked what became of the Update: answered, or being run, it is left alone (the row goes once
 * answered); unknown to it, it was lost with its task, and the Update is sent again under its id,
 * with the sequence number its transition holds in the order center. A workflow behind it runs it
 * and redoes what the order center already shows (the transition's write is idempotent by its
 * sequence number); one holding a transition at that number refuses it (it took the action, or moved
 * on without it), and the action is forgotten. An order's actions go one at a time, in the order
 * they were written. A workflow not ready (its task failing while a worker restarts) or a server
 * away leaves an action for a later try, backed off. Several workers share the work: each claims
 * its own rows.
 *
 * The workflow itself is never queried: a query that reaches a workflow task in which an Update's
 * local activity has finished splits that task, and if the next one is lost the SDK's replay
 * completes the Update without its message, every task after failing for good (the chaos run met
 * it; docs/RELIABILITY.md).
 */
import {
  isGrpcServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { Knex } from 'knex';
import { FailureType, markedRerunnable } from '../domain/errors';
import { orderActionUpdate } from '../workflows/messages';
import {
  claimUnsettled,
  countRefusal,
  heldTransition,
  sendNextUnder,
  settleAction,
  type UnsettledRow,
} from '../services/orders/unsettled-actions';

/** How many actions a round claims, and how long it gives each send. */
const PER_ROUND = 50;
const SEND_DEADLINE_MS = 10_000;
/** How long a claim keeps other workers off a row: longer than a send (a look and an Update) takes. */
const LEASE_MS = 3 * SEND_DEADLINE_MS;
/** A refusal can be for now only (a charge being settled): sent this many times before forgotten. */
const REFUSED_TRIES = 5;

type Outcome = 'settled' | 'again';
const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

/**
 * The id after `sendId` for an outage the workflow may rerun: `<id>.2`, `<id>.3`..., the ids a
 * client's retry under its Idempotency-Key takes (api/idempotency.ts `updateIdAfter`), so the two
 * join one Update rather than run the action twice.
 */
export function nextSendId(sendId: string): string {
  const rerun = /^(.+)\.(\d+)$/.exec(sendId);
  return rerun ? `${rerun[1]}.${Number(rerun[2]) + 1}` : `${sendId}.2`;
}

export function startUnsettledActions(
  db: Knex,
  client: Client,
  { unansweredMs, everyMs }: { unansweredMs: number; everyMs: number },
  log: (msg: string, fields?: Record<string, unknown>) => void,
) {
  /** What Temporal's server knows of an Update: answered, being run, or nothing (lost). */
  const updateStage = async (workflowId: string, updateId: string) => {
    try {
      const { stage } = await client.withDeadline(Date.now() + SEND_DEADLINE_MS, () =>
        client.workflowService.pollWorkflowExecutionUpdate({
          namespace: client.options.namespace,
          updateRef: { workflowExecution: { workflowId }, updateId },
          identity: client.options.identity,
          // Answered at once for an Update accepted or answered; one only admitted is waited on.
          waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED },
        }),
      );
      return stage === Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED ? 'answered' : 'running';
    } catch (err) {
      if (isGrpcServiceError(err) && err.code === 5 /* NOT_FOUND */) return 'unknown';
      throw err;
    }
  };

  const send = async (row: UnsettledRow): Promise<Outcome> => {
    const { orderId, updateId, seq } = row;
    const handle = client.workflow.getHandle(orderId);
    try {
      const stage = await updateStage(orderId, row.sendId);
      // Answered: the caller went away, or the API's delete did not happen. Being run: a later look.
      if (stage === 'answered') return 'settled';
      if (stage === 'running') return 'again';
      await client.withDeadline(Date.now() + SEND_DEADLINE_MS, () =>
        handle.executeUpdate(orderActionUpdate, {
          args: [{ ...row.request, resend: { seq } }],
          updateId: row.sendId,
        }),
      );
      return 'settled';
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const failure = err.cause instanceof ApplicationFailure ? err.cause : undefined;
        // Its place taken: by the action itself (under another id, a client's retry), or by what
        // came after it in the workflow (the order center and the workflow then differ: said).
        if (failure?.type === FailureType.PlaceTaken) {
          const taken = failure.details?.[0] as { action?: string; to?: string } | undefined;
          const held = await heldTransition(db, orderId, seq);
          if (held?.action !== taken?.action || held?.to !== taken?.to)
            log('an unsettled action was overtaken in its workflow', { orderId, seq });
          return 'settled';
        }
        // An outage the workflow met having done nothing twice: run again under the next id.
        if (markedRerunnable(failure?.details)) {
          await sendNextUnder(db, orderId, updateId, nextSendId(row.sendId));
          return 'again';
        }
        if (row.refusals + 1 < REFUSED_TRIES) {
          await countRefusal(db, orderId, updateId);
          return 'again';
        }
        // Refused where the workflow stands, try after try: the order center and the workflow
        // differ (support reads the order's history).
        log('an unsettled action was refused by its workflow', { orderId, type: failure?.type });
        return 'settled';
      }
      if (err instanceof WorkflowNotFoundError) {
        // NOT_FOUND also comes back from a running workflow juggling Updates: only one that has
        // ended (or is gone) takes nothing more.
        const running = await client
          .withDeadline(Date.now() + SEND_DEADLINE_MS, () => handle.describe())
          .then(
            (d) => d.status.name === 'RUNNING',
            (e: unknown) => (e instanceof WorkflowNotFoundError ? false : undefined),
          );
        if (running === false) {
          log('an unsettled action found its workflow ended', { orderId });
          return 'settled';
        }
      }
      return 'again'; // not ready, or away: a later try
    }
  };

  const round = async (): Promise<number> => {
    // At most one action of an order a round, its earliest (claimUnsettled): the next one waits.
    const claimed = await claimUnsettled(db, { unansweredMs, leaseMs: LEASE_MS, limit: PER_ROUND });
    const sent = await Promise.allSettled(
      claimed.map(async (row) => {
        if ((await send(row)) === 'settled') await settleAction(db, row.orderId, row.updateId);
      }),
    );
    for (const r of sent)
      if (r.status === 'rejected')
        log('an unsettled action was not looked at', { error: (r.reason as Error).name });
    return claimed.length;
  };

  let stopped = false;
  let wake: () => void = () => {};
  const loop = (async () => {
    while (!stopped) {
      let claimed = 0;
      try {
        claimed = await round();
      } catch (err) {
        log('unsettled actions round failed', { error: (err as Error).name });
      }
      if (stopped) break;
      if (claimed >= PER_ROUND) continue; // more are due: at once
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, everyMs).unref();
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}
