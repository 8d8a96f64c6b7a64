/**
 * Where a webhook may be sent: public addresses only, unless private ones are allowed
 * (WEBHOOK_ALLOW_PRIVATE, for tests and the dev stack). Checked when a subscription is made and
 * again, on the address actually connected to, at every delivery, so a name that later resolves
 * to an inside address (DNS rebinding) reaches nothing inside.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const inside = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  inside.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 96], // unspecified, and IPv4-compatible (::a.b.c.d, deprecated: embeds IPv4)
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed inside some networks)
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64 (embeds IPv4)
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo (embeds IPv4)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4 (embeds IPv4)
] as const)
  inside.addSubnet(net, bits, 'ipv6');

/** Whether an address is loopback, private, link-local or otherwise not on the public internet. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return inside.check(address, 'ipv4');
  if (family !== 6) return true;
  // IPv4-mapped (::ffff:10.0.0.1) is judged as the IPv4 address it is.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return inside.check(mapped[1]!, 'ipv4');
  return inside.check(address, 'ipv6');
}

export type UrlProblem = 'scheme' | 'credentials' | 'unresolvable' | 'private';

/** The name could not be looked up now (the resolver is away or slow): an outage, not the caller's URL. */
export class NameLookupUnavailable extends Error {
  override name = 'NameLookupUnavailable';
}

/** Answers that say the name does not exist; anything else (EAI_AGAIN, SERVFAIL, a timeout) is the resolver's trouble. */
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

type Lookup = (host: string) => Promise<{ address: string }[]>;
const systemLookup: Lookup = (host) => lookup(host, { all: true, verbatim: true });

/** Why a subscriber URL is refused, or null: http(s), no credentials, and every address it resolves to allowed. */
export async function urlProblem(
  text: string,
  options: { allowPrivate: boolean; timeoutMs?: number; lookup?: Lookup },
): Promise<UrlProblem | null> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'scheme';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'scheme';
  if (url.username || url.password) return 'credentials';
  if (options.allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host)
      ? [host]
      : (
          await Promise.race([
            (options.lookup ?? systemLookup)(host),
            new Promise<never>((_, reject) =>
              setTimeout(() => reject(new Error('timeout')), options.timeoutMs ?? 3000).unref(),
            ),
          ])
        ).map((a) => a.address);
  } catch (err) {
    // A name that does not exist is the caller's to mend (422); a resolver that did not answer is an outage (503).
    if (NO_SUCH_NAME.has((err as { code?: string }).code ?? '')) return 'unresolvable';
    throw new NameLookupUnavailable('the subscriber’s host name could not be looked up now');
  }
  if (addresses.length === 0) return 'unresolvable';
  return addresses.some(isPrivateAddress) ? 'private' : null;
}
