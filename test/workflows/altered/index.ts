/**
 * A deliberately altered copy of the workflow bundle, for the replay test: the order workflow
 * starts with a timer the recorded histories never had, as an unguarded change (no `patched()`)
 * would. Replaying recorded orders on it must fail.
 */
import { sleep } from '@temporalio/workflow';
import type { OrderWorkflowInput, OrderWorkflowResult } from '../../../workflows/messages';
import { orderWorkflow as original } from '../../../workflows/order/order-workflow';

export { cancelOrderFlow, refundOrderFlow, returnOrderFlow } from '../../../workflows';

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  await sleep(1);
  return original(input);
}
