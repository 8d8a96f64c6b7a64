/** The return (RMA) resource's own state machine, in the same format as the orders'. */
import type { OrderMachine } from './machine';
import type { LineQuantity } from './order';

type State = 'REQUESTED' | 'ESCALATED' | 'APPROVED' | 'REJECTED' | 'RECEIVED' | 'REFUNDED' | 'CLOSED';
type Action = 'approve' | 'reject' | 'receive' | 'refund' | 'escalate' | 'close';

/** Why a customer returns goods: a closed list, so the merchant can count them (GET /v1/returns/stats). */
export const RETURN_REASONS = [
  'damaged',
  'defective',
  'wrong_item',
  'not_as_described',
  'size_or_fit',
  'changed_mind',
  'arrived_late',
  'other',
] as const;
export type ReturnReason = (typeof RETURN_REASONS)[number];

const staff = ['merchant', 'support'] as const;

export const returnMachine: OrderMachine<State, Action> = {
  type: 'return',
  description:
    'A return: the merchant approves or rejects it, receives the goods (sellable ones back to stock, damaged ones written off), and the money is refunded. Left undecided, it is escalated, then closed; approved goods that never arrive close it.',
  initial: 'REQUESTED',
  states: {
    REQUESTED: {
      labels: { customer: 'Return requested', merchant: 'To review', support: 'Awaiting merchant review' },
      waitsFor: 'the merchant to approve or reject',
      after: { timer: 'returnDecisionWindow', action: 'escalate', reason: 'undecided' },
    },
    ESCALATED: {
      labels: {
        customer: 'Return requested',
        merchant: 'To review: overdue',
        support: 'Undecided past its window: escalated',
      },
      waitsFor: 'staff to approve or reject, before it closes',
      after: { timer: 'returnDecisionWindow', action: 'close', reason: 'undecided' },
    },
    APPROVED: {
      labels: {
        customer: 'Return approved: send the goods',
        merchant: 'Awaiting goods',
        support: 'Approved, goods not received',
      },
      waitsFor: 'the goods to arrive',
      after: { timer: 'returnShipWindow', action: 'close', reason: 'goods_not_received' },
    },
    RECEIVED: {
      labels: {
        customer: 'Goods received, refund on its way',
        merchant: 'Received',
        support: 'Received, refund pending',
      },
      waitsFor: 'the refund',
    },
    REJECTED: {
      labels: { customer: 'Return rejected', merchant: 'Rejected', support: 'Rejected' },
      terminal: true,
    },
    REFUNDED: { labels: { customer: 'Refunded', merchant: 'Refunded', support: 'Refunded' }, terminal: true },
    CLOSED: {
      labels: { customer: 'Return closed', merchant: 'Closed', support: 'Closed without a refund' },
      terminal: true,
    },
  },
  transitions: [
    { from: 'REQUESTED', action: 'approve', to: 'APPROVED', by: staff },
    { from: 'REQUESTED', action: 'reject', to: 'REJECTED', by: staff },
    { from: 'REQUESTED', action: 'escalate', to: 'ESCALATED', by: ['system'] },
    { from: 'ESCALATED', action: 'approve', to: 'APPROVED', by: staff },
    { from: 'ESCALATED', action: 'reject', to: 'REJECTED', by: staff },
    { from: 'ESCALATED', action: 'close', to: 'CLOSED', by: ['system'] },
    { from: 'APPROVED', action: 'receive', to: 'RECEIVED', by: staff },
    { from: 'APPROVED', action: 'close', to: 'CLOSED', by: ['system'] },
    { from: 'RECEIVED', action: 'refund', to: 'REFUNDED', by: ['system'] },
  ],
};

/** Units of one SKU as they came back: put back on sale, or written off. */
export interface ReceivedUnits {
  sku: string;
  sellable: number;
  damaged: number;
}

/**
 * Why a receipt cannot be taken as given, or null: every SKU one of the return's, each once, and no
 * more units of it than the return holds. A path into the request, never a value.
 */
export function receivedProblem(returned: LineQuantity[], received: ReceivedUnits[]): string | null {
  const seen = new Set<string>();
  for (const [i, r] of received.entries()) {
    const held = returned.filter((l) => l.sku === r.sku).reduce((a, l) => a + l.quantity, 0);
    if (held === 0 || seen.has(r.sku)) return `items.${i}.sku`;
    seen.add(r.sku);
    if (r.sellable + r.damaged > held) return `items.${i}`;
  }
  return null;
}

/** What a receipt refunds: every unit that came back, sellable or damaged (the damaged are written off, not restocked). */
export function refundableUnits(received: ReceivedUnits[]): LineQuantity[] {
  return received
    .map((r) => ({ sku: r.sku, quantity: r.sellable + r.damaged }))
    .filter((l) => l.quantity > 0);
}

/** A return as the workflow holds it and the order center stores it. */
export interface ReturnRecord {
  id: string;
  orderId: string;
  customerId: string;
  status: string;
  items: LineQuantity[];
  reason: string;
  /** Why, from the closed list (returns from before the list: absent, counted as `other`). */
  reasonCode?: ReturnReason;
  /** What arrived, per SKU (a receipt that named none: every unit, sellable). */
  received?: ReceivedUnits[];
  refundedAmount: number | null;
  history: { from: string | null; action: string; to: string; actor: string; at: string; reason?: string }[];
  createdAt: string;
  updatedAt: string;
}
