/**
 * A CSV export run in a worker thread of its own, with a small heap (./export-worker.ts runs
 * ./export-orders.ts there). An export makes a great deal of short-lived garbage; in the API's
 * heap, V8 would let that heap grow by a hundred megabytes or more before collecting it, and
 * keep the pages. In a thread capped at a few tens of megabytes it is collected as it goes, and
 * the memory goes back when the thread ends. The thread reads a batch ahead at most, and waits
 * while two are queued here: a slow client holds two batches, not the whole list.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DatabaseUnavailable } from '../../db/errors';
import { DomainError } from '../../domain/errors';
import type { ExportRows } from './export-orders';
import type { OrderFilters, OrderSort } from './list-orders';

export interface ExportJob {
  databaseUrl: string;
  queryTimeoutMs: number;
  filters: OrderFilters & { sort?: OrderSort };
  rows: ExportRows;
}

/** What the thread says: a chunk of CSV, the end, or why it stopped (never a driver's message). */
export type ExportMessage =
  { chunk: Uint8Array } | { done: true } | { failed: { outage: boolean; name: string; message: string } };

// Beside this file, compiled or not (tsx runs the .ts one; dist/ holds the .js one).
const WORKER = path.join(__dirname, `export-worker${path.extname(__filename)}`);

/** Heap limits of the export's thread, in MB: ample for a batch, small enough to stay flat. */
const LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 };

/** Exports at once per API process: each holds a thread and a connection of its own for as long as its client reads. */
export const MAX_EXPORTS = 2;
let running = 0;

/** The export's chunks; a 429 at once when MAX_EXPORTS are running already. */
export function exportInThread(job: ExportJob): AsyncGenerator<Uint8Array> {
  if (running >= MAX_EXPORTS)
    throw new DomainError(`${MAX_EXPORTS} exports are running: try again when one has finished`, 429);
  running++;
  return counted(job);
}

async function* counted(job: ExportJob): AsyncGenerator<Uint8Array> {
  try {
    yield* threaded(job);
  } finally {
    running--;
  }
}

async function* threaded(job: ExportJob): AsyncGenerator<Uint8Array> {
  // Under tsx (npm start, the tests) the thread registers tsx itself: its loader hooks do not reach threads.
  const worker = WORKER.endsWith('.ts')
    ? new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(WORKER)});`, {
        eval: true,
        workerData: job,
        resourceLimits: LIMITS,
      })
    : new Worker(WORKER, { workerData: job, resourceLimits: LIMITS });
  const inbox: ExportMessage[] = [];
  let wake: (() => void) | undefined;
  let broken: Error | undefined;
  const arrive = () => {
    wake?.();
    wake = undefined;
  };
  // The thread reads the next batch while this one is written, never more than two ahead.
  let owed = 0;
  const ask = () => {
    if (inbox.length < 2) worker.postMessage('next');
    else owed++;
  };
  worker.on('message', (m: ExportMessage) => {
    inbox.push(m);
    if ('chunk' in m) ask();
    arrive();
  });
  // Out of memory, or the thread died: the export stops, said in our words.
  worker.on('error', (err) => {
    broken = new Error(`the export's thread failed (${(err as { code?: string }).code ?? err.name})`);
    arrive();
  });
  worker.on('exit', () => {
    broken ??= new Error('the export’s thread ended early');
    arrive();
  });
  try {
    for (;;) {
      const next = inbox.shift();
      if (!next) {
        if (broken) throw broken;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if ('done' in next) return;
      if ('failed' in next) {
        const { outage, name, message } = next.failed;
        throw outage ? new DatabaseUnavailable(message) : Object.assign(new Error(message), { name });
      }
      yield next.chunk;
      if (owed > 0 && inbox.length < 2) {
        owed--;
        worker.postMessage('next');
      }
    }
  } finally {
    // Done, failed, or the client went away: the thread and its connection go too.
    worker.removeAllListeners('exit');
    await worker.terminate();
  }
}
