// Request validation: engine settings sent at run time (control `set`) and at
// launch are range-checked and normalised to what the engine's parser takes
// (whole nanoseconds: it reads no fractions).
import test from 'node:test';
import assert from 'node:assert/strict';
import { HostError } from './errors.js';
import { controlCommand, durationNs, engineOptions } from './validate.js';

const refused = (f: () => unknown, pattern: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof HostError && e.code === 'bad-request' && pattern.test(e.message));

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
  assert.deepEqual(controlCommand({ op: 'set', key: 'slice', value: '10ms' }), { op: 'set', key: 'slice', value: '10000000ns' });
  assert.deepEqual(controlCommand({ op: 'set', key: 'slice', value: '1.5ms' }), { op: 'set', key: 'slice', value: '1500000ns' });
  assert.deepEqual(controlCommand({ op: 'set', key: 'slice', value: '100us' }), { op: 'set', key: 'slice', value: '100000ns' });
  assert.deepEqual(controlCommand({ op: 'set', key: 'slice', value: '60s' }), { op: 'set', key: 'slice', value: '60000000000ns' });
  refused(() => controlCommand({ op: 'set', key: 'slice', value: '99us' }), /outside 100us\.\.60s/);
  refused(() => controlCommand({ op: 'set', key: 'slice', value: '61s' }), /outside/);
  refused(() => controlCommand({ op: 'set', key: 'slice', value: '0ms' }), /outside/);
  refused(() => controlCommand({ op: 'set', key: 'slice', value: 'fast' }), /time slice: expected a duration/);
  refused(() => controlCommand({ op: 'set', key: 'slice', value: 10 }), /expected a string/);
  refused(() => controlCommand({ op: 'set', key: 'slice', value: '1ms; resume' }), /expected a duration/);
});

test('set delay: 0..2s, 0 turns it off', () => {
  assert.deepEqual(controlCommand({ op: 'set', key: 'delay', value: 0 }), { op: 'set', key: 'delay', value: '0ns' });
  assert.deepEqual(controlCommand({ op: 'set', key: 'delay', value: '0ms' }), { op: 'set', key: 'delay', value: '0ns' });
  assert.deepEqual(controlCommand({ op: 'set', key: 'delay', value: '250ms' }), { op: 'set', key: 'delay', value: '250000000ns' });
  assert.deepEqual(controlCommand({ op: 'set', key: 'delay', value: '2s' }), { op: 'set', key: 'delay', value: '2000000000ns' });
  refused(() => controlCommand({ op: 'set', key: 'delay', value: '2001ms' }), /outside 0\.\.2s/);
  refused(() => controlCommand({ op: 'set', key: 'delay', value: 250 }), /expected a string/);
});

test('set preempt / hooks: booleans or 0 / 1 only', () => {
  assert.deepEqual(controlCommand({ op: 'set', key: 'preempt', value: false }), { op: 'set', key: 'preempt', value: false });
  assert.deepEqual(controlCommand({ op: 'set', key: 'preempt', value: 1 }), { op: 'set', key: 'preempt', value: true });
  assert.deepEqual(controlCommand({ op: 'set', key: 'hooks', value: 0 }), { op: 'set', key: 'hooks', value: false });
  assert.deepEqual(controlCommand({ op: 'set', key: 'hooks', value: true }), { op: 'set', key: 'hooks', value: true });
  refused(() => controlCommand({ op: 'set', key: 'preempt', value: 2 }), /expected true or false/);
  refused(() => controlCommand({ op: 'set', key: 'hooks', value: 'off' }), /expected true or false/);
  refused(() => controlCommand({ op: 'set', key: 'hooks' }), /expected true or false/);
});

test('set: unknown keys and extra fields are refused', () => {
  refused(() => controlCommand({ op: 'set', key: 'workers', value: 3 }), /key: expected slice, preempt, hooks or delay/);
  refused(() => controlCommand({ op: 'set', key: 'preempt', value: true, also: 1 }), /unknown field "also"/);
  refused(() => controlCommand({ op: 'set' }), /key:/);
});

test('launch engine options: the time slice is range-checked and normalised too', () => {
  assert.deepEqual(engineOptions({ timeSlice: '2.5ms', preempt: false }), { timeSlice: '2500000ns', preempt: false });
  refused(() => engineOptions({ timeSlice: '50us' }), /engine\.timeSlice: 50us is outside 100us\.\.60s/);
  refused(() => engineOptions({ timeSlice: '10 parsecs' }), /engine\.timeSlice: expected a duration/);
  assert.equal(engineOptions(undefined), undefined);
});
