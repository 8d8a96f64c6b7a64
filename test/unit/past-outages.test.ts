/** An Update that ended in an outage is not the retry's answer: the next id is (api/order-commands.ts). */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { pastOutages } from '../../api/order-commands';
import { FailureType } from '../../domain/errors';

const failed = (type: string) =>
  new WorkflowUpdateFailedError('update failed', ApplicationFailure.create({ type, message: 'x' }));

test('outcomes of earlier tries that were outages are stepped past; the first id not used yet runs', async () => {
  const asked: string[] = [];
  const answer = await pastOutages('upd_k', async (id) => {
    asked.push(id);
    if (id === 'upd_k' || id === 'upd_k#1') throw failed(FailureType.Unavailable);
    return `ran ${id}`;
  });
  expect(answer).toBe('ran upd_k#2');
  expect(asked).toEqual(['upd_k', 'upd_k#1', 'upd_k#2']);
});

test('a refusal, or a success, is the answer as it was: no further id is tried', async () => {
  const asked: string[] = [];
  await expect(
    pastOutages('upd_r', async (id) => {
      asked.push(id);
      throw failed(FailureType.IllegalTransition);
    }),
  ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
  expect(asked).toEqual(['upd_r']);
  expect(await pastOutages('upd_s', async (id) => id)).toBe('upd_s');
});

test('a try that runs and fails again ends the request (a 503), however many ids are left', async () => {
  const asked: string[] = [];
  const slowOutage = async (id: string) => {
    asked.push(id);
    await new Promise((r) => setTimeout(r, 2100)); // a try that ran: seconds, not a stored answer
    throw failed(FailureType.Unavailable);
  };
  await expect(pastOutages('upd_o', slowOutage)).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
  expect(asked).toEqual(['upd_o']);
});

test('other errors (an RPC timeout, an order not found) are not outcomes: thrown at once', async () => {
  const asked: string[] = [];
  await expect(
    pastOutages('upd_t', async (id) => {
      asked.push(id);
      throw new Error('deadline exceeded');
    }),
  ).rejects.toThrow('deadline exceeded');
  expect(asked).toEqual(['upd_t']);
});
