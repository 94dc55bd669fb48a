/**
 * TraceReader (the addon's C reader) opens trace files of both formats: the
 * same recording stored as format 1 and as format 2 (native/test/fixtures,
 * written by the engine's recorder, the format-1 one rewritten with the
 * writer's format-1 mode) gives the same events, strings and chunk summaries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageRoot } from '../engine/paths.js';
import { Kind } from '../../core/events/schema.js';
import { TraceReader } from './traceReader.js';

const fixture = (name: string): string => join(packageRoot(), 'native', 'test', 'fixtures', name);

function readAll(path: string) {
  const r = new TraceReader(path);
  const chunks: Buffer[] = [];
  for (const b of r.batches(7)) chunks.push(Buffer.from(b.raw.bytes));
  const out = {
    info: r.info,
    events: Buffer.concat(chunks),
    strings: r.strings,
    problem: r.problem(),
    summaries: r.summaries(),
  };
  r.close();
  return out;
}

test('a recording stored as format 1 and as format 2 reads back as the same events and strings', () => {
  const v1 = readAll(fixture('hello-format1.cstrace'));
  const v2 = readAll(fixture('hello-format2.cstrace'));
  assert.equal(v1.info.version, '1.0');
  assert.equal(v2.info.version, '2.0');
  assert.equal(v1.problem, null);
  assert.equal(v2.problem, null);
  assert.ok(v1.events.length > 20 * 64);
  assert.ok(v1.events.equals(v2.events), 'same 64-byte records, bit for bit');
  for (let id = 1; id < 64; id++) assert.equal(v1.strings.get(id), v2.strings.get(id));
  assert.ok([...Array(64).keys()].some((id) => v2.strings.get(id) === 'hello'));
  assert.ok(v2.info.fileSize < v1.info.fileSize);
});

test('chunk summaries are the same in both formats and count every event per lane', () => {
  const v1 = readAll(fixture('hello-format1.cstrace'));
  const v2 = readAll(fixture('hello-format2.cstrace'));
  assert.equal(v2.summaries.problem, null);
  // format 1 has one chunk of them all; format 2 one per recorder drain: compare the totals per lane and kind
  const totals = (s: typeof v1.summaries) => {
    const m = new Map<string, number>();
    let busy = 0;
    for (const c of s.chunks)
      for (const l of c.lanes) {
        busy += l.busyNs;
        for (const [k, n] of Object.entries(l.kinds))
          m.set(`${l.tid}/${l.worker}/${k}`, (m.get(`${l.tid}/${l.worker}/${k}`) ?? 0) + n);
      }
    return { m, busy, records: s.chunks.reduce((a, c) => a + c.records, 0) };
  };
  const t1 = totals(v1.summaries);
  const t2 = totals(v2.summaries);
  assert.equal(
    t1.records,
    v1.events.length / 64 +
      [...t1.m.entries()]
        .filter(([k]) => k.endsWith(`/${Kind.STRING}`) || k.endsWith(`/${Kind.STRING_MORE}`))
        .reduce((a, [, n]) => a + n, 0),
  );
  assert.deepEqual([...t2.m.entries()].sort(), [...t1.m.entries()].sort());
  assert.equal(t2.busy, t1.busy);
  assert.ok(t1.busy > 0, 'the hello coroutine ran for a while');
  const runs = [...t1.m.entries()].filter(([k]) => k.endsWith(`/${Kind.CO_RUN}`)).reduce((a, [, n]) => a + n, 0);
  assert.ok(runs >= 2, 'it ran at least twice (before and after its sleep)');
});

test('batches decoded into one reused buffer are the same events, each valid until the next batch', () => {
  for (const name of ['hello-format1.cstrace', 'hello-format2.cstrace']) {
    const fresh = readAll(fixture(name));
    const r = new TraceReader(fixture(name));
    const chunks: Buffer[] = [];
    let buffer: ArrayBufferLike | undefined;
    let batches = 0;
    for (const b of r.batches(7, { reuse: true })) {
      buffer ??= b.raw.bytes.buffer;
      assert.equal(b.raw.bytes.buffer, buffer, 'every batch is a view of the same buffer');
      assert.ok(b.raw.length <= 7);
      chunks.push(Buffer.from(b.raw.bytes));
      batches++;
    }
    assert.ok(batches > 3);
    assert.ok(Buffer.concat(chunks).equals(fresh.events), `${name}: same records as fresh batches`);
    for (let id = 1; id < 64; id++) assert.equal(r.strings.get(id), fresh.strings.get(id));
    assert.equal(r.problem(), null);
    r.close();
  }
});

test('batches decoded ahead on another thread are the same events and strings, from two buffers in turn', async () => {
  for (const name of ['hello-format1.cstrace', 'hello-format2.cstrace']) {
    const fresh = readAll(fixture(name));
    const r = new TraceReader(fixture(name));
    const chunks: Buffer[] = [];
    const buffers: ArrayBufferLike[] = [];
    for await (const b of r.batchesAhead(7)) {
      assert.ok(b.raw.length <= 7);
      buffers.push(b.raw.bytes.buffer);
      chunks.push(Buffer.from(b.raw.bytes));
    }
    assert.ok(buffers.length > 3);
    assert.equal(new Set(buffers).size, 2, 'two buffers');
    for (let k = 1; k < buffers.length; k++) assert.notEqual(buffers[k], buffers[k - 1], 'used in turn');
    assert.ok(Buffer.concat(chunks).equals(fresh.events), `${name}: same records as fresh batches`);
    for (let id = 1; id < 64; id++) assert.equal(r.strings.get(id), fresh.strings.get(id));
    assert.equal(r.eventsRead * 64, fresh.events.length);
    assert.equal(r.problem(), null);
    r.close();
  }
});

test('while a batch is decoded on another thread the file refuses every other call; leaving the loop early waits for it', async () => {
  const r = new TraceReader(fixture('hello-format2.cstrace'));
  let seen = 0;
  for await (const b of r.batchesAhead(4)) {
    seen += b.raw.length;
    // the next batch is being decoded now
    assert.throws(() => r.close(), /a read is in progress/);
    assert.throws(() => r.summaries(), /a read is in progress/);
    if (seen >= 8) break;
  }
  r.close(); // the read in flight settled when the loop was left
  assert.throws(() => r.summaries(), /closed/);
});
