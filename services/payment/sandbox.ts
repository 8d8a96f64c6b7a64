/**
 * A sandbox payment provider with its own tables (payments, refunds), behaving like a real one:
 *   tok_ok pays; tok_declined is declined (card_declined); tok_insufficient_funds is declined
 *   (insufficient_funds); tok_flaky fails with a transient error twice per key before it pays;
 *   any other token is declined (invalid_token).
 * `latencyMs` and `errorRate` simulate a slow or faulty provider for tests and chaos runs; an
 * injected error happens before anything is written, as a lost request would.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  type RefundRequest,
  TransientPaymentError,
} from './provider';

export interface SandboxOptions {
  latencyMs?: number;
  errorRate?: number;
  random?: () => number;
}

const DECLINES: Record<string, string> = {
  tok_declined: 'card_declined',
  tok_insufficient_funds: 'insufficient_funds',
};

interface PaymentRow {
  id: string;
  amount: number;
  currency: string;
  order_id: string;
  status: 'pending' | 'succeeded' | 'declined';
  decline_code: string | null;
  attempts: number;
}

function toResult(row: PaymentRow): ChargeResult | null {
  if (row.status === 'succeeded') return { status: 'succeeded', paymentId: row.id, amount: row.amount };
  if (row.status === 'declined')
    return { status: 'declined', paymentId: row.id, code: row.decline_code ?? 'declined' };
  return null;
}

export class SandboxPaymentProvider implements PaymentProvider {
  constructor(
    private readonly db: Knex,
    private readonly options: SandboxOptions = {},
  ) {}

  private async simulateNetwork(): Promise<void> {
    const { latencyMs = 0, errorRate = 0, random = Math.random } = this.options;
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    if (errorRate > 0 && random() < errorRate)
      throw new TransientPaymentError('sandbox: injected provider error');
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    await this.simulateNetwork();
    const outcome = await this.db.transaction(async (trx) => {
      await trx('payments')
        .insert({
          id: `pay_${randomUUID().replace(/-/g, '')}`,
          idempotency_key: request.idempotencyKey,
          order_id: request.orderId,
          amount: request.amount,
          currency: request.currency,
          token: request.token,
          status: 'pending',
        })
        .onConflict('idempotency_key')
        .ignore();
      const row: PaymentRow = await trx('payments')
        .where('idempotency_key', request.idempotencyKey)
        .forUpdate()
        .first();
      if (row.amount !== request.amount || row.order_id !== request.orderId) {
        throw new Error('an idempotency key was reused for a different charge');
      }
      const done = toResult(row);
      if (done) return done;
      const attempts = row.attempts + 1;
      if (request.token === 'tok_flaky' && attempts <= 2) {
        await trx('payments').where('id', row.id).update({ attempts, updated_at: trx.fn.now() });
        return 'transient' as const;
      }
      const code =
        request.token === 'tok_ok' || request.token === 'tok_flaky'
          ? null
          : (DECLINES[request.token] ?? 'invalid_token');
      await trx('payments')
        .where('id', row.id)
        .update({
          attempts,
          status: code ? 'declined' : 'succeeded',
          decline_code: code,
          updated_at: trx.fn.now(),
        });
      return toResult({ ...row, status: code ? 'declined' : 'succeeded', decline_code: code })!;
    });
    if (outcome === 'transient') throw new TransientPaymentError('sandbox: tok_flaky transient failure');
    return outcome;
  }

  async refund(request: RefundRequest): Promise<{ refundId: string; amount: number }> {
    await this.simulateNetwork();
    return this.db.transaction(async (trx) => {
      const existing = await trx('refunds')
        .where('idempotency_key', request.idempotencyKey)
        .first('id', 'amount');
      if (existing) return { refundId: existing.id, amount: existing.amount };
      const payment: PaymentRow | undefined = await trx('payments')
        .where('id', request.paymentId)
        .forUpdate()
        .first();
      if (!payment || payment.status !== 'succeeded')
        throw new Error(`payment ${request.paymentId} cannot be refunded`);
      const [{ refunded }] = await trx('refunds')
        .where('payment_id', payment.id)
        .select(trx.raw('COALESCE(SUM(amount), 0)::bigint AS refunded'));
      if (Number(refunded) + request.amount > payment.amount) {
        throw new Error(`refund of ${request.amount} exceeds what is left on ${payment.id}`);
      }
      const refundId = `re_${randomUUID().replace(/-/g, '')}`;
      await trx('refunds').insert({
        id: refundId,
        idempotency_key: request.idempotencyKey,
        payment_id: payment.id,
        order_id: request.orderId,
        amount: request.amount,
        reason: request.reason,
      });
      return { refundId, amount: request.amount };
    });
  }

  async lookup(idempotencyKey: string): Promise<ChargeResult | null> {
    const row: PaymentRow | undefined = await this.db('payments')
      .where('idempotency_key', idempotencyKey)
      .first();
    return row ? toResult(row) : null;
  }

  async lookupRefund(idempotencyKey: string): Promise<{ refundId: string; amount: number } | null> {
    const row = await this.db('refunds').where('idempotency_key', idempotencyKey).first('id', 'amount');
    return row ? { refundId: row.id, amount: row.amount } : null;
  }

  async refundable(orderId: string): Promise<{ paymentId: string; refundable: number }[]> {
    const rows: { id: string; refundable: number }[] = await this.db('payments as p')
      .where({ 'p.order_id': orderId, 'p.status': 'succeeded' })
      .select(
        'p.id',
        this.db.raw(
          '(p.amount - COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.payment_id = p.id), 0))::bigint AS refundable',
        ),
      )
      .orderBy('p.created_at');
    // Fully refunded payments stay listed: a retried refund finds what it did on them by key.
    return rows.map((r) => ({ paymentId: r.id, refundable: Number(r.refundable) }));
  }
}
