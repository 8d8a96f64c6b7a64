import knex, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from '../migrations';
import { markStatementErrors } from './errors';

// bigint columns hold minor units well inside Number.MAX_SAFE_INTEGER: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Db = Knex;

export interface DbOptions {
  pool?: { min: number; max: number };
  /**
   * DATABASE_QUERY_TIMEOUT: PostgreSQL cancels a statement that runs longer (statement_timeout),
   * and the driver stops waiting a little after, for a server that no longer answers at all; a
   * connection attempt gets as long. 0 turns it off (migrations, which may build an index).
   */
  queryTimeoutMs?: number;
  /**
   * A statement waiting longer than this for a lock fails (lock_timeout): a migration queued behind
   * a long read would otherwise hold every order's reads and writes queued behind it.
   */
  lockTimeoutMs?: number;
}

/**
 * knex's own warnings, without a failed migration's statement (knex quotes the error's message,
 * which names it): the error itself is thrown to whoever migrates, who describes it without it.
 */
export const knexLog = {
  warn: (message: string) =>
    console.warn(/failed with error:/.test(message) ? message.replace(/ with error:[\s\S]*$/, '') : message),
};

export function createDb(
  url: string,
  { pool = { min: 0, max: 10 }, queryTimeoutMs = 10_000, lockTimeoutMs }: DbOptions = {},
): Db {
  const timeouts =
    queryTimeoutMs > 0
      ? {
          statement_timeout: queryTimeoutMs,
          query_timeout: queryTimeoutMs + 1000,
          connectionTimeoutMillis: queryTimeoutMs,
        }
      : {};
  const db = knex({
    client: 'pg',
    connection: {
      connectionString: url,
      ...timeouts,
      ...(lockTimeoutMs ? { lock_timeout: lockTimeoutMs } : {}),
    },
    pool,
    acquireConnectionTimeout: Math.max(queryTimeoutMs, 10_000),
    // A failing statement's error names the statement, never its values (tokens, addresses).
    compileSqlOnError: false,
    log: knexLog,
  });
  // Even without values, a statement is not for a log line: `describeError` leaves marked ones out.
  markStatementErrors(db);
  return db;
}

/** How long a migration's statement waits for a lock before the migration fails (and is run again). */
export const MIGRATION_LOCK_TIMEOUT_MS = 10_000;

export async function migrate(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}
