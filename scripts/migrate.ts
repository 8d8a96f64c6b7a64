/** Applies the knex migrations to DATABASE_URL (the Compose stack's one-shot `migrate` service). */
import { loadConfigOrExit } from '../config';
import { describeError } from '../db/errors';
import { createDb, migrate, MIGRATION_LOCK_TIMEOUT_MS } from '../db/knex';

async function main() {
  const config = loadConfigOrExit();
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is not set');
  // No statement timeout (an index may take long to build), but no waiting behind a lock for ever:
  // the live service's statements would queue behind the migration's. It fails, and is run again.
  const db = createDb(config.DATABASE_URL, {
    pool: { min: 0, max: 1 },
    queryTimeoutMs: 0,
    lockTimeoutMs: MIGRATION_LOCK_TIMEOUT_MS,
  });
  try {
    const applied = await migrate(db);
    console.log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  // Described, never printed whole: a failed migration's error names its statement.
  console.error(describeError(err).stack ?? describeError(err).message);
  process.exit(1);
});
