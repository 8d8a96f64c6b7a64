/**
 * Split an integer amount over weights so that the parts sum exactly to the amount
 * (largest-remainder method): each part gets floor(amount * w / W), and the units left over go
 * to the parts with the largest remainders, ties to the earlier line. In exact integer arithmetic:
 * amount × weight can pass 2^53 long before either does.
 */
export function allocate(amount: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new Error('cannot allocate a non-integer amount');
  if (!weights.every((w) => Number.isSafeInteger(w) && w >= 0)) throw new Error('weights must be integers');
  const total = weights.reduce((a, b) => a + BigInt(b), 0n);
  if (total === 0n) return weights.map(() => 0);
  const exact = weights.map((w) => BigInt(amount) * BigInt(w));
  const parts = exact.map((x) => x / total);
  let left = BigInt(amount) - parts.reduce((a, b) => a + b, 0n);
  const order = exact
    .map((x, i) => ({ i, rem: x % total }))
    .sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    parts[i]! += 1n;
    left -= 1n;
  }
  return parts.map(Number);
}

/** floor(a × b / c) for non-negative safe integers, exact even when a × b is not. */
export function mulDiv(a: number, b: number, c: number): number {
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}
