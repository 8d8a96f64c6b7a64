/**
 * Run by test/api/dev-stack-safety.test.ts in a process of its own (jest gives a test a copy of the
 * environment, which child processes never see): starts PostgreSQL and a Temporal dev server the
 * way the stack does, and prints each one's environment as it was handed over.
 */
import { readFileSync } from 'node:fs';
import { startEmbeddedPostgres } from '../../devstack/postgres';
import { findTemporalCli, startTemporalDevServer } from '../../devstack/temporal';
import { freePort } from '../../devstack/wait';

const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);

// What to stop, newest first: on the way out, and on the SIGTERM of a test that gave up waiting.
const stops: (() => Promise<void>)[] = [];
const stopAll = async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
};
process.once('SIGTERM', () => void stopAll().finally(() => process.exit(1)));

async function main() {
  const postgres = await startEmbeddedPostgres({ dataDir: process.argv[2]!, port: await freePort() });
  stops.push(() => postgres.stop());
  const temporal = await startTemporalDevServer({
    cli: findTemporalCli(process.env.TEMPORAL_CLI_PATH)!,
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
    headless: true,
  });
  stops.push(() => temporal.stop());
  const seen = { postgres: environ(postgres.process.pid!), temporal: environ(temporal.process.pid!) };
  process.stdout.write(JSON.stringify(seen));
}

main()
  .catch((err) => {
    process.stderr.write(String(err?.stack ?? err));
    process.exitCode = 1;
  })
  .finally(stopAll);
