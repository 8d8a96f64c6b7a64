/** Issue 22, item 4: an imported order's lines and amounts, from the source's figures (pure). */
import fc from 'fast-check';
import { BusinessRuleError } from '../../domain/errors';
import { externalPayer, externalPayment, importedLines } from '../../domain/imports';

const names = new Map([['a', 'A']]);

test('the discount is spread over the lines by their subtotals; line totals plus shipping are the total, exactly', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          quantity: fc.integer({ min: 1, max: 1000 }),
          unitPrice: fc.integer({ min: 0, max: 10_000_000 }),
        }),
        { minLength: 1, maxLength: 100 },
      ),
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (lines, shipping, share) => {
        const items = lines.map((l, i) => ({ sku: `s${i}`, ...l }));
        const subtotal = items.reduce((a, l) => a + l.quantity * l.unitPrice, 0);
        const discount = Math.floor(subtotal * share);
        const total = subtotal - discount + shipping;
        const made = importedLines({ lines: items, amounts: { discount, shipping, total } }, names);
        expect(made.items.reduce((a, l) => a + l.total, 0) + shipping).toBe(total);
        expect(made.items.reduce((a, l) => a + l.discount, 0)).toBe(discount);
        for (const l of made.items) expect(l.discount).toBeLessThanOrEqual(l.quantity * l.unitPrice);
        expect(made.amounts).toEqual({ subtotal, discount, shipping, total, paid: total, refunded: 0 });
      },
    ),
  );
});

test('figures that do not add up are refused with AMOUNTS_MISMATCH', () => {
  const lines = [{ sku: 'a', quantity: 2, unitPrice: 500 }];
  const refused = (amounts: Parameters<typeof importedLines>[0]['amounts']) => {
    try {
      importedLines({ lines, amounts }, names);
      return null;
    } catch (err) {
      return err instanceof BusinessRuleError ? err.code : err;
    }
  };
  expect(refused({ discount: 0, shipping: 0, total: 1000 })).toBeNull();
  expect(refused({ subtotal: 999, discount: 0, shipping: 0, total: 999 })).toBe('AMOUNTS_MISMATCH');
  expect(refused({ discount: 1001, shipping: 1001, total: 1000 })).toBe('AMOUNTS_MISMATCH');
  expect(refused({ discount: 100, shipping: 50, total: 1000 })).toBe('AMOUNTS_MISMATCH');
});

test('the source’s payment names the channel that owes refunds', () => {
  const payment = externalPayment('ord_abc', 'mall', 1200, 'ref-1');
  expect(payment).toEqual({
    id: 'ext_abc',
    status: 'succeeded',
    method: 'external',
    amount: 1200,
    refunded: 0,
    external: { channel: 'mall', reference: 'ref-1' },
  });
  expect(externalPayer({ payments: [payment] })).toBe('mall');
  expect(externalPayer({ payments: [{ ...payment, external: undefined }] })).toBeUndefined();
});
