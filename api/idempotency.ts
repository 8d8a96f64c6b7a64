/**
 * Idempotency-Key for writes that create something and for actions on orders and returns: the
 * first request with a key runs and its response (status and body) is stored in PostgreSQL; a
 * retry with the same key and body gets that response again, even when the copies arrive at once
 * (later ones wait for the first); the same key with another body is a 409. Server errors are not
 * stored, so a retry can succeed: the key is kept as `failed`, and a retry runs again (an action
 * a workflow answered with an outage it may run again, under a new Update id: `updateIdFromKey`).
 * Keys expire after IDEMPOTENCY_KEY_TTL (24h by default).
 *
 * The first request holds a lease on its key: if the API dies before it answers, a retry takes
 * the key over once the lease lapses. Running the request twice is safe even then: everything it
 * starts is named by an id derived from the key (`idFromKey`), which Temporal runs only once.
 *
 * A request is known again by a keyed digest of its method, path and body (`keyedDigest`): a body
 * may hold a secret (a webhook subscription's), which PostgreSQL keeps only sealed.
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { keyedDigest, type KeyedDigest } from '../codec/secret-box';
import type { Db } from '../db/knex';
import { ConflictError, DomainError } from '../domain/errors';
import { storable } from '../domain/text';
import { DEFAULT_CHANNEL, principalOf, type Principal } from './auth';

const WAIT_FOR_FIRST_MS = 30_000;
/** The 409's `code` when the key's first request is still running (as Stripe's `idempotency_key_in_use`). */
export const KEY_IN_USE = 'IDEMPOTENCY_KEY_IN_USE';

interface KeyRow {
  request_hash: string;
  state: 'in_progress' | 'done' | 'failed';
  status: number | null;
  content_type: string | null;
  location: string | null;
  body: unknown;
  created_at: Date;
  outages: number;
}

/** The request that holds a key now: its lease's end tells it from one that held it before (`run`). */
interface Holder {
  scope: string;
  key: string;
  requestHash: string;
  lease: Date;
  /** When the key was first used (its row's `created_at`). */
  from: Date;
}

/** `res.locals`' flag of a request answered with an outage its workflow may run again (api/problem.ts). */
export const RERUNNABLE_OUTAGE = 'rerunnableOutage';
/** `res.locals`' entry for the outages counted under the request's key (`run`). */
const OUTAGES = 'idempotencyOutages';
/** `res.locals`' entry for when the request's key was first used (`run`): a key forgotten and used again is another request. */
const KEY_FROM = 'idempotencyKeyFrom';

/**
 * The request's body as text for its digest, before any schema has read it: nested deeper than
 * `JSON.stringify` can recurse (brackets `JSON.parse` took), it is refused as bad input.
 */
function bodyText(body: unknown): string {
  try {
    return JSON.stringify(body ?? null);
  } catch (err) {
    if (err instanceof RangeError) throw new DomainError('the request body is nested too deeply', 400);
    throw err;
  }
}

/** A stored response: strings made storable (jsonb refuses NUL and lone surrogates, which a 400 can quote). */
const storedBody = (body: unknown) =>
  JSON.stringify(body, (_key, value: unknown) => (typeof value === 'string' ? storable(value) : value));

/**
 * Whose keys these are: a caller's id is its own within its channel only (a partner's customer
 * `c1` is not the web shop's `c1`). The web shop's callers keep the scope they had before channels.
 * A space parts id and channel: neither a token's subject nor a channel's id can hold one.
 */
export const callerScope = ({ role, id, channel }: Principal) =>
  channel === undefined || channel === DEFAULT_CHANNEL ? `${role}:${id}` : `${role}:${id} ${channel}`;

/**
 * `ttlMs`: how long a key is kept; `leaseMs`: how long its first request holds it;
 * `waitForFirstMs`: how long a repeat waits for the first request's answer before its 409.
 */
export function idempotency(
  db: Db,
  {
    ttlMs,
    leaseMs,
    digest = keyedDigest(undefined),
    waitForFirstMs = WAIT_FOR_FIRST_MS,
  }: { ttlMs: number; leaseMs: number; digest?: KeyedDigest; waitForFirstMs?: number },
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.header('idempotency-key');
    if (key === undefined) return next();
    handle(key).catch(next);

    async function handle(key: string): Promise<void> {
      if (!/^[\x21-\x7E]{1,200}$/.test(key))
        throw new DomainError('Idempotency-Key must be 1 to 200 printable ASCII characters', 400);
      const scope = callerScope(principalOf(req));
      const request = `${req.method}\n${req.originalUrl}\n${bodyText(req.body)}`;
      const requestHash = digest.stored(request);
      await db('idempotency_keys').where({ scope, key }).andWhere('expires_at', '<', db.fn.now()).delete();
      const lease = leaseFromNow();
      const inserted = await db('idempotency_keys')
        .insert({
          scope,
          key,
          request_hash: requestHash,
          state: 'in_progress',
          expires_at: new Date(Date.now() + ttlMs),
          lease_until: lease,
        })
        .onConflict(['scope', 'key'])
        .ignore()
        .returning('created_at');
      if (inserted.length === 0) return replay(scope, key, requestHash, digest.accepted(request));
      run({ scope, key, requestHash, lease, from: inserted[0].created_at }, 0);
    }

    const leaseFromNow = () => new Date(Date.now() + leaseMs);

    /**
     * This request answers for the key: run it, and store its answer before it goes out, while the
     * key is still this request's (a late one whose lease lapsed and was taken over changes
     * nothing: its lease is no longer the key's). `outages`: the outages earlier requests under the
     * key were answered with that their workflow may run again.
     */
    function run({ scope, key, requestHash, lease, from }: Holder, outages: number): void {
      res.locals[OUTAGES] = outages;
      res.locals[KEY_FROM] = new Date(from).toISOString();
      const send = res.json.bind(res);
      res.json = (body: unknown) => {
        const mine = { scope, key, state: 'in_progress', request_hash: requestHash, lease_until: lease };
        const stored =
          res.statusCode >= 500
            ? db('idempotency_keys')
                .where(mine)
                .update({
                  state: 'failed',
                  // Counted only when the workflow answered with an outage it may run again.
                  outages: res.locals[RERUNNABLE_OUTAGE] === true ? outages + 1 : outages,
                  lease_until: null,
                })
            : db('idempotency_keys')
                .where(mine)
                .update({
                  state: 'done',
                  status: res.statusCode,
                  content_type: String(res.getHeader('content-type') ?? 'application/json'),
                  location: res.getHeader('location') ?? null,
                  body: storedBody(body),
                  lease_until: null,
                });
        stored.then(
          () => send(body),
          (err: unknown) => {
            // The error's own answer (a 503 problem) goes out as it is: through this override again,
            // its store would fail again and pass the error on a second time, past every handler.
            // The key stays in progress; a retry takes it over once its lease lapses.
            res.json = send;
            next(err);
          },
        );
        return res;
      };
      next();
    }

    /**
     * The first one died mid-request and its lease lapsed: this one takes the key over, its request
     * now known by this one's digest (the row's may be under an older key).
     */
    async function takeOver(holder: Holder, row: KeyRow): Promise<number | null> {
      const { scope, key, requestHash, lease } = holder;
      const taken = await db('idempotency_keys')
        .where({ scope, key, state: 'in_progress', request_hash: row.request_hash })
        .andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<', db.fn.now()))
        .update({ request_hash: requestHash, lease_until: lease })
        .returning('outages');
      return taken[0]?.outages ?? null;
    }

    /**
     * The key's last request, this same one, ended in a server error: this one runs again, knowing
     * how many outages came before.
     */
    async function runAgain(holder: Holder, row: KeyRow): Promise<number | null> {
      const { scope, key, requestHash, lease } = holder;
      const taken = await db('idempotency_keys')
        .where({ scope, key, state: 'failed', request_hash: row.request_hash })
        .update({
          state: 'in_progress',
          request_hash: requestHash,
          lease_until: lease,
          // Kept while it is retried: forgotten, its count would start again at the first id's 503.
          expires_at: new Date(Date.now() + ttlMs),
        })
        .returning('outages');
      return taken[0]?.outages ?? null;
    }

    /** `accepted`: this request's digests under every key (`keyedDigest`), one of which a row of it holds. */
    async function replay(
      scope: string,
      key: string,
      requestHash: string,
      accepted: string[],
    ): Promise<void> {
      const deadline = Date.now() + waitForFirstMs;
      for (;;) {
        const row: KeyRow | undefined = await db('idempotency_keys').where({ scope, key }).first();
        // Gone (expired meanwhile): this one starts afresh.
        if (!row) return handle(key);
        // Another body under the key is refused whatever became of the first: even one that failed
        // may still take effect (a 503 while no worker answered), and then both would.
        if (!accepted.includes(row.request_hash))
          throw new ConflictError('this Idempotency-Key was used with a different request');
        const holder = { scope, key, requestHash, lease: leaseFromNow(), from: row.created_at };
        if (row.state === 'failed') {
          const outages = await runAgain(holder, row);
          if (outages !== null) return run(holder, outages);
          continue; // another retry took it first: wait for its answer
        }
        if (row.state === 'done') {
          res.status(row.status!).setHeader('Idempotent-Replayed', 'true');
          if (row.location) res.setHeader('Location', row.location);
          res.type(row.content_type ?? 'application/json').send(JSON.stringify(row.body));
          return;
        }
        const outages = await takeOver(holder, row);
        if (outages !== null) return run(holder, outages);
        // Not a refusal of the request: a client keeps its key and asks again later (the console does).
        if (Date.now() > deadline)
          throw new ConflictError('a request with this Idempotency-Key is still in progress', {
            code: KEY_IN_USE,
          });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
}

/**
 * An id derived from the caller's Idempotency-Key: a retried request names the same order, refund,
 * return or Update, which Temporal runs only once (a retry after a 503, while no worker answered,
 * joins the first Update and gets its answer). Derived from the caller, what it acts on, the
 * action and the body too, so neither another caller nor a key reused for another request (after
 * it expired) lands on someone else's.
 */
export function idFromKey(prefix: string, req: Request, target: string, action: string): string | undefined {
  const key = req.header('idempotency-key');
  if (!key) return undefined;
  const salt = `${target}\n${action}\n${callerScope(principalOf(req))}\n${JSON.stringify(req.body ?? null)}`;
  return `${prefix}_${createHash('sha256').update(`${salt}\n${key}`).digest('hex').slice(0, 32)}`;
}

/**
 * The id of this request under its Idempotency-Key (`idFromKey`) and that key's first use: a
 * retry of it has the same, and so has nothing else, not even the same key and body once the key
 * has been forgotten and used again (a stock set is a new one then). None without a key.
 */
export function requestIdFromKey(req: Request, target: string, action: string): string | undefined {
  const id = idFromKey('req', req, target, action);
  const from = req.res?.locals[KEY_FROM] as string | undefined;
  return id && from ? `${id}@${from}` : id;
}

/**
 * The Update id of an action on an order, a return, a claim or an exchange under the caller's key
 * (`idFromKey`). Temporal answers an id whose Update has finished with its finished answer, so
 * after the workflow answered an outage it may run again (each counted with the key, `run`), the
 * retry takes the next id and runs the action again; a retry after any other 503 keeps the id and
 * joins an Update still waiting for a worker. None without a key (a new Update each time).
 */
export function updateIdFromKey(req: Request, workflowId: string, action: string): string | undefined {
  const first = idFromKey('upd', req, workflowId, action);
  return first === undefined ? undefined : updateIdAfter(req, first);
}

/** `first`, or its next one for each rerunnable outage the request's key was answered with (`updateIdFromKey`). */
export function updateIdAfter(req: Request, first: string): string {
  const outages = Number(req.res?.locals[OUTAGES] ?? 0);
  return outages > 0 ? `${first}.${outages + 1}` : first;
}
