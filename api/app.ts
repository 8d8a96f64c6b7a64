/** The HTTP API: routes of ../shared/API.md over the order workflows and PostgreSQL. */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { authSettings, type Config } from '../config';
import { describeError } from '../db/errors';
import type { Db } from '../db/knex';
import { DomainError, NotFoundError } from '../domain/errors';
import { codecFor } from '../codec/data-converter';
import { authenticate } from './auth';
import { codecServer } from './codec-server';
import { idempotency } from './idempotency';
import { createLogger, requestForLog } from './logging';
import { methodsOfResources } from './methods';
import { ApiMetrics } from './metrics';
import { docsPage, openApiDocument } from './openapi';
import { OrderCommands } from './order-commands';
import { problemMiddleware, route, sendProblem } from './problem';
import { orderTypeRoutes } from './routes/order-types';
import { orderRoutes } from './routes/orders';
import { productRoutes } from './routes/products';
import { memberRoutes, promotionRoutes } from './routes/promotions';
import { reverseFlowRoutes } from './routes/reverse-flows';

export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  logger?: Logger;
}

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

/** 429 problem+json, from either limit. */
function tooManyRequests(limit: number, per: string) {
  return (_req: express.Request, res: express.Response) => {
    res.setHeader('Retry-After', '60');
    sendProblem(res, {
      status: 429,
      title: 'Too many requests',
      detail: `more than ${limit} requests a minute ${per}`,
    });
  };
}

export function createApp({ config, db, temporal, logger = createLogger(config.LOG_LEVEL) }: AppDeps) {
  const auth = authSettings(config);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The client address the per-address limit counts: the peer, or as many proxies back as trusted.
  app.set('trust proxy', config.TRUST_PROXY);
  app.use(helmet());
  // One id per request, from the caller or made here: in every log line, the response and the order's workflow.
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      serializers: { req: requestForLog },
    }),
  );
  const metrics = new ApiMetrics();
  app.use(metrics.middleware());
  app.use(methodsOfResources());
  // Before any token is looked at: a flood of bad tokens is limited too.
  app.use(
    ['/v1', '/codec'],
    rateLimit({
      windowMs: 60_000,
      limit: config.RATE_LIMIT_PER_IP_PER_MINUTE,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      // A client's X-Forwarded-For is its own business unless TRUST_PROXY says otherwise.
      validate: { xForwardedForHeader: false },
      handler: tooManyRequests(config.RATE_LIMIT_PER_IP_PER_MINUTE, 'from this address'),
    }),
  );
  // The Web UI calls the codec server from its own origin (CORS inside); it parses its own, larger bodies.
  app.use('/codec', codecServer(auth, config.CODEC_ALLOWED_ORIGINS, codecFor(config)));
  app.use(express.json({ limit: '100kb' }));
  app.get('/metrics', metrics.handler());

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
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  app.get('/docs', (_req, res) => {
    res.type('html').send(docsPage());
  });

  const v1 = express.Router();
  v1.use('/order-types', orderTypeRoutes());
  v1.use(authenticate(auth));
  v1.use(
    rateLimit({
      windowMs: 60_000,
      limit: config.RATE_LIMIT_PER_MINUTE,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      // Per bearer token (every route past authenticate has one).
      keyGenerator: (req) => `${req.principal!.role}:${req.principal!.id}`,
      handler: tooManyRequests(config.RATE_LIMIT_PER_MINUTE, 'with this token'),
    }),
  );
  // A request holds its key at most as long as it can wait for an order, and a little more.
  const keyed = idempotency(db, config.IDEMPOTENCY_KEY_TTL, config.ORDER_ANSWER_TIMEOUT + 30_000);
  v1.post(
    [
      '/orders',
      '/orders/:id/refunds',
      '/orders/:id/returns',
      ...['pay', 'ship', 'confirm', 'cancel'].map((action) => `/orders/:id/${action}`),
      ...['approve', 'reject', 'receive'].map((action) => `/returns/:id/${action}`),
    ],
    keyed,
  );
  v1.patch('/orders/:id', keyed);
  v1.use('/products', productRoutes(db));
  v1.use('/promotions', promotionRoutes(db));
  v1.use('/members', memberRoutes(db));
  const commands = new OrderCommands(temporal, config, metrics);
  const reverse = reverseFlowRoutes(db, commands);
  v1.use('/orders', orderRoutes(db, commands), reverse.orders);
  v1.use('/returns', reverse.returns);
  app.use('/v1', v1);

  app.use((req, _res, next) => next(new NotFoundError(`route ${req.method} ${req.path}`)));
  app.use(
    problemMiddleware((err, status) => {
      // Never the error itself: knex writes the statement into its message (db/errors.ts).
      if (!(err instanceof DomainError)) logger.error({ err: describeError(err), status }, 'request failed');
    }),
  );
  return app;
}
