/** Axis labels read at every zoom: the unit follows the time, the decimals follow the step. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtTick } from './format.js';

test('deep in a trace at a fine step the label is in seconds with the decimals the step needs, not millions of µs', () => {
  assert.equal(fmtTick(1_694_000_000, 1_000), '1.694000 s');
  assert.equal(fmtTick(1_694_000_100, 100), '1.6940001 s');
  assert.equal(fmtTick(12_345_678_901, 1), '12.345678901 s');
});

test('neighbouring ticks never read the same, and whole steps keep their decimals aligned', () => {
  for (const step of [1, 10, 250, 1e3, 5e4, 1e6, 2e7, 1e9]) {
    for (const base of [0, 3 * step, 1_694_000_000]) {
      const a = fmtTick(base + step, step);
      const b = fmtTick(base + 2 * step, step);
      assert.notEqual(a, b, `step ${step} at ${base}`);
    }
  }
  assert.deepEqual(
    [1.9e6, 2.0e6, 2.1e6].map((t) => fmtTick(t, 1e5)),
    ['1.9 ms', '2.0 ms', '2.1 ms'],
  );
});

test("near the start the unit is the time's own; zero is in the step's unit", () => {
  assert.equal(fmtTick(500, 100), '500 ns');
  assert.equal(fmtTick(2_500, 500), '2.5 µs');
  assert.equal(fmtTick(40_000_000, 10_000_000), '40 ms');
  assert.equal(fmtTick(0, 1e6), '0 ms');
  assert.equal(fmtTick(3e9, 1e9), '3 s');
});
