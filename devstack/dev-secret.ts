/**
 * The token secret of `npm start` when AUTH_JWT_SECRET is not set: made once per data directory
 * (random, mode 0600) and kept there, so the printed tokens outlive a restart. Only for
 * development on loopback: anywhere else, a missing secret stops the start.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export class NoSecretError extends Error {}

export function developmentSecret(
  config: Pick<Config, 'AUTH_JWT_SECRET' | 'NODE_ENV' | 'API_HOST' | 'DATA_DIR'>,
): string {
  if (config.AUTH_JWT_SECRET) return config.AUTH_JWT_SECRET;
  if (config.NODE_ENV !== 'development' || !LOOPBACK.has(config.API_HOST))
    throw new NoSecretError(
      'AUTH_JWT_SECRET is not set: a secret is made up only for development on loopback (NODE_ENV=development, API_HOST=127.0.0.1)',
    );
  const file = path.join(config.DATA_DIR, 'dev-jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}
