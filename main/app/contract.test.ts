// The contract (preload/api.ts) at the host: every request in the map has an
// argument check and a handler, and nothing else has a handler; a request's
// handler runs only on the arguments its check returned; bad arguments for
// every request are answered with the bad-request envelope, the handler never
// reached; a failing handler is an error envelope, never a throw.
import test from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST_NAMES, REQUESTS, type RequestName } from '../../preload/api.js';
import { AppHost } from './host.js';

const sorted = (a: readonly string[]) => [...a].sort();

/** A host whose handlers are replaced by recorders (no session is ever started). */
function recordingHost(result: (name: RequestName) => unknown = () => 'done') {
  const host = new AppHost();
  const calls: { name: RequestName; args: unknown[] }[] = [];
  const spies = Object.fromEntries(
    REQUEST_NAMES.map((name) => [
      name,
      (args: unknown[]) => {
        calls.push({ name, args });
        return result(name);
      },
    ]),
  );
  Object.defineProperty(host, 'handlers', { value: spies });
  return { host, calls };
}

/** Arguments each request must refuse (typed by the map: a new request without a case does not build). */
const BAD: Record<RequestName, unknown[][]> = {
  listDemos: [[1], [undefined]],
  listProcesses: [['x']],
  listRecordings: [[null]],
  launch: [
    [],
    [{ cmd: 42, args: [] }],
    [{ cmd: 'true', args: 'x' }],
    [{ cmd: '', args: [] }],
    [{ cmd: 'true', args: [], env: { LD_PRELOAD: '/x.so' } }],
    [{ cmd: 'true', engine: { workers: 0 } }],
    [{ cmd: 'true', engine: { timeSlice: '10 parsecs' } }],
    [{ cmd: 'true', cwd: 'relative' }],
    [{ cmd: 'true', extra: 1 }],
    [{ cmd: 'true' }, 2],
    ['true'],
  ],
  runDemo: [[], [42], ['hello', { workers: 'x' }], ['x'.repeat(65)], ['hello', {}, 3]],
  attach: [[], [-1], ['123'], [1.5], [0x40000000]],
  openTrace: [[], ['relative.cstrace'], [7], ['/a\0b']],
  sessions: [[1]],
  closeSession: [[], [1], ['x'.repeat(65)]],
  kill: [[], ['s1', 'SIGSEGV'], [1], ['s1', 9], ['s1', 'SIGTERM', 1]],
  pause: [[], [null], ['s1', 2]],
  resume: [[], [{}]],
  step: [['s1'], ['s1', 0], ['s1', 1.5], ['s1', 1_000_001], ['s1', '3']],
  setEngine: [
    ['s1'],
    ['s1', { key: 'workers', value: 3 }],
    ['s1', { key: 'slice', value: '50us' }],
    ['s1', { key: 'preempt', value: 2 }],
    ['s1', { key: 'delay', value: '3s' }],
    ['s1', 'slice=1ms'],
    ['s1', { key: 'hooks', value: true, also: 1 }],
  ],
  snapshot: [[], [3]],
  hello: [[], [['s1']]],
  exportSession: [['s1'], ['s1', 'pdf'], [null, 'perfetto']],
  subscribe: [['s1'], ['s1', -1], ['s1', 1.5], ['s1', '0'], [null, 0]],
  ack: [['s1'], ['s1', -2], ['s1', NaN]],
  chunkSummaries: [['s1'], ['s1', -1], ['s1', 0.5], ['s1', '3'], [null, 0]],
  readWindow: [
    ['s1'],
    ['s1', { tag: 1, t0: 5, t1: 4, max: 10 }],
    ['s1', { tag: 1, t0: -1, t1: 4, max: 10 }],
    ['s1', { tag: 1, t0: 0, t1: Infinity, max: 10 }],
    ['s1', { tag: 1, t0: 0, t1: 4, max: 0 }],
    ['s1', { tag: 1, t0: 0, t1: 4, max: 2 ** 30 }],
    ['s1', { tag: -1, t0: 0, t1: 4, max: 10 }],
    ['s1', { tag: 1, t0: 0, t1: 4, max: 10, extra: 1 }],
    ['s1', [0, 4]],
  ],
  stackFrames: [
    ['s1'],
    ['s1', { stack: 0, why: 1 }],
    ['s1', { stack: 5, why: 0 }],
    ['s1', { stack: 5.5, why: 1 }],
    ['s1', { stack: '5', why: 1 }],
    ['s1', { stack: 5, why: 1, path: '/etc/passwd' }],
  ],
};

/** One good call per request: what arrives, and the checked (normalised) arguments its handler gets. */
const GOOD: Record<RequestName, { args: unknown[]; checked: unknown[] }> = {
  listDemos: { args: [], checked: [] },
  listProcesses: { args: [], checked: [] },
  listRecordings: { args: [], checked: [] },
  launch: {
    args: [{ cmd: '/bin/true', args: ['a'], engine: { timeSlice: '2.5ms' }, record: false }],
    checked: [{ cmd: '/bin/true', args: ['a'], engine: { timeSlice: '2500000ns' }, record: false }],
  },
  runDemo: { args: ['hello'], checked: ['hello', undefined] },
  attach: { args: [1234], checked: [1234] },
  openTrace: { args: ['/tmp/x.cstrace'], checked: ['/tmp/x.cstrace'] },
  sessions: { args: [], checked: [] },
  closeSession: { args: ['s1'], checked: ['s1'] },
  kill: { args: ['s1'], checked: ['s1', 'SIGTERM'] },
  pause: { args: ['s1'], checked: ['s1'] },
  resume: { args: ['s1'], checked: ['s1'] },
  step: { args: ['s1', 3], checked: ['s1', 3] },
  setEngine: { args: ['s1', { key: 'hooks', value: 0 }], checked: ['s1', { key: 'hooks', value: false }] },
  snapshot: { args: ['s1'], checked: ['s1'] },
  hello: { args: ['s1'], checked: ['s1'] },
  exportSession: { args: ['s1', 'perfetto'], checked: ['s1', 'perfetto'] },
  subscribe: { args: ['s1', 0], checked: ['s1', 0] },
  ack: { args: ['s1', 12], checked: ['s1', 12] },
  chunkSummaries: { args: ['s1', 3], checked: ['s1', 3] },
  readWindow: {
    args: ['s1', { tag: 7, t0: 10.7, t1: 20, max: 100 }],
    checked: ['s1', { tag: 7, t0: 10, t1: 20, max: 100 }],
  },
  stackFrames: { args: ['s1', { stack: 2 ** 33 + 5, why: 2 }], checked: ['s1', { stack: 2 ** 33 + 5, why: 2 }] },
};

test('every request in the map has an argument check and a handler; no handler is for anything else', async () => {
  const host = new AppHost();
  try {
    assert.deepEqual(sorted(REQUEST_NAMES), sorted(Object.keys(REQUESTS)));
    for (const name of REQUEST_NAMES) {
      assert.equal(typeof REQUESTS[name].check, 'function', `${name}: no check`);
      assert.equal(typeof host.handlers[name], 'function', `${name}: no handler`);
    }
    assert.deepEqual(sorted(Object.keys(host.handlers)), sorted(REQUEST_NAMES));
    // and the test tables here cover every request
    assert.deepEqual(sorted(Object.keys(BAD)), sorted(REQUEST_NAMES));
    assert.deepEqual(sorted(Object.keys(GOOD)), sorted(REQUEST_NAMES));
  } finally {
    await host.close();
  }
});

test('a good call reaches its handler with the arguments its check returned, and the reply carries the result', async () => {
  const { host, calls } = recordingHost((name) => ({ from: name }));
  for (const name of REQUEST_NAMES) {
    const r = await host.handle({ id: 5, name, args: GOOD[name].args });
    assert.deepEqual(r, { id: 5, ok: true, result: { from: name } }, name);
    assert.deepEqual(calls.pop(), { name, args: GOOD[name].checked }, name);
  }
  assert.equal(calls.length, 0);
});

test('bad arguments for every request: the bad-request envelope, and the handler never runs', async () => {
  const { host, calls } = recordingHost();
  for (const name of REQUEST_NAMES) {
    for (const args of BAD[name]) {
      const r = await host.handle({ id: 9, name, args });
      const what = `${name}(${JSON.stringify(args)})`;
      assert.equal(r.id, 9, what);
      assert.equal(r.ok, false, `${what} was accepted`);
      if (!r.ok) {
        assert.equal(r.error.code, 'bad-request', `${what}: ${r.error.message}`);
        assert.deepEqual(Object.keys(r.error).sort(), ['code', 'message']);
      }
    }
    // arguments that are not a list at all (a missing list is an empty one)
    for (const args of ['s1', { 0: 's1' }, 7, true]) {
      const r = await host.handle({ id: 9, name, args });
      assert.equal(!r.ok && r.error.code, 'bad-request', `${name} with args ${JSON.stringify(args)}`);
    }
  }
  assert.deepEqual(calls, []);
});

test('names outside the map, even ones every object has, are unknown requests', async () => {
  const { host, calls } = recordingHost();
  for (const name of ['nosuch', 'control', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 42, null]) {
    const r = await host.handle({ id: 3, name, args: [] });
    assert.equal(!r.ok && r.error.code, 'bad-request', String(name));
  }
  for (const envelope of [
    null,
    42,
    'listDemos',
    [],
    { name: 'listDemos', args: [] },
    { id: 'x', name: 'listDemos', args: [] },
  ]) {
    const r = await host.handle(envelope);
    assert.equal(!r.ok && r.error.code, 'bad-request', JSON.stringify(envelope));
  }
  assert.deepEqual(calls, []);
});

test('a handler that throws becomes an error envelope, never a throw past the host', async () => {
  const { host } = recordingHost(() => {
    throw new Error('boom');
  });
  for (const name of REQUEST_NAMES) {
    const r = await host.handle({ id: 4, name, args: GOOD[name].args });
    assert.deepEqual(r, { id: 4, ok: false, error: { code: 'internal', message: 'boom' } }, name);
  }
});
