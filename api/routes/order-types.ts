/** The order types' state machines, as data: what the front end and the docs draw. */
import { actionsOf } from '../../domain/machine';
import { machines } from '../../domain/machines';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';

const orderTypes = () => ({
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
      // Taken instead of `auto` when the order must wait for staff (a review before fulfilment).
      hold: def.hold ?? null,
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

export const orderTypeRoutes: Route[] = [
  defineRoute({
    id: 'orderTypes',
    method: 'get',
    path: '/v1/order-types',
    summary: 'Every order type’s state machine, as data',
    roles: 'anyone',
    open: true,
    ok: [[200], res.orderTypes],
    errors: [429],
    async handle({ res: reply }) {
      reply.json(orderTypes());
    },
  }),
];
