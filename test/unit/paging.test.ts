import { encodeKey, parseKey } from '../../services/paging';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

test('a key this service wrote comes back as it was, for its own list only', () => {
  const key = ['2026-12-06T09:20:29.123456Z', 'ord_1', 7];
  expect(parseKey(encodeKey('deliveries', key), 'deliveries')).toEqual(key);
  expect(parseKey(encodeKey('locations', [0, 'main']), 'locations')).toEqual([0, 'main']);
  // A fulfilment's id is `<order>:<location>:<round>`, longer than an id a client may send.
  const fulfilment = [`2026-12-06T09:20:29.000001Z`, `ord_${'a'.repeat(32)}:${'l'.repeat(100)}:2`];
  expect(parseKey(encodeKey('stalledFulfilments', fulfilment), 'stalledFulfilments')).toEqual(fulfilment);
  // The same shape of key, another list: a webhook's cursor is not a channel's.
  expect(parseKey(encodeKey('webhooks', ['wh-1']), 'channels')).toBeNull();
});

test('anything else is not a cursor of the list, nor a value PostgreSQL would refuse', () => {
  for (const text of [
    '',
    'not a cursor',
    'W10', // []
    b64(['deliveries', '2026-12-06T09:20:29.123456Z', 'ord_1']), // a part short
    b64(['deliveries', '2026-12-06T09:20:29.123456Z', 'ord_1', 7, 8]), // a part over
    b64(['2026-12-06T09:20:29.123456Z', 'ord_1', 7]), // no list
    b64(['deliveries', '2026-12-06T09:20:29.123Z', 'ord_1', 7]), // to the millisecond only
    b64(['deliveries', '2026-13-06T09:20:29.123456Z', 'ord_1', 7]), // no such month
    b64(['deliveries', '2026-02-30T09:20:29.123456Z', 'ord_1', 7]), // no such day
    b64(['deliveries', '0999-12-06T09:20:29.123456Z', 'ord_1', 7]), // before any row
    b64(['deliveries', '2026-12-06T09:20:29.123456Z', 'ord\u00001', 7]), // not an id
    b64(['deliveries', '2026-12-06T09:20:29.123456Z', 'ord_1', 7.5]), // not an integer
    b64(['deliveries', '2026-12-06T09:20:29.123456Z', 'ord_1', 3_000_000_000]), // past an integer column
    b64(['deliveries', '2026-12-06T09:20:29.123456Z', 'ord_1', '7']),
    b64({ seq: 7 }),
    `${encodeKey('deliveries', ['2026-12-06T09:20:29.123456Z', 'ord_1', 7])}=`,
    'A'.repeat(501),
  ])
    expect([text, parseKey(text, 'deliveries')]).toEqual([text, null]);
});
