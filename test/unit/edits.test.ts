/** Issue 21, item 3: what an edit leaves, and its price, exact to the cent. */
import fc from 'fast-check';
import { editDeltas, editedQuantities, previewEdit } from '../../domain/edits';
import { BusinessRuleError } from '../../domain/errors';
import type { OrderLine, OrderState } from '../../domain/order';

const line = (sku: string, quantity: number, unitPrice: number): OrderLine => ({
  sku,
  name: sku,
  quantity,
  unitPrice,
  discount: 0,
  total: quantity * unitPrice,
  refundedQuantity: 0,
  inventoryStrategy: 'on_order',
});

const order = (
  items: OrderLine[],
  paid = 0,
): Pick<OrderState, 'items' | 'amounts' | 'discounts' | 'type'> => {
  const subtotal = items.reduce((a, l) => a + l.total, 0);
  return {
    type: 'standard',
    items,
    discounts: [],
    amounts: { subtotal, discount: 0, shipping: 800, total: subtotal + 800, paid, refunded: 0 },
  };
};

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof BusinessRuleError) return err.code;
    throw err;
  }
  return null;
};

test('add, remove, change up or down, swap: each SKU named once; nothing left or nothing changed is refused', () => {
  const items = [line('a', 2, 1000), line('b', 1, 500)];
  expect(editedQuantities(items, { add: [{ sku: 'c', quantity: 2 }], remove: [{ sku: 'b' }] })).toEqual([
    { sku: 'a', quantity: 2 },
    { sku: 'c', quantity: 2 },
  ]);
  expect(editedQuantities(items, { change: [{ sku: 'a', quantity: 5 }] })).toEqual([
    { sku: 'a', quantity: 5 },
    { sku: 'b', quantity: 1 },
  ]);
  // A swap keeps the quantity unless it names one; the new SKU takes the old one's place at the end.
  expect(editedQuantities(items, { change: [{ sku: 'b', newSku: 'd' }] })).toEqual([
    { sku: 'a', quantity: 2 },
    { sku: 'd', quantity: 1 },
  ]);
  // Adding a SKU the order has is more of it.
  expect(editedQuantities(items, { add: [{ sku: 'a', quantity: 1 }] })[0]).toEqual({ sku: 'a', quantity: 3 });
  expect(code(() => editedQuantities(items, { remove: [{ sku: 'a' }, { sku: 'b' }] }))).toBe('EDIT_INVALID');
  expect(code(() => editedQuantities(items, { change: [{ sku: 'a', quantity: 2 }] }))).toBe('EDIT_INVALID');
  expect(code(() => editedQuantities(items, {}))).toBe('EDIT_INVALID');
  expect(
    code(() => editedQuantities(items, { add: [{ sku: 'a', quantity: 1 }], remove: [{ sku: 'a' }] })),
  ).toBe('EDIT_INVALID');
  expect(code(() => editedQuantities(items, { change: [{ sku: 'a', newSku: 'b' }] }))).toBe('EDIT_INVALID');
  expect(code(() => editedQuantities(items, { remove: [{ sku: 'z' }] }))).toBe('UNKNOWN_LINE');
});

test('an edited order keeps the bounds of a placed one: 1000 units a line, 100 lines, however many edits add up', () => {
  const items = [line('a', 999, 10)];
  expect(editedQuantities(items, { add: [{ sku: 'a', quantity: 1 }] })).toEqual([
    { sku: 'a', quantity: 1000 },
  ]);
  expect(code(() => editedQuantities(items, { add: [{ sku: 'a', quantity: 2 }] }))).toBe('EDIT_INVALID');
  expect(code(() => editedQuantities(items, { change: [{ sku: 'a', quantity: 1001 }] }))).toBe(
    'EDIT_INVALID',
  );
  // A line past the bound already (an edit before it was kept) does not stop edits elsewhere.
  expect(editedQuantities([line('a', 1200, 10)], { add: [{ sku: 'b', quantity: 1 }] })).toHaveLength(2);
  const many = Array.from({ length: 99 }, (_, i) => line(`s${i}`, 1, 10));
  expect(editedQuantities(many, { add: [{ sku: 'n1', quantity: 1 }] })).toHaveLength(100);
  expect(
    code(() =>
      editedQuantities(many, {
        add: [
          { sku: 'n1', quantity: 1 },
          { sku: 'n2', quantity: 1 },
        ],
      }),
    ),
  ).toBe('EDIT_INVALID');
});

test('kept lines keep their price, new ones take the catalogue’s; a paid order owes or is refunded the difference', () => {
  const o = order([line('a', 2, 1000)], 2800);
  const pricing = {
    products: [{ sku: 'b', name: 'B', price: 1500, inventoryStrategy: 'on_payment' as const }],
    promotion: null,
    memberTier: 'gold' as const,
  };
  const up = previewEdit(o, { add: [{ sku: 'b', quantity: 1 }] }, pricing);
  // 3500 less gold's 5% (175), allocated by line: 50 and 125 (and shipping).
  expect(up.after.items.map((l) => [l.sku, l.discount, l.total, l.inventoryStrategy])).toEqual([
    ['a', 100, 1900, 'on_order'],
    ['b', 75, 1425, 'on_payment'],
  ]);
  expect(up).toMatchObject({ difference: 3325 + 800 - 2800, owed: 1325, refund: 0 });
  const down = previewEdit(
    o,
    { change: [{ sku: 'a', quantity: 1 }] },
    { ...pricing, memberTier: 'standard' },
  );
  expect(down).toMatchObject({ owed: 0, refund: 1000, after: { amounts: { total: 1800 } } });
  expect(code(() => previewEdit(o, { add: [{ sku: 'x', quantity: 1 }] }, pricing))).toBe('UNKNOWN_PRODUCT');
});

test('any edit: the lines’ totals add up to the order’s, and the stock moves are exactly the difference', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ q: fc.integer({ min: 1, max: 9 }), p: fc.integer({ min: 1, max: 50_000 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 4, maxLength: 4 }),
      fc.constantFrom('standard', 'silver', 'gold'),
      (specs, quantities, tier) => {
        const items = specs.map((s, i) => line(`s${i}`, s.q, s.p));
        const change = items
          .map((l, i) => ({ sku: l.sku, quantity: quantities[i]! }))
          .filter((c, i) => c.quantity !== items[i]!.quantity);
        if (change.length === 0 || change.every((c) => c.quantity === 0)) return;
        const preview = previewEdit(
          order(items),
          { change },
          { products: [], promotion: null, memberTier: tier },
        );
        const { after } = preview;
        expect(after.items.reduce((a, l) => a + l.total, 0) + after.amounts.shipping).toBe(
          after.amounts.total,
        );
        expect(after.items.every((l) => l.discount <= l.unitPrice * l.quantity)).toBe(true);
        const { more, fewer } = editDeltas(items, after.items);
        for (const l of items) {
          const now = after.items.find((x) => x.sku === l.sku)?.quantity ?? 0;
          const moved =
            (more.find((m) => m.sku === l.sku)?.quantity ?? 0) -
            (fewer.find((m) => m.sku === l.sku)?.quantity ?? 0);
          expect(l.quantity + moved).toBe(now);
        }
      },
    ),
  );
});
