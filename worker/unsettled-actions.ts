/**
 * Sends again the actions no one heard answered (services/orders/unsettled-actions.ts): those whose
 * caller went away, or gave up while a worker died with the task that wrote them. Each goes under its
 * Update's id: one the workflow took is answered with its result and forgotten; one it lost is
 * run, and redoes what the order center already shows (the transition's write is idempotent by its
 * sequence number). An order's actions go in the order they were written, one at a time. A
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
  sendNextUnder,
  settleAction,
  type UnsettledRow,
} from '../services/orders/unsettled-actions';

/** How many actions a round claims, and how long it gives each send. */
const PER_ROUND = 50;
const SEND_DEADLINE_MS = 10_000;
/** Refusals can be for now only (a charge being settled): tried this many times before forgotten. */
const REFUSED_TRIES = 5;

type Outcome = 'settled' | 'again';

/**
 * The id after `sendId` for an outage the workflow may rerun: `<id>.2`, `<id>.3`..., the ids a
 * client's retry under its Idempotency-Key takes (api/idempotency.ts `updateIdAfter`), so the two
 * join one Update rather than run the action twice.
 */
export function nextSendId(updateId: string, sendId: string): string {
  const n = sendId === updateId ? 1 : Number(sendId.slice(updateId.length + 1));
  return `${updateId}.${n + 1}`;
}

export function startUnsettledActions(
  db: Knex,
  client: Client,
  { unansweredMs, everyMs }: { unansweredMs: number; everyMs: number },
  log: (msg: string, fields?: Record<string, unknown>) => void,
) {
  const send = async (row: UnsettledRow): Promise<Outcome> => {
    const handle = client.workflow.getHandle(row.orderId);
    try {
      await client.withDeadline(Date.now() + SEND_DEADLINE_MS, async () => {
        // Sent only while the workflow is behind it: one that holds a transition at its sequence
        // number took it (or another action took its place, which sending it now would reorder).
        const state = await handle.query(orderStateQuery);
        if (state && state.history.length >= row.seq) return;
        await handle.executeUpdate(orderActionUpdate, { args: [row.request], updateId: row.sendId });
      });
      return 'settled';
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const failure = err.cause instanceof ApplicationFailure ? err.cause : undefined;
        // An outage the workflow met having done nothing twice: run again under the next id.
        if (markedRerunnable(failure?.details)) {
          await sendNextUnder(db, row.orderId, row.updateId, nextSendId(row.updateId, row.sendId));
          return 'again';
        }
        if (row.tries < REFUSED_TRIES) return 'again';
        // Refused or failed where the workflow stands, try after try: the order center and the
        // workflow differ (support reads the order's history).
        log('an unsettled action was refused by its workflow', { orderId: row.orderId, type: failure?.type });
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
          log('an unsettled action found its workflow ended', { orderId: row.orderId });
          return 'settled';
        }
      }
      return 'again'; // not ready, or away: a later try
    }
  };

  const round = async (): Promise<number> => {
    const claimed = await claimUnsettled(db, unansweredMs, PER_ROUND);
    const byOrder = new Map<string, UnsettledRow[]>();
    for (const row of claimed) byOrder.set(row.orderId, [...(byOrder.get(row.orderId) ?? []), row]);
    await Promise.all(
      [...byOrder.values()].map(async (rows) => {
        for (const row of rows) {
          // A later one waits for the earlier: the workflow takes them in the order they were written.
          if ((await send(row)) === 'again') break;
          await settleAction(db, row.orderId, row.updateId);
        }
      }),
    );
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
