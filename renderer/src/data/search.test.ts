/** Search and jump: each kind of query finds what it names, with the span to show. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoroutineInfo } from '@core/derive/derived.js';
import type { CallRow } from './calls.js';
import { search, type SearchSource } from './search.js';

const co = (id: number, name: string, created: number, finished = NaN) =>
  ({ co: id, name, created, finished, state: Number.isNaN(finished) ? 'suspended' : 'done' }) as CoroutineInfo;
const call = (name: string, fd: number, ts: number, duration: number, c = 0) =>
  ({ call: name, fd, ts, duration, co: c, tid: 9, result: 0, errno: 0, address: '' }) as CallRow;

function source(calls: CallRow[] | null): SearchSource & { asked: { call?: string; fd?: number }[] } {
  const asked: { call?: string; fd?: number }[] = [];
  return {
    asked,
    oldest: 1_000_000_000,
    newest: 3_000_000_000,
    coroutines: () => [co(1, 'main-loop', 1.0e9), co(2, 'reader', 1.2e9, 1.5e9), co(12, 'Reader-2', 2e9)],
    calls: (q, n) => {
      asked.push(q);
      if (!calls) return null;
      return calls
        .filter((r) => (q.fd === undefined || r.fd === q.fd) && (!q.call || r.call.includes(q.call)))
        .slice(0, n);
    },
  };
}

test('a time is from the session start; #N and co#N find that coroutine with its lifetime', () => {
  const s = source([]);
  assert.deepEqual(search('1.5s', s).hits, [
    { kind: 'time', label: '1.5s from the start', detail: '', t0: 2.5e9, t1: 2.5e9 },
  ]);
  assert.equal(search('250ms', s).hits[0].t0, 1.25e9);
  const r = search('co#2', s).hits;
  assert.equal(r.length, 1);
  assert.deepEqual([r[0].kind, r[0].co, r[0].t0, r[0].t1], ['coroutine', 2, 1.2e9, 1.5e9]);
  assert.equal(search('#12', s).hits[0].t1, 3e9, 'a live coroutine is shown up to the newest event');
  assert.deepEqual(search('#99', s).hits, []);
});

test('a word finds coroutines by name in any case, then the calls whose name holds it', () => {
  const s = source([call('read', 7, 2.0e9, 1e6, 2), call('pread64', 3, 2.1e9, 2e6), call('write', 7, 2.2e9, 1e3)]);
  const hits = search('READ', s).hits;
  assert.deepEqual(
    hits.map((h) => [h.kind, h.label]),
    [
      ['coroutine', '#2 reader'],
      ['coroutine', '#12 Reader-2'],
    ],
    'calls are matched by their exact-case name',
  );
  const calls = search('read', s).hits.filter((h) => h.kind === 'call');
  assert.deepEqual(
    calls.map((h) => [h.label, h.co, h.t0, h.t1]),
    [
      ['read(fd 7)', 2, 2.0e9 - 1e6, 2.0e9],
      ['pread64(fd 3)', undefined, 2.1e9 - 2e6, 2.1e9],
    ],
  );
});

test('fd=N finds the calls on that fd; without a store (level of detail) calls say why they are missing', () => {
  const s = source([call('read', 7, 2.0e9, 1e6, 2), call('write', 7, 2.2e9, 1e3, 2), call('read', 8, 2.3e9, 1e3)]);
  assert.deepEqual(
    search('fd=7', s).hits.map((h) => h.label),
    ['read(fd 7)', 'write(fd 7)'],
  );
  assert.deepEqual(s.asked.at(-1), { fd: 7 });
  const lod = search('fd 7', source(null));
  assert.deepEqual(lod.hits, []);
  assert.match(lod.note, /not searched in a trace drawn from its overview/);
  assert.deepEqual(search('   ', s).hits, []);
});
