/** When a kept charge key must be looked up before it is asked again (domain/order.ts). */
import { CHARGE_KEY_MEMORY_MS, keyFirstUse, keyOutlivesMemory } from '../../domain/order';

test("a key is looked up once it is as old as the provider's memory, not before", () => {
  const first = Date.parse('2026-12-01T00:00:00Z');
  expect(keyOutlivesMemory(first, first + 15_000 - 1, 15_000)).toBe(false);
  expect(keyOutlivesMemory(first, first + 15_000, 15_000)).toBe(true);
  // Without the order's own setting: half of Stripe's day.
  expect(keyOutlivesMemory(first, first + CHARGE_KEY_MEMORY_MS - 1)).toBe(false);
  expect(keyOutlivesMemory(first, first + CHARGE_KEY_MEMORY_MS)).toBe(true);
});

test('a first use nobody knows counts as long ago: the key is always looked up', () => {
  const now = Date.parse('2026-12-01T00:00:00Z');
  expect(keyOutlivesMemory(keyFirstUse(undefined, undefined), now)).toBe(true);
});

test('a key kept again keeps its earliest known use; an unknown one makes it old', () => {
  expect(keyFirstUse(2_000, undefined)).toBe(2_000);
  expect(keyFirstUse(5_000, 2_000)).toBe(2_000);
  expect(keyFirstUse(undefined, 2_000)).toBe(0);
});
