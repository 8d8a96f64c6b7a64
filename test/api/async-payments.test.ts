/**
 * Issue 19: payments the provider decides later (a bank transfer, a 3-D Secure step), its signed
 * webhooks, and a payment that comes after its order ended. Against the sandbox payment service
 * of the test stack, which posts its events to the API.
 */
import { randomUUID } from 'node:crypto';
import { signature } from '../../codec/webhook-signature';
import { apiUrl, call, customer, unpaidOrder, waitForOrder } from '../support/api';
import { providerPayments, providerRefunds } from '../support/backends';

const pay = (id: string, owner: ReturnType<typeof customer>, paymentToken: string) =>
  call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken } });

test('a bank transfer: 202 while it is processing, no second charge meanwhile, paid when the webhook says so', async () => {
  const { id, owner, total } = await unpaidOrder();
  const accepted = await pay(id, owner, 'tok_async_ok');
  expect(accepted.status).toBe(202);
  expect(accepted.body.payment).toMatchObject({ status: 'processing', amount: total });
  expect(accepted.body.order).toMatchObject({ status: 'PENDING_PAYMENT', paymentStatus: 'pending' });
  // The order center shows it too, and a second pay waits for the first.
  expect((await call('GET', `/v1/orders/${id}`, { as: owner })).body.order.paymentStatus).toBe('pending');
  expect((await pay(id, owner, 'tok_ok')).status).toBe(409);

  const paid = await waitForOrder(id, owner, (o) => o.status !== 'PENDING_PAYMENT', 20_000);
  expect(paid).toMatchObject({ paymentStatus: 'paid', amounts: { paid: total } });
  expect(paid.payments).toEqual([
    {
      id: accepted.body.payment.id,
      status: 'succeeded',
      method: 'bank_transfer',
      amount: total,
      refunded: 0,
    },
  ]);
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['succeeded']);
});

test('a bank transfer that fails: the order stays payable, and pays with another method', async () => {
  const { id, owner, total } = await unpaidOrder();
  expect((await pay(id, owner, 'tok_async_fail')).status).toBe(202);
  const failed = await waitForOrder(id, owner, (o) => o.payments[0]?.status === 'failed', 20_000);
  expect(failed).toMatchObject({ status: 'PENDING_PAYMENT', paymentStatus: 'unpaid' });
  expect(failed.payments[0]).toMatchObject({ status: 'failed', code: 'bank_declined' });
  const paid = await pay(id, owner, 'tok_ok');
  expect(paid.status).toBe(200);
  expect(paid.body.order).toMatchObject({ status: 'PAID', paymentStatus: 'paid', amounts: { paid: total } });
});

test('3-D Secure: 202 with the page to open; the customer finishing it pays the order', async () => {
  const { id, owner } = await unpaidOrder();
  const accepted = await pay(id, owner, 'tok_3ds');
  expect(accepted.status).toBe(202);
  expect(accepted.body.payment.status).toBe('requires_action');
  const { redirectUrl } = accepted.body.payment.nextAction;
  expect(redirectUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/3ds\/pi_/);
  // What the customer's browser does on the provider's page.
  expect((await fetch(redirectUrl, { method: 'POST' })).status).toBe(200);
  const paid = await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000);
  expect(paid.paymentStatus).toBe('paid');
});

test('a payment that succeeds after its order was cancelled is refunded, and the order says so', async () => {
  const { id, owner, total } = await unpaidOrder({ price: 3100 });
  expect((await pay(id, owner, 'tok_async_ok')).status).toBe(202);
  const cancelled = await call('POST', `/v1/orders/${id}/cancel`, { as: owner, body: {} });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order.status).toBe('CANCELLED');

  const settled = await waitForOrder(id, owner, (o) => o.amounts.refunded > 0, 20_000);
  expect(settled).toMatchObject({
    status: 'CANCELLED',
    paymentStatus: 'refunded',
    amounts: { paid: total, refunded: total },
  });
  expect(settled.history.at(-1)).toMatchObject({
    action: 'late_payment_refunded',
    from: 'CANCELLED',
    to: 'CANCELLED',
  });
  expect((await providerRefunds(id)).map((r) => r.amount)).toEqual([total]);
});

describe('the inbound webhook route', () => {
  const post = (body: string, header?: string) =>
    fetch(`${apiUrl()}/v1/inbound/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(header ? { 'x-signature': header } : {}) },
      body,
    });
  const event = (orderId: string) =>
    JSON.stringify({
      id: `evt_${randomUUID().replace(/-/g, '')}`,
      type: 'payment_intent.succeeded',
      data: { object: { id: 'pi_unknown', status: 'succeeded', metadata: { order_id: orderId } } },
    });

  it('refuses what is not signed with the secret, or signed too long ago, and changes nothing', async () => {
    const body = event('ord_nowhere');
    for (const header of [
      undefined,
      signature('not-the-secret', body, Date.now()),
      signature(process.env.PAYMENT_WEBHOOK_SECRET!, body, Date.now() - 3_600_000),
      't=1,v1=zz',
    ]) {
      const res = await post(body, header);
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).detail).toMatch(/^the signature does not verify/);
    }
    // A signed body changed on the way is refused too.
    const header = signature(process.env.PAYMENT_WEBHOOK_SECRET!, body, Date.now());
    expect((await post(body.replace('ord_nowhere', 'ord_elsewhere'), header)).status).toBe(400);
  });

  it('answers a signed body that is JSON but not an event (null, a number) with a 400', async () => {
    for (const body of ['null', '0', '[]']) {
      const res = await post(body, signature(process.env.PAYMENT_WEBHOOK_SECRET!, body, Date.now()));
      expect(res.status).toBe(400);
    }
  });

  it('takes an event of a payment that is none of its own (no order id) as received, acting on nothing', async () => {
    for (const object of [
      { id: 'pi_elsewhere', status: 'succeeded', metadata: {} },
      { id: 'pi_elsewhere', status: 'succeeded', metadata: null },
      { id: 'pi_elsewhere', status: 'succeeded', metadata: { order_id: 'their order/42' } },
      { id: 'pi_elsewhere', status: 'succeeded' },
    ]) {
      const eventId = `evt_${randomUUID().replace(/-/g, '')}`;
      const body = JSON.stringify({ id: eventId, type: 'payment_intent.succeeded', data: { object } });
      const send = () => post(body, signature(process.env.PAYMENT_WEBHOOK_SECRET!, body, Date.now()));
      const res = await send();
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true, duplicate: false });
      // Recorded: the same event again is a duplicate.
      expect(await (await send()).json()).toEqual({ received: true, duplicate: true });
    }
  });

  it('acts on an event once: the same event again is answered as a duplicate', async () => {
    const { id } = await unpaidOrder();
    const body = event(id);
    const signed = () => signature(process.env.PAYMENT_WEBHOOK_SECRET!, body, Date.now());
    const first = await post(body, signed());
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: true, duplicate: false });
    expect(await (await post(body, signed())).json()).toEqual({ received: true, duplicate: true });
  });
});
