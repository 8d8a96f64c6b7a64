/**
 * Why an action is not taken, as data. The workflows answer Updates with it (as an
 * ApplicationFailure, workflows/refusals.ts), the API with it where a closed workflow cannot
 * (api/problem.ts): one wording and one HTTP status per kind, wherever the refusal is made.
 */
import { FailureType, type BusinessCode } from './errors';
import { decide, isTerminal, type Decision, type OrderMachine } from './machine';
import type { Actor } from './roles';

export interface Refusal {
  type:
    | typeof FailureType.IllegalTransition
    | typeof FailureType.Forbidden
    | typeof FailureType.Business
    | typeof FailureType.InvalidInput;
  message: string;
  /** For a transition: `status` (the order's or the return's) and the `allowedActions` of the caller. */
  details: Record<string, unknown>;
}

/** What the refusal is about: an order of a type, a return or a claim. */
export type Subject =
  { kind: 'order'; type: string; status: string } | { kind: 'return' | 'claim' | 'exchange'; status: string };

/** The machine said no: `forbidden` (this role never may, a 403) or `not_allowed` (not now, a 409). */
const article = (noun: string) => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;

export function refusalFor(
  decision: Extract<Decision, { ok: false }>,
  subject: Subject,
  action: string,
  actor: Actor,
): Refusal {
  const details = { status: subject.status, allowedActions: decision.allowedActions };
  if (decision.reason === 'forbidden') {
    const what = subject.kind === 'order' ? `a ${subject.type} order` : article(subject.kind);
    return { type: FailureType.Forbidden, message: `a ${actor} may not ${action} ${what}`, details };
  }
  const what = subject.kind === 'order' ? 'an order' : article(subject.kind);
  return {
    type: FailureType.IllegalTransition,
    message: `cannot ${action} ${what} that is ${subject.status}`,
    details,
  };
}

/** Allowed by the machine, but not in this state for another reason (still being placed, busy, an edit too late). */
export function notNow(message: string, status: string, allowedActions: readonly string[]): Refusal {
  return { type: FailureType.IllegalTransition, message, details: { status, allowedActions } };
}

/** A business rule (422): the code says which. */
export function businessRefusal(
  code: BusinessCode,
  message: string,
  details: Record<string, unknown> = {},
): Refusal {
  return { type: FailureType.Business, message, details: { code, ...details } };
}

/** Input that cannot be stored: the refusal names the field (a path, never its value, the client's string). */
export function invalidInput(what: string, field: string): Refusal {
  return {
    type: FailureType.InvalidInput,
    message: `${what} holds a value that cannot be stored`,
    details: { field },
  };
}

/**
 * A finished order's or return's workflow has closed and takes no Updates: the machine answers
 * for it, as the workflow's validator would have. Null while the workflow is open.
 */
export function refusalWhenClosed(
  machine: OrderMachine,
  subject: Subject,
  action: string,
  actor: Actor,
): Refusal | null {
  if (!isTerminal(machine, subject.status)) return null;
  const decision = decide(machine, subject.status, action, actor);
  return decision.ok ? null : refusalFor(decision, subject, action, actor);
}

/** A refusal thrown outside a workflow (the API's): api/problem.ts answers it as the workflow's would be. */
export class RefusedError extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
    this.name = 'RefusedError';
  }
}

/**
 * What the API answers without asking the order's workflow: a role that may never take the action
 * in this machine, whatever the state (a 403), or any refusal once the workflow has closed. Null
 * when only the workflow can tell (the state it is in now).
 */
export function refusalBeforeWorkflow(
  machine: OrderMachine,
  subject: Subject,
  action: string,
  actor: Actor,
): Refusal | null {
  const decision = decide(machine, subject.status, action, actor);
  if (decision.ok) return null;
  if (decision.reason === 'forbidden') return refusalFor(decision, subject, action, actor);
  return refusalWhenClosed(machine, subject, action, actor);
}
