/**
 * One webhook POST: to the address the name resolves to now, refused when that address is inside
 * (unless allowed), within a time limit. The outcome names what went wrong in a few words (a
 * status, `timeout`, `connection refused`); never the subscriber's body, which is not ours to keep.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isPrivateAddress } from './addresses';

export type SendOutcome = { ok: true; status: number } | { ok: false; error: string };

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** dns.lookup, refusing inside addresses: the check is on the address the socket connects to. */
function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const allowed = allowPrivate ? addresses : addresses.filter((a) => !isPrivateAddress(a.address));
      if (allowed.length === 0) {
        const refused = Object.assign(new Error('inside address'), { code: 'EPRIVATE' });
        return callback(refused, []);
      }
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

const described: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'name not resolved',
  EAI_AGAIN: 'name not resolved',
  EPRIVATE: 'address not allowed',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'host unreachable',
};

export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { allowPrivate: boolean; timeoutMs: number },
): Promise<SendOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const done = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      resolve(outcome);
    };
    const target = new URL(url);
    // A literal inside address never goes through a lookup: judged here.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowPrivate && /^[\d.]+$|:/.test(literal) && isPrivateAddress(literal))
      return done({ ok: false, error: 'address not allowed' });
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
        lookup: guardedLookup(options.allowPrivate) as never,
        // A connection of its own: a pooled one would skip the address check.
        agent: false,
      },
      (res) => {
        res.resume(); // the answer's body is not kept
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          done(
            status >= 200 && status < 300 ? { ok: true, status } : { ok: false, error: `status ${status}` },
          );
        });
        res.on('error', () => done({ ok: false, error: 'connection reset' }));
      },
    );
    timers.push(
      setTimeout(() => {
        done({ ok: false, error: 'timeout' });
        req.destroy();
      }, options.timeoutMs),
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      done({ ok: false, error: described[err.code ?? ''] ?? 'network error' }),
    );
    req.end(body);
  });
}
