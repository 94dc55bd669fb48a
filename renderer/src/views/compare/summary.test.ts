import { test } from 'node:test';
import assert from 'node:assert/strict';
import { difference, mostFrequentHook, type RunSummary } from './summary.js';

const run = (calls: [number, number][]): RunSummary => ({
  wallNs: 0,
  events: 0,
  coroutines: 0,
  switches: 0,
  preemptions: 0,
  calls: 0,
  drops: 0,
  insights: 0,
  callsByHook: calls,
});

test('difference: equal, within 10 %, different, very different (2x or one zero)', () => {
  assert.equal(difference(5, 5), 0);
  assert.equal(difference(100, 105), 0);
  assert.equal(difference(100, 150), 1);
  assert.equal(difference(100, 250), 2);
  assert.equal(difference(79, 0), 2);
  assert.equal(difference(NaN, NaN), 0);
  assert.equal(difference(17e6, NaN), 2);
});

test('the most frequent call is counted over both runs', () => {
  assert.equal(
    mostFrequentHook(
      run([
        [1, 10],
        [2, 8],
      ]),
      run([[2, 5]]),
    ),
    2,
  );
  assert.equal(mostFrequentHook(run([]), null), null);
});
