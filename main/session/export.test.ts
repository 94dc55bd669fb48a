// A real recording exported: the Perfetto file decodes by the documented
// field numbers into a process track, one track per worker thread, a
// "Coroutines" parent with one child per coroutine, properly nested slices
// and flows that all end; the Chrome JSON loads with the same tracks.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from './session.js';
import { TraceReader } from './traceReader.js';
import { exportToFile } from '../export/file.js';
import { PfType, readPerfetto } from '../../core/export/protoDecode.js';
import { example, scratch } from '../testing/helpers.js';

let tmp: ReturnType<typeof scratch>;
let rec: string;
let live: Session;
before(async () => {
  tmp = scratch('export');
  rec = join(tmp.dir, 'steal.cstrace');
  live = Session.launch({ cmd: example('steal_imbalance'), record: rec, engine: { workers: 2 } });
  await live.whenEnded();
});
after(() => tmp.cleanup());

test('the Perfetto export of a steal_imbalance recording has the documented tracks, nested slices and ended flows', async () => {
  const out = join(tmp.dir, 'steal.pftrace');
  const r = new TraceReader(rec);
  await exportToFile('perfetto', r.batches(), out, { pid: r.info.pid });
  r.close();
  const trace = readPerfetto(readFileSync(out));
  const tracks = [...trace.tracks.values()];
  const proc = tracks.find((t) => t.process);
  assert.equal(proc?.process?.pid, live.pid);
  const workers = tracks.filter((t) => t.thread && /cs-worker-\d/.test(t.thread.name));
  assert.equal(workers.length, 2, `worker thread tracks: ${tracks.map((t) => t.name).join(', ')}`);
  const group = tracks.find((t) => t.name === 'Coroutines')!;
  assert.ok(group, 'a Coroutines parent track');
  const coTracks = tracks.filter((t) => t.parent === group.uuid);
  assert.equal(coTracks.length, live.derived.coroutines(true).length, 'one track per coroutine');
  // Slices nest per track, time never goes back on a track.
  const stacks = new Map<number, number>();
  const last = new Map<number, number>();
  for (const e of trace.events) {
    assert.ok(e.ts >= (last.get(e.track) ?? 0));
    last.set(e.track, e.ts);
    const d = stacks.get(e.track) ?? 0;
    if (e.type === PfType.SLICE_BEGIN) stacks.set(e.track, d + 1);
    if (e.type === PfType.SLICE_END) {
      assert.ok(d > 0, 'END without BEGIN');
      stacks.set(e.track, d - 1);
    }
  }
  for (const d of stacks.values()) assert.equal(d, 0);
  const begun = trace.events.flatMap((e) => e.flowIds).sort();
  const ended = trace.events.flatMap((e) => e.terminatingFlowIds).sort();
  assert.ok(begun.length > 0, 'wake arrows exist');
  assert.deepEqual(ended, begun);
  const names = new Set(trace.events.map((e) => e.name));
  assert.ok(
    names.has('running') || [...names].some((n) => /running/.test(n)),
    `slice names: ${[...names].slice(0, 10)}`,
  );
});

test('the Chrome JSON export of the same recording loads and names every worker and coroutine', async () => {
  const out = join(tmp.dir, 'steal.json');
  const r = new TraceReader(rec);
  await exportToFile('chrome-json', r.batches(), out, { pid: r.info.pid });
  r.close();
  const json = JSON.parse(readFileSync(out, 'utf8'));
  const threadNames = json.traceEvents
    .filter((e: { ph: string; name: string }) => e.ph === 'M' && e.name === 'thread_name')
    .map((e: { args: { name: string } }) => e.args.name);
  assert.equal(threadNames.filter((n: string) => /cs-worker-\d/.test(n)).length, 2);
  for (const c of live.derived.coroutines(true))
    assert.ok(
      threadNames.some((n: string) => n.includes(c.name)),
      `coroutine ${c.name} has a track`,
    );
});
