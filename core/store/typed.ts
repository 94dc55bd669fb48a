/**
 * Growable typed arrays: grown(a, n) returns a (if it already holds n
 * elements) or a copy at least twice as long, new elements set to `fill`.
 * Used for columns indexed by block, slot or worker, whose size is unknown in
 * advance; the slack is part of what bytesUsed() reports.
 */
type TypedArray = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

export function grown<T extends TypedArray>(a: T, n: number, fill = 0): T {
  if (n <= a.length) return a;
  let len = Math.max(a.length * 2, 16);
  while (len < n) len *= 2;
  const b = new (a.constructor as new (len: number) => T)(len);
  b.set(a as ArrayLike<number>);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}
