// The contract's argument checks (preload/check.ts): engine settings sent at
// run time (setEngine) and at launch are range-checked and normalised to what
// the engine's parser takes (whole nanoseconds: it reads no fractions).
import test from 'node:test';
import assert from 'node:assert/strict';
import { BadRequest, durationNs, engineOptions, engineSetting } from '../../preload/check.js';

const refused = (f: () => unknown, pattern: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof BadRequest && e.code === 'bad-request' && pattern.test(e.message));

test('durationNs: units, fractions, and what is not a duration', () => {
  assert.equal(durationNs('10ms'), 10_000_000);
  assert.equal(durationNs('1.5ms'), 1_500_000);
  assert.equal(durationNs('500us'), 500_000);
  assert.equal(durationNs('2s'), 2_000_000_000);
  assert.equal(durationNs('0.1ms'), 100_000);
  assert.equal(durationNs('7ns'), 7);
  for (const bad of ['', '10', 'ms', '-1ms', '1e3ms', '10 ms', '10MS', '1.ms', '.5ms', '1.1234567ms', '10msx'])
    assert.equal(durationNs(bad), undefined, bad);
});

test('set slice: 100us..60s, sent as whole nanoseconds', () => {
  assert.deepEqual(engineSetting({ key: 'slice', value: '10ms' }), { key: 'slice', value: '10000000ns' });
  assert.deepEqual(engineSetting({ key: 'slice', value: '1.5ms' }), { key: 'slice', value: '1500000ns' });
  assert.deepEqual(engineSetting({ key: 'slice', value: '100us' }), { key: 'slice', value: '100000ns' });
  assert.deepEqual(engineSetting({ key: 'slice', value: '60s' }), { key: 'slice', value: '60000000000ns' });
  refused(() => engineSetting({ key: 'slice', value: '99us' }), /outside 100us\.\.60s/);
  refused(() => engineSetting({ key: 'slice', value: '61s' }), /outside/);
  refused(() => engineSetting({ key: 'slice', value: '0ms' }), /outside/);
  refused(() => engineSetting({ key: 'slice', value: 'fast' }), /time slice: expected a duration/);
  refused(() => engineSetting({ key: 'slice', value: 10 }), /expected a string/);
  refused(() => engineSetting({ key: 'slice', value: '1ms; resume' }), /expected a duration/);
});

test('set delay: 0..2s, 0 turns it off', () => {
  assert.deepEqual(engineSetting({ key: 'delay', value: 0 }), { key: 'delay', value: '0ns' });
  assert.deepEqual(engineSetting({ key: 'delay', value: '0ms' }), { key: 'delay', value: '0ns' });
  assert.deepEqual(engineSetting({ key: 'delay', value: '250ms' }), { key: 'delay', value: '250000000ns' });
  assert.deepEqual(engineSetting({ key: 'delay', value: '2s' }), { key: 'delay', value: '2000000000ns' });
  refused(() => engineSetting({ key: 'delay', value: '2001ms' }), /outside 0\.\.2s/);
  refused(() => engineSetting({ key: 'delay', value: 250 }), /expected a string/);
});

test('set preempt / hooks: booleans or 0 / 1 only', () => {
  assert.deepEqual(engineSetting({ key: 'preempt', value: false }), { key: 'preempt', value: false });
  assert.deepEqual(engineSetting({ key: 'preempt', value: 1 }), { key: 'preempt', value: true });
  assert.deepEqual(engineSetting({ key: 'hooks', value: 0 }), { key: 'hooks', value: false });
  assert.deepEqual(engineSetting({ key: 'hooks', value: true }), { key: 'hooks', value: true });
  refused(() => engineSetting({ key: 'preempt', value: 2 }), /expected true or false/);
  refused(() => engineSetting({ key: 'hooks', value: 'off' }), /expected true or false/);
  refused(() => engineSetting({ key: 'hooks' }), /expected true or false/);
});

test('set: unknown keys and extra fields are refused', () => {
  refused(() => engineSetting({ key: 'workers', value: 3 }), /key: expected slice, preempt, hooks or delay/);
  refused(() => engineSetting({ key: 'preempt', value: true, also: 1 }), /unknown field "also"/);
  refused(() => engineSetting({}), /key:/);
});

test('launch engine options: the time slice is range-checked and normalised too', () => {
  assert.deepEqual(engineOptions({ timeSlice: '2.5ms', preempt: false }), { timeSlice: '2500000ns', preempt: false });
  refused(() => engineOptions({ timeSlice: '50us' }), /engine\.timeSlice: 50us is outside 100us\.\.60s/);
  refused(() => engineOptions({ timeSlice: '10 parsecs' }), /engine\.timeSlice: expected a duration/);
  assert.equal(engineOptions(undefined), undefined);
});
