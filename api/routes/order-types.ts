/** The order types' state machines, as data: what the front end and the docs draw. */
import { Router } from 'express';
import { actionsOf } from '../../domain/machine';
import { machines } from '../../domain/machines';

export function orderTypeRoutes(): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.json({
      items: Object.values(machines).map((m) => ({
        type: m.type,
        description: m.description,
        initial: m.initial,
        states: Object.entries(m.states).map(([name, def]) => ({
          name,
          labels: def.labels,
          terminal: def.terminal === true,
          waitsFor: def.waitsFor ?? null,
          auto: def.auto ?? null,
          after: def.after ?? null,
        })),
        actions: actionsOf(m),
        transitions: m.transitions.map((t) => ({
          from: t.from,
          action: t.action,
          to: t.to,
          by: t.by,
          effect: t.effect ?? null,
        })),
      })),
    });
  });
  return router;
}
