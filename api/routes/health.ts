/** Liveness and readiness, for load balancers and orchestrators: no token. */
import { SearchAttributesMissing } from '../search-attributes';
import { sendProblem, STATUSES } from '../problem';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';

/** Resolves false when the check neither resolves nor rejects in time. */
async function answers(check: () => Promise<unknown>, ms = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([check().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: Route[] = [
  defineRoute({
    id: 'healthz',
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    roles: 'anyone',
    open: true,
    ok: [[200], res.health],
    errors: [],
    async handle({ res: reply }) {
      reply.json({ status: 'ok' });
    },
  }),
  defineRoute({
    id: 'readyz',
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: 200 only when Temporal and PostgreSQL answer',
    roles: 'anyone',
    open: true,
    ok: [[200], res.health],
    errors: [503],
    async handle({ res: reply }, { db, temporal, searchAttributes }) {
      const [database, temporalOk] = await Promise.all([
        answers(() => db.raw('select 1')),
        answers(() => temporal.workflowService.getSystemInfo({})),
      ]);
      // A namespace without the order search attributes cannot take orders: not ready, and why.
      const missing = temporalOk ? await searchAttributes.check().catch(() => null) : null;
      const ready = database && temporalOk && missing?.length === 0;
      if (ready) return void reply.json({ status: 'ready', postgres: true, temporal: true });
      // Not ready is an error like any other (problem+json), saying which dependency and why.
      sendProblem(reply, {
        status: 503,
        title: STATUSES[503]!.title,
        detail: `not ready: ${[
          !database && 'PostgreSQL does not answer',
          !temporalOk && 'Temporal does not answer',
          temporalOk && missing === null && 'the namespace’s search attributes could not be read',
          missing?.length && 'the namespace lacks the order search attributes',
        ]
          .filter(Boolean)
          .join('; ')}`,
        retryAfter: 5,
        extra: {
          postgres: database,
          temporal: temporalOk,
          ...(missing?.length ? { searchAttributes: new SearchAttributesMissing(missing).message } : {}),
        },
      });
    },
  }),
];
