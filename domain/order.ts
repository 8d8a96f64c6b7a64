/** The order as the workflow holds it and the projection stores it; shared by workflow, activities and API. */
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
  inventoryStrategy: InventoryStrategy;
}

export type InventoryStrategy = 'on_order' | 'on_payment';

/** Some units of one SKU: what a request orders, refunds, returns or changes. */
export interface LineQuantity {
  sku: string;
  quantity: number;
}

export interface OrderAmounts extends Amounts {
  paid: number;
  refunded: number;
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
}

/** Durations (ms) fixed when the order is created, so a later config change does not move its timers. */
export interface OrderPolicy {
  paymentTimeoutMs: number;
  autoConfirmAfterMs: number;
  afterSalesWindowMs: number;
}

export interface PlaceOrderInput {
  orderId: string;
  type: OrderType;
  customerId: string;
  items: LineQuantity[];
  couponCode?: string;
  shippingAddress?: ShippingAddress;
  policy: OrderPolicy;
  requestId?: string;
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
}

export interface OrderState extends Placement {
  id: string;
  type: OrderType;
  customerId: string;
  status: string;
  couponCode: string | null;
  shippingAddress: ShippingAddress | null;
  shipment: { carrier: string; trackingNumber: string } | null;
  /** A virtual order's code; `voidedAt` once the order was refunded in full. */
  delivery: { code: string; voidedAt?: string } | null;
  updatedAt: string;
  history: HistoryEntry[];
}

export interface ActionRequest {
  action: string;
  actor: { id: string; role: Role };
  reason?: string;
  paymentToken?: string;
  shipment?: { carrier: string; trackingNumber: string };
  /** `refund`: these units (all that is left when omitted); the workflow decides whether that refunds the whole order. */
  refund?: { refundId: string; items?: LineQuantity[] };
  /** `request_return`: the units the customer sends back. */
  returnRequest?: { returnId: string; items: LineQuantity[] };
  /** `modify`: a new address, and/or lower quantities (0 removes a line). */
  modification?: { shippingAddress?: ShippingAddress; items?: LineQuantity[] };
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

/**
 * Why a request to act on an order or a return cannot be taken as it is, or null: the action a
 * known word, the actor a role and an id, every string storable (domain/text.ts). The API's
 * schemas guarantee all of it; the workflows check again, for requests that came another way.
 * Returns a field path, never the value.
 */
export function actionRequestProblem(request: {
  action: unknown;
  actor: { id: unknown; role: unknown };
}): string | null {
  if (typeof request?.action !== 'string' || !/^[a-z_]{1,40}$/.test(request.action)) return 'action';
  if (!ROLES.includes(request.actor?.role as Role)) return 'actor.role';
  if (typeof request.actor.id !== 'string' || !SUBJECT_PATTERN.test(request.actor.id)) return 'actor.id';
  return findUnstorable(request);
}

/** The same for an order's placement input (it becomes the order's row, history and search attributes). */
export function placeOrderInputProblem(input: PlaceOrderInput): string | null {
  if (!ORDER_TYPES.includes(input?.type)) return 'type';
  if (typeof input.customerId !== 'string' || !SUBJECT_PATTERN.test(input.customerId)) return 'customerId';
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
}
