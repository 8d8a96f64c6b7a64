/**
 * The one error hierarchy. Domain code and activities throw these (activities as
 * ApplicationFailure with the same `type`), and api/problem.ts maps each to HTTP.
 */
export type BusinessCode =
  | 'OUT_OF_STOCK'
  | 'UNKNOWN_PRODUCT'
  | 'CURRENCY_MISMATCH'
  | 'WRONG_PRODUCT_KIND'
  | 'COUPON_INVALID'
  | 'COUPON_EXPIRED'
  | 'COUPON_EXHAUSTED'
  | 'NOTHING_TO_REFUND'
  | 'NOTHING_TO_SHIP'
  | 'AMOUNT_TOO_LARGE'
  | 'PRESALE_WINDOW'
  | 'PRESALE_DEPOSIT'
  | 'UNKNOWN_LINE'
  | 'MODIFICATION_NOT_ALLOWED'
  | 'WEBHOOK_URL_REFUSED'
  | 'AMOUNTS_MISMATCH'
  | 'RECEIPT_MISMATCH'
  | 'NOT_A_REPLACEMENT'
  | 'NOTHING_TO_PAY'
  | 'DIFFERENCE_UNPAID'
  | 'EDIT_INVALID'
  | 'EDIT_NEEDS_REVIEW'
  | 'PAYMENT_TOKEN_REQUIRED';

/** ApplicationFailure types that cross the workflow boundary. */
export const FailureType = {
  Business: 'BusinessRuleViolation',
  IllegalTransition: 'IllegalTransition',
  Forbidden: 'Forbidden',
  PaymentDeclined: 'PaymentDeclined',
  TransientPayment: 'TransientPaymentError',
  /** The provider refused to capture an authorisation (expired, declined): the order is flagged, never an API answer. */
  CaptureFailed: 'CaptureFailed',
  /** Input a workflow refuses because it cannot be stored (it skipped the API's validation): a 400. */
  InvalidInput: 'InvalidInput',
  /** Data the database refused (SQLSTATE class 22, some of 23): retrying cannot help. */
  InvalidData: 'InvalidData',
  /** The code vendor refused to issue a digital good's code: the order waits, flagged, and asks again later. */
  VendorRefused: 'VendorRefused',
  /** A dependency that outlived its retries: the request may be retried later (a 503). */
  Unavailable: 'DependencyUnavailable',
  /**
   * An action sent again (worker/unsettled-actions.ts) to a workflow that holds a transition at its
   * sequence number already (`details[0]`: its action and status): the action's own, or another's.
   */
  PlaceTaken: 'ActionPlaceTaken',
} as const;

/**
 * The detail of an outage an order's workflow answered having spent no charge's key: run again, it
 * does nothing twice, so a retry under the client's Idempotency-Key runs it again as a new Update
 * (api/idempotency.ts `updateIdFromKey`). Without it (a charge's key spent, its outcome unknown:
 * a deposit's, a balance's), the retry gets the same 503.
 */
export const RERUNNABLE = { rerunnable: true } as const;

/** Whether a failure's details say `RERUNNABLE`. */
export function markedRerunnable(details: readonly unknown[] | undefined | null): boolean {
  return (details?.[0] as { rerunnable?: unknown } | undefined)?.rerunnable === true;
}

/** The failure types an API answers as a refusal (4xx, api/problem.ts); any other is an outage (503). */
export const REFUSAL_TYPES: readonly string[] = [
  FailureType.Business,
  FailureType.IllegalTransition,
  FailureType.Forbidden,
  FailureType.PaymentDeclined,
  FailureType.InvalidInput,
  FailureType.InvalidData,
];

/**
 * The decline code of a charge whose idempotency key the provider already holds with other
 * parameters (Stripe's `idempotency_error`): a charge was made under that key by a request whose
 * answer was lost, and it is looked up, not made again.
 */
export const KEY_REUSED = 'idempotency_error';

export class DomainError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BusinessRuleError extends DomainError {
  constructor(
    readonly code: BusinessCode,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message, 422, { code, ...extra });
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super(`${what} not found`, 404);
  }
}

export class IllegalTransitionError extends DomainError {
  constructor(message: string, status: string, allowedActions: string[]) {
    super(message, 409, { orderStatus: status, allowedActions });
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super(message, 403, extra);
  }
}

export class PaymentDeclinedError extends DomainError {
  constructor(code: string) {
    super(`payment declined: ${code}`, 402, { code });
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super(message, 409, extra);
  }
}
