/** Money for people (domain/money.ts): each currency's decimals, the locale's way of writing them. */
import { formatMoney, isCurrency, minorUnits } from '../../domain/money';

test('amounts are minor units of their currency, written as people read them', () => {
  expect(formatMoney(9442, 'USD')).toBe('$94.42');
  expect(formatMoney(1200, 'JPY')).toBe('¥1,200');
  expect(formatMoney(1250, 'EUR', 'de-DE')).toBe('12,50\u00a0€');
  expect(formatMoney(1250, 'EUR', 'fr-FR')).toMatch(/^12,50\s€$/);
  expect(formatMoney(1234, 'KWD')).toBe('KWD\u00a01.234');
  expect(formatMoney(5, 'USD')).toBe('$0.05');
  expect(formatMoney(0, 'USD')).toBe('$0.00');
  // A code no list knows (an order placed before codes were checked) is shown as stored.
  expect(formatMoney(1250, 'ABC')).toBe('1250 ABC');
  // Exact at the top of the range: no float division.
  expect(formatMoney(9_007_199_254_740_991, 'USD')).toBe('$90,071,992,547,409.91');
});

test('currencies are the current ISO 4217 list, with their decimals', () => {
  expect(['USD', 'EUR', 'JPY', 'KWD', 'CHF', 'CNY'].every(isCurrency)).toBe(true);
  expect(['ABC', 'XYZ', 'DEM', 'usd', 'US'].some(isCurrency)).toBe(false);
  expect([minorUnits('JPY'), minorUnits('USD'), minorUnits('KWD'), minorUnits('CLF')]).toEqual([0, 2, 3, 4]);
});
