/** A probe of workflows/mutex.ts: how many holders are ever inside at once. */
import { sleep } from '@temporalio/workflow';
import { Mutex } from '../../workflows/mutex';

export async function mutexProbe(waiters: number): Promise<number> {
  const lock = new Mutex();
  let inside = 0;
  let most = 0;
  const enter = () =>
    lock.run(async () => {
      inside++;
      most = Math.max(most, inside);
      await sleep(10);
      inside--;
    });
  await Promise.all(Array.from({ length: waiters }, enter));
  return most;
}
