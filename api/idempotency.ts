/**
 * Idempotency-Key for writes that create something and for actions on orders and returns: the
 * first request with a key runs and its response (status and body) is stored in PostgreSQL; a
 * retry with the same key and body gets that response again, even when the copies arrive at once
 * (later ones wait for the first); the same key with another body is a 409. Server errors are not
 * stored, so a retry can succeed. Keys expire after IDEMPOTENCY_KEY_TTL (24h by default).
 *
 * The first request holds a lease on its key: if the API dies before it answers, a retry takes
 * the key over once the lease lapses. Running the request twice is safe even then: everything it
 * starts is named by an id derived from the key (`idFromKey`), which Temporal runs only once.
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '../db/knex';
import { ConflictError, DomainError } from '../domain/errors';
import { storable } from '../domain/text';
import { DEFAULT_CHANNEL, principalOf, type Principal } from './auth';

const WAIT_FOR_FIRST_MS = 30_000;
/** The 409's `code` when the key's first request is still running (as Stripe's `idempotency_key_in_use`). */
export const KEY_IN_USE = 'IDEMPOTENCY_KEY_IN_USE';

interface KeyRow {
  request_hash: string;
  state: 'in_progress' | 'done';
  status: number | null;
  content_type: string | null;
  body: unknown;
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

/** `waitForFirstMs`: how long a repeat waits for the first request's answer before its 409. */
export function idempotency(
  db: Db,
  ttlMs: number,
  leaseMs: number,
  waitForFirstMs = WAIT_FOR_FIRST_MS,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.header('idempotency-key');
    if (key === undefined) return next();
    handle(key).catch(next);

    async function handle(key: string): Promise<void> {
      if (!/^[\x21-\x7E]{1,200}$/.test(key))
        throw new DomainError('Idempotency-Key must be 1 to 200 printable ASCII characters', 400);
      const scope = callerScope(principalOf(req));
      const requestHash = createHash('sha256')
        .update(`${req.method}\n${req.originalUrl}\n${JSON.stringify(req.body ?? null)}`)
        .digest('hex');
      await db('idempotency_keys').where({ scope, key }).andWhere('expires_at', '<', db.fn.now()).delete();
      const inserted = await db('idempotency_keys')
        .insert({
          scope,
          key,
          request_hash: requestHash,
          state: 'in_progress',
          expires_at: new Date(Date.now() + ttlMs),
          lease_until: new Date(Date.now() + leaseMs),
        })
        .onConflict(['scope', 'key'])
        .ignore()
        .returning('key');
      if (inserted.length === 0) return replay(scope, key, requestHash);
      run(scope, key);
    }

    /** This request answers for the key: run it, and store its answer before it goes out. */
    function run(scope: string, key: string): void {
      const send = res.json.bind(res);
      res.json = (body: unknown) => {
        const stored =
          res.statusCode >= 500
            ? db('idempotency_keys').where({ scope, key }).delete()
            : db('idempotency_keys')
                .where({ scope, key })
                .update({
                  state: 'done',
                  status: res.statusCode,
                  content_type: String(res.getHeader('content-type') ?? 'application/json'),
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

    /** The first one died mid-request and its lease lapsed: this one takes the key over. */
    async function takeOver(scope: string, key: string, requestHash: string): Promise<boolean> {
      const taken = await db('idempotency_keys')
        .where({ scope, key, state: 'in_progress', request_hash: requestHash })
        .andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<', db.fn.now()))
        .update({ lease_until: new Date(Date.now() + leaseMs) })
        .returning('key');
      return taken.length > 0;
    }

    async function replay(scope: string, key: string, requestHash: string): Promise<void> {
      const deadline = Date.now() + waitForFirstMs;
      for (;;) {
        const row: KeyRow | undefined = await db('idempotency_keys').where({ scope, key }).first();
        // Gone: the first attempt failed with a server error; this one may try again.
        if (!row) return handle(key);
        if (row.request_hash !== requestHash)
          throw new ConflictError('this Idempotency-Key was used with a different request');
        if (row.state === 'done') {
          res.status(row.status!).setHeader('Idempotent-Replayed', 'true');
          res.type(row.content_type ?? 'application/json').send(JSON.stringify(row.body));
          return;
        }
        if (await takeOver(scope, key, requestHash)) return run(scope, key);
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

/** The Update id of an action on an order or a return (`idFromKey`). */
export const updateIdFromKey = (req: Request, workflowId: string, action: string) =>
  idFromKey('upd', req, workflowId, action);
