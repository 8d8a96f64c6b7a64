/** The shapes the API answers with, for the OpenAPI document (requests are in ./schemas.ts). */
import { z } from 'zod';
import { REFUND_SOURCES } from '../domain/refunds';
import { ORDER_TYPES } from '../domain/machines';

const money = z.number().int();
const history = z.object({
  from: z.string().nullable(),
  action: z.string(),
  to: z.string(),
  actor: z.string(),
  at: z.string(),
  reason: z.string().optional(),
});

/** A line as priced: an order's (with what was refunded and exchanged of it), an edit preview's. */
const pricedLine = z.object({
  sku: z.string(),
  name: z.string(),
  quantity: z.number().int(),
  unitPrice: money,
  discount: money,
  total: money,
});

export const problem = z
  .object({ type: z.string(), title: z.string(), status: z.number().int(), detail: z.string() })
  .passthrough()
  .describe(
    'RFC 9457 problem details; 409s carry orderStatus and allowedActions, 422s and 402s a code, 400s the zod errors',
  );

/**
 * A charge as the order shows it: pending ones (`processing`, `requires_action`) carry what the
 * customer must do; an `authorized` one is held until `captureBefore`, then `succeeded` (captured)
 * or `voided`.
 */
export const payment = z.object({
  id: z.string(),
  status: z.enum(['processing', 'requires_action', 'authorized', 'succeeded', 'voided', 'failed']),
  method: z.string().optional(),
  amount: money,
  refunded: money,
  nextAction: z.object({ redirectUrl: z.string() }).optional(),
  captureBefore: z.string().optional(),
  code: z.string().optional(),
  risk: z
    .enum(['elevated', 'highest'])
    .optional()
    .describe("the provider's fraud score, when above normal: the order waits for review"),
  external: z
    .object({ channel: z.string(), reference: z.string().optional() })
    .optional()
    .describe('taken by another order system (an imported order): its refunds are owed by that channel'),
});

export const order = z
  .object({
    id: z.string(),
    type: z.enum(ORDER_TYPES),
    customerId: z.string(),
    channel: z.string().describe('the sales channel it came through (`web`: the shop’s own)'),
    status: z.string(),
    statusLabel: z.string(),
    allowedActions: z.array(z.string()),
    currency: z.string(),
    items: z.array(
      pricedLine.extend({
        refundedQuantity: z.number().int(),
        refundedAmount: money
          .optional()
          .describe(
            'money given back on the line, shown once it had a goodwill refund (an amount, no units) or an exchange',
          ),
        exchangedQuantity: z
          .number()
          .int()
          .optional()
          .describe('units given back in exchanges (no longer refundable or returnable); absent: none'),
        exchangedAmount: money.optional().describe('what those units were credited, at the price paid'),
      }),
    ),
    amounts: z.object({
      subtotal: money,
      discount: money,
      shipping: money,
      total: money,
      paid: money,
      refunded: money,
      authorized: money.describe('held at the provider, captured at shipment (PAYMENT_CAPTURE=on_shipment)'),
      released: money.describe('refunded before the capture: released from the hold, never taken'),
    }),
    discounts: z.array(z.object({ source: z.string(), code: z.string(), amount: money })),
    couponCode: z.string().nullable(),
    shippingAddress: z.object({}).passthrough().nullable(),
    shipment: z
      .object({ carrier: z.string(), trackingNumber: z.string() })
      .nullable()
      .describe('the last parcel that left (every parcel: `shipments`)'),
    shipments: z
      .array(
        z.object({
          id: z.string(),
          location: z.string().nullable(),
          items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
          carrier: z.string(),
          trackingNumber: z.string(),
          status: z.enum(['shipped', 'in_transit', 'delivered', 'delivery_failed']),
          recalledAt: z
            .string()
            .optional()
            .describe('the order was cancelled after this parcel left: asked back from the carrier then'),
          returnedAt: z
            .string()
            .optional()
            .describe('the carrier could not deliver it: back at its sender, and refunded, since then'),
          exchangeId: z
            .string()
            .optional()
            .describe('an exchange’s new units (not the order’s lines): that exchange’s parcel'),
          claimId: z
            .string()
            .optional()
            .describe('a claim’s replacement units (not the order’s lines): that claim’s parcel'),
        }),
      )
      .describe('every parcel that left, oldest first: shipped by hand (location null) or by a warehouse'),
    fulfilments: z
      .array(z.object({ id: z.string(), location: z.string(), status: z.string() }))
      .describe(
        'the requests to warehouses (FULFILMENT=warehouse), one per stock location, as they last stood',
      ),
    deliveredAt: z
      .string()
      .optional()
      .describe('when the last parcel was delivered, as the carrier reported it'),
    afterSalesUntil: z
      .string()
      .optional()
      .describe(
        'when the after-sales window closes, or closed (set as the order enters it): returns, claims and exchanges open until then',
      ),
    delivery: z.object({ code: z.string(), voidedAt: z.string().optional() }).nullable(),
    presale: z
      .object({
        deposit: money,
        balanceStartsAt: z.string(),
        balanceEndsAt: z.string(),
        depositPerUnit: z
          .record(z.string(), money)
          .optional()
          .describe("each SKU's deposit per unit as placed"),
      })
      .nullable(),
    paymentDeadline: z.string(),
    paymentStatus: z.enum([
      'unpaid',
      'pending',
      'authorized',
      'partially_paid',
      'paid',
      'partially_refunded',
      'refunded',
    ]),
    payments: z.array(payment),
    attention: z
      .object({
        code: z.enum([
          'capture_failed',
          'fulfilment_refused',
          'short_pick',
          'delivery_failed',
          'recall_failed',
          'void_refused',
          'refund_short',
        ]),
        detail: z.string(),
        at: z.string(),
      })
      .optional()
      .describe(
        'set while support staff must act (staff only): what, in `code`; a location or provider code, in `detail`',
      ),
    allocation: z
      .array(
        z.object({
          location: z.string(),
          items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
        }),
      )
      .describe(
        'where the held units come from, best-ranked location first: the fewest locations that can serve the order',
      ),
    imported: z
      .object({ externalId: z.string(), placedAt: z.string() })
      .optional()
      .describe(
        'an order imported from another order system: its id there; `createdAt` is when it was placed there',
      ),
    createdAt: z.string(),
    updatedAt: z.string(),
    history: z.array(history),
  })
  .passthrough();

export const orderEnvelope = z.object({ order });
/** A pay's answer: 200 with the order paid; 202 while the payment is pending, with what the customer must do. */
export const payAnswer = z.object({ order, payment: payment.optional() });
/** What an inbound webhook answers: received (or received before). */
export const received = z.object({ received: z.literal(true), duplicate: z.boolean() });
/** Where the next page starts (`?cursor=`); null on the last page. */
const nextCursor = z.string().nullable();
export const orderList = z.object({ items: z.array(order), nextCursor });

const stockFigures = z.object({
  onHand: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int(),
});

export const product = z
  .object({
    sku: z.string(),
    name: z.string(),
    price: money,
    currency: z.string(),
    kind: z.enum(['physical', 'virtual']),
    inventoryStrategy: z.enum(['on_order', 'on_payment']).optional(),
    stock: stockFigures.extend({
      locations: z
        .array(stockFigures.extend({ location: z.string() }))
        .describe('best-ranked location first'),
    }),
    updatedAt: z.string(),
  })
  .passthrough();

export const location = z.object({
  id: z.string(),
  name: z.string(),
  priority: z.number().int().describe('a rank: 0 ships before 1 when as few locations can serve an order'),
  updatedAt: z.string(),
});
export const locationList = z.object({ items: z.array(location), nextCursor });

export const promotion = z
  .object({
    code: z.string(),
    kind: z.enum(['percent', 'fixed', 'threshold']),
    value: money,
    currency: z.string().optional(),
    used: z.number().int(),
    redeemed: z.number().int(),
  })
  .passthrough();

export const member = z.object({
  customerId: z.string(),
  channel: z.string(),
  tier: z.enum(['standard', 'silver', 'gold']),
  discountPercent: z.number().int(),
});

const refundRecord = z.object({
  id: z.string(),
  orderId: z.string(),
  source: z.enum(REFUND_SOURCES),
  items: z.array(z.object({ sku: z.string(), quantity: z.number().int(), amount: money })),
  shipping: money,
  amount: money,
  reason: z.string().nullable(),
  owedBy: z
    .string()
    .optional()
    .describe('an imported order’s refund: owed to the customer by this channel, which took the money'),
  createdAt: z.string(),
});

export const refund = z.object({ refund: refundRecord });
export const refundList = z.object({ items: z.array(refundRecord), nextCursor });

/** Counts and sums per group and currency (amounts add up within one currency only). */
export const orderStats = z.object({
  groupBy: z.string(),
  groups: z.array(
    z.object({
      key: z.string(),
      currency: z.string(),
      count: z.number().int(),
      total: money,
      paid: money,
      refunded: money,
    }),
  ),
});

export const csv = z.string().describe('CSV (RFC 4180): a header row, then one row per order or order line');

const returnRecord = z
  .object({
    id: z.string(),
    orderId: z.string(),
    customerId: z.string(),
    status: z.string(),
    statusLabel: z.string(),
    allowedActions: z.array(z.string()),
    items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
    reason: z.string().nullable(),
    reasonCode: z.string().describe('why, from the closed list (GET /v1/returns/stats counts them)'),
    received: z
      .array(z.object({ sku: z.string(), sellable: z.number().int(), damaged: z.number().int() }))
      .optional()
      .describe('what arrived, per SKU: sellable units back on sale, damaged ones written off'),
    refundedAmount: money.nullable(),
    history: z.array(history),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .passthrough();

export const returnEnvelope = z.object({ return: returnRecord });
export const returnStats = z.object({
  groups: z.array(
    z.object({
      reasonCode: z.string(),
      currency: z.string(),
      returns: z.number().int(),
      units: z.number().int(),
      refunded: money,
      closedWithoutRefund: z.number().int(),
    }),
  ),
});
export const returnList = z.object({ items: z.array(returnRecord), nextCursor });

export const orderTypes = z.object({
  items: z.array(
    z
      .object({
        type: z.string(),
        states: z.array(z.object({}).passthrough()),
        transitions: z.array(z.object({}).passthrough()),
      })
      .passthrough(),
  ),
});
export const health = z.object({ status: z.string() }).passthrough();

export const fulfilmentList = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      orderId: z.string(),
      location: z.string(),
      status: z.string(),
      items: z
        .array(z.object({ sku: z.string(), quantity: z.number().int() }))
        .describe('the units it holds'),
      carrier: z.string().nullable(),
      trackingNumber: z.string().nullable(),
      requestedAt: z.string(),
      updatedAt: z.string(),
    }),
  ),
  nextCursor,
});

export const webhook = z.object({
  webhook: z.object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
});
export const webhookList = z.object({ items: z.array(webhook.shape.webhook), nextCursor });

const delivery = z.object({
  eventId: z.string(),
  type: z.string(),
  orderId: z.string(),
  sequence: z.number().int().describe("the event's number within its order"),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastError: z.string().nullable().describe('what the last failed attempt met: a status, `timeout`...'),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});
export const deliveryList = z.object({ items: z.array(delivery), nextCursor });
export const deliveryOne = z.object({ delivery });

export const orderEvent = z
  .object({
    id: z.string().describe('stable: the `Webhook-Id` a receiver de-duplicates by'),
    type: z.string(),
    orderId: z.string(),
    sequence: z
      .number()
      .int()
      .describe('1, 2, 3... per order: a gap means an event the receiver has not seen'),
    occurredAt: z.string(),
    data: z
      .object({ order: z.object({}).passthrough() })
      .passthrough()
      .describe('the order as it was then (and the transition, refund or return it announces)'),
  })
  .describe('an event, as a webhook delivers it');
export const orderEventList = z.object({ items: z.array(orderEvent), nextCursor });

const channelShape = z.object({
  id: z.string(),
  name: z.string(),
  paymentTimeoutMs: z.number().int().nullable().describe('overrides PAYMENT_TIMEOUT for its orders'),
  orderTypes: z.array(z.string()).nullable().describe('the order types it may place; null: all'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const channel = z.object({ channel: channelShape });
export const channelList = z.object({ items: z.array(channelShape), nextCursor });

const claimRecord = z
  .object({
    id: z.string(),
    orderId: z.string(),
    customerId: z.string(),
    status: z.string(),
    statusLabel: z.string(),
    allowedActions: z.array(z.string()),
    kind: z.enum(['damaged', 'missing', 'wrong_item']),
    resolution: z
      .enum(['refund', 'replace'])
      .describe('as the customer asked, until staff approve it as that or the other'),
    items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
    reason: z.string().nullable(),
    refundedAmount: money.nullable(),
    shipment: z
      .object({ carrier: z.string(), trackingNumber: z.string(), shippedAt: z.string() })
      .optional()
      .describe('a replacement’s parcel, once shipped'),
    history: z.array(history),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .passthrough();

export const claimEnvelope = z.object({ claim: claimRecord });

const exchangePayment = z.object({
  id: z.string(),
  status: z.enum(['processing', 'requires_action', 'succeeded', 'failed', 'refunded']),
  amount: money,
  method: z.string().optional(),
  nextAction: z.object({ redirectUrl: z.string() }).optional().describe('the page the customer must open'),
  code: z.string().optional().describe('why a payment failed, as the provider said'),
});

const exchangeRecord = z
  .object({
    id: z.string(),
    orderId: z.string(),
    customerId: z.string(),
    status: z.string(),
    statusLabel: z.string(),
    allowedActions: z.array(z.string()),
    currency: z.string(),
    returnItems: z
      .array(z.object({ sku: z.string(), quantity: z.number().int(), amount: money }))
      .describe('the units sent back, each line credited at the price paid (after its share of discounts)'),
    newItems: z
      .array(
        z.object({
          sku: z.string(),
          name: z.string(),
          quantity: z.number().int(),
          unitPrice: money,
          total: money,
        }),
      )
      .describe('the units wanted instead, priced from the catalogue when the exchange opened'),
    credit: money,
    newTotal: money,
    difference: z
      .number()
      .int()
      .describe(
        'newTotal − credit: above 0 the customer pays it (pay), below 0 it is refunded when the goods are back',
      ),
    payment: exchangePayment.optional().describe('the difference’s payment, once attempted'),
    refundedAmount: money
      .nullable()
      .describe(
        'money given back: a negative difference, or a paid difference when the exchange was not made',
      ),
    received: z
      .array(z.object({ sku: z.string(), sellable: z.number().int(), damaged: z.number().int() }))
      .optional(),
    shipment: z
      .object({ carrier: z.string(), trackingNumber: z.string(), shippedAt: z.string() })
      .optional()
      .describe('the new units’ parcel, once shipped'),
    reason: z.string().nullable(),
    history: z.array(history),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .passthrough();

export const exchangeEnvelope = z.object({ exchange: exchangeRecord });

const editSide = z.object({
  items: z.array(pricedLine),
  amounts: z.object({ subtotal: money, discount: money, shipping: money, total: money }),
  discounts: z.array(z.object({ source: z.string(), code: z.string(), amount: money })),
});

const editRecord = z
  .object({
    id: z.string(),
    orderId: z.string(),
    customerId: z.string(),
    status: z.enum(['PREVIEW', 'CONFIRMING', 'CONFIRMED', 'CANCELLED']),
    before: editSide,
    after: editSide.describe(
      'the order as confirming would leave it (its coupon if still met, the tier now)',
    ),
    difference: z.number().int().describe('after.total − before.total'),
    owed: money.describe('what confirming charges (a paid order): pass a paymentToken'),
    refund: money.describe('what confirming refunds (a paid order)'),
    couponKept: z
      .boolean()
      .describe('false: the coupon no longer applies, its use is given back on confirming'),
    version: z
      .number()
      .int()
      .describe(
        'the order’s version it was previewed at: its steps, production starting and review left out',
      ),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .passthrough();
export const editEnvelope = z.object({ edit: editRecord });
/** A confirmed edit, with the order as it now is (202: its payment is pending, with what the customer must do). */
export const editConfirmed = z.object({ edit: editRecord, order, payment: payment.optional() });
export const exchangeList = z.object({ items: z.array(exchangeRecord), nextCursor });
/** A pay's answer: 200 with the exchange paid; 202 while the payment is pending, with what the customer must do. */
export const exchangePayAnswer = z.object({ exchange: exchangeRecord, payment: exchangePayment.optional() });
export const claimList = z.object({ items: z.array(claimRecord), nextCursor });
