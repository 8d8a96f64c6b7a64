import { encodeKey, parseKey } from '../../services/paging';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

test('a key this service wrote comes back as it was', () => {
  const key = ['2026-12-06T09:20:29.123456Z', 'ord_1', 7];
  expect(parseKey(encodeKey(key), ['instant', 'id', 'int'])).toEqual(key);
  expect(parseKey(encodeKey([0, 'main']), ['int', 'id'])).toEqual([0, 'main']);
});

test('anything else is not a cursor of the list', () => {
  const parts = ['instant', 'id', 'int'] as const;
  for (const text of [
    '',
    'not a cursor',
    'W10', // []
    b64(['2026-12-06T09:20:29.123456Z', 'ord_1']), // a part short
    b64(['2026-12-06T09:20:29.123456Z', 'ord_1', 7, 8]), // a part over
    b64(['2026-12-06T09:20:29.123Z', 'ord_1', 7]), // to the millisecond only
    b64(['2026-13-06T09:20:29.123456Z', 'ord_1', 7]), // no such month
    b64(['0999-12-06T09:20:29.123456Z', 'ord_1', 7]), // before any row
    b64(['2026-12-06T09:20:29.123456Z', 'ord\u00001', 7]), // not an id
    b64(['2026-12-06T09:20:29.123456Z', 'ord_1', 7.5]), // not an integer
    b64(['2026-12-06T09:20:29.123456Z', 'ord_1', '7']),
    b64({ seq: 7 }),
    `${encodeKey(['2026-12-06T09:20:29.123456Z', 'ord_1', 7])}=`,
    'A'.repeat(401),
  ])
    expect([text, parseKey(text, parts)]).toEqual([text, null]);
});
