/** The baseline the benchmark compares with: the smallest useful workflow, one activity and done. */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10s' });

export async function noopWorkflow(): Promise<void> {
  await noop();
}
