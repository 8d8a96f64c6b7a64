/**
 * Signed webhooks, one scheme for every direction (a provider's events in, the service's events
 * out): the header `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one secret per
 * source, and a tolerance window against replays. Verify the raw bytes first; parse JSON only
 * after. Shared with the sandboxes, which sign what they send as a real provider would.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-signature';

export function signature(secret: string, rawBody: string | Buffer, at: number): string {
  const t = Math.floor(at / 1000);
  const mac = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest('hex');
  return `t=${t},v1=${mac}`;
}

export type SignatureProblem = 'missing' | 'malformed' | 'expired' | 'mismatch';

/** Null when `header` signs `rawBody` with `secret` within `toleranceMs` of `now`; else what is wrong. */
export function signatureProblem(
  secret: string,
  header: string | undefined,
  rawBody: Buffer,
  options: { now: number; toleranceMs: number },
): SignatureProblem | null {
  if (!header) return 'missing';
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isSafeInteger(t) || !/^[0-9a-f]{64}$/.test(given)) return 'malformed';
  if (Math.abs(options.now - t * 1000) > options.toleranceMs) return 'expired';
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex')) ? null : 'mismatch';
}
