/** The order as the workflow holds it and the projection stores it; shared by workflow, activities and API. */
import type { FulfilmentStatus } from './fulfilment';
import { IMPORT_STATES, type ImportedOrder, type ImportRecord } from './imports';
import type { ClaimKind, ClaimResolution } from './claims';
import type { ReturnReason } from './returns';
import { ORDER_TYPES, type OrderType } from './machines';
import type { AppliedDiscount, Amounts } from './pricing';
import { ROLES, type Actor, type Role } from './roles';
import { findUnstorable, ID_PATTERN, SUBJECT_PATTERN } from './text';

export interface OrderLine {
  sku: string;
  name: string;
  quantity: number;
  unitPrice: number;
  discount: number;
  total: number;
  refundedQuantity: number;
  /** Money given back on this line, kept once it had a goodwill refund (an amount, no units); else derived from the units. */
  refundedAmount?: number;
  /** Units given back in exchanges (domain/exchanges.ts), and what they were credited; absent: none. */
  exchangedQuantity?: number;
  exchangedAmount?: number;
  inventoryStrategy: InventoryStrategy;
}

export type InventoryStrategy = 'on_order' | 'on_payment';

/** Some units of one SKU: what a request orders, refunds, returns or changes. */
export interface LineQuantity {
  sku: string;
  quantity: number;
}

export interface OrderAmounts extends Amounts {
  /** Captured. */
  paid: number;
  refunded: number;
  /** Held at the provider, still to be captured (capture at shipment); absent on orders that never held any. */
  authorized?: number;
  /** Refunded before the capture: released from the hold, never taken. */
  released?: number;
}

export interface HistoryEntry {
  seq: number;
  from: string | null;
  action: string;
  to: string;
  actor: string;
  at: string;
  reason?: string;
}

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
}

/** A presale product's terms, per unit: the deposit now, the balance within a window. */
export interface PresaleTerms {
  depositPerUnit: number;
  balanceStartsAt: string;
  balanceEndsAt: string;
}

export interface Presale {
  deposit: number;
  balanceStartsAt: string;
  balanceEndsAt: string;
  /**
   * Each SKU's deposit per unit as the order was placed: a modification keeps to it, whatever the
   * catalogue says later. Absent on orders placed before it was kept.
   */
  depositPerUnit?: Record<string, number>;
}

/**
 * A presale's deposit once its lines are `after`: each SKU's deposit per unit as placed; for
 * orders placed before that was kept, the deposit in proportion to what the units kept are worth
 * (rounded down: never more than the customer committed to).
 */
export function presaleDeposit(
  presale: Presale,
  before: readonly PricedUnits[],
  after: readonly PricedUnits[],
): number {
  const perUnit = presale.depositPerUnit;
  if (perUnit && after.every((l) => perUnit[l.sku] !== undefined))
    return after.reduce((a, l) => a + perUnit[l.sku]! * l.quantity, 0);
  const worth = (lines: readonly PricedUnits[]) => lines.reduce((a, l) => a + l.unitPrice * l.quantity, 0);
  const was = worth(before);
  return was === 0 ? 0 : Number((BigInt(presale.deposit) * BigInt(worth(after))) / BigInt(was));
}

/** Units of a SKU at a unit price. */
export interface PricedUnits {
  sku: string;
  quantity: number;
  unitPrice: number;
}

/** Durations (ms) fixed when the order is created, so a later config change does not move its timers. */
export interface OrderPolicy {
  /** `warehouse`: production sends a fulfilment request per stock location, whose news ships the order. */
  fulfilment?: 'warehouse';
  paymentTimeoutMs: number;
  autoConfirmAfterMs: number;
  afterSalesWindowMs: number;
  /** How long past the payment timeout a pending payment is waited for (orders placed before: 10 min). */
  pendingPaymentGraceMs?: number;
  /** How often the provider is first asked about a pending payment, webhooks or not (`pendingPollDelay`; orders placed before: 30 s). */
  pendingPaymentPollMs?: number;
  /** `on_shipment`: the payment is authorised, captured when the goods ship, voided on cancel. */
  capture?: 'on_shipment';
  /** How long before an authorisation runs out it is renewed. */
  reauthorizeBeforeMs?: number;
  /** How often a capture refused after shipment is tried again. */
  captureRetryMs?: number;
  /** How long an ended order waits for its parcels' news, a cancelled one for its recalled parcels (PARCEL_NEWS_WAIT; orders placed before: 30 days). */
  parcelNewsWaitMs?: number;
  /** How long a digital good's code waits after the vendor refused it before it is asked again (orders placed before: 15 min). */
  deliverRetryMs?: number;
  /** Orders whose total passes this, per currency (minor units), wait for a staff decision before production. */
  reviewAbove?: Record<string, number>;
  /** How long an order waits in review before it is rejected and refunded. */
  reviewTimeoutMs?: number;
  /** A return's windows (RETURN_DECISION_WINDOW, RETURN_SHIP_WINDOW); absent on orders from before: returns wait. */
  returnDecisionWindowMs?: number;
  returnShipWindowMs?: number;
  /** How long the payment provider remembers an idempotency key (PAYMENT_KEY_MEMORY; orders placed before: 12 h). */
  chargeKeyMemoryMs?: number;
}

/**
 * A charge as the order shows it; `processing` and `requires_action` are pending; `authorized`
 * is held until `captureBefore`, then `succeeded` when captured (`amount`: what was captured) or
 * `voided` when let go.
 */
/** The provider's fraud score of a charge, when above normal (Stripe's `outcome.risk_level`). */
export type PaymentRisk = 'elevated' | 'highest';

export interface OrderPayment {
  id: string;
  status: 'processing' | 'requires_action' | 'authorized' | 'succeeded' | 'voided' | 'failed';
  /** The kind of method (`card`, `bank_transfer`) as the provider reported it; absent on payments made before. */
  method?: string;
  amount: number;
  /** What was refunded of this payment when it came after its order ended (other refunds: see `paymentsView`). */
  refunded: number;
  /** The page a customer must open to finish it (3-D Secure). */
  nextAction?: { redirectUrl: string };
  captureBefore?: string;
  code?: string;
  /** Set when the provider scored the charge above normal risk: the order waits for review (domain/review.ts). */
  risk?: PaymentRisk;
  /** Taken by another order system (an imported order): its refunds are owed by that channel. */
  external?: { channel: string; reference?: string };
}

/**
 * What the order was paid and kept as payment. A charge it refused and refunded at once (one after
 * it ended, a lost request's for another amount) counts in `amounts.paid`, with its refund in its
 * own `refunded`, but paid nothing.
 */
export const paymentsKept = (order: Pick<OrderState, 'amounts' | 'payments'>): number =>
  order.amounts.paid - (order.payments ?? []).reduce((a, p) => a + (p.refunded ?? 0), 0);

/**
 * The payments the order knows it took or holds at the provider, oldest first: what a refund or a
 * void reads by id when the provider's list of the order (a search) does not show them yet.
 */
export const providerPaymentIds = (order: Pick<OrderState, 'payments'>): string[] =>
  (order.payments ?? [])
    .filter((p) => !p.external && (p.status === 'succeeded' || p.status === 'authorized'))
    .map((p) => p.id);

export type PaymentStatus =
  'unpaid' | 'pending' | 'authorized' | 'partially_paid' | 'paid' | 'partially_refunded' | 'refunded';

/** Something support staff must resolve by hand (a capture refused after the goods left). */
export interface Attention {
  /**
   * `capture_failed`: a capture refused after shipment; `fulfilment_refused`: a warehouse refused
   * its part; `short_pick`: a warehouse found fewer units than it held; `delivery_failed`: the
   * carrier could not deliver a parcel; `recall_failed`: a parcel of a cancelled order was
   * delivered before the carrier could bring it back (the customer has goods that were refunded),
   * or never came back within PARCEL_NEWS_WAIT (lost by the carrier);
   * `void_refused`: a digital code refunded in full that the vendor would not void (it still works);
   * `refund_short`: the order's own refund (a return's, a claim's, an exchange's, an edit's, a
   * modification's) that the payments could not give in full (refunded or disputed outside this
   * service): what they gave is recorded, `detail` is what is still owed, in minor units.
   */
  code:
    | 'capture_failed'
    | 'fulfilment_refused'
    | 'short_pick'
    | 'delivery_failed'
    | 'recall_failed'
    | 'void_refused'
    | 'refund_short';
  /** The provider's code, e.g. `charge_expired_for_capture`, or `no_answer`. */
  detail: string;
  at: string;
}

export const isPending = (p: OrderPayment) => p.status === 'processing' || p.status === 'requires_action';

/**
 * The presale rule keeps the deposit of a balance left unpaid, but not when the customer had no
 * fair chance to pay it: the deposit settled only once the balance window had closed (a transfer
 * still processing at its deadline), or a charge of the balance was still processing when it did.
 */
export function depositForfeitable(order: Pick<OrderState, 'presale' | 'history' | 'payments'>): boolean {
  if (!order.presale) return true;
  if ((order.payments ?? []).some((p) => p.status === 'processing')) return false;
  const depositPaid = order.history.find((h) => h.action === 'pay' && h.to === 'DEPOSIT_PAID');
  return !depositPaid || Date.parse(depositPaid.at) < Date.parse(order.presale.balanceEndsAt);
}

/** The order's payment in one word, for lists and filters. */
export function paymentStatusOf(order: Pick<OrderState, 'amounts' | 'payments'>): PaymentStatus {
  const { paid, refunded, total, authorized = 0, released = 0 } = order.amounts;
  if ((order.payments ?? []).some(isPending)) return 'pending';
  if (paid === 0) return authorized > 0 ? 'authorized' : released > 0 ? 'refunded' : 'unpaid';
  if (refunded >= paid) return 'refunded';
  if (refunded > 0 || released > 0) return 'partially_refunded';
  return paid < total ? 'partially_paid' : 'paid';
}

/**
 * Each payment with what was refunded of it: refunds are taken from the oldest payment first
 * (services/payment/refunds.ts), so the order's refunded total splits the same way; a payment
 * refunded on its own (it came after the order ended) keeps its own figure.
 */
export function paymentsView(order: Pick<OrderState, 'amounts' | 'payments'>): OrderPayment[] {
  const payments = order.payments ?? [];
  let left = order.amounts.refunded - payments.reduce((a, p) => a + p.refunded, 0);
  return payments.map((p) => {
    if (p.status !== 'succeeded' || p.refunded > 0) return p;
    const refunded = Math.min(left, p.amount);
    left -= refunded;
    return { ...p, refunded };
  });
}

/** An order's bounds, as its placement's schema sets them (api/schemas.ts) and its edits keep them. */
export const MAX_LINES = 100;
export const MAX_LINE_QUANTITY = 1000;

/** Where customers who come without a channel belong: the shop's own website and apps. */
export const DEFAULT_CHANNEL = 'web';

export interface PlaceOrderInput {
  orderId: string;
  type: OrderType;
  customerId: string;
  /** The sales channel it came through (`web` when absent: orders placed before channels). */
  channel?: string;
  items: LineQuantity[];
  couponCode?: string;
  shippingAddress?: ShippingAddress;
  policy: OrderPolicy;
  requestId?: string;
  /** An order placed in another system (type `external`): its prices, payment and state come from there. */
  imported?: ImportedOrder;
}

/** The units an order takes from one stock location (services/inventory/ledger.ts `allocationOf`). */
export interface LocationAllocation {
  location: string;
  items: LineQuantity[];
}

/** What the placement activity fixed: the price snapshot and the holds taken. */
export interface Placement {
  createdAt: string;
  currency: string;
  items: OrderLine[];
  amounts: OrderAmounts;
  discounts: AppliedDiscount[];
  presale: Presale | null;
  paymentDeadline: string;
  /** Where the held units come from, best-ranked location first (orders placed before locations have none). */
  allocation?: LocationAllocation[];
}

/** A parcel that left: from a stock location (the warehouse), or shipped by hand by the merchant (no location). */
export interface Shipment {
  id: string;
  location: string | null;
  items: LineQuantity[];
  carrier: string;
  trackingNumber: string;
  status: 'shipped' | 'in_transit' | 'delivered' | 'delivery_failed';
  /** The order was cancelled after this parcel left: it was asked back from the carrier then. */
  recalledAt?: string;
  /** Back at its sender (the carrier could not deliver it) and refunded then: its units count as refunded, not shipped. */
  returnedAt?: string;
  /** An exchange's new units (domain/exchanges.ts): not the order's lines, never counted as shipped of them. */
  exchangeId?: string;
  /** A claim's replacement (domain/claims.ts): the same. */
  claimId?: string;
}

export interface OrderState extends Placement {
  id: string;
  type: OrderType;
  customerId: string;
  /** The sales channel it came through; absent on orders placed before channels (the web's). */
  channel?: string;
  status: string;
  couponCode: string | null;
  shippingAddress: ShippingAddress | null;
  shipment: { carrier: string; trackingNumber: string } | null;
  /** Every parcel that left, oldest first (orders shipped before parcels were listed have none). */
  shipments?: Shipment[];
  /** When the last parcel was delivered, as the carrier reported it: the auto-confirm window counts from here. */
  deliveredAt?: string;
  /**
   * When the after-sales window closes (set as the order enters it; orders from before have none):
   * returns, claims and exchanges open until then, and the order completes once its cases settle.
   */
  afterSalesUntil?: string;
  /** The requests to warehouses (FULFILMENT=warehouse), one per stock location, as they last stood. */
  fulfilments?: { id: string; location: string; status: FulfilmentStatus }[];
  /** A virtual order's code; `voidedAt` once the order was refunded in full. */
  delivery: { code: string; voidedAt?: string } | null;
  /** Every charge, oldest first (orders placed before payments were listed have none). */
  payments?: OrderPayment[];
  /** Set while something needs support staff (a capture refused after shipment). */
  attention?: Attention | null;
  /** An order imported from another system: its id there and when it was placed there. */
  imported?: ImportRecord;
  updatedAt: string;
  history: HistoryEntry[];
}

export interface ActionRequest {
  action: string;
  actor: { id: string; role: Role };
  reason?: string;
  paymentToken?: string;
  /** `ship`: the parcel's carrier and tracking number; its units (all that is left when none are named); from the warehouse, its fulfilment. */
  shipment?: {
    carrier: string;
    trackingNumber: string;
    items?: LineQuantity[];
    fulfilment?: { id: string; location: string };
  };
  /** `refund`: these units (all that is left when omitted); the workflow decides whether that refunds the whole order. */
  refund?: {
    refundId: string;
    items?: LineQuantity[];
    /** Goodwill: this amount, no units, allocated to the lines (domain/refunds.ts `planGoodwill`). */
    amount?: number;
    /** false: the units are not put back on hand (written off already: a short pick). */
    restock?: false;
  };
  /** `request_return`: the units the customer sends back, and why (from the closed list). */
  returnRequest?: { returnId: string; items: LineQuantity[]; reasonCode?: ReturnReason };
  /**
   * `open_claim`: the units damaged, missing or wrong, and what the customer asks for; a claim's
   * refund (the workflow's own request): its id and units.
   */
  claimRequest?: { claimId: string; items: LineQuantity[]; kind?: ClaimKind; resolution?: ClaimResolution };
  /**
   * `open_exchange`: the units sent back and those wanted instead; the exchange's own requests
   * (its refund, its parcel, giving its units back) carry its id and, for the parcel, the units.
   */
  exchangeRequest?: {
    exchangeId: string;
    returnItems?: LineQuantity[];
    newItems?: LineQuantity[];
    /** Set by the workflow only: what the exchange credited, line by line. */
    credits?: { sku: string; quantity: number; amount: number }[];
  };
  /**
   * `edit`: a previewed edit (services/orders/edits-store.ts) to apply, the order's history length
   * it was previewed at, and what confirming it charges or refunds (a paid order).
   */
  editRequest?: { editId: string; version: number; owed: number; refund: number };
  /** Set by the workflow only: the pending charge that paid this action, now that the provider has made it. */
  settledPayment?: {
    paymentId: string;
    amount: number;
    method?: string;
    captureBefore?: string;
    /** A lost request's charge scored above normal: the order waits for review, as if the answer had come. */
    risk?: PaymentRisk;
  };
  /** `modify`: a new address, and/or lower quantities (0 removes a line). */
  modification?: { shippingAddress?: ShippingAddress; items?: LineQuantity[] };
  /**
   * Set by the worker only, sending again an action no one heard answered
   * (worker/unsettled-actions.ts): the sequence number its transition holds in the order center.
   */
  resend?: { seq: number };
}

/**
 * An action an Update brought, kept with the transition it wrote until the workflow is known to
 * have taken it (services/orders/unsettled-actions.ts): enough to send the same Update again.
 */
export interface UnsettledAction {
  updateId: string;
  request: ActionRequest;
}

/**
 * Whether an action may be kept beside its transition to be sent again: not one carrying a payment
 * token (a pay, or a charge's), which is never stored; a pay lost with its task has its own look
 * for the charge it may have made (the workflow's `payUnanswered`).
 */
export function resendable(request: ActionRequest): boolean {
  return request.action !== 'pay' && request.paymentToken === undefined;
}

export function actorName(actor: Actor, id?: string): string {
  return actor === 'system' ? 'system' : `${actor}:${id ?? 'unknown'}`;
}

/** Units per SKU: the same SKU on two lines of a request is one line of the order. */
export function unitsBySku(items: LineQuantity[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const item of items) units.set(item.sku, (units.get(item.sku) ?? 0) + item.quantity);
  return units;
}

/** The same, as lines: one per SKU, as the ledger counts them. */
export const mergedUnits = (items: LineQuantity[]): LineQuantity[] =>
  [...unitsBySku(items)].map(([sku, quantity]) => ({ sku, quantity }));

/** An order's lines as priced (domain/pricing.ts), nothing refunded yet, each with its stock strategy. */
export function pricedOrderLines(
  priced: readonly Omit<OrderLine, 'refundedQuantity' | 'inventoryStrategy'>[],
  strategyOf: (i: number) => InventoryStrategy,
): OrderLine[] {
  return priced.map((l, i) => ({
    sku: l.sku,
    name: l.name,
    quantity: l.quantity,
    unitPrice: l.unitPrice,
    discount: l.discount,
    total: l.total,
    refundedQuantity: 0,
    inventoryStrategy: strategyOf(i),
  }));
}

/**
 * Why a request to act on an order or a return cannot be taken as it is, or null: the action a
 * known word, the actor a role and an id, every string storable (domain/text.ts). The API's
 * schemas guarantee all of it; the workflows check again, for requests that came another way.
 * Returns a field path, never the value.
 */
export function actionRequestProblem(request: {
  action: unknown;
  actor: { id: unknown; role: unknown };
  resend?: { seq: unknown };
}): string | null {
  if (typeof request?.action !== 'string' || !/^[a-z_]{1,40}$/.test(request.action)) return 'action';
  if (!ROLES.includes(request.actor?.role as Role)) return 'actor.role';
  if (typeof request.actor.id !== 'string' || !SUBJECT_PATTERN.test(request.actor.id)) return 'actor.id';
  if (
    request.resend !== undefined &&
    !(Number.isSafeInteger(request.resend?.seq) && (request.resend.seq as number) >= 1)
  )
    return 'resend.seq';
  return findUnstorable(request);
}

/** The same for an order's placement input (it becomes the order's row, history and search attributes). */
export function placeOrderInputProblem(input: PlaceOrderInput): string | null {
  if (!ORDER_TYPES.includes(input?.type)) return 'type';
  // An `external` order is imported, and only it: its prices and payment come from its source.
  if ((input.type === 'external') !== (input.imported !== undefined)) return 'type';
  if (input.imported) {
    const { lines, amounts, externalId, status, placedAt } = input.imported;
    if (typeof externalId !== 'string' || !ID_PATTERN.test(externalId)) return 'imported.externalId';
    if (!IMPORT_STATES.includes(status)) return 'imported.status';
    if (typeof placedAt !== 'string' || !Number.isFinite(Date.parse(placedAt))) return 'imported.placedAt';
    if (!Array.isArray(lines) || lines.length !== input.items?.length) return 'imported.lines';
    if (lines.some((l, i) => l?.sku !== input.items[i]?.sku || l?.quantity !== input.items[i]?.quantity))
      return 'imported.lines';
    const money = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    for (const [i, l] of lines.entries())
      if (!money(l?.unitPrice) || !money(l?.quantity)) return `imported.lines.${i}`;
    if (![amounts?.discount, amounts?.shipping, amounts?.total].every(money)) return 'imported.amounts';
  }
  if (typeof input.customerId !== 'string' || !SUBJECT_PATTERN.test(input.customerId)) return 'customerId';
  if (input.channel !== undefined && (typeof input.channel !== 'string' || !ID_PATTERN.test(input.channel)))
    return 'channel';
  if (!Array.isArray(input.items) || input.items.length === 0) return 'items';
  for (const [i, item] of input.items.entries())
    if (typeof item?.sku !== 'string' || !ID_PATTERN.test(item.sku)) return `items.${i}.sku`;
  return findUnstorable(input);
}

/** An order's lines and amounts after a modification repriced them. */
export interface ModifiedItems {
  items: OrderLine[];
  amounts: OrderAmounts;
  discounts: AppliedDiscount[];
  presale: Presale | null;
  allocation?: LocationAllocation[];
}

/**
 * The `request_id` of every order `npm run seed` writes straight to PostgreSQL (no workflow, for
 * queries): with a space, so no request's id can be it (the API takes `X-Request-Id` as letters,
 * digits and `. _ : -` only), and the audits may leave seeded orders out.
 */
export const SEEDED_REQUEST_ID = 'npm run seed';

/** The longest wait between two questions to the provider about a payment it has not decided. */
const PENDING_POLL_MAX_MS = 3_600_000;

/**
 * How long the payment provider is taken to remember an idempotency key, where the order's policy
 * does not say: half of Stripe's 24 hours. A key kept longer is looked up before it is used again.
 */
export const CHARGE_KEY_MEMORY_MS = 43_200_000;

/**
 * A key an earlier charge may have used unseen, first at `firstUse` (0: at a time nobody knows), is
 * older than the provider's memory of keys (`memoryMs`: the order's policy, or the default): a
 * charge must look it up before asking under it again.
 */
export function keyOutlivesMemory(firstUse: number, now: number, memoryMs = CHARGE_KEY_MEMORY_MS): boolean {
  return now - firstUse >= memoryMs;
}

/** A key's first use, kept again: the earlier of this use (undefined: unknown, so 0) and the one known before. */
export function keyFirstUse(thisUse: number | undefined, before: number | undefined): number {
  return Math.min(thisUse ?? 0, before ?? Infinity);
}

/** How long an ended order (or exchange) looks for a charge not shown when its pay's answer was lost. */
export const UNSHOWN_CHARGE_WATCH_MS = 86_400_000;

/**
 * The wait before the provider is asked again about a payment it has not decided, after `polls`
 * questions: the poll, doubling, up to an hour. A bank transfer may take days, and each question
 * adds to the workflow's history, which has a limit (about 51,000 events): asked every 30 s, a
 * transfer pending for two days would reach it.
 */
export function pendingPollDelay(pollMs: number, polls: number): number {
  return Math.min(pollMs * 2 ** polls, PENDING_POLL_MAX_MS);
}
