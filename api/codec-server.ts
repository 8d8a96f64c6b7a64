/**
 * The codec server the Web UI (and `temporal --codec-endpoint`) calls to show encrypted payloads
 * in clear: POST /codec/decode and /codec/encode, in the Temporal remote-codec JSON format.
 *
 * It answers support and merchant staff only, always: a bearer token in the Authorization header,
 * or, for a Web UI that cannot send headers (the dev server's has no login), in the endpoint's
 * path (`/codec/<token>/decode`; the remote-codec protocol looks only at the last segment, and the
 * request log never shows the segment). A path's token must be a codec token (api/auth.ts), good
 * for nothing else: what logs of the path keep cannot act on orders. Browsers get CORS answers only on the origins listed in
 * CODEC_ALLOWED_ORIGINS, and no cookies are ever involved.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import express, { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { AuthSettings } from '../config';
import { DomainError, ForbiddenError } from '../domain/errors';
import { bearerToken, UnauthorizedError, verifyToken } from './auth';
import { route } from './problem';

const base64 = z
  .string()
  .max(4_000_000)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const payloadsBody = z
  .object({
    payloads: z
      .array(
        z
          .object({
            metadata: z.record(z.string().max(200), base64.max(10_000)).optional(),
            data: base64.optional(),
          })
          .strict(),
      )
      .max(1000),
  })
  .strict();
type JsonPayload = z.infer<typeof payloadsBody>['payloads'][number];

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

/**
 * `/codec/<token>/decode` as the request log shows it. Whatever follows the token, in any case
 * (Express routes `/Codec/<token>/DECODE` too), and in a request line's absolute form
 * (`http://host/codec/...`): a path that no route serves is logged as well.
 */
export function withoutCodecToken(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)?\/+codec\/+[^/?#]+/i, '$1/codec/[token]');
}

export function codecServer(
  auth: AuthSettings,
  allowedOrigins: string | undefined,
  codec: PayloadCodec | undefined,
): Router {
  const origins = new Set(
    (allowedOrigins ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

  const router = Router();
  router.use((req, res, next) => {
    const origin = req.header('origin');
    if (origin && origins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.setHeader('Vary', 'Origin');
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next();
  });
  // Histories can be large: a limit of its own, above the API's, so a body is read only once its
  // caller is known to be staff (authorised below, before it).
  const json = express.json({ limit: '8mb' });

  const authorise = (req: Request, pathToken: string | undefined) => {
    const token = pathToken ?? bearerToken(req);
    if (!token) throw new UnauthorizedError('a support or merchant bearer token is required');
    const { role } = verifyToken(token, auth, pathToken === undefined ? 'codec' : 'codec-path');
    if (role !== 'support' && role !== 'merchant')
      throw new ForbiddenError('only support and merchant staff may use the codec server');
  };

  const authorised: RequestHandler = (req, _res, next) => {
    try {
      authorise(req, req.params.token);
      next();
    } catch (err) {
      next(err);
    }
  };

  for (const direction of ['encode', 'decode'] as const) {
    const handler = route(async (req, res) => {
      const { payloads } = payloadsBody.parse(req.body ?? {});
      let converted: Payload[];
      try {
        converted = codec ? await codec[direction](payloads.map(fromJson)) : payloads.map(fromJson);
      } catch {
        // A wrong key id, a tampered or truncated payload: the caller's data, not our outage.
        throw new DomainError(`a payload could not be ${direction}d`, 400);
      }
      res.json({ payloads: converted.map(toJson) });
    });
    router.post(`/${direction}`, authorised, json, handler);
    router.post(`/:token/${direction}`, authorised, json, handler);
  }
  return router;
}
