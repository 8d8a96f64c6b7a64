/** The HTTP API: routes of ../shared/API.md over the order workflows and PostgreSQL. */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { authSettings, registersSearchAttributes, type Config } from '../config';
import { describeError } from '../db/errors';
import type { Db } from '../db/knex';
import { DomainError, NotFoundError } from '../domain/errors';
import { codecFor } from '../codec/data-converter';
import { keyedDigest, secretKeysOf } from '../codec/secret-box';
import { authenticate } from './auth';
import { codecServer } from './codec-server';
import { callerScope, idempotency } from './idempotency';
import { createLogger, requestLogOptions } from './logging';
import { methodsOfResources } from './methods';
import { ApiMetrics, routeBase } from './metrics';
import { consoleRouter } from './console';
import { docsRouter } from './docs-page';
import { openApiDocument } from './openapi';
import { OrderCommands } from './order-commands';
import { SearchAttributeGuard } from './search-attributes';
import { problemMiddleware, sendProblem, STATUSES } from './problem';
import { isSecured, mountRoutes, type RouteDeps } from './route';
import { ROUTES } from './routes';

export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  logger?: Logger;
  /** Default: checked (and registered when allowed) on the client's connection. */
  searchAttributes?: SearchAttributeGuard;
}

/** 429 problem+json, from either limit. */
function tooManyRequests(limit: number, per: string) {
  return (_req: express.Request, res: express.Response) => {
    res.setHeader('Retry-After', '60');
    sendProblem(res, {
      status: 429,
      title: STATUSES[429]!.title,
      detail: `more than ${limit} requests a minute ${per}`,
    });
  };
}

export function createApp({
  config,
  db,
  temporal,
  logger = createLogger(config.LOG_LEVEL, config.LOG_FORMAT),
  searchAttributes = new SearchAttributeGuard(
    temporal.connection,
    config.TEMPORAL_NAMESPACE,
    registersSearchAttributes(config),
  ),
}: AppDeps) {
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
      ...requestLogOptions,
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
  app.use('/codec', routeBase('/codec'), codecServer(auth, config.CODEC_ALLOWED_ORIGINS, codecFor(config)));
  // Signed events are verified over their raw bytes (api/routes/inbound.ts): read as bytes, parsed after.
  app.use('/v1/inbound', express.raw({ type: () => true, limit: '64kb' }));
  app.use(express.json({ limit: '100kb' }));
  // A body of another type is skipped by the JSON parser and would read as no body at all: an action
  // whose fields are all optional would then run on its defaults (a return received as all sellable).
  app.use('/v1', (req, _res, next) => {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !/^\/inbound\//i.test(req.path) && !req.is('application/json'))
      return next(new DomainError('the body must be JSON (Content-Type: application/json)', 415));
    next();
  });
  app.get('/metrics', metrics.handler(config.METRICS_TOKEN));

  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  app.use('/docs', routeBase('/docs'), docsRouter());
  app.use(
    '/console',
    routeBase('/console'),
    consoleRouter({ temporalUiUrl: config.TEMPORAL_UI_URL, namespace: config.TEMPORAL_NAMESPACE }),
  );

  const deps: RouteDeps = {
    config,
    db,
    temporal,
    searchAttributes,
    commands: new OrderCommands(temporal, config, metrics, searchAttributes),
  };
  // Health checks, outside /v1: no token, no rate limit.
  mountRoutes(
    app,
    ROUTES.filter((r) => !r.path.startsWith('/v1/')),
    deps,
  );
  const v1 = express.Router();
  // The open part of /v1 (the order types), before any token is asked for.
  mountRoutes(
    v1,
    ROUTES.filter((r) => r.path.startsWith('/v1/') && !isSecured(r)),
    deps,
    { prefix: '/v1' },
  );
  v1.use(authenticate(auth));
  v1.use(
    rateLimit({
      windowMs: 60_000,
      limit: config.RATE_LIMIT_PER_MINUTE,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      // Per caller (every route past authenticate has one), within its channel as its keys are:
      // a partner's customer `c1` does not spend the web shop's `c1`'s budget.
      keyGenerator: (req) => callerScope(req.principal!),
      handler: tooManyRequests(config.RATE_LIMIT_PER_MINUTE, 'from this caller'),
    }),
  );
  mountRoutes(v1, ROUTES.filter(isSecured), deps, {
    prefix: '/v1',
    // A request holds its key at most as long as it can wait for an order, and a little more.
    idempotency: idempotency(db, {
      ttlMs: config.IDEMPOTENCY_KEY_TTL,
      leaseMs: config.ORDER_ANSWER_TIMEOUT + 30_000,
      digest: keyedDigest(secretKeysOf(config)),
    }),
  });
  app.use('/v1', v1);

  // Not the path itself: it may carry a token (the codec server's) or anything else a client sent.
  app.use((_req, _res, next) => next(new NotFoundError('route')));
  app.use(
    problemMiddleware((err, status) => {
      // Never the error itself: knex writes the statement into its message (db/errors.ts).
      if (!(err instanceof DomainError)) logger.error({ err: describeError(err), status }, 'request failed');
    }),
  );
  return app;
}
