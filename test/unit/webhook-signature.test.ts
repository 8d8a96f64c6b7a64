/** The webhook signature scheme (codec/webhook-signature.ts): what verifies, and every way it does not. */
import { signature, signatureProblem } from '../../codec/webhook-signature';

const secret = 'whsec_test_secret';
const body = Buffer.from('{"id":"evt_1","type":"payment_intent.succeeded"}');
const now = Date.parse('2026-11-27T12:00:00Z');
const check = (header: string | undefined, raw = body, at = now) =>
  signatureProblem(secret, header, raw, { now: at, toleranceMs: 300_000 });

test('a signature of the raw body with the secret, within the window, verifies', () => {
  expect(check(signature(secret, body, now))).toBeNull();
  expect(check(signature(secret, body, now - 299_000))).toBeNull();
});

test('a changed body, another secret, an old or future timestamp, or a mangled header does not', () => {
  expect(check(signature(secret, body, now), Buffer.from(`${body} `))).toBe('mismatch');
  expect(check(signature('another', body, now))).toBe('mismatch');
  expect(check(signature(secret, body, now - 301_000))).toBe('expired');
  expect(check(signature(secret, body, now + 301_000))).toBe('expired');
  expect(check(undefined)).toBe('missing');
  expect(check('t=abc,v1=00')).toBe('malformed');
  expect(check(`t=${now / 1000},v1=${'0'.repeat(63)}`)).toBe('malformed');
  // The timestamp is signed: moving it to pass the window breaks the signature.
  const [, mac] = signature(secret, body, now - 600_000).split(',');
  expect(check(`t=${Math.floor(now / 1000)},${mac}`)).toBe('mismatch');
});
