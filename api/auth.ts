/**
 * Bearer JWTs (HS256): `sub` is the user id, `role` one of customer, merchant, support, channel;
 * `channel` names the sales channel a channel's token speaks for (required), or a customer's
 * (the channel's own customers; `web` when absent). A token
 * must expire (`exp`), no later than AUTH_TOKEN_MAX_LIFETIME after it was issued; `iss` and `aud`
 * are checked when AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE are set. The one place tokens are read:
 * the API's routes and the codec server both come through `verifyToken`.
 *
 * A token whose `scope` holds `codec` (space-separated, as OAuth scopes are) answers the codec server alone, never the API's routes: it is the
 * one a Web UI that cannot send headers carries in its codec endpoint's path, where proxies' access
 * logs, browser history and the UI's settings keep it. Only such a token is taken from that path.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import type { AuthSettings } from '../config';
import { DomainError, ForbiddenError } from '../domain/errors';
import { buyerSide, ROLES, type Role } from '../domain/roles';
import { ID_PATTERN, SUBJECT_PATTERN } from '../domain/text';

export interface Principal {
  id: string;
  role: Role;
  /** The sales channel a customer belongs to (`web` by default) or a channel's token speaks for; none for staff. */
  channel?: string;
}

import { DEFAULT_CHANNEL } from '../domain/order';

export { DEFAULT_CHANNEL };

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

// `sub` becomes customer ids, history actors and search attributes: printable, storable, bounded.
const claims = z.object({
  sub: z.string().regex(SUBJECT_PATTERN),
  role: z.enum(ROLES),
  channel: z.string().max(100).regex(ID_PATTERN).optional(),
  exp: z.number().int(),
  iat: z.number().int().optional(),
  // Any scope another issuer writes is taken as it is (space-separated, or a list as some issuers
  // write it); only `codec` in it means something here.
  scope: z.union([z.string().max(1000), z.array(z.string().max(200)).max(100)]).optional(),
});

/**
 * Where a token is presented: the API's routes (a codec token is refused there), the codec server
 * in a header (any staff token), or the codec endpoint's path (a codec token only).
 */
export type TokenUse = 'api' | 'codec' | 'codec-path';

export class UnauthorizedError extends DomainError {
  constructor(message: string) {
    super(message, 401);
  }
}

export function signToken(
  secret: string,
  sub: string,
  role: Role,
  options: {
    expiresIn?: jwt.SignOptions['expiresIn'];
    issuer?: string;
    audience?: string;
    channel?: string;
    /** `codec`: a token for the codec server alone (`TokenUse`). */
    scope?: 'codec';
  } = {},
): string {
  return jwt.sign(
    {
      sub,
      role,
      ...(options.channel ? { channel: options.channel } : {}),
      ...(options.scope ? { scope: options.scope } : {}),
    },
    secretKey(secret),
    {
      algorithm: 'HS256',
      expiresIn: options.expiresIn ?? '1h',
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.audience ? { audience: options.audience } : {}),
    },
  );
}

/**
 * The secret as a key, made once per secret: given a string, jsonwebtoken first tries to parse it
 * as a public key on every call, and that failing parse was a tenth of the API's CPU
 * (docs/BENCHMARKS.md, tuning 5), and a quarter of the benchmark driver's, which signs a token per
 * call (tuning 7). The service has one secret and up to four earlier ones (a test may start a few).
 */
const secretKeys = new Map<string, KeyObject>();
function secretKey(secret: string): KeyObject {
  let key = secretKeys.get(secret);
  if (!key) {
    if (secretKeys.size >= 16) secretKeys.clear();
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    secretKeys.set(secret, key);
  }
  return key;
}

/** The principal a token names, or an UnauthorizedError that says why in general terms only. */
export function verifyToken(token: string, settings: AuthSettings, use: TokenUse = 'api'): Principal {
  let decoded: unknown;
  // The current secret first; an earlier one only when the signature is what failed (rotation).
  for (const secret of [settings.secret, ...(settings.previousSecrets ?? [])]) {
    try {
      decoded = jwt.verify(token, secretKey(secret), {
        algorithms: ['HS256'],
        ...(settings.issuer ? { issuer: settings.issuer } : {}),
        ...(settings.audience ? { audience: settings.audience } : {}),
      });
      break;
    } catch (err) {
      if ((err as Error).message !== 'invalid signature') break;
    }
  }
  if (decoded === undefined) throw new UnauthorizedError('the token is invalid or expired');
  const parsed = claims.safeParse(decoded);
  if (!parsed.success) throw new UnauthorizedError('the token lacks a valid sub, role or exp');
  const { sub, role, channel, exp, iat } = parsed.data;
  const { scope } = parsed.data;
  const codecOnly = (typeof scope === 'string' ? scope.split(' ') : (scope ?? [])).includes('codec');
  if (use === 'api' && codecOnly) throw new UnauthorizedError('a codec token answers the codec server only');
  if (use === 'codec-path' && !codecOnly)
    throw new UnauthorizedError("only a codec token (scope codec) may be given in the codec endpoint's path");
  const now = Math.floor(Date.now() / 1000);
  // From its issue and from now: an `iat` in the future does not stretch it.
  if ((exp - Math.min(iat ?? now, now)) * 1000 > settings.maxLifetimeMs)
    throw new UnauthorizedError('the token lives longer than this service accepts');
  if (role === 'channel' && !channel) throw new UnauthorizedError('a channel token must name its channel');
  if (buyerSide(role)) return { id: sub, role, channel: channel ?? DEFAULT_CHANNEL };
  return { id: sub, role };
}

/** The token of an `Authorization: Bearer` header, or undefined. */
export function bearerToken(req: Request): string | undefined {
  return /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(req.headers.authorization ?? '')?.[1];
}

export function authenticate(settings: AuthSettings) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const token = bearerToken(req);
    if (!token) return next(new UnauthorizedError('a bearer token is required'));
    try {
      req.principal = verifyToken(token, settings);
      next();
    } catch (err) {
      next(err);
    }
  };
}

export function requireRole(...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const role = req.principal?.role;
    if (!role || !roles.includes(role))
      return next(new ForbiddenError(`this requires the role ${roles.join(' or ')}`));
    next();
  };
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new UnauthorizedError('a bearer token is required');
  return req.principal;
}
