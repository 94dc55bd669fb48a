// Level of detail at the host (entry.ts): chunkSummaries gives an opened
// trace's chunk summaries as columns, from any chunk on, without reading its
// events; readWindow pushes exactly the file's events of a time window to the
// page that asked (tagged, in order, with their seq and strings), cut at max
// and said so, and a newer window of the same page stops the older one.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { ApiPush, RequestArgs, RequestName, RequestResult } from '../../preload/api.js';
import { RawEvents } from '../../core/events/rawEvents.js';
import { Overview } from '../../core/overview/overview.js';
import { packageRoot } from '../engine/paths.js';
import { TraceReader } from '../session/traceReader.js';
import { scratch } from '../testing/helpers.js';
import { AppHost } from './host.js';

let tmp: ReturnType<typeof scratch>;
let host: AppHost;
let file = '';

const ask = async <K extends RequestName>(
  name: K,
  args: RequestArgs<K>,
  push?: (p: ApiPush) => void,
): Promise<RequestResult<K>> => {
  const r = await host.handle({ id: 1, name, args }, { push });
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as RequestResult<K>;
};

/** Every event of the file, and every string. */
function fileEvents(path: string): { bytes: Buffer; strings: Map<number, string> } {
  const r = new TraceReader(path);
  try {
    const bytes = Buffer.concat([...r.batches()].map((b) => Buffer.from(b.raw.bytes)));
    return { bytes, strings: new Map(r.strings.entries()) };
  } finally {
    r.close();
  }
}

before(async () => {
  tmp = scratch('lod');
  process.env.COROSCOPE_RECORDINGS = join(tmp.dir, 'rec');
  host = new AppHost();
  const writer = join(tmp.dir, 'write1m');
  execFileSync('cc', ['-O2', '-std=gnu11', join(packageRoot(), 'bench', 'c', 'write1m.c'), '-o', writer]);
  const st = await ask('launch', [{ cmd: writer, args: ['400000'] }]);
  const sub = (p: ApiPush) => {
    if (p.type === 'batch')
      void host.handle({ id: 0, name: 'ack', args: [p.session, p.seq + p.events.byteLength / 64] }, { push: sub });
  };
  const off = host.onPush(sub);
  for (let i = 0; i < 3000; i++) {
    const s = (await ask('sessions', [])).find((x) => x.id === st.id)!;
    if (s.state !== 'running') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  off();
  file = st.recordPath!;
  await ask('closeSession', [st.id]);
});
after(async () => {
  await host.close();
  delete process.env.COROSCOPE_RECORDINGS;
  tmp.cleanup();
});

test("chunkSummaries: the file's chunks as columns, from any chunk on, adding up to the session's events", async () => {
  const st = await ask('openTrace', [file]);
  const r = new TraceReader(file);
  const chunks = r.summaries().chunks;
  r.close();
  assert.ok(chunks.length >= 4, `several chunks (${chunks.length})`);
  const all = await ask('chunkSummaries', [st.id, 0]);
  assert.equal(all.from, 0);
  assert.equal(all.chunkFirstTs.length, chunks.length);
  assert.deepEqual(
    all.chunkLastTs,
    chunks.map((c) => c.lastTs),
  );
  assert.equal(
    all.chunkEvents.reduce((a, b) => a + b, 0),
    st.events,
    'chunk events add up to the events a page streams',
  );
  const tail = await ask('chunkSummaries', [st.id, 3]);
  assert.equal(tail.from, 3);
  assert.deepEqual(tail.chunkLastTs, all.chunkLastTs.slice(3));
  // An overview built from a head and then the tail equals one built from all at once.
  const a = new Overview();
  a.add(all);
  const b = new Overview();
  b.add({
    ...all,
    chunkFirstTs: all.chunkFirstTs.slice(0, 3),
    chunkLastTs: all.chunkLastTs.slice(0, 3),
    chunkEvents: all.chunkEvents.slice(0, 3),
    chunkLanes: all.chunkLanes.slice(0, 3),
  });
  b.add(tail);
  assert.equal(b.events, a.events);
  assert.equal(a.events, st.events);
  const past = await ask('chunkSummaries', [st.id, 10_000]);
  assert.equal(past.chunkFirstTs.length, 0, 'nothing past the last chunk');
  await ask('closeSession', [st.id]);
});

test("readWindow pushes exactly the file's events of [t0, t1], with their seq and strings, to the page that asked", async () => {
  const st = await ask('openTrace', [file]);
  const { bytes, strings } = fileEvents(file);
  const raw = new RawEvents(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const n = raw.length;
  const t0 = raw.ts(Math.floor(n * 0.4));
  const t1 = raw.ts(Math.floor(n * 0.7));
  let first = -1;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (raw.ts(i) >= t0 && raw.ts(i) <= t1) {
      if (first < 0) first = i;
      count++;
    }
  }
  const got: Buffer[] = [];
  const gotStrings = new Map<number, string>();
  let seq = -1;
  let last = false;
  const page = (p: ApiPush) => {
    if (p.type !== 'window' || p.tag !== 5) return;
    assert.equal(last, false, 'nothing after the last part');
    if (seq < 0) seq = p.seq;
    else assert.equal(p.seq, seq + got.reduce((s, b) => s + b.length / 64, 0), 'parts follow each other');
    got.push(Buffer.from(p.events));
    for (const [id, s] of p.strings) gotStrings.set(id, s);
    last = p.last;
  };
  const other: ApiPush[] = [];
  const offOther = host.onPush((p) => other.push(p));
  const res = await ask('readWindow', [st.id, { tag: 5, t0, t1, max: 8_000_000 }], page);
  offOther();
  assert.deepEqual(res, { tag: 5, events: count, cut: false, complete: true });
  assert.ok(last, 'the last part says so');
  assert.equal(seq, first, "the first part's seq is the event number of the window's first event");
  assert.ok(Buffer.concat(got).equals(bytes.subarray(first * 64, (first + count) * 64)), "exactly the window's events");
  for (const [id, text] of strings) assert.equal(gotStrings.get(id), text, `string ${id} is given with the window`);
  assert.equal(other.filter((p) => p.type === 'window').length, 0, 'no other listener gets the window');

  // cut at max, and said so
  const cutParts: Buffer[] = [];
  const cut = await ask('readWindow', [st.id, { tag: 6, t0, t1, max: 1000 }], (p) => {
    if (p.type === 'window') cutParts.push(Buffer.from(p.events));
  });
  assert.deepEqual(cut, { tag: 6, events: 1000, cut: true, complete: true });
  assert.ok(
    Buffer.concat(cutParts).equals(bytes.subarray(first * 64, (first + 1000) * 64)),
    'the first max events from t0',
  );

  // a newer window of the same page stops the older one
  const mine = () => {};
  const older = ask('readWindow', [st.id, { tag: 7, t0: raw.ts(0), t1: raw.ts(n - 1), max: 8_000_000 }], mine);
  const newer = ask('readWindow', [st.id, { tag: 8, t0, t1, max: 10 }], mine);
  assert.equal((await older).complete, false, 'replaced before it was all sent');
  assert.equal((await newer).complete, true);
  await ask('closeSession', [st.id]);
});

test('readWindow needs a transport that can push to its caller', async () => {
  const st = await ask('openTrace', [file]);
  const r = await host.handle({ id: 3, name: 'readWindow', args: [st.id, { tag: 1, t0: 0, t1: 1, max: 1 }] });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.code, 'bad-request');
  await ask('closeSession', [st.id]);
});

test("readWindow waits while its listener's transport has a backlog, and goes on when it drains (never dropped)", async () => {
  const st = await ask('openTrace', [file]);
  const all = await ask('chunkSummaries', [st.id, 0]);
  let backlog = 64 * 1024 * 1024;
  let parts = 0;
  const page = (p: ApiPush) => {
    if (p.type === 'window') parts++;
  };
  const t0 = Math.min(...all.chunkFirstTs);
  const t1 = Math.max(...all.chunkLastTs);
  const done = host.handle(
    { id: 9, name: 'readWindow', args: [st.id, { tag: 1, t0, t1, max: 8_000_000 }] },
    { push: page, backlog: () => backlog },
  );
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(parts, 0, 'nothing pushed while the transport is backed up');
  backlog = 0;
  const r = await done;
  const res = r.ok ? (r.result as RequestResult<'readWindow'>) : null;
  assert.ok(res && res.complete && res.events === st.events, JSON.stringify(r));
  assert.ok(parts > 1);
  await ask('closeSession', [st.id]);
});

test("a live session's chunk summaries, polled from where each answer ended, are the file's chunks, each once", async () => {
  const writer = join(tmp.dir, 'write1m');
  const st = await ask('launch', [{ cmd: writer, args: ['3000000'] }]);
  const sub = (p: ApiPush) => {
    if (p.type === 'batch')
      void host.handle({ id: 0, name: 'ack', args: [p.session, p.seq + p.events.byteLength / 64] }, { push: sub });
  };
  const off = host.onPush(sub);
  const lastTs: number[] = [];
  let next = 0;
  let polls = 0;
  let whileRunning = 0;
  for (let i = 0; i < 6000; i++) {
    const s = (await ask('sessions', [])).find((x) => x.id === st.id)!;
    const cols = await ask('chunkSummaries', [st.id, next]);
    polls++;
    assert.equal(cols.from, next, 'an answer starts where the page asked');
    assert.equal(cols.problem, null, 'a chunk being written is not a problem');
    lastTs.push(...cols.chunkLastTs);
    next += cols.chunkLastTs.length;
    if (s.state !== 'running' && !cols.more) break;
    if (cols.chunkLastTs.length) whileRunning++;
    await new Promise((r) => setTimeout(r, 20));
  }
  off();
  // Once more after the end: the chunks written as it stopped.
  const rest = await ask('chunkSummaries', [st.id, next]);
  lastTs.push(...rest.chunkLastTs);
  assert.ok(whileRunning >= 3, `chunks arrived while it ran (${whileRunning} of ${polls} polls)`);
  const r = new TraceReader(st.recordPath!);
  const chunks = r.summaries().chunks;
  r.close();
  assert.deepEqual(
    lastTs,
    chunks.map((c) => c.lastTs),
  );
  await ask('closeSession', [st.id]);
});
