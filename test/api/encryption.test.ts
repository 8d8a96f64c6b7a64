/** Issue 13: payloads encrypted end to end; support reads them through the codec server; keys rotate. */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { EncryptionCodec, ENCODING, parseKeys } from '../../codec/encryption-codec';
import { call, customer, merchant, putProduct, support, uniqueSku, apiUrl } from '../support/api';
import { tokenFor } from '../support/tokens';

const oldKey = parseKeys(process.env.PAYLOAD_ENCRYPTION_KEYS!)[0]!; // the test stack's key
const newKey = { id: 'k2', key: Buffer.alloc(32, 9) };

/** Every payload anywhere in a history: its bytes as text, its encoding, and where it sits. */
function payloadsOf(
  value: unknown,
  where = '',
  found: { text: string[]; plain: string[]; encrypted: number } = { text: [], plain: [], encrypted: 0 },
) {
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.data instanceof Uint8Array && o.metadata && typeof o.metadata === 'object') {
      found.text.push(Buffer.from(o.data).toString('latin1'));
      const encoding = Buffer.from((o.metadata as Record<string, Uint8Array>).encoding ?? []).toString();
      if (encoding === ENCODING) found.encrypted++;
      else found.plain.push(where);
    }
    for (const [k, v] of Object.entries(o)) payloadsOf(v, /^\d+$/.test(k) ? where : `${where}.${k}`, found);
  }
  return found;
}

async function rawHistory(workflowId: string) {
  // A client with no codec: what the cluster's operator sees.
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    return await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
  } finally {
    await connection.close();
  }
}

async function placeOrderWithAddress() {
  const sku = uniqueSku('enc');
  await putProduct(sku, { stock: 5 });
  const who = customer();
  const marker = randomUUID().slice(0, 8);
  const address = {
    name: `Zelda Plaintext ${marker}`,
    line1: `42 Secret Lane ${marker}`,
    city: 'Hyrule',
    postalCode: '12345',
    country: 'NL',
  };
  const reply = await call('POST', '/v1/orders', {
    as: who,
    body: { items: [{ sku, quantity: 1 }], shippingAddress: address },
  });
  expect(reply.status).toBe(201);
  await call('POST', `/v1/orders/${reply.body.order.id}/pay`, { as: who, body: { paymentToken: 'tok_ok' } });
  return { id: reply.body.order.id as string, who, address, marker };
}

test('the raw history holds no name or address in clear, while the API still returns them', async () => {
  const { id, who, address, marker } = await placeOrderWithAddress();
  const history = await rawHistory(id);
  const { text, plain, encrypted } = payloadsOf(history);
  expect(encrypted).toBeGreaterThan(5);
  expect(text.join('\n')).not.toContain(marker);
  expect(JSON.stringify(history)).not.toContain(marker);
  // Only what Temporal itself must read stays in clear: the search attributes (ids, amounts,
  // statuses), and the SDK's own bookkeeping: a `patched()` id (its marker, TemporalChangeVersion)
  // and a local activity's marker data (sequence, attempt, activity type, times; its result is encrypted).
  expect(plain.length).toBeGreaterThan(0);
  for (const where of plain)
    expect(where).toMatch(
      /\.searchAttributes\.indexedFields\.(OrderStatus|OrderType|CustomerId|OrderChannel|OrderTotal|PaymentDeadline|TemporalChangeVersion)$|^\.events\.markerRecordedEventAttributes\.details\.(patch-data|data)\.payloads$/,
    );
  expect((await call('GET', `/v1/orders/${id}`, { as: who })).body.order.shippingAddress).toEqual(address);
});

test('key rotation: new payloads use the newest key, histories written under the old one still replay and decode', async () => {
  const rotated = new EncryptionCodec([newKey, oldKey]);
  const [sealed] = await new EncryptionCodec([oldKey]).encode([
    { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hello"') },
  ]);
  expect(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString()).toBe(oldKey.id);
  const [opened] = await rotated.decode([sealed!]);
  expect(Buffer.from(opened!.data!).toString()).toBe('"hello"');
  const [resealed] = await rotated.encode([opened!]);
  expect(Buffer.from(resealed!.metadata!['encryption-key-id']!).toString()).toBe('k2');
  await expect(new EncryptionCodec([newKey]).decode([sealed!])).rejects.toThrow(/unknown key k1/);

  // A real order's history, written under the old key, replays on a worker holding both keys.
  const { id, marker } = await placeOrderWithAddress();
  const history = await rawHistory(id);
  await Worker.runReplayHistory(
    { workflowsPath: require.resolve('../../workflows'), dataConverter: { payloadCodecs: [rotated] } },
    history,
    id,
  );
  await expect(
    Worker.runReplayHistory(
      {
        workflowsPath: require.resolve('../../workflows'),
        dataConverter: { payloadCodecs: [new EncryptionCodec([newKey])] },
      },
      history,
      id,
    ),
  ).rejects.toThrow();
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
  const [decoded] = await rotated.decode(input as never);
  expect(Buffer.from(decoded!.data!).toString()).toContain(marker);
}, 60_000);

test('the codec server decodes for support and merchant staff only', async () => {
  const { id, marker } = await placeOrderWithAddress();
  const history = await rawHistory(id);
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
  const body = {
    payloads: input.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [
          k,
          Buffer.from(v as Uint8Array).toString('base64'),
        ]),
      ),
      data: Buffer.from(p.data as Uint8Array).toString('base64'),
    })),
  };
  const decode = (headers: Record<string, string>, text = JSON.stringify(body)) =>
    fetch(`${apiUrl()}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: text,
    });

  for (const as of [support, merchant]) {
    const reply = await decode({ authorization: `Bearer ${tokenFor(as.role, as.id)}` });
    expect(reply.status).toBe(200);
    const { payloads } = (await reply.json()) as { payloads: { data: string }[] };
    expect(Buffer.from(payloads[0]!.data, 'base64').toString()).toContain(marker);
  }
  expect((await decode({ authorization: `Bearer ${tokenFor('customer', 'c1')}` })).status).toBe(403);
  expect((await decode({})).status).toBe(401);
  expect((await decode({ origin: 'http://evil.example' })).status).toBe(401);
  // A stranger's body is not even read: refused for the missing token, not for the body.
  expect((await decode({}, '{"payloads": [')).status).toBe(401);
  // A path no route serves is a 404 that does not repeat the path (here, a token in it).
  const token = tokenFor(support.role, support.id);
  const missed = await fetch(`${apiUrl()}/codec/${token}/decode`);
  expect(missed.status).toBe(404);
  expect(await missed.text()).not.toContain(token);
});
