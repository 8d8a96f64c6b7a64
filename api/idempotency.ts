/**
 * Idempotency-Key for writes that create something and for actions on orders and returns: the
 * first request with a key runs and its response (status and body) is stored in PostgreSQL; a
 * retry with the same key and body gets that response again, even when the copies arrive at once
 * (later ones wait for the first); the same key with another body is a 409. Server errors are not
 * stored, so a retry can succeed. Keys expire after IDEMPOTENCY_KEY_TTL (24h by default).
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '../db/knex';
import { ConflictError, DomainError } from '../domain/errors';
import { principalOf } from './auth';

const WAIT_FOR_FIRST_MS = 30_000;

interface KeyRow {
  request_hash: string;
  state: 'in_progress' | 'done';
  status: number | null;
  content_type: string | null;
  body: unknown;
}

export function idempotency(db: Db, ttlMs: number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.header('idempotency-key');
    if (key === undefined) return next();
    handle(key).catch(next);

    async function handle(key: string): Promise<void> {
      if (key.length === 0 || key.length > 200)
        throw new DomainError('Idempotency-Key must be 1 to 200 characters', 400);
      const principal = principalOf(req);
      const scope = `${principal.role}:${principal.id}`;
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
        })
        .onConflict(['scope', 'key'])
        .ignore()
        .returning('key');
      if (inserted.length === 0) return replay(scope, key, requestHash);

      // The first request: run it, and store its answer before it goes out.
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
                  body: JSON.stringify(body),
                });
        stored.then(
          () => send(body),
          (err: unknown) => next(err),
        );
        return res;
      };
      next();
    }

    async function replay(scope: string, key: string, requestHash: string): Promise<void> {
      const deadline = Date.now() + WAIT_FOR_FIRST_MS;
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
        if (Date.now() > deadline)
          throw new ConflictError('a request with this Idempotency-Key is still in progress');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
}

/** Ids derived from the caller's Idempotency-Key: a retried create names the same order, return or refund. */
export function idFromKey(prefix: string, req: Request, salt: string): string | undefined {
  const key = req.header('idempotency-key');
  if (!key) return undefined;
  return `${prefix}_${createHash('sha256').update(`${salt}\n${key}`).digest('hex').slice(0, 32)}`;
}

/**
 * The Update id of an action (on an order or a return) sent with an Idempotency-Key. A retry whose
 * first answer was never stored (a 503 while no worker answered) joins the first Update, and
 * Temporal answers it with that Update's result instead of running the action again. Per caller
 * and request body, so neither another caller nor a key reused for another request after it
 * expired can join someone else's.
 */
export function updateIdFromKey(req: Request, workflowId: string, action: string): string | undefined {
  const { role, id } = principalOf(req);
  return idFromKey(
    'upd',
    req,
    `${workflowId}\n${action}\n${role}:${id}\n${JSON.stringify(req.body ?? null)}`,
  );
}
