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
    // A host that cannot be found or reached (a container restarting, its name not yet back).
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
    ].includes(e?.code ?? '') ||
    // The driver's words for a connection lost or never made: also what a transaction's ROLLBACK
    // says on a connection that broke under it (it replaces the first error).
    /Connection terminated|connect ECONNREFUSED|Timeout acquiring a connection|Query read timeout|timeout exceeded when trying to connect|timeout expired|connection error and is not queryable/.test(
      e?.message ?? '',
    )
  );
}

/**
 * Marks an error a statement met. knex writes the statement in front of every such error's
 * message, the driver's own too (a broken connection, a read timeout), which have no SQLSTATE.
 */
const FROM_STATEMENT = Symbol('statement error');

/** Every error this database's statements meet is marked, its transactions' included. */
export function markStatementErrors(db: {
  on(event: 'query-error', listener: (err: unknown) => void): unknown;
}) {
  db.on('query-error', (err) => {
    if (err && typeof err === 'object') (err as { [FROM_STATEMENT]?: true })[FROM_STATEMENT] = true;
  });
}

/** What a statement's error without a SQLSTATE may say: the driver's code, never its message. */
function statementErrorText(err: unknown): string | undefined {
  if (!(err && typeof err === 'object' && FROM_STATEMENT in err)) return undefined;
  const code = (err as { code?: unknown }).code;
  const kind = isDatabaseOutage(err) ? 'database unavailable' : 'database error';
  return typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code) ? `${kind} (${code})` : kind;
}

/**
 * A safe account of an error for a log line or a failure message: a database error by its
 * SQLSTATE only, or the driver's code (no statement, no values); anything else by its name and
 * message, made storable and cut short. The stack keeps its frames under that first line.
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
    : (statementErrorText(err) ??
      storable(typeof e.message === 'string' ? e.message : String(err)).slice(0, 500));
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
