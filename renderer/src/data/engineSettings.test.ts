// The Engine panel's logic: which settings are current (CONFIG event, hello, set replies), what a
// typed time slice means, and whether the engine's reply acknowledges the change asked for.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { EngineRuntimeConfig } from '../../../preload/api.js';
import {
  acknowledged,
  changeText,
  currentSettings,
  fromEventConfig,
  fromRuntimeConfig,
  newer,
  parseSliceInput,
  sourceText,
  type KnownSettings,
} from './engineSettings.js';

const cfg = (o: Partial<EngineRuntimeConfig> = {}): EngineRuntimeConfig => ({
  workers: 1,
  stack_size: 262144,
  time_slice_ns: 10_000_000,
  hooks: 1,
  preempt: 1,
  migrate: 0,
  preempt_signal: 23,
  flight_bytes: 0,
  ...o,
});

test('settings from the engine reply and from the CONFIG event', () => {
  assert.deepEqual(fromRuntimeConfig(cfg({ preempt: 0 })), { timeSliceNs: 10_000_000, preempt: false, hooks: true });
  assert.deepEqual(
    fromEventConfig({
      workers: 2,
      stackSize: 1,
      timeSlice: 5e6,
      flags: 2,
      hooks: false,
      preempt: true,
      migrate: false,
      signal: 23,
    }),
    { timeSliceNs: 5e6, preempt: true, hooks: false },
  );
  assert.equal(fromEventConfig(undefined), undefined);
});

test('current settings: a reply beats the CONFIG event (the reply is the engine answering this panel); nothing known: undefined', () => {
  const event = { timeSliceNs: 10e6, preempt: true, hooks: true };
  assert.deepEqual(currentSettings(event, undefined), { ...event, source: 'config-event', at: 0 });
  const reply: KnownSettings = { timeSliceNs: 10e6, preempt: false, hooks: true, source: 'acknowledged', at: 5 };
  assert.deepEqual(currentSettings(event, reply), reply);
  assert.deepEqual(currentSettings(undefined, reply), reply);
  assert.equal(currentSettings(undefined, undefined), undefined);
});

test('newer keeps the latest reply even when an older one arrives last', () => {
  const a: KnownSettings = { timeSliceNs: 1, preempt: true, hooks: true, source: 'hello', at: 10 };
  const b: KnownSettings = { timeSliceNs: 2, preempt: false, hooks: true, source: 'acknowledged', at: 20 };
  assert.equal(newer(undefined, a), a);
  assert.equal(newer(a, b), b);
  assert.equal(newer(b, a), b);
});

test('time slice input: plain numbers are milliseconds, units are kept, the engine range is checked', () => {
  assert.deepEqual(parseSliceInput('10'), { value: '10ms', ns: 10e6 });
  assert.deepEqual(parseSliceInput(' 2.5 '), { value: '2.5ms', ns: 2.5e6 });
  assert.deepEqual(parseSliceInput('500us'), { value: '500us', ns: 500e3 });
  assert.deepEqual(parseSliceInput('500 µs'), { value: '500us', ns: 500e3 });
  assert.deepEqual(parseSliceInput('1s'), { value: '1s', ns: 1e9 });
  assert.deepEqual(parseSliceInput('0.1'), { value: '0.1ms', ns: 100e3 });
  for (const bad of ['', 'fast', '-1', '1e3', '10 parsecs', '1,5'])
    assert.match((parseSliceInput(bad) as { error: string }).error, /a number of milliseconds/, bad);
  assert.match((parseSliceInput('0.05') as { error: string }).error, /outside what the engine allows/);
  assert.match((parseSliceInput('61s') as { error: string }).error, /outside/);
  assert.match((parseSliceInput('0') as { error: string }).error, /outside/);
});

test('acknowledged: the reply must show the change', () => {
  const ok = acknowledged({ key: 'preempt', on: false }, { ok: true, config: cfg({ preempt: 0 }) }, 42);
  assert.deepEqual(ok, {
    settings: { timeSliceNs: 10e6, preempt: false, hooks: true, source: 'acknowledged', at: 42 },
  });
  assert.match(
    (acknowledged({ key: 'preempt', on: false }, { ok: true, config: cfg() }, 1) as { error: string }).error,
    /kept preemption on/,
  );
  assert.match(
    (acknowledged({ key: 'hooks', on: false }, { ok: true, config: cfg() }, 1) as { error: string }).error,
    /kept its hooks on/,
  );
  assert.match(
    (acknowledged({ key: 'slice', ns: 5e6 }, { ok: true, config: cfg() }, 1) as { error: string }).error,
    /kept a time slice of 10000000 ns/,
  );
  assert.ok(
    'settings' in acknowledged({ key: 'slice', ns: 5e6 }, { ok: true, config: cfg({ time_slice_ns: 5e6 }) }, 1),
  );
  for (const r of [
    { ok: true as const },
    { ok: true as const, delay_ns: 0 },
    { ok: true as const, config: {} as EngineRuntimeConfig },
  ])
    assert.match(
      (acknowledged({ key: 'hooks', on: true }, r, 1) as { error: string }).error,
      /without its configuration/,
    );
});

test('texts', () => {
  const ms = (ns: number) => `${ns / 1e6} ms`;
  assert.equal(changeText({ key: 'slice', ns: 2e6 }, ms), 'time slice 2 ms');
  assert.equal(changeText({ key: 'preempt', on: false }, ms), 'preemption off');
  assert.equal(changeText({ key: 'hooks', on: true }, ms), 'hooks on');
  const t = () => 'T';
  assert.match(
    sourceText({ timeSliceNs: 1, preempt: true, hooks: true, source: 'config-event', at: 0 }, t),
    /CONFIG event/,
  );
  assert.equal(
    sourceText({ timeSliceNs: 1, preempt: true, hooks: true, source: 'hello', at: 1 }, t),
    'from the engine (hello) at T',
  );
  assert.equal(
    sourceText({ timeSliceNs: 1, preempt: true, hooks: true, source: 'acknowledged', at: 1 }, t),
    'acknowledged by the engine at T',
  );
});
