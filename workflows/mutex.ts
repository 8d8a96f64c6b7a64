import { condition } from '@temporalio/workflow';

/**
 * One action at a time on an order: updates and timers run their effects (activities) under this
 * lock, so a payment racing the payment timeout ends as exactly one of the two.
 */
export class Mutex {
  private held = false;

  get locked(): boolean {
    return this.held;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await condition(() => !this.held);
    this.held = true;
    try {
      return await fn();
    } finally {
      this.held = false;
    }
  }
}
