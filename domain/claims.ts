/**
 * A claim: goods arrived damaged, went missing or were the wrong item. The customer opens it,
 * staff decide, and the customer gets the money back or replacement units, without sending
 * anything back. Its own machine, in the same format as the orders'.
 */
import type { OrderMachine } from './machine';
import type { LineQuantity } from './order';

export const CLAIM_KINDS = ['damaged', 'missing', 'wrong_item'] as const;
export type ClaimKind = (typeof CLAIM_KINDS)[number];

export const CLAIM_RESOLUTIONS = ['refund', 'replace'] as const;
export type ClaimResolution = (typeof CLAIM_RESOLUTIONS)[number];

type State = 'REQUESTED' | 'APPROVED' | 'REJECTED' | 'REFUNDED' | 'REPLACED';
type Action = 'approve' | 'reject' | 'refund' | 'ship' | 'refund_instead';

const staff = ['merchant', 'support'] as const;

export const claimMachine: OrderMachine<State, Action> = {
  type: 'claim',
  description:
    'A claim (damaged, missing or wrong goods): staff approve or reject it; approved, the units are refunded, or replacement units are taken from stock and shipped (or, if they cannot be, released and the units refunded instead). Nothing needs to come back; damaged units are written off as a loss.',
  initial: 'REQUESTED',
  states: {
    REQUESTED: {
      labels: { customer: 'Claim received', merchant: 'To review', support: 'Awaiting merchant review' },
      waitsFor: 'staff to approve or reject',
    },
    APPROVED: {
      labels: {
        customer: 'Claim approved',
        merchant: 'Approved: refund, or ship the replacement',
        support: 'Approved, not settled yet',
      },
      waitsFor: 'the refund, or the replacement to be shipped',
    },
    REJECTED: {
      labels: { customer: 'Claim rejected', merchant: 'Rejected', support: 'Rejected' },
      terminal: true,
    },
    REFUNDED: { labels: { customer: 'Refunded', merchant: 'Refunded', support: 'Refunded' }, terminal: true },
    REPLACED: {
      labels: {
        customer: 'Replacement shipped',
        merchant: 'Replacement shipped',
        support: 'Replacement shipped',
      },
      terminal: true,
    },
  },
  transitions: [
    { from: 'REQUESTED', action: 'approve', to: 'APPROVED', by: staff },
    { from: 'REQUESTED', action: 'reject', to: 'REJECTED', by: staff },
    { from: 'APPROVED', action: 'refund', to: 'REFUNDED', by: ['system'] },
    { from: 'APPROVED', action: 'ship', to: 'REPLACED', by: staff },
    // A replacement that will not ship after all: its held units go back, and the claim is refunded.
    { from: 'APPROVED', action: 'refund_instead', to: 'APPROVED', by: staff },
  ],
};

/** A claim as its workflow holds it and the order center stores it. */
export interface ClaimRecord {
  id: string;
  orderId: string;
  customerId: string;
  status: string;
  kind: ClaimKind;
  /** What the customer asked for, until staff approve it as that or the other. */
  resolution: ClaimResolution;
  items: LineQuantity[];
  reason: string;
  refundedAmount: number | null;
  /** `replace`: the replacement's parcel, once shipped. */
  shipment?: { carrier: string; trackingNumber: string; shippedAt: string };
  history: { from: string | null; action: string; to: string; actor: string; at: string; reason?: string }[];
  createdAt: string;
  updatedAt: string;
}

/** Actions only a replacement offers. */
export const REPLACEMENT_ACTIONS: readonly string[] = ['ship', 'refund_instead'];

/** The actions a claim offers: `ship` and `refund_instead` only to a replacement. */
export function claimActions(record: Pick<ClaimRecord, 'resolution'>, actions: readonly string[]): string[] {
  return actions.filter((a) => !REPLACEMENT_ACTIONS.includes(a) || record.resolution === 'replace');
}
