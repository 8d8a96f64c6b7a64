/**
 * The codec server the Web UI (and `temporal --codec-endpoint`) calls to show encrypted payloads
 * in clear: POST /codec/decode and /codec/encode, in the Temporal remote-codec JSON format.
 * Only support and merchant tokens may use it, or, in development, a browser on a configured UI
 * origin (CODEC_ALLOWED_ORIGINS: the dev server's UI, which has no login).
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Router, type Request } from 'express';
import jwt from 'jsonwebtoken';
import type { Config } from '../config';
import { DomainError, ForbiddenError } from '../domain/errors';
import { route } from './problem';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export function codecServer(config: Config, codec: PayloadCodec | undefined): Router {
  const origins = new Set(
    (config.CODEC_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const originAllowed = (origin: string | undefined) =>
    !!origin && origins.has(origin) && config.NODE_ENV !== 'production';

  const router = Router();
  router.use((req, res, next) => {
    const origin = req.header('origin');
    if (origin && (originAllowed(origin) || origins.size > 0)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next();
  });

  const authorise = (req: Request) => {
    const token = /^Bearer (.+)$/i.exec(req.header('authorization') ?? '')?.[1];
    if (token) {
      try {
        const claims = jwt.verify(token, config.AUTH_JWT_SECRET, { algorithms: ['HS256'] }) as {
          role?: string;
        };
        if (claims.role === 'support' || claims.role === 'merchant') return;
        throw new ForbiddenError('only support and merchant staff may decode payloads');
      } catch (err) {
        if (err instanceof DomainError) throw err;
        throw new DomainError('the token is invalid or expired', 401);
      }
    }
    if (originAllowed(req.header('origin'))) return;
    throw new DomainError('a support or merchant bearer token is required', 401);
  };

  for (const direction of ['encode', 'decode'] as const) {
    router.post(
      `/${direction}`,
      route(async (req, res) => {
        authorise(req);
        const payloads = (req.body?.payloads ?? []) as JsonPayload[];
        if (!Array.isArray(payloads)) throw new DomainError('payloads must be an array', 400);
        const converted = codec ? await codec[direction](payloads.map(fromJson)) : payloads.map(fromJson);
        res.json({ payloads: converted.map(toJson) });
      }),
    );
  }
  return router;
}
