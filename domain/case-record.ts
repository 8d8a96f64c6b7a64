/**
 * After-sales cases (returns, claims) keep their own history, as orders do: one step appends the
 * transition its machine allows and moves the status. Pure, so both workflows step alike.
 */
import { decide, type OrderMachine } from './machine';
import { actorName } from './order';
import type { Actor } from './roles';

export interface CaseRecord {
  status: string;
  updatedAt: string;
  history: { from: string | null; action: string; to: string; actor: string; at: string; reason?: string }[];
}

/** The record after `action` by `actor` at `at`; throws if its machine does not allow it (validated before). */
export function stepCase<R extends CaseRecord>(
  machine: OrderMachine,
  record: R,
  step: { action: string; actor: Actor; actorId?: string; reason?: string; at: string },
): R {
  const decision = decide(machine, record.status, step.action, step.actor);
  if (!decision.ok) throw new Error(`${machine.type} machine refused ${step.action} in ${record.status}`);
  const to = decision.transition.to;
  return {
    ...record,
    status: to,
    updatedAt: step.at,
    history: [
      ...record.history,
      {
        from: record.status,
        action: step.action,
        to,
        actor: actorName(step.actor, step.actorId),
        at: step.at,
        ...(step.reason ? { reason: step.reason } : {}),
      },
    ],
  };
}
