/**
 * The order workflow's lock admits one holder at a time, however many wait. (A plain
 * `condition(() => !held)` released every waiter at once: the chaos run caught a cancel and the
 * start of production running together on one order.)
 */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { findTemporalBinary } from '../../devstack/temporal';
import { mutexProbe } from './mutex-workflows';

test('three concurrent waiters are never inside together', async () => {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: findTemporalBinary('temporal-test-server')! } },
  });
  try {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'mutex',
      workflowsPath: require.resolve('./mutex-workflows'),
    });
    const most = await worker.runUntil(
      env.client.workflow.execute(mutexProbe, {
        workflowId: `mutex-${randomUUID()}`,
        taskQueue: 'mutex',
        args: [3],
      }),
    );
    expect(most).toBe(1);
  } finally {
    await env.teardown();
  }
}, 120_000);
