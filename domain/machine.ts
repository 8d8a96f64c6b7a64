/**
 * The declarative order state machine format: states with a label per role, and transitions
 * (current state, action, next state) saying who may take them and what the workflow does.
 * The workflow, the API and the README's diagrams all read these same objects.
 */
import type { Actor, Role } from './roles';
import { ROLES } from './roles';

/** What the workflow does when a transition happens (workflows/order/effects.ts maps each to activities). */
export type Effect =
  | 'capturePayment' // charge what is due now; stock is secured first
  | 'captureDeposit'
  | 'captureBalance'
  | 'releaseHolds' // give back reserved stock and the coupon lock
  | 'forfeitDeposit' // release holds, keep the deposit (presale rule)
  | 'cancelPresale' // deposit refunded if staff cancel, kept if the customer does
  | 'refundAndRelease' // refund everything paid, put stock back
  | 'openProduction'
  | 'deliverGoods'
  | 'recordShipment' // the last parcel left: a held payment is captured
  | 'recordParcel' // a parcel left, and more are to come
  | 'refundItems' // a refund child workflow for some or all units, then the accounts
  | 'openReturn' // starts the return's own workflow
  | 'openClaim' // starts the claim's own workflow
  | 'openExchange' // prices and holds the new units, credits the returned ones, starts the exchange's workflow
  | 'refundExchange' // an exchange's negative difference, refunded when its goods are back
  | 'recordCaseParcel' // an exchange's new units, or a claim's replacement, left: another parcel of the order
  | 'revertExchange' // a rejected or cancelled exchange: its returned units are the order's again
  | 'applyEdit' // a previewed edit: new units held, the difference charged, stock moved, lines rewritten, any excess refunded
  | 'applyModification'; // address and/or fewer items, repriced

/** Durations measured from entering the state, or instants stored on the order. */
export type TimerName =
  | 'paymentTimeout'
  | 'autoConfirmAfter'
  | 'afterSalesWindow'
  | 'balanceStartsAt'
  | 'balanceEndsAt'
  | 'reviewTimeout'
  | 'returnDecisionWindow'
  | 'returnShipWindow';

export interface StateDef<A extends string> {
  /** Per role; a channel shows its customers the customer's words unless it has its own. */
  labels: Record<Exclude<Role, 'channel'>, string> & { channel?: string };
  /** What the order waits for here, shown to support staff. */
  waitsFor?: string;
  terminal?: boolean;
  /** A system action taken as soon as the state is entered. */
  auto?: A;
  /** Taken instead of `auto` when the order must wait for a staff decision first (domain/review.ts). */
  hold?: A;
  /** What a `modify` may change in this state: items (before payment or production) and the address (until shipped). */
  edits?: readonly ('items' | 'address')[];
  /** A system action taken when a durable timer fires, unless something else happened first. */
  after?: { timer: TimerName; action: A; reason: string };
}

export interface TransitionDef<S extends string, A extends string> {
  from: S;
  action: A;
  to: S;
  by: readonly Actor[];
  effect?: Effect;
}

export interface OrderMachine<S extends string = string, A extends string = string> {
  type: string;
  description: string;
  initial: S;
  /** The states an order imported from another system may join in (the `external` type); none: not importable. */
  imports?: readonly S[];
  states: Record<S, StateDef<A>>;
  transitions: readonly TransitionDef<S, A>[];
}

export type Decision<S extends string = string, A extends string = string> =
  | { ok: true; transition: TransitionDef<S, A> }
  | { ok: false; reason: 'forbidden' | 'not_allowed'; allowedActions: A[] };

export function actionsOf<S extends string, A extends string>(machine: OrderMachine<S, A>): A[] {
  return [...new Set(machine.transitions.map((t) => t.action))];
}

export function isTerminal(machine: OrderMachine, state: string): boolean {
  return machine.states[state]?.terminal === true;
}

/** Actions `actor` may take in `state`, in definition order. */
export function allowedActions<S extends string, A extends string>(
  machine: OrderMachine<S, A>,
  state: string,
  actor: Actor,
): A[] {
  return machine.transitions.filter((t) => t.from === state && t.by.includes(actor)).map((t) => t.action);
}

/**
 * May `actor` take `action` in `state`? An action the actor may never take in this order type is
 * `forbidden` (403); one it may take, but not now, is `not_allowed` (409).
 */
export function decide<S extends string, A extends string>(
  machine: OrderMachine<S, A>,
  state: string,
  action: string,
  actor: Actor,
): Decision<S, A> {
  const allowed = allowedActions(machine, state, actor);
  const transition = machine.transitions.find((t) => t.from === state && t.action === action);
  if (transition && transition.by.includes(actor)) return { ok: true, transition };
  const everAllowed = machine.transitions.some((t) => t.action === action && t.by.includes(actor));
  return { ok: false, reason: everAllowed ? 'not_allowed' : 'forbidden', allowedActions: allowed };
}

export function statusLabel(machine: OrderMachine, state: string, role: Role): string {
  const labels = machine.states[state]?.labels;
  return (role === 'channel' ? (labels?.channel ?? labels?.customer) : labels?.[role]) ?? state;
}

/** Checks a definition is well formed: used by tests and at module load of the registry. */
export function validateMachine(machine: OrderMachine): string[] {
  const problems: string[] = [];
  const states = new Set(Object.keys(machine.states));
  if (!states.has(machine.initial)) problems.push(`initial state ${machine.initial} is not defined`);
  for (const s of machine.imports ?? [])
    if (!states.has(s) || machine.states[s]?.terminal) problems.push(`import state ${s} is not a live state`);
  const seen = new Set<string>();
  for (const t of machine.transitions) {
    if (!states.has(t.from)) problems.push(`transition from unknown state ${t.from}`);
    if (!states.has(t.to)) problems.push(`transition to unknown state ${t.to}`);
    if (machine.states[t.from]?.terminal)
      problems.push(`terminal state ${t.from} has transition ${t.action}`);
    const key = `${t.from}/${t.action}`;
    if (seen.has(key)) problems.push(`two transitions for ${key}`);
    seen.add(key);
    if (t.by.length === 0) problems.push(`nobody may take ${key}`);
  }
  for (const [name, def] of Object.entries(machine.states)) {
    for (const role of ROLES)
      if (role !== 'channel' && !def.labels[role]) problems.push(`state ${name} has no ${role} label`);
    for (const action of [def.auto, def.after?.action].filter(Boolean)) {
      const t = machine.transitions.find((x) => x.from === name && x.action === action);
      if (!t || !t.by.includes('system'))
        problems.push(`state ${name}: system action ${action} has no system transition`);
    }
    if (!def.terminal && !machine.transitions.some((t) => t.from === name))
      problems.push(`state ${name} is a dead end`);
  }
  return problems;
}

/** A Mermaid state diagram drawn from the definition, for the README. */
export function toMermaid(machine: OrderMachine): string {
  const lines = ['stateDiagram-v2', `  [*] --> ${machine.initial}`];
  for (const s of machine.imports ?? []) if (s !== machine.initial) lines.push(`  [*] --> ${s}: import`);
  for (const t of machine.transitions) {
    lines.push(`  ${t.from} --> ${t.to}: ${t.action} (${t.by.join(', ')})`);
  }
  for (const [name, def] of Object.entries(machine.states)) if (def.terminal) lines.push(`  ${name} --> [*]`);
  return lines.join('\n');
}
