/**
 * The worker of the benchmark's baselines (bench/noop-workflows.ts), in a process of its own like
 * the order worker, so the ceiling and the floor it serves do not wait on the event loop of the
 * process that drives the load. Started by bench/run.ts with TEMPORAL_ADDRESS; prints `ready`
 * once it has connected and starts polling; SIGTERM stops it.
 */
import { NativeConnection, Worker } from '@temporalio/worker';

async function main() {
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    taskQueue: 'bench-noop',
    workflowsPath: require.resolve('./noop-workflows'),
    activities: { noop: async () => undefined },
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  console.log('ready');
  await running;
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
