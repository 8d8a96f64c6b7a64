/**
 * A worker and an API of a test's own, on their own task queue and port, against the shared
 * PostgreSQL and Temporal: a test may kill them without disturbing the other tests.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { spawnService } from '../../devstack/services';
import { stopChild } from '../../devstack/temporal';
import { freePort, waitFor } from '../../devstack/wait';
import { testTemporal } from './backends';

export interface OwnServices {
  apiUrl: string;
  env: NodeJS.ProcessEnv;
  startWorker(extraEnv?: NodeJS.ProcessEnv): ChildProcess;
  stopAll(): Promise<void>;
}

export async function startOwnServices(name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<OwnServices> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TASK_QUEUE: `${name}-${randomUUID().slice(0, 6)}`,
    PORT: String(port),
    ...extraEnv,
  };
  const log = createWriteStream(path.resolve(__dirname, '..', '..', '.data', 'test-logs', `${name}.log`), {
    flags: 'a',
  });
  const children: ChildProcess[] = [];
  const start = (service: 'worker' | 'api' | 'payments', more: NodeJS.ProcessEnv = {}) => {
    const child = spawnService(service, {
      env: { ...env, ...more },
      log: (line) => log.write(`[${service} ${child.pid}] ${line}\n`),
    });
    children.push(child);
    return child;
  };
  // A slow or faulty provider of the test's own (the shared sandbox stays as it is), in the shared books.
  if (Object.keys(extraEnv).some((name) => name.startsWith('PAYMENT_SANDBOX_'))) {
    const sandboxPort = await freePort();
    start('payments', {
      PAYMENT_SANDBOX_PORT: String(sandboxPort),
      PAYMENT_SANDBOX_INSTANCE: env.TASK_QUEUE,
      PAYMENT_SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${port}/v1/inbound/payments`,
    });
    env.PAYMENT_PROVIDER_URL = `http://127.0.0.1:${sandboxPort}`;
    await waitFor(
      `${name} payments`,
      async () => (await fetch(`${env.PAYMENT_PROVIDER_URL}/healthz`)).ok,
      60_000,
    );
  }
  start('api');
  start('worker');
  const apiUrl = `http://127.0.0.1:${port}`;
  await waitFor(`${name} API`, async () => (await fetch(`${apiUrl}/readyz`)).status === 200, 60_000);
  return {
    apiUrl,
    env,
    startWorker: (more) => start('worker', more),
    stopAll: async () => {
      await Promise.all(children.map((c) => stopChild(c, 5000)));
      await endOrphans(env.TASK_QUEUE!);
      log.end();
    },
  };
}

/**
 * An API process of the test's own (no worker), with `env` over the test stack's, answering
 * /healthz; stopped by `stopAll`. For tests of the API's own edges: outages, limits, timeouts.
 */
export function ownApis() {
  const children: ChildProcess[] = [];
  return {
    async start(env: NodeJS.ProcessEnv): Promise<string> {
      const port = await freePort();
      children.push(
        spawnService('api', { env: { ...process.env, ...env, PORT: String(port) }, log: () => undefined }),
      );
      const url = `http://127.0.0.1:${port}`;
      await waitFor('api', async () => (await fetch(`${url}/healthz`)).status === 200, 60_000);
      return url;
    },
    stopAll: () => Promise.all(children.map((c) => stopChild(c, 5000))),
  };
}

/**
 * The test's workflows would wait forever for its workers, and later tests (the fuzzer, listing
 * every order) would meet them: terminate them, as an operator would, once the test is done.
 */
async function endOrphans(taskQueue: string): Promise<void> {
  const temporal = await testTemporal();
  try {
    const running = temporal.client.workflow.list({
      query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
    });
    for await (const wf of running)
      await temporal.client.workflow
        .getHandle(wf.workflowId)
        .terminate('test finished: its workers are gone')
        .catch(() => undefined);
  } finally {
    await temporal.close();
  }
}

/** Resolves once the worker has printed that it polls its task queue. */
export function workerStarted(child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not start')), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker started')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Process ids of the worker processes whose environment names this task queue (a test's own). */
export async function workerPids(taskQueue: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [cmdline, environ] = await Promise.all([
        readFile(`/proc/${entry}/cmdline`, 'utf8'),
        readFile(`/proc/${entry}/environ`, 'utf8'),
      ]);
      if (cmdline.includes('worker/main.ts') && environ.split('\0').includes(`TASK_QUEUE=${taskQueue}`))
        pids.push(Number(entry));
    } catch {
      // the process went away meanwhile
    }
  }
  return pids;
}

/** SIGKILLs every worker process of this task queue; returns how many. */
export async function killWorkers(taskQueue: string): Promise<number> {
  let killed = 0;
  for (const pid of await workerPids(taskQueue)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone already
    }
  }
  return killed;
}
