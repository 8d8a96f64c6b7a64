/**
 * The baselines the benchmark compares with: the smallest useful workflow (one activity and done),
 * and the smallest answer a workflow can give its starter (an Update whose handler only returns,
 * sent with the start: the floor under `POST /v1/orders`, which answers from its workflow too).
 */
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10s' });

export async function noopWorkflow(): Promise<void> {
  await noop();
}

export const noopAnswer = defineUpdate<string>('answer');

export async function noopUpdateWorkflow(): Promise<void> {
  let answered = false;
  setHandler(noopAnswer, () => {
    answered = true;
    return 'ok';
  });
  await condition(() => answered);
}
