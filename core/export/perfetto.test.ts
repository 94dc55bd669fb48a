import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportPerfetto, MAX_INTERNED } from './perfetto.js';
import { TimelineBuilder, type TimelineSink } from '../model/timeline.js';
import { ProtoWriter } from './proto.js';
import { PfType, fields, int64, readPerfetto, text, uint, type Field, type PfTrace } from './protoDecode.js';
import { MS, PID, T0, W0_TID, W1_TID, MAIN_TID, asAsync, demoHistory, syntheticBatches } from '../testing/fixtures.js';
import { CollectSink, CountSink } from '../testing/sinks.js';

async function demoTrace(): Promise<PfTrace> {
  const out = new CollectSink();
  await exportPerfetto(asAsync(demoHistory([7, 20])), out);
  return readPerfetto(out.bytes());
}

/** Slices nest per track (a stack per track uuid never underflows and ends empty), time never goes back. */
function assertNested(trace: PfTrace): void {
  const stacks = new Map<number, string[]>();
  const last = new Map<number, number>();
  for (const e of trace.events) {
    assert.ok(trace.tracks.has(e.track), `event on undeclared track ${e.track}`);
    assert.ok(e.ts >= (last.get(e.track) ?? 0), `time goes back on track ${e.track} at ${e.ts}`);
    last.set(e.track, e.ts);
    const stack = stacks.get(e.track) ?? [];
    stacks.set(e.track, stack);
    if (e.type === PfType.SLICE_BEGIN) stack.push(e.name);
    else if (e.type === PfType.SLICE_END) assert.ok(stack.pop() !== undefined, `END without BEGIN on track ${e.track}`);
  }
  for (const [track, stack] of stacks) assert.deepEqual(stack, [], `track ${track} ends with open slices`);
}

/** Every flow id that begins also terminates, exactly once each. */
function assertFlowsEnd(trace: PfTrace): number {
  const begun = trace.events.flatMap((e) => e.flowIds).sort((a, b) => a - b);
  const ended = trace.events.flatMap((e) => e.terminatingFlowIds).sort((a, b) => a - b);
  assert.deepEqual(ended, begun);
  assert.equal(new Set(begun).size, begun.length);
  return begun.length;
}

test('ProtoWriter and the decoder agree on varints, int64, fixed64, strings and long nested messages', () => {
  const w = new ProtoWriter(8);
  const values = [0, 1, 127, 128, 300, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
  for (const v of values) w.uint(1, v);
  for (const v of [-1, -2, -(2 ** 31), -(2 ** 40)]) w.int(2, v);
  w.fixed64(3, 2 ** 53 - 1);
  const long = 'x'.repeat(300);
  const m = w.begin(4);
  w.string(1, long);
  w.string(2, 'héllo ✓');
  w.end(m);
  const got = [...fields(w.take())];
  assert.deepEqual(got.filter((f) => f.no === 1).map(uint), values);
  assert.deepEqual(got.filter((f) => f.no === 2).map(int64), [-1, -2, -(2 ** 31), -(2 ** 40)]);
  assert.equal(uint(got.find((f) => f.no === 3)!), 2 ** 53 - 1);
  const inner = [...fields(got.find((f) => f.no === 4)!.bytes!)];
  assert.deepEqual(inner.map(text), [long, 'héllo ✓']);
});

test('track descriptors: process, worker threads, "Coroutines" with one child per coroutine, counters', async () => {
  const trace = await demoTrace();
  const tracks = [...trace.tracks.values()];
  const proc = tracks.filter((t) => t.process);
  assert.equal(proc.length, 1);
  assert.deepEqual(proc[0].process, { pid: PID, name: 'demo' });
  const threads = tracks.filter((t) => t.thread).map((t) => t.thread);
  assert.deepEqual(
    threads.sort((a, b) => a!.tid - b!.tid),
    [
      { pid: PID, tid: MAIN_TID, name: 'demo' },
      { pid: PID, tid: W0_TID, name: 'cs-worker-0' },
      { pid: PID, tid: W1_TID, name: 'cs-worker-1' },
    ],
  );
  for (const t of tracks.filter((x) => x.thread)) assert.equal(t.parent, proc[0].uuid);
  const group = tracks.filter((t) => t.name === 'Coroutines');
  assert.equal(group.length, 1);
  assert.equal(group[0].parent, proc[0].uuid);
  assert.deepEqual(
    tracks.filter((t) => t.parent === group[0].uuid).map((t) => t.name),
    ['sleeper #1', 'reader #2', 'writer #3'],
  );
  const counters = tracks.filter((t) => t.counter);
  assert.deepEqual(counters.map((t) => t.name).sort(), [
    'injection queue',
    'run queue (worker 0)',
    'spawn queue (worker 0)',
  ]);
  for (const t of counters) assert.deepEqual(t.counter, { unit: 2 });
});

test('track events: interned names, nested slices, flows that end, instants and counters', async () => {
  const trace = await demoTrace();
  assertNested(trace);
  assert.equal(assertFlowsEnd(trace), 2);
  const byTrack = (name: string) => [...trace.tracks.values()].find((t) => t.name === name)!.uuid;
  const sleeper = trace.events.filter((e) => e.track === byTrack('sleeper #1'));
  assert.deepEqual(
    sleeper.filter((e) => e.type === PfType.SLICE_BEGIN).map((e) => e.name),
    ['ready', 'running', 'write', 'suspended: nanosleep', 'ready', 'running', 'nanosleep'],
  );
  const parked = sleeper.find((e) => e.name === 'suspended: nanosleep')!;
  assert.equal(parked.ts, T0 + 2 * MS);
  assert.deepEqual(parked.annotations, {
    why: 'sleep',
    hook: 'nanosleep',
    deadline: T0 + 12 * MS,
    timeout_ns: 10 * MS,
  });
  const call = sleeper.find((e) => e.name === 'write')!;
  assert.deepEqual(call.annotations, { fd: 1, result: 6, errno: 0, requested_bytes: 6, duration_ns: 100_000 });
  const failed = trace.events.find((e) => e.name === 'read' && e.annotations.errno === 11)!;
  assert.equal(failed.annotations.result, -1);

  const wake = trace.events.find((e) => e.name === 'wake' && e.annotations.co === 2)!;
  assert.equal(wake.type, PfType.INSTANT);
  assert.equal(wake.track, byTrack('writer #3'));
  const resumed = trace.events.find((e) => e.terminatingFlowIds.includes(wake.flowIds[0]))!;
  assert.equal(resumed.track, byTrack('reader #2'));
  assert.equal(resumed.name, 'running');
  assert.equal(resumed.type, PfType.SLICE_BEGIN);

  const instants = trace.events.filter((e) => e.type === PfType.INSTANT).map((e) => e.name);
  for (const n of ['preempted', 'preempt deferred', 'preempt sent', 'drop', 'finished'])
    assert.ok(instants.includes(n), n);
  const preempted = trace.events.find((e) => e.name === 'preempted')!;
  assert.equal(preempted.annotations.latency_ns, 50_000);

  const inj = trace.events.filter((e) => e.type === PfType.COUNTER && e.track === byTrack('injection queue'));
  assert.deepEqual(
    inj.map((e) => e.counter),
    [1, 2, 3, 0],
  );
  for (const e of trace.events) assert.equal(e.clock, 6, 'default trace clock');
});

test('first packet clears incremental state; names are interned once and referenced after', async () => {
  const out = new CollectSink();
  await exportPerfetto(asAsync(demoHistory()), out);
  const packets = [...fields(out.bytes())].map((f) => [...fields(f.bytes!)]);
  const flags = packets.map((p) => uint(p.find((f) => f.no === 13)!));
  assert.equal(flags[0], 1);
  assert.ok(flags.slice(1).every((f) => f === 2));
  assert.ok(
    packets.every((p) => uint(p.find((f) => f.no === 10)!) === 1),
    'one sequence',
  );
  const runningDefs = packets
    .flatMap((p) => p.filter((f) => f.no === 12))
    .flatMap((f) => [...fields(f.bytes!)].filter((g) => g.no === 2))
    .filter((g) => [...fields(g.bytes!)].some((h) => h.no === 2 && text(h) === 'running'));
  assert.equal(runningDefs.length, 1, '"running" is interned once');
});

test('a long synthetic trace with overlapping batches decodes, nests and ends its flows; names past the intern cap are inline', async () => {
  const out = new CollectSink();
  const s = await exportPerfetto(syntheticBatches(120_000, { live: 16, overlapNs: 10_000 }), out);
  assert.equal(s.internedNames, MAX_INTERNED);
  const trace = readPerfetto(out.bytes());
  assert.equal(trace.packets, s.packets);
  assertNested(trace);
  assert.equal(assertFlowsEnd(trace), s.flows);
  assert.ok(s.flows > 1000);
  const cos = [...trace.tracks.values()].filter((t) => t.name.startsWith('conn-'));
  assert.ok(cos.length > MAX_INTERNED);
  assert.ok(
    trace.events.some((e) => e.name === `conn-${cos.length - 1} #${cos.length - 1}`),
    'late names resolve',
  );
});

test('timestamps: deltas on an incremental sequence clock, absolute on the trace clock when older; all decode exactly', async () => {
  const opts = { live: 16, overlapNs: 10_000 };
  const want: number[] = [];
  const rec = (_track: number, ts: number): void => void want.push(ts);
  const sink: TimelineSink = { track() {}, begin: rec, end: rec, instant: rec, counter: rec, close() {} };
  const tl = new TimelineBuilder(sink);
  for await (const b of syntheticBatches(50_000, opts)) tl.push(b.raw, b.strings);
  tl.finish();

  const out = new CollectSink();
  await exportPerfetto(syntheticBatches(50_000, opts), out);
  const bytes = out.bytes();
  const trace = readPerfetto(bytes);
  assert.deepEqual(
    trace.events.map((e) => e.ts),
    want,
  );
  assert.ok(trace.events.every((e) => e.clock === 6));

  const packets = [...fields(bytes)].map((f) => [...fields(f.bytes!)]);
  const clockOf = (p: Field[]): Field | undefined => p.find((f) => f.no === 58);
  const absolute = packets.filter((p) => clockOf(p) && uint(clockOf(p)!) === 6).length;
  const timed = packets.filter((p) => p.some((f) => f.no === 8)).length;
  assert.ok(absolute > 0, 'some events are older than the sequence clock (tracks interleave)');
  assert.ok(absolute < timed / 10, `${absolute} of ${timed} timestamps absolute`);
  const first = packets[0];
  const defaults = [...fields(first.find((f) => f.no === 59)!.bytes!)];
  assert.equal(uint(defaults.find((f) => f.no === 58)!), 64, 'the sequence defaults to the incremental clock');
});

test('streaming: 2 M events export with bounded state and backpressure', async () => {
  const out = new CountSink();
  let progress = 0;
  const t0 = performance.now();
  const s = await exportPerfetto(syntheticBatches(2_000_000, { overlapNs: 2_000 }), out, {
    onProgress: (n) => (progress = n),
  });
  const secs = (performance.now() - t0) / 1000;
  assert.ok(s.events >= 2_000_000);
  assert.equal(progress, s.events);
  assert.equal(out.n, s.bytes);
  assert.ok(out.waits > 0, 'the writer waited for the sink');
  const tl = s.timeline;
  assert.ok(tl.maxLiveCoroutines <= 66, `live coroutines ${tl.maxLiveCoroutines}`);
  assert.ok(tl.maxOpenSlices <= 72, `open slices ${tl.maxOpenSlices}`);
  assert.ok(tl.maxPendingFlows <= 2, `pending flows ${tl.maxPendingFlows}`);
  assert.ok(s.internedNames <= MAX_INTERNED && s.internedAnnotationNames <= MAX_INTERNED);
  assert.equal(tl.liveCoroutines, 0);
  console.log(
    `# perfetto: ${s.events} events, ${(s.bytes / 1e6).toFixed(1)} MB in ${secs.toFixed(2)} s ` +
      `(${Math.round(s.events / secs)} events/s, generation included)`,
  );
});
