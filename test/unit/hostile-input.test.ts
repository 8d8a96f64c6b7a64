/**
 * Issue 17, pure parts: what free text may hold, failures that always encode, errors told without
 * SQL, money past 2^53, cursors, tokens. The probes against the running service are in
 * test/api/hostile-input.test.ts.
 */
import type { AddressInfo } from 'node:net';
import { ApplicationFailure, DefaultFailureConverter, defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import express from 'express';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { signToken, verifyToken } from '../../api/auth';
import { consoleRouter } from '../../api/console';
import { rerunnableOutage, toProblem } from '../../api/problem';
import { FailureType, REFUSAL_TYPES, RERUNNABLE } from '../../domain/errors';
import {
  createOrderBody,
  listOrdersQuery,
  shipBody,
  cancelBody,
  payBody,
  paymentEvent,
  fulfilmentEvent,
  text,
} from '../../api/schemas';
import { failureConverter } from '../../codec/failure-converter';
import { toActivityFailure } from '../../activities/failures';
import { describeError, isDataError } from '../../db/errors';
import { allocate } from '../../domain/allocate';
import { actionRequestProblem, placeOrderInputProblem } from '../../domain/order';
import { priceOrder } from '../../domain/pricing';
import { findUnstorable, storable, textProblem } from '../../domain/text';
import { parseCursor } from '../../services/orders/list-orders';

const HOSTILE = [
  '\u0000',
  '\ud800',
  '\udfff',
  'a\ud800b',
  '\u0007',
  '\u001b[31m',
  '\u0085',
  '\u2028',
  '\u007f',
];
const strict = new TextDecoder('utf-8', { fatal: true });

describe('free text', () => {
  test('refuses NUL, lone surrogates and control characters; keeps real Unicode', () => {
    for (const bad of HOSTILE)
      expect({ bad, problem: textProblem(`x${bad}y`) }).not.toEqual({ bad, problem: null });
    for (const good of ['Zoë Ölçer', '東京都', 'emoji 👩‍👩‍👧 ok', 'O\u2019Brien', 'tab-free'])
      expect(textProblem(good)).toBeNull();
    expect(textProblem('line one\nline two')).not.toBeNull();
    expect(textProblem('line one\r\nline two', { multiline: true })).toBeNull();
    expect(textProblem('tab\there', { multiline: true })).not.toBeNull();
  });

  test('storable() always yields well-formed text PostgreSQL and protobuf accept', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
        (s) => {
          const out = storable(s);
          expect(out.includes('\u0000')).toBe(false);
          expect(() => strict.decode(Buffer.from(out, 'utf8'))).not.toThrow();
          // Nothing a storable() string holds is refused as multi-line text, but line breaks survive.
          expect(textProblem(out.replace(/[\n\r]/g, '') || 'x', { multiline: true })).toBeNull();
        },
      ),
    );
  });

  test('a SKU named on several items is one line, bounded as one: 1000 units at most', () => {
    const order = (...quantities: number[]) =>
      createOrderBody.safeParse({ items: quantities.map((quantity) => ({ sku: 'mug', quantity })) });
    expect(order(600, 400).success).toBe(true);
    const over = order(600, 400, 1, 1);
    expect(over.success).toBe(false);
    // Named once, at the item that takes the line past its bound.
    expect(over.error!.issues.map((i) => i.path)).toEqual([['items', 2, 'quantity']]);
    expect(
      createOrderBody.safeParse({
        items: [
          { sku: 'mug', quantity: 1000 },
          { sku: 'cup', quantity: 1000 },
        ],
      }).success,
    ).toBe(true);
  });

  test('every schema field of free text says where the bad character is', () => {
    const bad = createOrderBody.safeParse({
      items: [{ sku: 'mug', quantity: 1 }],
      shippingAddress: { name: 'A\u0000', line1: 'x', city: 'y', postalCode: '1', country: 'NL' },
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path)).toEqual([['shippingAddress', 'name']]);
    expect(
      createOrderBody.safeParse({ items: [{ sku: 'mug', quantity: 1 }], couponCode: '\ud800' }).success,
    ).toBe(false);
    expect(shipBody.safeParse({ carrier: 'UPS\u0000', trackingNumber: '1Z' }).success).toBe(false);
    expect(payBody.safeParse({ paymentToken: 'tok_\ud800' }).success).toBe(false);
    expect(cancelBody.safeParse({ reason: 'changed my mind\nsorry' }).success).toBe(true);
    expect(cancelBody.safeParse({ reason: 'bell\u0007' }).success).toBe(false);
    expect(text(10).safeParse('x'.repeat(11)).success).toBe(false);
  });

  test('the workflows find what the API would have refused, by path and never by value', () => {
    expect(findUnstorable({ a: 'ok', b: [{ c: 'bad\u0000' }] })).toBe('b.0.c');
    expect(findUnstorable({ reason: 'two\nlines' })).toBeNull();
    expect(findUnstorable({ note: 'two\nlines' })).toBe('note');
    expect(findUnstorable({ n: 1e16 })).toBe('n');
    expect(findUnstorable({ ['k\ud800']: 1 })).toBe('k\ufffd');
    const actor = { id: 'cus_1', role: 'customer' };
    expect(actionRequestProblem({ action: 'cancel', actor, reason: 'x\u0000' } as never)).toBe('reason');
    expect(actionRequestProblem({ action: '<b>pay</b>', actor } as never)).toBe('action');
    expect(actionRequestProblem({ action: 'pay', actor: { id: 'a b', role: 'customer' } })).toBe('actor.id');
    expect(actionRequestProblem({ action: 'pay', actor: { id: 'x', role: 'root' } })).toBe('actor.role');
    const input = {
      orderId: 'ord_1',
      type: 'standard',
      customerId: 'cus_1',
      items: [{ sku: 'mug', quantity: 1 }],
      policy: { paymentTimeoutMs: 1, autoConfirmAfterMs: 1, afterSalesWindowMs: 1 },
    } as const;
    expect(placeOrderInputProblem({ ...input, items: [...input.items] })).toBeNull();
    expect(placeOrderInputProblem({ ...input, items: [...input.items], couponCode: '\ud800' })).toBe(
      'couponCode',
    );
    expect(placeOrderInputProblem({ ...input, items: [...input.items], type: 'x' as never })).toBe('type');
  });
});

describe('failures', () => {
  test('a failure whose message holds a lone surrogate or NUL still encodes as valid UTF-8', () => {
    const err = ApplicationFailure.create({ message: 'no coupon \ud800 \u0000', type: 'Business\udfff' });
    const encode = (converter: DefaultFailureConverter) =>
      Buffer.from(
        temporal.api.failure.v1.Failure.encode(
          converter.errorToFailure(err, defaultPayloadConverter),
        ).finish(),
      );
    // protobufjs writes a lone surrogate as bytes (ED A0 80) that no UTF-8 decoder accepts, Temporal's
    // core included: with the SDK's own converter, that is what the worker would have sent.
    const surrogate = Buffer.from([0xed, 0xa0, 0x80]);
    expect(encode(new DefaultFailureConverter()).includes(surrogate)).toBe(true);
    const bytes = encode(failureConverter);
    expect(bytes.includes(surrogate)).toBe(false);
    const decoded = temporal.api.failure.v1.Failure.decode(bytes);
    expect(decoded.message).toBe('no coupon \ufffd \ufffd');
    for (const s of [decoded.message, decoded.stackTrace, decoded.applicationFailureInfo!.type!])
      expect(s).toBe(storable(s)); // nothing left that cannot be encoded
  });

  test('a database data error is non-retryable and names no statement or value', () => {
    const pgError = Object.assign(
      new Error(
        `insert into "order_history" ("reason") values ($1) - invalid byte sequence for encoding "UTF8": 0x00`,
      ),
      { code: '22021', severity: 'ERROR' },
    );
    expect(isDataError(pgError)).toBe(true);
    const failure = toActivityFailure(pgError);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('InvalidData');
    expect(failure.message).not.toMatch(/insert|order_history|values/i);
    const lost = toActivityFailure(
      Object.assign(new Error('select * from orders - terminating'), { code: '57P01', severity: 'FATAL' }),
    );
    expect(lost.nonRetryable).toBe(false);
    expect(lost.message).toBe('database error (SQLSTATE 57P01)');
    expect(JSON.stringify(describeError(pgError))).not.toMatch(/insert|values/);
  });

  test('no SQL and no failure message from below reaches an answer', () => {
    const below = ApplicationFailure.create({
      type: 'DependencyUnavailable',
      message: 'insert into "idempotency_keys" values ($1) - boom',
      nonRetryable: true,
    });
    const problem = toProblem(new WorkflowUpdateFailedError('update failed', below));
    expect(problem.status).toBe(503);
    expect(problem.detail).not.toMatch(/insert|idempotency_keys/);
    const knexTimeout = toProblem(Object.assign(new Error('select 1 - Query read timeout'), {}));
    expect(knexTimeout).toMatchObject({ status: 503 });
    expect(knexTimeout.detail).not.toMatch(/select/);
    expect(toProblem(new URIError('Failed to decode param %ZZ'))).toMatchObject({ status: 400 });
    // Temporal refusing an update-with-start while the workflow's task keeps failing: a gRPC
    // status the client passes on as it is. An outage (503), in our words; another status, ours.
    const grpc = (code: number) =>
      Object.assign(
        new Error(
          `${code} Unable to perform workflow execution update due to Workflow Task in failed state.`,
        ),
        {
          code,
          details: 'Unable to perform workflow execution update due to Workflow Task in failed state.',
          metadata: {},
        },
      );
    for (const code of [4, 8, 9, 10, 14]) {
      const problem = toProblem(grpc(code));
      expect({ code, status: problem.status, retryAfter: problem.retryAfter }).toEqual({
        code,
        status: 503,
        retryAfter: 5,
      });
      expect(problem.detail).not.toMatch(/Workflow Task/);
    }
    expect(toProblem(grpc(3))).toMatchObject({ status: 500, detail: 'unexpected error' });
  });

  test('a workflow says which failures are refusals as the API answers them; only its outages may run again', () => {
    for (const type of [...Object.values(FailureType), 'TransientPaymentError', 'SomethingElse']) {
      const answered = (details?: unknown[]) =>
        new WorkflowUpdateFailedError(
          'update failed',
          ApplicationFailure.create({ type, message: 'x', nonRetryable: true, details }),
        );
      expect({ type, refusal: toProblem(answered()).status < 500 }).toEqual({
        type,
        refusal: REFUSAL_TYPES.includes(type),
      });
      expect({ type, rerun: rerunnableOutage(answered([RERUNNABLE])) }).toEqual({
        type,
        rerun: !REFUSAL_TYPES.includes(type),
      });
      expect(rerunnableOutage(answered())).toBe(false);
    }
  });
});

describe('money past 2^53', () => {
  test('an order total beyond Number.MAX_SAFE_INTEGER is refused with AMOUNT_TOO_LARGE', () => {
    const lines = Array.from({ length: 100 }, (_, i) => ({
      sku: `s${i}`,
      name: 'x',
      unitPrice: 100_000_000_000,
      quantity: 1000,
    }));
    expect(() => priceOrder({ lines, shipsPhysically: true })).toThrow(
      expect.objectContaining({ code: 'AMOUNT_TOO_LARGE', status: 422 }),
    );
    expect(priceOrder({ lines: lines.slice(0, 50), shipsPhysically: true }).amounts.total).toBe(5e15);
  });

  test('allocation stays exact when amount × weight passes 2^53', () => {
    const weights = [3_000_000_000_001, 1_000_000_000_003, 7];
    const parts = allocate(4_000_000_000_011, weights);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(4_000_000_000_011);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.array(fc.integer({ min: 0, max: 100_000_000_000_000 }), { minLength: 1, maxLength: 20 }),
        (amount, ws) => {
          const out = allocate(amount, ws);
          expect(out.reduce((a, b) => a + b, 0)).toBe(ws.some((w) => w > 0) ? amount : 0);
        },
      ),
    );
  });
});

test("a provider event's instants are bounded: a date can always be made of them", () => {
  const event = (object: Record<string, unknown>) => ({
    id: 'evt_1',
    type: 'payment_intent.amount_capturable_updated',
    data: { object: { id: 'pi_1', status: 'requires_capture', metadata: { order_id: 'ord_1' }, ...object } },
  });
  expect(
    paymentEvent.safeParse(event({ capture_before: 1_800_000_000, created: 1_790_000_000 })).success,
  ).toBe(true);
  for (const huge of [1e308, 2 ** 53, 10_000_000_000])
    for (const field of ['capture_before', 'created'])
      expect(paymentEvent.safeParse(event({ [field]: huge })).success).toBe(false);
});

test('a warehouse event names a fulfilment of its own order and location', () => {
  const event = (id: string) => ({
    id: 'evt_1',
    type: 'fulfilment.shipped',
    data: {
      object: {
        id,
        order_id: 'ord_a',
        location: 'west',
        status: 'shipped',
        items: [{ sku: 'mug', quantity: 1 }],
      },
    },
  });
  for (const id of ['ord_a:west', 'ord_a:west:2', 'ord_a:west:17'])
    expect({ id, ok: fulfilmentEvent.safeParse(event(id)).success }).toEqual({ id, ok: true });
  // Another order's fulfilment, another location's, and rounds that are never given out.
  for (const id of [
    'ord_b:west',
    'ord_a:east',
    'ord_a:west:1',
    'ord_a:west:0',
    'ord_a:west:02',
    'ord_a:west:x',
  ])
    expect({ id, ok: fulfilmentEvent.safeParse(event(id)).success }).toEqual({ id, ok: false });
});

describe('cursors', () => {
  const good = Buffer.from(
    JSON.stringify({ createdAt: '2026-11-27T10:00:00.000Z', id: 'ord_1', of: '-createdAt' }),
  ).toString('base64url');
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  test('only a cursor this service gave out is one', () => {
    expect(parseCursor(good)).toEqual({
      createdAt: '2026-11-27T10:00:00.000Z',
      id: 'ord_1',
      of: '-createdAt',
    });
    expect(parseCursor(enc({ total: 5, id: 'ord_1', of: 'total' }))).toEqual({
      total: 5,
      id: 'ord_1',
      of: 'total',
    });
    // One given out before cursors named their list is read as it was then.
    expect(parseCursor(enc({ createdAt: '2026-11-27T10:00:00.000Z', id: 'ord_1' }))).toEqual({
      createdAt: '2026-11-27T10:00:00.000Z',
      id: 'ord_1',
    });
    for (const bad of [
      // A list that is none, or a key that is not its list's.
      enc({ createdAt: '2026-11-27T10:00:00.000Z', id: 'ord_1', of: 'everything' }),
      enc({ createdAt: '2026-11-27T10:00:00.000Z', id: 'ord_1', of: null }),
      enc({ createdAt: '2026-11-27T10:00:00.000Z', id: 'ord_1', of: 'total' }),
      enc({ total: 5, id: 'ord_1', of: 'returns' }),
      enc({ createdAt: 'yesterday', id: 'ord_1', of: '-createdAt' }),
      enc({ createdAt: '+275760-09-13T00:00:00.000Z', id: 'ord_1', of: '-createdAt' }),
      enc({ createdAt: '2026-02-30T10:00:00.000Z', id: 'ord_1', of: '-createdAt' }),
      // PostgreSQL has no year 0: a 500, once, for every list.
      enc({ createdAt: '0000-01-01T00:00:00.000Z', id: 'ord_1', of: '-createdAt' }),
      enc({ createdAt: '1999-12-31T23:59:59.999Z', id: 'ord_1', of: '-createdAt' }),
      enc({ createdAt: '2026-11-27T10:00:00.000Z', id: 'x\u0000', of: '-createdAt' }),
      enc({ createdAt: '2026-11-27T10:00:00.000Z', id: 'ord_1', extra: 1, of: '-createdAt' }),
      enc([1, 2]),
      'not base64!',
      '',
    ])
      expect({ bad, parsed: parseCursor(bad) }).toEqual({ bad, parsed: null });
    expect(listOrdersQuery.safeParse({ cursor: enc({ createdAt: 'x', id: 'y' }) }).success).toBe(false);
  });
});

describe('tokens', () => {
  const settings = { secret: 'a-secret-of-sixteen+', maxLifetimeMs: 24 * 3_600_000 };
  test('a codec token (its scope holds codec) answers the codec server alone; other scopes change nothing', () => {
    const withScope = (scope: string | string[]) =>
      jwt.sign({ sub: 'ui', role: 'support', scope }, settings.secret, {
        algorithm: 'HS256',
        expiresIn: '1h',
      });
    const codec = signToken(settings.secret, 'ui', 'support', { scope: 'codec' });
    for (const token of [codec, withScope('openid codec'), withScope(['openid', 'codec'])]) {
      expect(() => verifyToken(token, settings)).toThrow(/codec server only/);
      expect(verifyToken(token, settings, 'codec-path')).toEqual({ id: 'ui', role: 'support' });
      expect(verifyToken(token, settings, 'codec')).toEqual({ id: 'ui', role: 'support' });
    }
    // Another issuer's scopes, a string or a list: the token is as good as one without.
    for (const openid of [withScope('openid profile'), withScope(['openid', 'profile'])]) {
      expect(verifyToken(openid, settings)).toEqual({ id: 'ui', role: 'support' });
      expect(verifyToken(openid, settings, 'codec')).toEqual({ id: 'ui', role: 'support' });
      expect(() => verifyToken(openid, settings, 'codec-path')).toThrow(/only a codec token/);
    }
    // Unbounded lists are refused like any malformed claim.
    expect(() => verifyToken(withScope(Array.from({ length: 101 }, () => 'x')), settings)).toThrow(
      /lacks a valid/,
    );
  });
  test('a token must expire, within the maximum lifetime, and name an id and a role', () => {
    expect(verifyToken(signToken(settings.secret, 'cus_1', 'customer'), settings)).toEqual({
      id: 'cus_1',
      role: 'customer',
      channel: 'web',
    });
    // A channel's token names its channel; a customer's may (a partner's customer).
    expect(verifyToken(signToken(settings.secret, 'app', 'channel', { channel: 'mall' }), settings)).toEqual({
      id: 'app',
      role: 'channel',
      channel: 'mall',
    });
    expect(() => verifyToken(signToken(settings.secret, 'app', 'channel'), settings)).toThrow(/channel/);
    expect(() =>
      verifyToken(signToken(settings.secret, 'app', 'channel', { channel: 'bad channel' }), settings),
    ).toThrow();
    expect(verifyToken(signToken(settings.secret, 'merch', 'merchant'), settings)).toEqual({
      id: 'merch',
      role: 'merchant',
    });
    const forever = jwt.sign({ sub: 'cus_1', role: 'customer' }, settings.secret, { algorithm: 'HS256' });
    expect(() => verifyToken(forever, settings)).toThrow(/exp/);
    const tooLong = signToken(settings.secret, 'cus_1', 'customer', { expiresIn: '30d' });
    expect(() => verifyToken(tooLong, settings)).toThrow(/longer/);
    // Issued "in thirty days" for an hour: it would live thirty days from now.
    const later = Math.floor(Date.now() / 1000) + 30 * 86_400;
    const postdated = jwt.sign(
      { sub: 'cus_1', role: 'customer', iat: later, exp: later + 3600 },
      settings.secret,
      {
        algorithm: 'HS256',
      },
    );
    expect(() => verifyToken(postdated, settings)).toThrow(/longer/);
    const oddSub = signToken(settings.secret, 'cus 1\u0000', 'customer');
    expect(() => verifyToken(oddSub, settings)).toThrow(/sub/);
    const none = jwt.sign({ sub: 'cus_1', role: 'support' }, '', { algorithm: 'none' } as jwt.SignOptions);
    expect(() => verifyToken(none, settings)).toThrow(/invalid/);
  });

  test('rotation: a token signed with an earlier secret is accepted while that secret is listed', () => {
    const old = 'the-old-secret-of-sixteen+';
    const rotated = { ...settings, previousSecrets: [old] };
    const signedBefore = signToken(old, 'cus_1', 'customer');
    expect(() => verifyToken(signedBefore, settings)).toThrow(/invalid/);
    expect(verifyToken(signedBefore, rotated).id).toBe('cus_1');
    expect(verifyToken(signToken(settings.secret, 'cus_2', 'customer'), rotated).id).toBe('cus_2');
    // An earlier secret is tried only for its signature: its token's other checks still hold.
    const expired = jwt.sign(
      { sub: 'cus_1', role: 'customer', exp: Math.floor(Date.now() / 1000) - 60 },
      old,
      {
        algorithm: 'HS256',
      },
    );
    expect(() => verifyToken(expired, rotated)).toThrow(/invalid or expired/);
    expect(() => verifyToken(signToken('an-unlisted-secret-16+', 'cus_1', 'customer'), rotated)).toThrow(
      /invalid/,
    );
  });

  test('issuer and audience are checked when configured', () => {
    const strictSettings = { ...settings, issuer: 'https://id.example', audience: 'orders' };
    const plain = signToken(settings.secret, 'm1', 'merchant');
    expect(() => verifyToken(plain, strictSettings)).toThrow(/invalid/);
    const right = signToken(settings.secret, 'm1', 'merchant', {
      issuer: 'https://id.example',
      audience: 'orders',
    });
    expect(verifyToken(right, strictSettings).role).toBe('merchant');
    const wrongAudience = signToken(settings.secret, 'm1', 'merchant', {
      issuer: 'https://id.example',
      audience: 'x',
    });
    expect(() => verifyToken(wrongAudience, strictSettings)).toThrow(/invalid/);
  });
});

test("a token's sub may be what identity providers write, but nothing unprintable", () => {
  const settings = { secret: 'a-secret-of-sixteen+', maxLifetimeMs: 3_600_000 };
  for (const sub of ['auth0|5f1c2d', 'ann@example.com', 'google:1234'])
    expect(verifyToken(signToken(settings.secret, sub, 'customer'), settings).id).toBe(sub);
  for (const sub of ['two words', 'tab\there', 'x'.repeat(201), 'é'])
    expect(() => verifyToken(signToken(settings.secret, sub, 'customer'), settings)).toThrow(/sub/);
});

test("the console's page quotes its settings as text: a `$'` in one is not a replacement pattern", async () => {
  const app = express().use(
    consoleRouter({ namespace: `ns$'"<x>$&`, temporalUiUrl: 'http://ui.example/$`' }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const page = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)).text();
    expect(page).toContain('data-namespace="ns$&#39;&quot;&lt;x&gt;$&amp;"');
    expect(page).toContain('data-temporal-ui="http://ui.example/$`"');
    expect(page.match(/<body/g)).toHaveLength(1);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
