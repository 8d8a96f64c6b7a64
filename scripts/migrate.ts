/** Applies the knex migrations to DATABASE_URL (the Compose stack's one-shot `migrate` service). */
import { loadConfigOrExit } from '../config';
import { describeError } from '../db/errors';
import { createDb, migrate } from '../db/knex';

async function main() {
  const config = loadConfigOrExit();
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is not set');
  const db = createDb(config.DATABASE_URL, { pool: { min: 0, max: 1 }, queryTimeoutMs: 0 });
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
