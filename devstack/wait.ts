import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Every port freePort has given this process. */
const handedOut = new Set<number>();

/**
 * A free TCP port on loopback, for tests that run beside a developer's `npm start`, and for a
 * server started soon after. Chosen below the kernel's ephemeral
 * range: a port from that range (what listening on 0 gives) can be taken, before our server binds
 * it, as the source port of any outgoing connection (a database or gRPC client starting meanwhile).
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  const from = Math.max(10_000, low - 12_000);
  for (let i = 0; i < 100; i++) {
    const port = from + Math.floor(Math.random() * (low - from));
    // A port is free until its server binds it: never handed out twice (the stack's API and a
    // cluster service chosen a minute apart once drew the same one).
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port found below the ephemeral range');
}

/** The first port of the kernel's ephemeral range (Linux), or the IANA one elsewhere. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 11_000) return low;
  } catch {
    // not Linux
  }
  return 49_152;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Polls `check` until it answers true, at most `timeoutMs`; bounded, so a broken start fails clearly. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
  everyMs = 250,
  /** Throws when waiting longer is pointless (a process it waits for has exited): the wait ends with that. */
  giveUpIf?: () => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    giveUpIf?.();
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `${what} did not become ready within ${timeoutMs / 1000}s${lastError ? `: ${String(lastError)}` : ''}`,
  );
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
