/** A small client of the order API for scripts (chaos run, benchmarks): tokens, JSON, retries through outages. */
import http from 'node:http';
import https from 'node:https';
import { signToken } from '../api/auth';
import type { Role } from '../domain/roles';

export interface Caller {
  role: Role;
  id: string;
}

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly secret: string,
  ) {}

  async call(
    method: string,
    path: string,
    as: Caller | null,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const url = new URL(`${this.baseUrl}${path}`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const transport = url.protocol === 'https:' ? https : http;
    // node:http with kept-alive sockets rather than fetch: the benchmark's driver shares the CPU
    // with the stack it measures, and fetch cost it about a third more per call.
    return new Promise<Reply>((resolve, reject) => {
      const settle =
        <T>(done: (value: T) => void) =>
        (value: T) => {
          clearTimeout(limit);
          done(value);
        };
      const req = transport.request(
        url,
        {
          method,
          agent: url.protocol === 'https:' ? httpsAgent : httpAgent,
          headers: {
            ...headers,
            ...(as ? { authorization: `Bearer ${signToken(this.secret, as.id, as.role)}` } : {}),
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', settle(reject));
          res.on('end', () => {
            try {
              const text = Buffer.concat(chunks).toString('utf8');
              settle(resolve)({ status: res.statusCode!, body: text ? JSON.parse(text) : null });
            } catch (err) {
              settle(reject)(err);
            }
          });
        },
      );
      // The whole call, as fetch's abort signal was: not only a silent socket.
      const limit = setTimeout(
        () => req.destroy(new Error(`${method} ${url.pathname} took over 60 s`)),
        60_000,
      );
      req.on('error', settle(reject));
      req.end(payload);
    });
  }

  /**
   * The same call until it is answered by something other than an outage (503, 502, 429, a
   * refused connection or a timeout), at most `withinMs`. Writes should carry an Idempotency-Key.
   */
  async callThroughOutages(
    method: string,
    path: string,
    as: Caller | null,
    body?: unknown,
    headers?: Record<string, string>,
    withinMs = 120_000,
  ): Promise<Reply & { retries: number }> {
    const deadline = Date.now() + withinMs;
    for (let retries = 0; ; retries++) {
      try {
        const reply = await this.call(method, path, as, body, headers);
        if (![502, 503, 429].includes(reply.status) || Date.now() > deadline) return { ...reply, retries };
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(retries, 5))));
    }
  }
}
