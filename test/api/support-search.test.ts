/** Issue 8: support finds orders by their search attributes, and reads them through queries. */
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerRefunds, testTemporal } from '../support/backends';
import { allowedActionsQuery, orderStateQuery } from '../../workflows/messages';
import { eventSummaries } from '../support/history';

test('workflow.list by CustomerId and OrderStatus returns exactly the expected orders after a few transitions', async () => {
  const sku = uniqueSku('sa');
  await putProduct(sku, { price: 1234, stock: 10 });
  const who = customer();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++)
    ids.push(
      (await call('POST', '/v1/orders', { as: who, body: { items: [{ sku, quantity: 1 }] } })).body.order.id,
    );
  const [paid, cancelled, unpaid] = ids as [string, string, string];
  await call('POST', `/v1/orders/${paid}/pay`, { as: who, body: { paymentToken: 'tok_ok' } });
  await waitForOrder(paid, who, (o) => o.status === 'IN_PRODUCTION');
  await call('POST', `/v1/orders/${cancelled}/cancel`, { as: who, body: {} });
  // Someone else's order, in the same status, must not show up.
  await call('POST', '/v1/orders', { as: customer(), body: { items: [{ sku, quantity: 1 }] } });

  const temporal = await testTemporal();
  try {
    const list = async (query: string) => {
      const found: string[] = [];
      for await (const wf of temporal.client.workflow.list({ query })) found.push(wf.workflowId);
      return found.sort();
    };
    const expected: [string, string[]][] = [
      [`CustomerId = '${who.id}'`, [...ids].sort()],
      [`CustomerId = '${who.id}' AND OrderStatus = 'PENDING_PAYMENT'`, [unpaid]],
      [`CustomerId = '${who.id}' AND OrderStatus = 'IN_PRODUCTION'`, [paid]],
      [`CustomerId = '${who.id}' AND OrderStatus = 'CANCELLED'`, [cancelled]],
      [`CustomerId = '${who.id}' AND OrderTotal = 2034 AND OrderType = 'standard'`, [...ids].sort()],
    ];
    // Visibility is eventually consistent: ask again for a few seconds at most.
    const deadline = Date.now() + 15_000;
    let got: [string, string[]][] = [];
    do {
      got = await Promise.all(expected.map(async ([q]) => [q, await list(q)] as [string, string[]]));
      if (JSON.stringify(got) === JSON.stringify(expected)) break;
      await new Promise((r) => setTimeout(r, 300));
    } while (Date.now() < deadline);
    expect(got).toEqual(expected);

    // Queries: the order as the workflow holds it, and what each role may do now.
    const handle = temporal.client.workflow.getHandle(unpaid);
    expect(await handle.query(orderStateQuery)).toMatchObject({
      id: unpaid,
      status: 'PENDING_PAYMENT',
      customerId: who.id,
    });
    expect(await handle.query(allowedActionsQuery)).toEqual({
      customer: ['pay', 'cancel', 'modify', 'edit'],
      merchant: ['cancel', 'modify', 'edit'],
      support: ['cancel', 'modify', 'edit'],
      channel: ['pay', 'cancel'],
    });
    const description = await handle.describe();
    expect(await description.staticSummary()).toBe(
      `standard order ${unpaid} · customer ${who.id} · 1 item(s) · total $20.34`,
    );

    // The event history reads like a story: every activity and timer says what it is for.
    const summaries = await eventSummaries(temporal.client.workflow.getHandle(paid));
    expect(summaries.filter((s) => s.type.endsWith('activity') && !s.summary)).toEqual([]);
    expect(summaries.map((s) => s.summary)).toEqual(
      expect.arrayContaining([
        `place: price 1 × ${sku}, hold stock`,
        // Local activities (each step's writes with its record) are summarised too.
        'charge $20.34 (attempt 1)',
        // Paid, then into production at once: both recorded by one local activity.
        expect.stringMatching(
          /^record PENDING_PAYMENT → PAID \(pay by customer:\S+\), sell the held stock and redeem the locked coupon; then PAID → IN_PRODUCTION \(start_production by system\), open a production job in PostgreSQL$/,
        ),
        expect.stringMatching(/^paymentTimeout: \w+ if still PENDING_PAYMENT$/),
      ]),
    );
    expect(summaries.filter((s) => s.summary?.startsWith('record PAID'))).toEqual([]);
  } finally {
    await temporal.close();
  }
  expect((await call('GET', `/v1/orders/${unpaid}`, { as: merchant })).body.order.status).toBe(
    'PENDING_PAYMENT',
  );
});

test("a person's reason for a cancel stays out of the calls' summaries and the provider's refund", async () => {
  const sku = uniqueSku('sr');
  await putProduct(sku, { price: 1234, stock: 10 });
  const who = customer();
  const id = (await call('POST', '/v1/orders', { as: who, body: { items: [{ sku, quantity: 1 }] } })).body
    .order.id as string;
  await call('POST', `/v1/orders/${id}/pay`, { as: who, body: { paymentToken: 'tok_ok' } });
  await waitForOrder(id, who, (o) => o.status === 'IN_PRODUCTION');
  const reason = 'moving to Tromsø, call me on 555-0100';
  expect((await call('POST', `/v1/orders/${id}/cancel`, { as: who, body: { reason } })).status).toBe(200);
  const temporal = await testTemporal();
  try {
    const summaries = await eventSummaries(temporal.client.workflow.getHandle(`${id}-cancel`));
    expect(summaries.map((s) => s.summary)).toContain('refund everything paid (the order is cancelled)');
    expect(JSON.stringify(summaries)).not.toMatch(/Troms|555/);
    // Nor does the provider get it: its refund says why in its own words.
    expect((await providerRefunds(id)).map((r) => r.reason)).toEqual(['requested_by_customer']);
  } finally {
    await temporal.close();
  }
});
