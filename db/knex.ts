import knex, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from '../migrations';

// bigint columns hold minor units well inside Number.MAX_SAFE_INTEGER: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Db = Knex;

export function createDb(url: string, pool = { min: 0, max: 10 }): Db {
  return knex({ client: 'pg', connection: url, pool, acquireConnectionTimeout: 10_000 });
}

export async function migrate(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}
