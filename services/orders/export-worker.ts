/**
 * The export's worker thread (./export-thread.ts): its own connection, one batch of
 * ./export-orders.ts at a time, each handed over as bytes and then waited for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, isDatabaseOutage } from '../../db/errors';
import { createDb } from '../../db/knex';
import { exportOrders } from './export-orders';
import type { ExportJob, ExportMessage } from './export-thread';

async function run(job: ExportJob, port: NonNullable<typeof parentPort>): Promise<void> {
  const send = (m: ExportMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  const taken = () => new Promise<void>((r) => port.once('message', () => r()));
  const db = createDb(job.databaseUrl, { pool: { min: 0, max: 1 }, queryTimeoutMs: job.queryTimeoutMs });
  try {
    // A line export's batch holds up to 100 lines an order: fewer orders, so two batches still fit the heap.
    const batch = job.rows === 'line' ? 200 : 1000;
    for await (const text of exportOrders(db, job.filters, job.rows, batch)) {
      const chunk = new TextEncoder().encode(text);
      send({ chunk }, [chunk.buffer as ArrayBuffer]);
      await taken();
    }
    send({ done: true });
  } catch (err) {
    const { name, message } = describeError(err);
    send({ failed: { outage: isDatabaseOutage(err), name, message } });
  } finally {
    await db.destroy();
  }
}

if (parentPort) void run(workerData as ExportJob, parentPort);
