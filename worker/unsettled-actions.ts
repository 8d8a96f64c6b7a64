/**
 * Looks at the actions no one heard answered (services/orders/unsettled-actions.ts): those whose
 * caller went away, or gave up while a worker died with the task that wrote them. The workflow is
 * asked first: one that holds a transition at the action's sequence number took it (or moved on
 * without it), and the action is forgotten; one that is behind gets the Update again under its id,
 * runs it, and redoes what the order center already shows (the transition's write is idempotent by
 * its sequence number). An order's actions go one at a time, in the order they were written. A
 * workflow not ready (its task failing while a worker restarts) or a server away leaves an action
 * for a later try, backed off. Several workers share the work: each claims its own rows.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { markedRerunnable } from '../domain/errors';
import { orderActionUpdate, orderStateQuery } from '../workflows/messages';
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
/** How long a claim keeps other workers off a row: longer than a send (a query and an Update) takes. */
const LEASE_MS = 3 * SEND_DEADLINE_MS;
/** A refusal can be for now only (a charge being settled): sent this many times before forgotten. */
const REFUSED_TRIES = 5;

type Outcome = 'settled' | 'again';

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
  const send = async (row: UnsettledRow): Promise<Outcome> => {
    const { orderId, updateId, seq } = row;
    const handle = client.workflow.getHandle(orderId);
    try {
      // Sent only while the workflow is behind it. One that holds a transition at its sequence
      // number took it, or moved on without it (another action, or news, took its place): sending
      // it then would only put it after what came later, so it is forgotten, and that said.
      const state = await client.withDeadline(Date.now() + SEND_DEADLINE_MS, () =>
        handle.query(orderStateQuery),
      );
      if (!state) return 'again'; // not placed yet: it cannot be behind a transition of its own
      if (state.history.length >= seq) {
        const held = await heldTransition(db, orderId, seq);
        const taken = state.history[seq - 1]!;
        if (held?.action !== taken.action || held.to !== taken.to)
          log('an unsettled action was overtaken in its workflow', { orderId, seq });
        return 'settled';
      }
      await client.withDeadline(Date.now() + SEND_DEADLINE_MS, () =>
        handle.executeUpdate(orderActionUpdate, { args: [row.request], updateId: row.sendId }),
      );
      return 'settled';
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const failure = err.cause instanceof ApplicationFailure ? err.cause : undefined;
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
        const running = await handle.describe().then(
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
