/** Request bodies and parameters of the contract (../shared/API.md), as zod schemas. */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { REFUND_SOURCES } from '../domain/refunds';
import { z, ZodError } from 'zod';
import { EVENT_TYPES } from '../domain/events';
import { isFulfilmentIdOf } from '../domain/fulfilment';
import { IMPORT_STATES } from '../domain/imports';
import { RETURN_REASONS } from '../domain/returns';
import { CLAIM_KINDS, CLAIM_RESOLUTIONS } from '../domain/claims';
import { ORDER_TYPES, PLACED_TYPES } from '../domain/machines';
import { parseDuration } from '../domain/duration';
import { MAX_LINE_QUANTITY, MAX_LINES } from '../domain/order';
import { looksSealed } from '../codec/secret-box';
import { isCurrency } from '../domain/money';
import {
  hasLoneSurrogate,
  ID_PATTERN,
  SUBJECT_PATTERN,
  MULTI_LINE_TEXT,
  SINGLE_LINE_TEXT,
  TEXT_RULES,
  type TextRule,
} from '../domain/text';
import {
  cursorFits,
  parseCursor,
  type CursorList,
  type ListCursor,
  type OrderSort,
} from '../services/orders/list-orders';
import { parseKey, type ListName } from '../services/paging';

// Adds `.openapi()` to zod's prototypes (before any schema here is built), for what the document
// must say that a refinement cannot (api/openapi.ts).
extendZodWithOpenApi(z);

/**
 * Free text, bounded, and refused when it holds what cannot be stored (domain/text.ts): every
 * string field of every schema is this, an id, an enum or a pattern.
 */
export const text = (max: number, rule: TextRule = {}, min = 1) =>
  z
    .string()
    // As a pattern, so the OpenAPI document says it too (domain/text.ts).
    .regex(
      rule.multiline ? MULTI_LINE_TEXT : SINGLE_LINE_TEXT,
      rule.multiline ? TEXT_RULES.multiLine : TEXT_RULES.singleLine,
    )
    .refine((value) => !hasLoneSurrogate(value), TEXT_RULES.surrogates)
    // Lengths in characters (code points), as JSON Schema counts them: an emoji is one, not two.
    .refine((value) => between([...value].length, min, max), `from ${min} to ${max} characters`)
    .openapi({ minLength: min, maxLength: max });
const between = (n: number, min: number, max: number) => n >= min && n <= max;
/** A reason, a note: prose, so line breaks are allowed. */
const prose = (max: number) => text(max, { multiline: true });

const money = z.number().int().min(0).max(1_000_000_000_00);
/** An instant as ISO 8601 with an offset, stored as UTC; years 2000–9999 (beyond that is a typo, and PostgreSQL's limit). */
const instant = z
  .string()
  .datetime({ offset: true })
  .regex(/^[2-9]\d{3}-/, 'a year from 2000 to 9999')
  .refine((v) => {
    const t = Date.parse(v);
    return Number.isFinite(t) && t >= Date.UTC(2000, 0, 1) && t < Date.UTC(10000, 0, 1);
  }, 'a date between 2000 and 9999')
  .transform((v) => new Date(v).toISOString());
/** A current ISO 4217 code (domain/money.ts), not any three capitals. */
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
  .refine(isCurrency, 'not a current ISO 4217 currency code');

export const id = z.string().min(1).max(100).regex(ID_PATTERN, 'letters, digits and . _ : - only');

/** A duration as `500ms`, `30m`, `2h`, `7d` (domain/duration.ts), within bounds: milliseconds. */
function durationText(minMs: number, maxMs: number, message: string) {
  return z
    .string()
    .max(20)
    .transform((v, ctx) => {
      let ms = NaN;
      try {
        ms = parseDuration(v);
      } catch {
        // reported below
      }
      if (!(ms >= minMs && ms <= maxMs)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message });
        return z.NEVER;
      }
      return ms;
    });
}

export const promotionCodeParam = z
  .string()
  .min(1)
  .max(50)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');

export const skuParam = id;
export const locationIdParam = id;

export const locationBody = z
  .object({ name: text(200), priority: z.number().int().min(0).max(1_000_000) })
  .strict();
export const stockLevelBody = z.object({ onHand: z.number().int().min(0).max(100_000_000) }).strict();
export const orderIdParam = id;
/** A customer's id is what its token's `sub` says (api/auth.ts). */
export const customerIdParam = z
  .string()
  .regex(SUBJECT_PATTERN, 'printable ASCII without spaces, at most 200');

export const productBody = z
  .object({
    name: text(200),
    price: money,
    currency,
    kind: z.enum(['physical', 'virtual']),
    stock: z.number().int().min(0).max(100_000_000),
    inventoryStrategy: z.enum(['on_order', 'on_payment']).optional(),
    presale: z
      .object({
        // A presale is a deposit, then a balance: pay-time stock is taken with the first payment made.
        depositPerUnit: money.min(1),
        balanceStartsAt: instant,
        balanceEndsAt: instant,
      })
      .strict()
      .refine(
        (p) => Date.parse(p.balanceEndsAt) > Date.parse(p.balanceStartsAt),
        'balanceEndsAt must be after balanceStartsAt',
      )
      .optional(),
  })
  .strict();

export const shippingAddress = z
  .object({
    name: text(200),
    line1: text(200),
    line2: text(200, {}, 0).optional(),
    city: text(100),
    postalCode: text(20),
    country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 code'),
  })
  .strict();

export const createOrderBody = z
  .object({
    type: z.enum(PLACED_TYPES).default('standard'),
    items: z
      .array(z.object({ sku: id, quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY) }).strict())
      .min(1)
      .max(MAX_LINES)
      // A SKU named twice is one line (its quantities added): that line is bounded too.
      .superRefine((items, ctx) => {
        const units = new Map<string, number>();
        items.forEach((item, i) => {
          // An item out of bounds itself is named once, by its own rule.
          if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > MAX_LINE_QUANTITY)
            return;
          const sum = (units.get(item.sku) ?? 0) + item.quantity;
          units.set(item.sku, sum);
          if (sum > MAX_LINE_QUANTITY && sum - item.quantity <= MAX_LINE_QUANTITY)
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path: [i, 'quantity'],
              message: `a SKU's quantities, added over the items that name it, may be at most ${MAX_LINE_QUANTITY}`,
            });
        });
      }),
    couponCode: promotionCodeParam.optional(),
    shippingAddress: shippingAddress.optional(),
    // A channel names the customer it orders for; a customer orders for itself.
    customerId: customerIdParam.optional(),
  })
  .strict();

/** The most an imported order's lines may add up to: every sum stays an exact integer. */
const MAX_IMPORT_SUBTOTAL = 1_000_000_000_00;

/** An order placed in another order system, as its source left it (POST /v1/orders/import). */
export const importOrderBody = z
  .object({
    channel: id,
    externalId: id.describe('the order’s id in its source: one order per (channel, externalId)'),
    customerId: customerIdParam,
    items: z
      .array(z.object({ sku: id, quantity: z.number().int().min(1).max(1000), unitPrice: money }).strict())
      .min(1)
      .max(100),
    amounts: z
      .object({
        subtotal: money.optional(),
        discount: money.default(0),
        shipping: money.default(0),
        total: money,
      })
      .strict(),
    currency: currency.optional(),
    placedAt: instant.refine(
      (v) => Date.parse(v) <= Date.now() + 300_000,
      'not in the future (5 minutes of clock skew allowed)',
    ),
    status: z.enum(IMPORT_STATES).default('PAID'),
    shippingAddress: shippingAddress.optional(),
    shipment: z
      .object({ carrier: text(100), trackingNumber: text(100) })
      .strict()
      .optional(),
    paymentReference: id.optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    const skus = body.items.map((i) => i.sku);
    if (new Set(skus).size !== skus.length)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['items'], message: 'each SKU once' });
    const subtotal = body.items.reduce((a, i) => a + i.unitPrice * i.quantity, 0);
    if (subtotal > MAX_IMPORT_SUBTOTAL)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['items'], message: 'the lines add up to too much' });
  });

export const channelIdParam = id;
export const channelBody = z
  .object({
    name: text(200),
    // Overrides PAYMENT_TIMEOUT for the channel's orders: 1 minute to 30 days.
    paymentTimeout: durationText(
      60_000,
      30 * 86_400_000,
      'a duration such as 30m or 2h, 1m to 30d',
    ).optional(),
    orderTypes: z.array(z.enum(ORDER_TYPES)).min(1).max(ORDER_TYPES.length).optional(),
  })
  .strict();

/** A payment provider's token: printable ASCII, as every provider issues them. */
export const payBody = z
  .object({
    paymentToken: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\x21-\x7E]+$/, 'printable ASCII only'),
  })
  .strict();
export const shipBody = z
  .object({
    carrier: text(100),
    trackingNumber: text(100),
    // A parcel of these units only (a partial shipment); none: everything left to ship.
    items: z
      .array(z.object({ sku: id, quantity: z.number().int().min(1).max(1000) }).strict())
      .min(1)
      .max(100)
      .optional(),
  })
  .strict();
export const cancelBody = z.object({ reason: prose(500).optional() }).strict();
export const emptyBody = z.object({}).strict();

/** A page's cursor: one this service gave out, checked strictly (anything else is a 400, never a query). */
const cursorParam = z
  .string()
  .max(400)
  .transform((value, ctx) => {
    const cursor = parseCursor(value);
    if (!cursor) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not a cursor this service gave out' });
      return z.NEVER;
    }
    return cursor;
  });

/** A list of records newest first (./services/orders/list-reverse.ts): a cursor it gave out. */
const createdCursorParam = (list: CursorList) =>
  cursorParam.transform((cursor, ctx) => {
    // One without a list (given out before cursors named theirs) is read as then: by its key.
    if ((cursor.of !== undefined && cursor.of !== list) || !('createdAt' in cursor)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not a cursor of this list' });
      return z.NEVER;
    }
    return { createdAt: cursor.createdAt, id: cursor.id };
  });

const limitParam = z.coerce.number().int().min(1).max(100).default(20);

/** A cursor this service gave out for this list (services/paging.ts), checked part by part. */
const keyCursorParam = (list: ListName) =>
  z
    .string()
    .max(400)
    .transform((value, ctx) => {
      const key = parseKey(value, list);
      if (!key) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not a cursor of this list' });
        return z.NEVER;
      }
      return key;
    });

/** A page of a list: `limit` (20, at most 100) and the previous page's `nextCursor`. */
const pageQuery = (list: ListName) =>
  z.object({ limit: limitParam, cursor: keyCursorParam(list).optional() }).strict();
export const eventsQuery = pageQuery('events');
export const webhooksQuery = pageQuery('webhooks');
export const channelsQuery = pageQuery('channels');
export const locationsQuery = pageQuery('locations');

/** The order list's filters: the list, its export and (the window) its counts take them. */
const orderFilters = {
  status: z
    .string()
    .max(50)
    .regex(/^[A-Z_]+$/, 'an order status such as PAID')
    .optional(),
  type: z.enum(ORDER_TYPES).optional(),
  customerId: customerIdParam.optional(),
  channel: id.optional(),
  paymentStatus: z
    .enum(['unpaid', 'pending', 'authorized', 'partially_paid', 'paid', 'partially_refunded', 'refunded'])
    .optional(),
  createdFrom: instant.optional(),
  createdTo: instant.optional(),
  sku: id.optional(),
  currency: currency.optional(),
  minTotal: z.coerce.number().int().min(0).max(1_000_000_000_00).optional(),
  maxTotal: z.coerce.number().int().min(0).max(1_000_000_000_00).optional(),
  // A customer id (an identity provider's subject: `ann@example.com`), a tracking number (spaces,
  // slashes), or the beginning of an order id.
  q: text(200).optional(),
  sort: z.enum(['-createdAt', 'createdAt', '-total', 'total']).default('-createdAt'),
};

export const listOrdersQuery = z
  .object({ ...orderFilters, limit: limitParam, cursor: cursorParam.optional() })
  .strict();

export const exportOrdersQuery = z
  .object({
    ...orderFilters,
    rows: z.enum(['order', 'line']).default('order').describe('one row per order, or per order line'),
  })
  .strict();

export const orderStatsQuery = z
  .object({
    groupBy: z.enum(['status', 'type', 'channel', 'paymentStatus', 'day']),
    createdFrom: instant.optional(),
    createdTo: instant.optional(),
  })
  .strict();

export const listRefundsQuery = z
  .object({
    orderId: orderIdParam.optional(),
    source: z.enum(REFUND_SOURCES).optional(),
    createdFrom: instant.optional(),
    createdTo: instant.optional(),
    limit: limitParam,
    cursor: createdCursorParam('refunds').optional(),
  })
  .strict();

/** The lists of after-sales cases (returns, claims): by order, customer, status and window, newest first. */
const caseListQuery = <T extends z.ZodRawShape>(list: CursorList, filters: T) =>
  z
    .object({
      orderId: orderIdParam.optional(),
      customerId: customerIdParam.optional(),
      status: z
        .string()
        .max(50)
        .regex(/^[A-Z_]+$/, 'a status such as REQUESTED')
        .optional(),
      ...filters,
      createdFrom: instant.optional(),
      createdTo: instant.optional(),
      limit: limitParam,
      cursor: createdCursorParam(list).optional(),
    })
    .strict();

export const listReturnsQuery = caseListQuery('returns', { reasonCode: z.enum(RETURN_REASONS).optional() });

export const listClaimsQuery = caseListQuery('claims', { kind: z.enum(CLAIM_KINDS).optional() });

export const listExchangesQuery = caseListQuery('exchanges', {});

/**
 * What a list query's fields say together, which its schema (an object, for the document)
 * cannot: amounts compare within one currency, a window ends after it starts, a page continues
 * its own sort. A ZodError, so it answers like any other 400.
 */
export function listOrdersQueryProblems(query: {
  currency?: string;
  minTotal?: number;
  maxTotal?: number;
  sort?: string;
  createdFrom?: string;
  createdTo?: string;
  /** The order list's (the after-sales lists' schemas have checked theirs). */
  cursor?: ListCursor;
}): ZodError | null {
  const issues: z.ZodIssue[] = [];
  const problem = (path: string, message: string) =>
    issues.push({ code: z.ZodIssueCode.custom, path: [path], message });
  const byAmount = query.sort === 'total' || query.sort === '-total';
  if (!query.currency && (byAmount || query.minTotal !== undefined || query.maxTotal !== undefined))
    problem(
      'currency',
      'amounts compare within one currency: give currency with minTotal, maxTotal or a total sort',
    );
  if (query.createdFrom && query.createdTo && query.createdTo <= query.createdFrom)
    problem('createdTo', 'createdTo must be after createdFrom');
  if (query.cursor && !cursorFits(query.cursor, query.sort as OrderSort | undefined))
    problem('cursor', 'the cursor is of another sort');
  return issues.length ? new ZodError(issues) : null;
}

export const promotionBody = z
  .object({
    kind: z.enum(['percent', 'fixed', 'threshold']),
    value: money,
    minSubtotal: money.optional(),
    maxUses: z.number().int().min(1).max(100_000_000).optional(),
    perCustomerLimit: z.number().int().min(1).max(1_000_000).optional(),
    startsAt: instant.optional(),
    endsAt: instant.optional(),
    currency: currency
      .optional()
      .describe('the currency of its amounts: orders in another cannot use it (none: any order’s)'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.kind === 'percent' && (p.value < 1 || p.value > 100)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['value'],
        message: 'a percentage is a whole number from 1 to 100',
      });
    }
    // A coupon that takes nothing off would still count its uses and show as applied.
    if (p.kind !== 'percent' && p.value < 1) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['value'],
        message: 'a fixed or threshold promotion takes off at least 1 (minor units)',
      });
    }
    if (p.kind === 'threshold' && p.minSubtotal === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['minSubtotal'],
        message: 'a threshold promotion needs minSubtotal',
      });
    }
    if (p.startsAt && p.endsAt && Date.parse(p.endsAt) <= Date.parse(p.startsAt)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['endsAt'],
        message: 'endsAt must be after startsAt',
      });
    }
  });

export const memberBody = z.object({ tier: z.enum(['standard', 'silver', 'gold']) }).strict();
/** Whose customer: a partner channel's (a customer id means a customer of its channel); none, the web shop's. */
export const memberQuery = z.object({ channel: id.optional() }).strict();

const units = z
  .array(z.object({ sku: id, quantity: z.number().int().min(1).max(1000) }).strict())
  .min(1)
  .max(100);

/** Some units (all that is left when none are named), or, as goodwill, an amount without units: one or the other. */
export const refundBody = z.union([
  z.object({ items: units.optional(), reason: prose(500) }).strict(),
  z
    .object({ amount: z.number().int().min(1).max(1_000_000_000_00), reason: prose(500) })
    .strict()
    .describe('goodwill (staff): an amount without units, allocated to the lines'),
]);
export const returnBody = z
  .object({
    items: units,
    reason: prose(500),
    // Why, from the closed list the merchant reports on (GET /v1/returns/stats); absent: `other`.
    reasonCode: z.enum(RETURN_REASONS).optional(),
  })
  .strict();
export const returnIdParam = id;
export const returnActionBody = z.object({ reason: prose(500).optional() }).strict();
/** `receive`: what arrived, per SKU; none named: every unit the return holds, sellable. */
export const returnReceiveBody = returnActionBody
  .extend({
    items: z
      .array(
        z
          .object({
            sku: id,
            sellable: z.number().int().min(0).max(1000),
            damaged: z.number().int().min(0).max(1000),
          })
          .strict(),
      )
      .min(1)
      .max(100)
      .optional(),
  })
  .strict();
/** A claim: which units, what happened to them, what the customer asks for, in their words. */
export const claimBody = z
  .object({
    items: units,
    kind: z.enum(CLAIM_KINDS),
    resolution: z.enum(CLAIM_RESOLUTIONS),
    reason: prose(500),
  })
  .strict();
export const claimIdParam = id;
/** `approve`: as the customer asked, or settled the other way (`resolution`). */
export const claimApproveBody = z
  .object({ reason: prose(500).optional(), resolution: z.enum(CLAIM_RESOLUTIONS).optional() })
  .strict();
/** `reject`, `refund-instead`: why, optionally. */
export const claimRejectBody = z.object({ reason: prose(500).optional() }).strict();
/** An edit: SKUs to add, lines to remove, lines whose quantity (0 removes) or SKU changes. At least one. */
export const editBody = z
  .object({
    add: units.optional(),
    remove: z
      .array(z.object({ sku: id }).strict())
      .min(1)
      .max(100)
      .optional(),
    change: z
      .array(
        z
          .object({ sku: id, quantity: z.number().int().min(0).max(1000).optional(), newSku: id.optional() })
          .strict(),
      )
      .min(1)
      .max(100)
      .optional(),
    reason: prose(500).optional(),
  })
  .strict();
export const editIdParam = id;
/** `confirm`: a payment token when the edit costs more than was paid. */
export const editConfirmBody = z.object({ paymentToken: payBody.shape.paymentToken.optional() }).strict();

/** An exchange: the units sent back, those wanted instead (each SKU once), and why. */
export const exchangeBody = z.object({ returnItems: units, newItems: units, reason: prose(500) }).strict();
export const exchangeIdParam = id;
/** `approve`, `reject`, `cancel`: why, optionally. */
export const exchangeActionBody = z.object({ reason: prose(500).optional() }).strict();
/** `receive`: what came back, per SKU, as for a return. */
export const exchangeReceiveBody = returnReceiveBody;
/** `pay`: the difference, with a payment token as for an order. */
export const exchangePayBody = payBody;
/** `ship`: the replacement's parcel. */
export const claimShipBody = z
  .object({ carrier: text(100), trackingNumber: text(100), reason: prose(500).optional() })
  .strict();
export const returnStatsQuery = z
  .object({ createdFrom: instant.optional(), createdTo: instant.optional() })
  .strict();
export const patchOrderBody = z
  .object({
    shippingAddress: shippingAddress.optional(),
    items: z
      .array(z.object({ sku: id, quantity: z.number().int().min(0).max(1000) }).strict())
      .min(1)
      .max(100)
      .optional(),
  })
  .strict()
  .refine(
    (b) => b.shippingAddress !== undefined || b.items !== undefined,
    'give shippingAddress, items or both',
  )
  // The same rule as the document states it: with only these two keys, "at least one" is this.
  .openapi({ minProperties: 1 });

/** A machine-readable word from another system (an event type, a decline code): bounded, storable. */
const word = z.string().regex(/^[a-z][a-z0-9_.]{0,79}$/, 'a lowercase word of letters, digits, `_` and `.`');

/** A payment provider's event (Stripe's shape), as POST /v1/inbound/payments reads it once its signature verified. */
export const paymentEvent = z
  .object({
    id,
    type: word,
    data: z
      .object({
        object: z
          .object({
            id,
            status: word,
            last_payment_error: z.object({ code: word }).passthrough().nullable().optional(),
            // Unix seconds, bounded so a date can be made of them (year 2286 at most).
            capture_before: z.number().int().nonnegative().max(9_999_999_999).nullable().optional(),
            created: z.number().int().nonnegative().max(9_999_999_999).optional(),
            // Without an order id of this service's: a payment it did not make (an account shared
            // with another system), received and acted on by nobody (api/routes/inbound.ts).
            metadata: z
              .object({ order_id: z.string().max(500).optional() })
              .passthrough()
              .nullable()
              .optional(),
          })
          .passthrough(),
      })
      .passthrough(),
  })
  .passthrough();

/** A warehouse's event, as the sandbox warehouse sends it: what a fulfilment became. */
const lines = z
  .array(z.object({ sku: id, quantity: z.number().int().min(0).max(1_000_000) }).strict())
  .max(100);
export const fulfilmentEvent = z
  .object({
    id,
    type: word,
    data: z
      .object({
        object: z
          .object({
            id: z
              .string()
              .min(1)
              .max(200)
              .regex(/^[A-Za-z0-9._:-]+$/, 'an id'),
            order_id: id,
            location: id,
            status: z.enum([
              'accepted',
              'refused',
              'picked',
              'packed',
              'shipped',
              'in_transit',
              'delivered',
              'delivery_failed',
              'cancelled',
            ]),
            items: lines,
            picked: lines.nullable().optional(),
            carrier: text(100).nullable().optional(),
            tracking_number: text(100).nullable().optional(),
          })
          .passthrough()
          // The warehouse answers about the fulfilment the service asked for, by the id it gave: an
          // id of another order's would move that order's fulfilment and tell this one of it.
          .refine((f) => isFulfilmentIdOf(f.id, f.order_id, f.location), {
            message: 'not the id of a fulfilment of this order and location',
            path: ['id'],
          }),
      })
      .passthrough(),
  })
  .passthrough();

export const stalledQuery = z
  .object({
    stalledFor: durationText(0, 366 * 86_400_000, 'a duration such as 2h or 30m, at most 366d'),
    limit: limitParam,
    cursor: keyCursorParam('stalledFulfilments').optional(),
  })
  .strict();

/** Parses, and its host is a DNS name (labels of letters, digits and hyphens) or an IP literal. */
function isWebhookUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const host = new URL(text).hostname;
  if (/^\[[0-9a-fA-F:.]+\]$/.test(host)) return true;
  return (
    host.length <= 253 &&
    host.split('.').every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))
  );
}

/** A webhook subscription (issue 22). The URL's address is checked by the route (services/webhooks/addresses.ts). */
export const webhookIdParam = id;
export const webhookBody = z
  .object({
    url: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[!-~]+$/, 'an http(s) URL of printable ASCII')
      .refine(isWebhookUrl, 'a URL whose host is a host name or an IP address'),
    events: z
      .array(z.enum([...EVENT_TYPES, '*']))
      .min(1)
      .max(EVENT_TYPES.length + 1)
      .describe('event types, or `["*"]` for all of them'),
    // The HMAC key deliveries are signed with: what the receiver verifies against. Never shown again.
    secret: z
      .string()
      .min(16)
      .max(200)
      .regex(/^[!-~]+$/, 'printable ASCII without spaces')
      .refine(
        (s) => !looksSealed(s),
        'a secret that does not begin with "enc:" (the form a sealed one is stored in)',
      ),
    active: z.boolean().default(true),
  })
  .strict();
export const eventIdParam = z.string().regex(/^evt_[0-9a-f]{32}$/, 'an event id (evt_ and 32 hex digits)');
export const deliveriesQuery = z
  .object({
    status: z.enum(['pending', 'delivered', 'failed']).optional(),
    orderId: orderIdParam.optional(),
    limit: limitParam,
    cursor: keyCursorParam('deliveries').optional(),
  })
  .strict();
