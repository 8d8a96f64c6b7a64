/**
 * The payment provider over HTTP, in the shape of Stripe's API (PaymentIntents and Refunds): the
 * adapter for the sandbox payment service (sandboxes/payments), PAYMENT_PROVIDER_URL. A Stripe
 * adapter would make the same calls to api.stripe.com with its secret key: create a
 * PaymentIntent with `confirm: true` and the Idempotency-Key, list an order's intents and refunds
 * by searching their metadata, map `requires_payment_method` to a decline, and for a manual
 * capture read `capture_before` (and the risk level, `outcome.risk_level`) from the intent's latest charge.
 *
 * No answer (a timeout, a dropped connection), a 409 (the same key still in flight), a 429 or a
 * 5xx is a TransientPaymentError: the outcome is unknown, and the caller retries with the same
 * key or looks the key up. A 4xx is a bug in the request, never retried.
 */
import {
  type ChargeNews,
  type ChargeRequest,
  type CaptureResult,
  type ChargeResult,
  type PaymentProvider,
  type PaymentRecord,
  type RefundRecord,
  type RefundRequest,
  TransientPaymentError,
} from './provider';

interface Intent {
  id: string;
  payment_method_type?: string;
  next_action: { redirect_to_url?: { url: string } } | null;
  amount: number;
  amount_received?: number;
  amount_refunded: number;
  capture_before?: number | null;
  created?: number;
  /** Stripe says it on the charge (`outcome.risk_level`); the sandbox on the intent. */
  risk_level?: string;
  status: string;
  last_payment_error: { code: string } | null;
  metadata: Record<string, string>;
}

interface Refund {
  id: string;
  amount: number;
  payment_intent: string;
  metadata: Record<string, string>;
}

export class HttpPaymentProvider implements PaymentProvider {
  constructor(
    private readonly baseUrl: string,
    /** Below the activity's own timeout, so an unanswered call is retried in the same attempt budget. */
    private readonly timeoutMs = 5000,
  ) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: object, key?: string): Promise<T>;
  /** `missing`: a 404 (no such object) is null, not a refusal. */
  private async call<T>(
    method: 'GET',
    path: string,
    body: undefined,
    key: undefined,
    options: { missing: true },
  ): Promise<T | null>;
  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: object,
    key?: string,
    options?: { missing: true },
  ): Promise<T | null> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      // Never the error's text: it can quote the URL.
      throw new TransientPaymentError(`the payment provider did not answer ${method} ${path.split('?')[0]}`);
    }
    if (res.status === 409 || res.status === 429 || res.status >= 500)
      throw new TransientPaymentError(`the payment provider answered ${res.status}`);
    // A card error: the request was right and the answer is no. A charge refused as invalid made
    // nothing either: a refusal too, never retried.
    const charging = method === 'POST' && (path.endsWith('/capture') || path === '/v1/payment_intents');
    if (res.status === 402 || (res.status === 400 && charging)) {
      const refusal = (await res.json().catch(() => null)) as {
        error?: { code?: string; type?: string };
      } | null;
      throw new PaymentRefused(refusal?.error?.code ?? refusal?.error?.type ?? 'declined');
    }
    if (res.status === 404 && options?.missing) return null;
    const json = (await res.json().catch(() => null)) as T | null;
    if (!res.ok || json === null)
      throw new Error(`the payment provider refused ${method} ${path.split('?')[0]}: ${res.status}`);
    return json;
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    let intent: Intent;
    try {
      intent = await this.call<Intent>(
        'POST',
        '/v1/payment_intents',
        {
          amount: request.amount,
          currency: request.currency,
          payment_method: request.token,
          confirm: true,
          capture_method: request.capture ?? 'automatic',
          metadata: { order_id: request.orderId, key: request.idempotencyKey },
        },
        request.idempotencyKey,
      );
    } catch (err) {
      // Refused outright (a card error, a request it will never take): declined, nothing was made.
      if (err instanceof PaymentRefused) return { status: 'declined', paymentId: '', code: err.code };
      throw err;
    }
    const record = toRecord(intent);
    const risk = record.risk ? { risk: record.risk } : {};
    if (record.status === 'succeeded')
      return {
        status: 'succeeded',
        paymentId: intent.id,
        amount: record.amount,
        method: record.method,
        ...risk,
      };
    if (record.status === 'authorized')
      return {
        status: 'authorized',
        paymentId: intent.id,
        amount: record.amount,
        method: record.method,
        captureBefore: record.captureBefore ?? holdEnd(intent.created),
        ...risk,
      };
    if (record.status === 'declined') return { status: 'declined', paymentId: intent.id, code: record.code! };
    if (record.status === 'canceled') return { status: 'declined', paymentId: intent.id, code: 'canceled' };
    return {
      status: 'pending',
      paymentId: intent.id,
      method: record.method,
      ...(record.nextAction ? { nextAction: record.nextAction } : {}),
    };
  }

  async capture(request: {
    idempotencyKey: string;
    paymentId: string;
    amount: number;
  }): Promise<CaptureResult> {
    try {
      const intent = await this.call<Intent>(
        'POST',
        `/v1/payment_intents/${encodeURIComponent(request.paymentId)}/capture`,
        { amount_to_capture: request.amount },
        request.idempotencyKey,
      );
      return { status: 'succeeded', amount: intent.amount_received ?? request.amount };
    } catch (err) {
      if (err instanceof PaymentRefused) return { status: 'failed', code: err.code };
      throw err;
    }
  }

  async cancel(paymentId: string): Promise<PaymentRecord> {
    try {
      return toRecord(
        await this.call<Intent>('POST', `/v1/payment_intents/${encodeURIComponent(paymentId)}/cancel`, {}),
      );
    } catch (err) {
      // Not cancellable (it is processing, or already settled): what it is now.
      if (err instanceof TransientPaymentError) throw err;
      return toRecord(await this.call<Intent>('GET', `/v1/payment_intents/${encodeURIComponent(paymentId)}`));
    }
  }

  async refund(request: RefundRequest): Promise<{ refundId: string; amount: number }> {
    const refund = await this.call<Refund>(
      'POST',
      '/v1/refunds',
      {
        payment_intent: request.paymentId,
        amount: request.amount,
        // A provider takes one of a few reasons (Stripe: duplicate, fraudulent, requested_by_customer),
        // never a person's free text: that stays in the order center.
        reason: request.reason === 'lost_request' ? 'duplicate' : 'requested_by_customer',
        metadata: { order_id: request.orderId, key: request.idempotencyKey },
      },
      request.idempotencyKey,
    );
    return { refundId: refund.id, amount: refund.amount };
  }

  async paymentsOf(orderId: string): Promise<PaymentRecord[]> {
    const list = await this.call<{ data: Intent[] }>(
      'GET',
      `/v1/payment_intents?order=${encodeURIComponent(orderId)}`,
    );
    return list.data.map(toRecord);
  }

  async payment(paymentId: string): Promise<PaymentRecord | null> {
    const intent = await this.call<Intent>(
      'GET',
      `/v1/payment_intents/${encodeURIComponent(paymentId)}`,
      undefined,
      undefined,
      { missing: true },
    );
    return intent ? toRecord(intent) : null;
  }

  async refundsOf(orderId: string): Promise<RefundRecord[]> {
    return this.refunds(`order=${encodeURIComponent(orderId)}`);
  }

  async refundsOfPayment(paymentId: string): Promise<RefundRecord[]> {
    return this.refunds(`payment_intent=${encodeURIComponent(paymentId)}`);
  }

  private async refunds(query: string): Promise<RefundRecord[]> {
    const list = await this.call<{ data: Refund[] }>('GET', `/v1/refunds?${query}`);
    return list.data.map((r) => ({
      refundId: r.id,
      paymentId: r.payment_intent,
      idempotencyKey: r.metadata.key ?? '',
      amount: r.amount,
    }));
  }
}

/** A refusal from the provider that another try would not change (a card error). */
class PaymentRefused extends Error {
  constructor(readonly code: string) {
    super(`the payment provider refused: ${code}`);
  }
}

const STATUSES: Record<string, PaymentRecord['status']> = {
  succeeded: 'succeeded',
  requires_capture: 'authorized',
  requires_payment_method: 'declined',
  requires_action: 'requires_action',
  canceled: 'canceled',
};

function toRecord(intent: Intent): PaymentRecord {
  const status = STATUSES[intent.status] ?? 'processing';
  const redirectUrl = intent.next_action?.redirect_to_url?.url;
  return {
    paymentId: intent.id,
    idempotencyKey: intent.metadata.key ?? '',
    status,
    amount: status === 'succeeded' ? (intent.amount_received ?? intent.amount) : intent.amount,
    refunded: intent.amount_refunded,
    method: intent.payment_method_type ?? 'card',
    ...(status === 'declined' ? { code: intent.last_payment_error?.code ?? 'declined' } : {}),
    ...(status === 'requires_action' && redirectUrl ? { nextAction: { redirectUrl } } : {}),
    ...(status === 'authorized' ? { captureBefore: captureBeforeOf(intent) } : {}),
    ...(intent.risk_level === 'elevated' || intent.risk_level === 'highest'
      ? { risk: intent.risk_level }
      : {}),
  };
}

/**
 * When a hold ends. A provider that does not say on the intent (Stripe says it on the charge):
 * a card's authorisation lasts 7 days from its creation; a day earlier, to be safe.
 */
function captureBeforeOf(intent: { capture_before?: number | null; created?: number }): string {
  if (intent.capture_before) return new Date(intent.capture_before * 1000).toISOString();
  return holdEnd(intent.created);
}

function holdEnd(createdUnix: number | undefined): string {
  const created = createdUnix ? createdUnix * 1000 : Date.now();
  return new Date(created + 6 * 86_400_000).toISOString();
}

/** A provider's webhook event, in Stripe's shape, as far as this adapter reads it. */
export interface ProviderEvent {
  type: string;
  data: {
    object: {
      id: string;
      last_payment_error?: { code: string } | null;
      capture_before?: number | null;
      created?: number;
    };
  };
}

/** What an event says of a charge (Stripe's PaymentIntent events); null for events the orders do not act on. */
export function chargeNewsOf(event: ProviderEvent): ChargeNews | null {
  const intent = event.data.object;
  if (event.type === 'payment_intent.succeeded') return { paymentId: intent.id, status: 'succeeded' };
  if (event.type === 'payment_intent.amount_capturable_updated')
    return {
      paymentId: intent.id,
      status: 'authorized',
      captureBefore: captureBeforeOf(intent),
    };
  if (event.type === 'payment_intent.payment_failed' || event.type === 'payment_intent.canceled')
    return {
      paymentId: intent.id,
      status: 'declined',
      code:
        intent.last_payment_error?.code ??
        (event.type === 'payment_intent.canceled' ? 'canceled' : 'declined'),
    };
  return null;
}
