/** Bearer JWTs (HS256): `sub` is the user id, `role` one of customer, merchant, support. */
import type { NextFunction, Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { DomainError, ForbiddenError } from '../domain/errors';
import { ROLES, type Role } from '../domain/roles';

export interface Principal {
  id: string;
  role: Role;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

const claims = z.object({ sub: z.string().min(1).max(200), role: z.enum(ROLES) });

export class UnauthorizedError extends DomainError {
  constructor(message: string) {
    super(message, 401);
  }
}

export function signToken(
  secret: string,
  sub: string,
  role: Role,
  expiresIn: jwt.SignOptions['expiresIn'] = '30d',
): string {
  return jwt.sign({ sub, role }, secret, { algorithm: 'HS256', expiresIn });
}

export function authenticate(secret: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    if (!match) return next(new UnauthorizedError('a bearer token is required'));
    try {
      const decoded = jwt.verify(match[1]!, secret, { algorithms: ['HS256'] });
      const parsed = claims.safeParse(decoded);
      if (!parsed.success) return next(new UnauthorizedError('the token lacks a valid sub or role'));
      req.principal = { id: parsed.data.sub, role: parsed.data.role };
      next();
    } catch {
      next(new UnauthorizedError('the token is invalid or expired'));
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
