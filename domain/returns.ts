/** The return (RMA) resource's own state machine, in the same format as the orders'. */
import type { OrderMachine } from './machine';
import type { LineQuantity } from './order';

type State = 'REQUESTED' | 'APPROVED' | 'REJECTED' | 'RECEIVED' | 'REFUNDED';
type Action = 'approve' | 'reject' | 'receive' | 'refund';

export const returnMachine: OrderMachine<State, Action> = {
  type: 'return',
  description:
    'A return: the merchant approves or rejects it, receives the goods, which go back to stock, and the money is refunded.',
  initial: 'REQUESTED',
  states: {
    REQUESTED: {
      labels: { customer: 'Return requested', merchant: 'To review', support: 'Awaiting merchant review' },
      waitsFor: 'the merchant to approve or reject',
    },
    APPROVED: {
      labels: {
        customer: 'Return approved: send the goods',
        merchant: 'Awaiting goods',
        support: 'Approved, goods not received',
      },
      waitsFor: 'the goods to arrive',
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
  },
  transitions: [
    { from: 'REQUESTED', action: 'approve', to: 'APPROVED', by: ['merchant', 'support'] },
    { from: 'REQUESTED', action: 'reject', to: 'REJECTED', by: ['merchant', 'support'] },
    { from: 'APPROVED', action: 'receive', to: 'RECEIVED', by: ['merchant', 'support'] },
    { from: 'RECEIVED', action: 'refund', to: 'REFUNDED', by: ['system'] },
  ],
};

/** A return as the workflow holds it and the order center stores it. */
export interface ReturnRecord {
  id: string;
  orderId: string;
  customerId: string;
  status: string;
  items: LineQuantity[];
  reason: string;
  refundedAmount: number | null;
  history: { from: string | null; action: string; to: string; actor: string; at: string; reason?: string }[];
  createdAt: string;
  updatedAt: string;
}
