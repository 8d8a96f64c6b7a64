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

  /** Times every request, labelled by its route pattern (not the raw path, which would explode the series). */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.latency.startTimer();
      res.on('finish', () => {
        const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
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
