/**
 * Actions PostgreSQL shows that an order's workflow may not have taken for good. A transition is
 * written by a local activity before the workflow task that ran it completes; a worker that dies in
 * between loses that task, and with it an Update not yet accepted: the order center is then one
 * transition ahead of the workflow, and stays so unless the Update is sent again. So each
 * transition an Update writes keeps its action beside it (`unsettled_actions`, in the same
 * statement); the API deletes the row once the Update is answered, which Temporal does only once the
 * task that wrote it is stored. What no one heard answered, the worker looks at
 * (worker/unsettled-actions.ts): an Update Temporal no longer knows is sent again under the same
 * id, with the action's sequence number; a workflow that holds a transition there took it (or moved
 * on without it) and refuses it, and one that is behind runs it, its write finding its transition
 * in place.
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
  /** Sends the workflow refused so far. */
  refusals: number;
}

/** The longest wait before a send is tried again. */
const RETRY_MAX_MS = 15 * 60_000;

/**
 * Claims up to `limit` actions due: unanswered for `unansweredMs`, or due again after a try; of
 * each order only its earliest, so its actions go to the workflow in the order they were written,
 * whatever becomes of a try. A claim pushes the next try out (`leaseMs`, longer than a send takes,
 * doubling each time), so another worker leaves it alone meanwhile and one that keeps failing does
 * not hold up the others.
 */
export async function claimUnsettled(
  db: Knex,
  { unansweredMs, leaseMs, limit }: { unansweredMs: number; leaseMs: number; limit: number },
): Promise<UnsettledRow[]> {
  const { rows } = await db.raw(
    `WITH due AS (
       SELECT a.order_id, a.update_id FROM unsettled_actions a
        WHERE COALESCE(a.next_try_at, a.created_at + ? * interval '1 millisecond') <= now()
          AND NOT EXISTS (SELECT 1 FROM unsettled_actions e WHERE e.order_id = a.order_id AND e.seq < a.seq)
        ORDER BY COALESCE(a.next_try_at, a.created_at)
        LIMIT ? FOR UPDATE SKIP LOCKED
     )
     UPDATE unsettled_actions u
        SET tries = u.tries + 1,
            next_try_at = now() + least(? * power(2, least(u.tries, 16)), ?) * interval '1 millisecond'
       FROM due WHERE u.order_id = due.order_id AND u.update_id = due.update_id
     RETURNING u.order_id, u.update_id, u.seq, u.request, u.send_id, u.refusals`,
    [unansweredMs, limit, leaseMs, RETRY_MAX_MS],
  );
  return (
    rows as {
      order_id: string;
      update_id: string;
      seq: number;
      request: ActionRequest;
      send_id: string;
      refusals: number;
    }[]
  ).map((r) => ({
    orderId: r.order_id,
    updateId: r.update_id,
    seq: r.seq,
    request: r.request,
    sendId: r.send_id,
    refusals: r.refusals,
  }));
}

/** The transition PostgreSQL holds at an order's sequence number: what it did, into which status. */
export async function heldTransition(
  db: Knex,
  orderId: string,
  seq: number,
): Promise<{ action: string; to: string } | undefined> {
  return db('order_history').where({ order_id: orderId, seq }).first('action', 'to');
}

/** The workflow refused a send: counted, and tried again later. */
export async function countRefusal(db: Knex, orderId: string, updateId: string): Promise<void> {
  await db('unsettled_actions').where({ order_id: orderId, update_id: updateId }).increment('refusals', 1);
}

/** The Update was answered (or there is no workflow left to take it): nothing to send again. */
export async function settleAction(db: Knex, orderId: string, updateId: string): Promise<void> {
  await db('unsettled_actions').where({ order_id: orderId, update_id: updateId }).delete();
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
