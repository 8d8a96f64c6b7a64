/** Digital goods and gift cards: payment triggers delivery of a code; no shipping; a shorter after-sales rule. */
import type { OrderMachine } from '../machine';
import { unpaidState, unpaidTransitions } from './unpaid';

type State = 'PENDING_PAYMENT' | 'PAID' | 'DELIVERED' | 'COMPLETED' | 'CANCELLED' | 'REFUNDED';
type Action =
  'pay' | 'stock_out' | 'cancel' | 'expire' | 'deliver' | 'complete' | 'modify' | 'refund' | 'refund_all';

const same = (label: string) => ({ customer: label, merchant: label, support: label });

export const virtualMachine: OrderMachine<State, Action> = {
  type: 'virtual',
  description:
    'Digital goods: payment triggers delivery of a code; completes after the virtual after-sales window.',
  initial: 'PENDING_PAYMENT',
  states: {
    PENDING_PAYMENT: unpaidState(
      { customer: 'Awaiting payment', merchant: 'Unpaid', support: 'Pending payment' },
      'the customer to pay',
    ),
    PAID: { labels: same('Paid'), waitsFor: 'the code to be issued', auto: 'deliver' },
    DELIVERED: {
      labels: {
        customer: 'Code delivered',
        merchant: 'Delivered',
        support: 'Delivered, after-sales window open',
      },
      waitsFor: 'the after-sales window to close',
      after: { timer: 'afterSalesWindow', action: 'complete', reason: 'after_sales_window_closed' },
    },
    COMPLETED: { labels: same('Completed'), terminal: true },
    CANCELLED: { labels: same('Cancelled'), terminal: true },
    REFUNDED: { labels: same('Refunded'), terminal: true },
  },
  transitions: [
    ...unpaidTransitions<State>('PENDING_PAYMENT', 'PAID', 'CANCELLED', 'capturePayment'),
    { from: 'PAID', action: 'deliver', to: 'DELIVERED', by: ['system'], effect: 'deliverGoods' },
    {
      from: 'PAID',
      action: 'cancel',
      to: 'CANCELLED',
      by: ['merchant', 'support'],
      effect: 'refundAndRelease',
    },
    { from: 'DELIVERED', action: 'complete', to: 'COMPLETED', by: ['system'] },
    // A delivered code cannot be sent back: staff refund it (and void the code) instead.
    {
      from: 'DELIVERED',
      action: 'refund',
      to: 'DELIVERED',
      by: ['merchant', 'support'],
      effect: 'refundItems',
    },
    {
      from: 'DELIVERED',
      action: 'refund_all',
      to: 'REFUNDED',
      by: ['merchant', 'support'],
      effect: 'refundItems',
    },
  ],
};
