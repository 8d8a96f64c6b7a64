/**
 * Actions PostgreSQL shows that an order's workflow may not have taken for good. A transition is
 * written by a local activity before the workflow task that ran it completes; a worker that dies in
 * between loses that task, and with it an Update not yet accepted: the order center is then one
 * transition ahead of the workflow, and stays so unless the Update is sent again. So each
 * transition an Update writes keeps its action beside it (`unsettled_actions`, in the same
 * statement); the API deletes the row once the Update is answered, which Temporal does only once the
 * task that wrote it is stored. What no one heard answered, the worker sends again under the same
 * Update id (worker/unsettled-actions.ts): Temporal answers one the workflow took with its result,
 * without running it again; a lost one runs, and its write finds its transition in place.
 */
import type { Knex } from 'knex';
import type { ActionRequest } from '../../domain/order';

export interface UnsettledRow {
  orderId: string;
  updateId: string;
  seq: number;
  request: ActionRequest;
  /** The id to send under: the Update's own, or its next after an outage the workflow may rerun. */
  sendId: string;
  tries: number;
}

/** The first wait before a send is tried again, doubled each time up to the last. */
const RETRY_FIRST_MS = 20_000;
const RETRY_MAX_MS = 15 * 60_000;

/**
 * Claims up to `limit` actions due: unanswered for `unansweredMs`, or due again after a try. A
 * claim pushes the next try out (with backoff), so another worker leaves it alone meanwhile and one
 * that keeps failing does not hold the others up. Each order's in the order they were written.
 */
export async function claimUnsettled(db: Knex, unansweredMs: number, limit: number): Promise<UnsettledRow[]> {
  const { rows } = await db.raw(
    `WITH due AS (
       SELECT order_id, update_id FROM unsettled_actions
        WHERE COALESCE(next_try_at, created_at + ? * interval '1 millisecond') <= now()
        ORDER BY COALESCE(next_try_at, created_at)
        LIMIT ? FOR UPDATE SKIP LOCKED
     )
     UPDATE unsettled_actions u
        SET tries = u.tries + 1,
            next_try_at = now() + least(? * power(2, least(u.tries, 10)), ?) * interval '1 millisecond'
       FROM due WHERE u.order_id = due.order_id AND u.update_id = due.update_id
     RETURNING u.order_id, u.update_id, u.seq, u.request, u.send_id, u.tries`,
    [unansweredMs, limit, RETRY_FIRST_MS, RETRY_MAX_MS],
  );
  return (
    rows as {
      order_id: string;
      update_id: string;
      seq: number;
      request: ActionRequest;
      send_id: string;
      tries: number;
    }[]
  )
    .map((r) => ({
      orderId: r.order_id,
      updateId: r.update_id,
      seq: r.seq,
      request: r.request,
      sendId: r.send_id,
      tries: r.tries,
    }))
    .sort((a, b) => (a.orderId === b.orderId ? a.seq - b.seq : a.orderId < b.orderId ? -1 : 1));
}

/** The Update was answered (or there is no workflow left to take it): nothing to send again. */
export async function settleAction(
  db: Knex,
  orderId: string,
  updateId: string,
  timeoutMs?: number,
): Promise<void> {
  const query = db('unsettled_actions').where({ order_id: orderId, update_id: updateId }).delete();
  await (timeoutMs === undefined ? query : query.timeout(timeoutMs, { cancel: true }));
}

/** The workflow answered an outage it may rerun: the next send goes under the next id. */
export async function sendNextUnder(
  db: Knex,
  orderId: string,
  updateId: string,
  sendId: string,
): Promise<void> {
  await db('unsettled_actions').where({ order_id: orderId, update_id: updateId }).update({ send_id: sendId });
}
