/**
 * Prometheus metrics of the API (`GET /metrics`): process metrics, request latency by route and
 * status, and orders placed. The worker exports the SDK's own metrics (WORKER_METRICS_PORT).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendProblem } from './problem';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly latency = new Histogram({
    name: 'orders_api_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly ordersPlaced = new Counter({
    name: 'orders_placed_total',
    help: 'Orders placed (201)',
    labelNames: ['type'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Times every request, labelled by its route's template as declared (`routeLabel`, `routeBase`),
   * never by what the request says: not the raw path, which would explode the series, nor Express's
   * `baseUrl`, which keeps the client's capitals (`/V1/...`) and is reset to nothing when an error
   * leaves a router, so a route's 4xx and 5xx would be counted under another name than its 2xx.
   */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.latency.startTimer();
      res.on('finish', () => {
        const route: string =
          res.locals.route ??
          (req.route?.path ? `${res.locals.routeBase ?? ''}${req.route.path}` : 'unmatched');
        end({ method: req.method, route, status: String(res.statusCode) });
      });
      next();
    };
  }

  /** With a token, only a scraper that presents it reads the metrics (routes and volumes are business data). */
  handler(token?: string): RequestHandler {
    const digest = (text: string) => createHash('sha256').update(text).digest();
    const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
    return async (req, res) => {
      // Digests of equal length, so the comparison takes the same time whatever was sent.
      if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return sendProblem(res, {
          status: 401,
          title: 'Unauthorized',
          detail: 'the metrics token is missing or wrong',
        });
      }
      res.type(this.registry.contentType).send(await this.registry.metrics());
    };
  }
}

/** Names the route a request matched, as its template (`/v1/orders/:id`), for the metrics. */
export const routeLabel =
  (template: string): RequestHandler =>
  (_req, res, next) => {
    res.locals.route = template;
    next();
  };

/** Names where a router is mounted (`/codec`), for the metrics of the routes it declares itself. */
export const routeBase =
  (base: string): RequestHandler =>
  (_req, res, next) => {
    res.locals.routeBase = base;
    next();
  };
