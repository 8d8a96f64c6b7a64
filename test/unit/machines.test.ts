/** Issue 3: the pure state machines, checked as data and by random walks (fast-check). */
import fc from 'fast-check';
import {
  actionsOf,
  allowedActions,
  decide,
  isTerminal,
  toMermaid,
  validateMachine,
  type OrderMachine,
} from '../../domain/machine';
import { machines } from '../../domain/machines';
import { ROLES, type Actor } from '../../domain/roles';

const all = Object.values(machines);
const ACTORS: Actor[] = [...ROLES, 'system'];

describe.each(all.map((m) => [m.type, m] as [string, OrderMachine]))('%s machine', (_type, machine) => {
  const states = Object.keys(machine.states);
  const actions = actionsOf(machine);

  test('is well formed: known states, one transition per (state, action), labels for every role', () => {
    expect(validateMachine(machine)).toEqual([]);
  });

  test('random action sequences never reach an undefined state', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...actions, 'bogus'), fc.constantFrom(...ACTORS)), {
          maxLength: 30,
        }),
        (steps) => {
          let state = machine.initial;
          for (const [action, actor] of steps) {
            const decision = decide(machine, state, action, actor);
            if (decision.ok) state = decision.transition.to;
            expect(states).toContain(state);
          }
        },
      ),
    );
  });

  test('terminal states accept nothing, from anyone', () => {
    for (const state of states.filter((s) => isTerminal(machine, s))) {
      for (const actor of ACTORS) {
        expect(allowedActions(machine, state, actor)).toEqual([]);
        for (const action of actions) expect(decide(machine, state, action, actor).ok).toBe(false);
      }
    }
  });

  test('every state is reachable from the initial state', () => {
    const seen = new Set([machine.initial]);
    for (let grew = true; grew;) {
      grew = false;
      for (const t of machine.transitions) {
        if (seen.has(t.from) && !seen.has(t.to)) {
          seen.add(t.to);
          grew = true;
        }
      }
    }
    expect(states.filter((s) => !seen.has(s))).toEqual([]);
  });

  test('a role that may never take an action is forbidden; one that may, but not now, is refused', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...states),
        fc.constantFrom(...actions),
        fc.constantFrom(...ROLES),
        (state, action, role) => {
          const decision = decide(machine, state, action, role);
          const ever = machine.transitions.some((t) => t.action === action && t.by.includes(role));
          if (!decision.ok) expect(decision.reason).toBe(ever ? 'not_allowed' : 'forbidden');
          else expect(decision.transition.from).toBe(state);
        },
      ),
    );
  });

  test('draws as a Mermaid diagram with every transition', () => {
    const diagram = toMermaid(machine);
    expect(diagram.split('\n')[0]).toBe('stateDiagram-v2');
    for (const t of machine.transitions) expect(diagram).toContain(`${t.from} --> ${t.to}: ${t.action}`);
  });
});

test('the merchant and the customer read the same state differently', () => {
  expect(machines.standard.states.IN_PRODUCTION?.labels).toMatchObject({
    customer: 'Awaiting shipment',
    merchant: 'To ship',
  });
});
