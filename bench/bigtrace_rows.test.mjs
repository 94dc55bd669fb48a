// The pure logic of bench/bigtrace_rows.mjs (no timings): the RSS slope.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineSlope } from './bigtrace_rows.mjs';

test('the slope of RSS samples is the least-squares line through them', () => {
  assert.equal(lineSlope([0, 1, 2, 3], [10, 12, 14, 16]), 2);
  assert.equal(lineSlope([0, 1, 2, 3], [5, 5, 5, 5]), 0);
  assert.ok(Math.abs(lineSlope([0, 1, 2, 3], [1, 3, 2, 4]) - 0.8) < 1e-12, 'noise around a rising line');
});
