/**
 * What an error from PostgreSQL (through knex and pg) means, and how to speak of it without
 * repeating it: knex writes the failing statement into the message, and PostgreSQL's own
 * messages can quote the data. Logs, failure messages and responses get `describeError`, never
 * the error's own message.
 */
import { storable } from '../domain/text';

/** The SQLSTATE of a PostgreSQL error, or undefined for anything else. */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; severity?: unknown } | null;
  return typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string'
    ? e.code
    : undefined;
}

/**
 * Data PostgreSQL refused, which no retry can fix: class 22 (data exception: NUL, bad encoding,
 * out of range) and the integrity violations a bad value causes (NOT NULL, CHECK). Unique and
 * foreign-key violations are left out: a concurrent writer can cause those, and a retry may pass.
 */
export function isDataError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && (state.startsWith('22') || state === '23502' || state === '23514');
}

/** An outage met somewhere else (another thread) and said again here, in its safe words. */
export class DatabaseUnavailable extends Error {
  override name = 'DatabaseUnavailable';
}

/**
 * The database is away, overloaded or too slow (a statement timeout): class 08 (connection), 53
 * (insufficient resources), 57 (operator intervention, query cancelled), and the driver's own
 * timeouts and broken connections.
 */
export function isDatabaseOutage(err: unknown): boolean {
  if (err instanceof DatabaseUnavailable) return true;
  const state = sqlState(err);
  if (state) return /^(08|53|57)/.test(state);
  const e = err as { name?: string; code?: string; message?: string } | null;
  return (
    e?.name === 'KnexTimeoutError' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(e?.code ?? '') ||
    /Connection terminated|connect ECONNREFUSED|Timeout acquiring a connection|Query read timeout|timeout exceeded when trying to connect/.test(
      e?.message ?? '',
    )
  );
}

/**
 * A safe account of an error for a log line or a failure message: a database error by its
 * SQLSTATE only (no statement, no values); anything else by its name and message, made storable
 * and cut short. The stack keeps its frames under that first line.
 */
export function describeError(err: unknown): {
  name: string;
  message: string;
  code?: string;
  stack?: string;
} {
  const e = (err ?? {}) as { name?: unknown; message?: unknown; stack?: unknown };
  const name = typeof e.name === 'string' ? storable(e.name).slice(0, 100) : 'Error';
  const state = sqlState(err);
  const message = state
    ? `database error (SQLSTATE ${state})`
    : storable(typeof e.message === 'string' ? e.message : String(err)).slice(0, 500);
  const frames =
    typeof e.stack === 'string'
      ? e.stack
          .split('\n')
          .filter((line) => /^\s+at /.test(line))
          .join('\n')
      : '';
  return {
    name,
    message,
    ...(state ? { code: state } : {}),
    ...(frames ? { stack: `${name}: ${message}\n${frames}` } : {}),
  };
}
