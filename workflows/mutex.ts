import { condition } from '@temporalio/workflow';

/**
 * One action at a time on an order: updates and timers run their effects (activities) under this
 * lock, so a payment racing the payment timeout ends as exactly one of the two.
 *
 * The SDK checks every blocked condition in one pass, so a plain `condition(() => !held)` would
 * let every waiter through at once when the lock frees; checking and taking the lock in the same
 * condition call lets exactly one through.
 */
export class Mutex {
  private held = false;

  get locked(): boolean {
    return this.held;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await condition(() => {
      if (this.held) return false;
      this.held = true;
      return true;
    });
    try {
      return await fn();
    } finally {
      this.held = false;
    }
  }
}
