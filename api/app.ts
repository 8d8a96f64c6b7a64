/** The HTTP API: routes of ../shared/API.md over the order workflows and PostgreSQL. */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express from 'express';
import type { Config } from '../config';
import type { Db } from '../db/knex';
import { NotFoundError } from '../domain/errors';
import { authenticate } from './auth';
import { OrderCommands } from './order-commands';
import { problemMiddleware, route } from './problem';
import { orderTypeRoutes } from './routes/order-types';
import { orderRoutes } from './routes/orders';
import { productRoutes } from './routes/products';
import { memberRoutes, promotionRoutes } from './routes/promotions';
import { reverseFlowRoutes } from './routes/reverse-flows';

declare module 'express-serve-static-core' {
  interface Request {
    id?: string;
  }
}

export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  log?: (entry: Record<string, unknown>) => void;
}

/** Resolves false when the promise neither resolves nor rejects in time. */
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

export function createApp({ config, db, temporal, log = (e) => console.log(JSON.stringify(e)) }: AppDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const given = req.header('x-request-id');
    req.id = given && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', req.id);
    next();
  });
  app.use(express.json({ limit: '100kb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get(
    '/readyz',
    route(async (_req, res) => {
      const [database, temporalOk] = await Promise.all([
        answers(() => db.raw('select 1')),
        answers(() => temporal.workflowService.getSystemInfo({})),
      ]);
      const ready = database && temporalOk;
      if (!ready) res.setHeader('Retry-After', '5');
      res
        .status(ready ? 200 : 503)
        .json({ status: ready ? 'ready' : 'unavailable', postgres: database, temporal: temporalOk });
    }),
  );

  const v1 = express.Router();
  v1.use('/order-types', orderTypeRoutes());
  v1.use(authenticate(config.AUTH_JWT_SECRET));
  v1.use('/products', productRoutes(db));
  v1.use('/promotions', promotionRoutes(db));
  v1.use('/members', memberRoutes(db));
  const commands = new OrderCommands(temporal, config);
  const reverse = reverseFlowRoutes(db, commands);
  v1.use('/orders', orderRoutes(db, commands), reverse.orders);
  v1.use('/returns', reverse.returns);
  app.use('/v1', v1);

  app.use((req, _res, next) => next(new NotFoundError(`route ${req.method} ${req.path}`)));
  app.use(
    problemMiddleware((err, status) =>
      log({ level: 'error', msg: 'request failed', status, err: String((err as Error)?.stack ?? err) }),
    ),
  );
  return app;
}
