/**
 * Folds the order center's stats changes into the daily rollup every little while
 * (services/orders/order-stats.ts), so the changes table stays small. Stats are exact without it;
 * this only keeps them fast. Several workers may run it: one folds, the others find the lock taken.
 */
import type { Knex } from 'knex';
import { foldOrderStats } from '../services/orders/order-stats';

export function startOrderStatsFolder(db: Knex, everyMs: number, log: (msg: string) => void) {
  let stopped = false;
  let wake: () => void = () => {};
  const loop = (async () => {
    while (!stopped) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, everyMs).unref();
      });
      if (stopped) break;
      try {
        await foldOrderStats(db);
      } catch (err) {
        log(`order stats fold failed: ${(err as Error).name}`);
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}
