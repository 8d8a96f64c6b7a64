/** A small client of the order API for scripts (chaos run, benchmarks): tokens, JSON, retries through outages. */
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
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...headers,
        ...(as ? { authorization: `Bearer ${signToken(this.secret, as.id, as.role)}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
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
