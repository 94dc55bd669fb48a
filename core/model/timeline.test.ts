import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimelineBuilder, type EventBatch, type TimelineSink, type Track } from './timeline.js';
import { TimelineCollector, type Slice } from './collect.js';
import { Kind } from '../events/schema.js';
import { StringTable } from '../events/strings.js';
import {
  MAIN_TID,
  MS,
  PID,
  T0,
  W1_TID,
  demoEvents,
  demoHistory,
  rawOf,
  syntheticBatches,
} from '../testing/fixtures.js';

const t = (ms: number) => T0 + ms * MS;
const deadline = t(12);

function build(batches: readonly EventBatch[]): { c: TimelineCollector; b: TimelineBuilder } {
  const c = new TimelineCollector();
  const b = new TimelineBuilder(c);
  for (const x of batches) b.push(x.raw, x.strings);
  b.finish();
  return { c, b };
}

function one(c: TimelineCollector, name: string): Track {
  const ts = c.tracksNamed(name);
  assert.equal(ts.length, 1, `one track named ${name}`);
  return ts[0];
}

const brief = (s: Slice) => [s.name, s.t0, s.t1, s.depth];

/** Checks what every consumer relies on: ordered, non-negative, nested slices; every flow started ends once. */
function assertWellFormed(c: TimelineCollector): void {
  assert.equal(c.openCount(), 0, 'nothing open after finish');
  for (const s of c.slices) assert.ok(s.t1 >= s.t0, `slice ${s.name} has a negative length`);
  const outs = c.instants.filter((i) => i.flowOut).map((i) => i.flowOut);
  const ins = [...c.instants.flatMap((i) => i.flowsIn ?? []), ...c.slices.flatMap((s) => s.flowsIn ?? [])];
  assert.deepEqual(
    [...ins].sort((a, b) => a - b),
    [...outs].sort((a, b) => a - b),
    'every flow ends exactly once',
  );
  assert.equal(new Set(outs).size, outs.length, 'flow ids are unique');
  assert.equal(c.flows.length, outs.length);
  for (const f of c.flows) assert.ok(f.toTs >= f.fromTs, `flow ${f.id} goes back in time`);
}

test('tracks: process, threads (workers with their index), Coroutines group with one child per coroutine', () => {
  const { c } = build(demoHistory());
  const proc = c.tracksNamed('demo').find((x) => x.kind === 'process')!;
  assert.equal(proc.pid, PID);
  const main = c.tracksNamed('demo').find((x) => x.kind === 'thread')!;
  assert.equal(main.tid, MAIN_TID);
  assert.equal(main.worker, undefined);
  assert.equal(one(c, 'cs-worker-0').worker, 0);
  assert.equal(one(c, 'cs-worker-1').tid, W1_TID);
  const group = one(c, 'Coroutines');
  assert.equal(group.parent, proc.id);
  const cos = [...c.tracks.values()].filter((x) => x.kind === 'coroutine');
  assert.deepEqual(
    cos.map((x) => x.name),
    ['sleeper #1', 'reader #2', 'writer #3'],
  );
  for (const x of cos) assert.equal(x.parent, group.id);
  assert.deepEqual([...c.closed].sort(), cos.map((x) => x.id).sort(), 'finished coroutines are closed');
});

test('a sleeper: ready, running with its write, suspended in nanosleep, woken by the timer, runs, finishes', () => {
  const { c } = build(demoHistory());
  const sl = one(c, 'sleeper #1');
  assert.deepEqual(c.slicesOn(sl.id).map(brief), [
    ['ready', t(0.1), t(1), 0],
    ['running', t(1), t(2), 0],
    ['write', t(1.4), t(1.5), 1],
    ['suspended: nanosleep', t(2), deadline + 1_000, 0],
    ['ready', deadline + 1_000, deadline + 5_000, 0],
    ['running', deadline + 5_000, deadline + 30_000, 0],
    // the parked call began before the park: shown from the resumption, with its whole duration as an argument
    ['nanosleep', deadline + 5_000, deadline + 20_000, 1],
  ]);
  const s = c.slicesOn(sl.id);
  assert.deepEqual(s[0].args, { why: 'spawned' });
  assert.deepEqual(s[2].args, { fd: 1, result: 6, errno: 0, requested_bytes: 6, duration_ns: 100_000 });
  assert.deepEqual(s[3].args, { why: 'sleep', hook: 'nanosleep', deadline, timeout_ns: deadline - t(2) });
  assert.deepEqual(s[4].args, { why: 'timer', deadline });
  assert.deepEqual(s[6].args, {
    result: 0,
    errno: 0,
    sleep_ms: 10,
    duration_ns: deadline + 20_000 - t(1.9),
    parked: 1,
  });
  const fin = c.instants.filter((i) => i.track === sl.id);
  assert.deepEqual(
    fin.map((i) => [i.name, i.ts, i.args]),
    [['finished', deadline + 30_000, { exit: 'returned', stack_used: 8192 }]],
  );
});

test('suspended in a call is labelled with the hook, fd and events; the wake is a flow from the waker coroutine', () => {
  const { c } = build(demoHistory());
  const reader = one(c, 'reader #2');
  const writer = one(c, 'writer #3');
  const s = c.slicesOn(reader.id);
  assert.deepEqual(s.map(brief).slice(1, 4), [
    ['running', t(1.2), t(1.6), 0],
    ['suspended: read', t(1.6), t(3.1), 0],
    ['ready', t(3.1), t(3.3), 0],
  ]);
  assert.deepEqual(s[2].args, { why: 'call', hook: 'read', fd: 5, events: 'read' });
  const wake = c.instants.find((i) => i.name === 'wake' && i.args?.co === 2)!;
  assert.equal(wake.track, writer.id);
  assert.deepEqual(wake.args, { co: 2, name: 'reader #2', why: 'fd', fd: 5, events: 'read', waker_worker: 0 });
  const run = s.find((x) => x.name === 'running' && x.t0 === t(3.3))!;
  assert.deepEqual(run.flowsIn, [wake.flowOut]);
  assert.deepEqual(
    c.flows.find((f) => f.id === wake.flowOut),
    { id: wake.flowOut, fromTrack: writer.id, fromTs: t(3.1), toTrack: reader.id, toTs: t(3.3) },
  );
  const failed = s.find((x) => x.name === 'read' && x.args?.errno === 11)!;
  assert.deepEqual(failed.args, { fd: 5, result: -1, errno: 11, requested_bytes: 4096, duration_ns: 2_000 });
  assertWellFormed(c);
});

test('the timer wake comes from the worker thread track (no waker coroutine)', () => {
  const { c } = build(demoHistory());
  const w0 = one(c, 'cs-worker-0');
  const wake = c.instants.find((i) => i.name === 'wake' && i.args?.co === 1)!;
  assert.equal(wake.track, w0.id);
  assert.equal(wake.ts, deadline + 1_000);
  const f = c.flows.find((x) => x.id === wake.flowOut)!;
  assert.equal(f.toTrack, one(c, 'sleeper #1').id);
  assert.equal(f.toTs, deadline + 5_000);
});

test('workers: which coroutine runs when, and idle periods', () => {
  const { c } = build(demoHistory());
  assert.deepEqual(c.slicesOn(one(c, 'cs-worker-0').id).map(brief), [
    ['sleeper #1', t(1), t(2), 0],
    ['writer #3', t(2.1), t(8.05), 0],
    ['writer #3', t(8.1), t(9), 0],
    ['idle', t(9.2), deadline, 0],
    ['sleeper #1', deadline + 5_000, deadline + 30_000, 0],
  ]);
  assert.deepEqual(c.slicesOn(one(c, 'cs-worker-1').id).map(brief), [
    ['reader #2', t(1.2), t(1.6), 0],
    ['idle', t(2.2), t(3.2), 0],
    ['reader #2', t(3.3), t(3.7), 0],
    ['idle', t(3.8), deadline + 40_000, 0], // still idle when the trace ends
  ]);
});

test('preemption, drop and finish instants; writer: running, ready (preempted), running', () => {
  const { c } = build(demoHistory());
  const writer = one(c, 'writer #3');
  const names = c.instants.filter((i) => i.track === writer.id).map((i) => [i.name, i.args]);
  assert.deepEqual(names, [
    ['wake', { co: 2, name: 'reader #2', why: 'fd', fd: 5, events: 'read', waker_worker: 0 }],
    ['preempt sent', { ran_ns: 5_900_000 }],
    ['preempt deferred', { reason: 'runtime code (libc, loader, engine)', pc: '0x7f001234' }],
    ['preempted', { latency_ns: 50_000, pc: '0x55550000', safe_point: 0 }],
    ['finished', { exit: 'returned' }],
  ]);
  assert.deepEqual(
    c
      .slicesOn(writer.id)
      .filter((s) => s.depth === 0)
      .map((s) => [s.name, s.args?.why ?? '']),
    [
      ['ready', 'spawned'],
      ['running', ''],
      ['ready', 'preempted'],
      ['running', ''],
    ],
  );
  const drop = c.instants.find((i) => i.name === 'drop')!;
  assert.equal(drop.track, one(c, 'cs-worker-1').id);
  assert.deepEqual(drop.args, { lost: 17, first_ts: t(9.5), last_ts: t(9.9) });
});

test('queue depth counters from CO_READY a3 and QUEUES', () => {
  const { c } = build(demoHistory());
  const inj = one(c, 'injection queue');
  const rq = one(c, 'run queue (worker 0)');
  assert.equal(inj.kind, 'counter');
  assert.deepEqual(
    c.counters.filter((x) => x.track === inj.id).map((x) => x.value),
    [1, 2, 3, 0],
  );
  assert.deepEqual(
    c.counters.filter((x) => x.track === rq.id).map((x) => [x.ts, x.value]),
    [
      [t(3.1), 1],
      [t(8.06), 1],
      [t(9.1), 0],
      [deadline + 1_000, 1],
    ],
  );
});

test('calls outside coroutines are slices on their thread track', () => {
  const { c } = build(demoHistory());
  const main = [...c.tracks.values()].find((x) => x.tid === MAIN_TID)!;
  assert.deepEqual(
    c.slicesOn(main.id).map((s) => [s.name, s.t0, s.t1, s.args]),
    [
      ['socket', t(0) - 5_000, t(0), { result: 3, errno: 0, flags: 1, duration_ns: 5_000 }],
      ['close', deadline + 37_000, deadline + 40_000, { fd: 3, result: 0, errno: 0, duration_ns: 3_000 }],
    ],
  );
});

test('the same history split into batches gives the same timeline', () => {
  const { c: whole, b } = build(demoHistory());
  assert.equal(b.getStats().clamped, 0, 'an in-order history needs no clamping (parked calls are not clamps)');
  const split = build(demoHistory([3, 10, 11, 25, 40])).c;
  assert.deepEqual(split.slices, whole.slices);
  assert.deepEqual(split.instants, whole.instants);
});

test('late events from another ring in a later batch: never overlapping or negative, no arrow into the past', () => {
  const { events, strings } = demoEvents();
  // Batch 1 ends at the reader's CO_RUN (3.3 ms); the wake (3.1 ms) and the writer's write (3.0 ms) come
  // late in batch 2, as if the worker-0 ring had been drained after the worker-1 ring.
  const cut = events.findIndex((e) => e.ts === t(3.3));
  const late = new Set([t(3), t(3.1)]);
  const first = events.slice(0, cut + 1).filter((e) => !late.has(e.ts));
  const second = [...events.slice(0, cut + 1).filter((e) => late.has(e.ts)), ...events.slice(cut + 1)];
  const { c } = build([
    { raw: rawOf(first), strings },
    { raw: rawOf(second), strings },
  ]);
  assertWellFormed(c);
  const reader = one(c, 'reader #2');
  // the reader already runs when its wake arrives: the wake is shown, without an arrow into the past
  assert.equal(c.flows.filter((f) => f.toTrack === reader.id).length, 0);
  assert.ok(c.instants.some((i) => i.name === 'wake' && i.args?.co === 2 && i.flowOut === 0));
});

test('a coroutine woken but never run again: its flow ends where the trace ends', () => {
  const { events, strings } = demoEvents();
  const upto = events.findIndex((e) => e.ts === deadline + 5_000); // the sleeper's last CO_RUN
  const { c } = build([{ raw: rawOf(events.slice(0, upto)), strings }]);
  assertWellFormed(c);
  const end = c.instants.find((i) => i.name === 'trace ended')!;
  assert.equal(end.track, one(c, 'sleeper #1').id);
  assert.equal(end.flowsIn?.length, 1);
});

test('a large synthetic trace with overlapping batches: well formed, state bounded by the live coroutines', async () => {
  const c = new TimelineCollector();
  const b = new TimelineBuilder(c);
  for await (const x of syntheticBatches(60_000, { live: 32, batch: 4096, overlapNs: 20_000 }))
    b.push(x.raw, x.strings);
  b.finish();
  assertWellFormed(c);
  const s = b.getStats();
  assert.ok(s.events >= 60_000);
  assert.ok(s.clamped > 0, 'the overlap was exercised');
  assert.ok(s.maxLiveCoroutines <= 32 + 2, `live coroutines ${s.maxLiveCoroutines}`);
  assert.ok(s.maxOpenSlices <= s.maxLiveCoroutines + 5 + 1, `open slices ${s.maxOpenSlices}`);
  assert.ok(s.maxPendingFlows <= 2, `pending flows ${s.maxPendingFlows}`);
  assert.equal(s.liveCoroutines, 0);
  assert.equal(s.pendingFlows, 0);
});

test('sink contract: a sink sees only declared tracks and per-track monotonic time (2 M-event stream)', async () => {
  const declared = new Set<number>();
  const last = new Map<number, number>();
  let calls = 0;
  const at = (track: number, ts: number) => {
    calls++;
    if (!declared.has(track) || ts < (last.get(track) ?? 0)) throw new Error(`contract broken on track ${track}`);
    last.set(track, ts);
  };
  const sink: TimelineSink = {
    track: (x) => void declared.add(x.id),
    begin: (tr, ts) => at(tr, ts),
    end: (tr, ts) => at(tr, ts),
    instant: (tr, ts) => at(tr, ts),
    counter: (tr, ts) => at(tr, ts),
    close: (tr) => void last.delete(tr),
  };
  const b = new TimelineBuilder(sink);
  for await (const x of syntheticBatches(2_000_000, { overlapNs: 5_000 })) b.push(x.raw, x.strings);
  b.finish();
  const s = b.getStats();
  assert.ok(s.events >= 2_000_000 && calls > s.events / 2);
  assert.ok(s.maxLiveCoroutines <= 66 && s.maxOpenSlices <= 72, JSON.stringify(s));
  assert.ok(last.size < 100, 'closed tracks were dropped by the sink');
});

test('late metadata renames tracks; the pid stays the one first used; strings and unknown kinds are skipped', () => {
  const strings = new StringTable();
  strings.add([
    [1, '/bin/late'],
    [2, 'late'],
    [3, 'main'],
  ]);
  const c = new TimelineCollector();
  const b = new TimelineBuilder(c, { pid: 77 });
  b.push(
    rawOf([
      { ts: 10, kind: Kind.STRING, tid: 5, a: [1, 9, 0, 0, 0] },
      { ts: 11, kind: 200, tid: 5, co: 9 },
      { ts: 12, kind: Kind.CO_RUN, worker: 0, tid: 5, co: 9, a: [1] },
      { ts: 13, kind: Kind.PROCESS, tid: 5, a: [78, 1, 0, 0, 0] },
      { ts: 14, kind: Kind.THREAD, tid: 5, a: [5, 3, 0] },
      { ts: 15, kind: Kind.CO_CREATE, tid: 5, co: 9, a: [0, 2, 0, 0] },
      { ts: 16, kind: Kind.CO_FINISH, worker: 0, tid: 5, co: 9 },
    ]),
    strings,
  );
  b.finish();
  const tracks = [...c.tracks.values()];
  assert.ok(tracks.every((x) => x.pid === 77));
  assert.equal(tracks.find((x) => x.kind === 'process')!.name, 'late');
  assert.equal(tracks.find((x) => x.kind === 'thread')!.name, 'main');
  assert.equal(tracks.find((x) => x.kind === 'coroutine')!.name, 'late #9');
  assert.deepEqual(
    c.slices.map((s) => [s.name, s.t0, s.t1]),
    [
      ['co #9', 12, 16],
      ['running', 12, 16],
    ],
  );
  assert.equal(b.getStats().events, 7);
});

test("CO_MIGRATE is an instant on the coroutine's track, with the two workers", () => {
  const strings = new StringTable();
  strings.add([[2, 'work-1']]);
  const c = new TimelineCollector();
  const b = new TimelineBuilder(c, { pid: 77 });
  b.push(
    rawOf([
      { ts: 10, kind: Kind.CO_CREATE, worker: 0, tid: 5, co: 9, a: [0, 2, 0, 65536] },
      { ts: 11, kind: Kind.CO_READY, worker: 0, tid: 5, co: 9, a: [1, 0, 1, 1] },
      { ts: 20, kind: Kind.CO_MIGRATE, worker: 1, tid: 6, co: 9, a: [0, 1] },
      { ts: 20, kind: Kind.CO_RUN, worker: 1, tid: 6, co: 9, a: [1] },
      { ts: 30, kind: Kind.CO_FINISH, worker: 1, tid: 6, co: 9 },
    ]),
    strings,
  );
  b.finish();
  const tr = [...c.tracks.values()].find((x) => x.kind === 'coroutine')!;
  assert.equal(tr.name, 'work-1 #9');
  const m = c.instants.filter((i) => i.name === 'migrated');
  assert.equal(m.length, 1);
  assert.equal(m[0].track, tr.id);
  assert.deepEqual(m[0].args, { from_worker: 0, to_worker: 1 });
});

test('a followed session: each process has its own track group, its threads and coroutines under it', () => {
  const strings = new StringTable();
  strings.add([
    [1, '/bin/sh'],
    [2, 'sh -c prog'],
    [3, 'sh-main'],
    [2 ** 32 + 1, '/usr/bin/prog'],
    [2 ** 32 + 2, 'prog'],
    [2 ** 32 + 3, 'cs-worker-0'],
    [2 ** 32 + 4, 'napper'],
  ]);
  const CHILD = 5151;
  const co = 2 ** 32 + 1; // serial 1, the child's first coroutine
  const ev = [
    { ts: t(0), kind: Kind.PROCESS, tid: PID, a: [PID, 1, 2, 0, 0] },
    { ts: t(0), kind: Kind.LINEAGE, tid: PID, a: [PID, 1, 0, 0] },
    { ts: t(0), kind: Kind.THREAD, tid: MAIN_TID, a: [MAIN_TID, 3, 0xffff, PID, 0] },
    { ts: t(0), kind: Kind.CALL, tid: MAIN_TID, a: [0, -1, 0, 0, 1000] },
    { ts: t(1), kind: Kind.PROCESS, tid: CHILD, a: [CHILD, 2 ** 32 + 1, 2 ** 32 + 2, 0, 0] },
    { ts: t(1), kind: Kind.LINEAGE, tid: CHILD, a: [CHILD, PID, 2, 1] },
    { ts: t(1), kind: Kind.THREAD, tid: CHILD + 1, worker: 0, a: [CHILD + 1, 2 ** 32 + 3, 0, CHILD, 1] },
    { ts: t(2), kind: Kind.CO_CREATE, tid: CHILD + 1, worker: 0, co, a: [0, 2 ** 32 + 4, 0, 65536] },
    { ts: t(2), kind: Kind.CO_RUN, tid: CHILD + 1, worker: 0, co, a: [1] },
    { ts: t(3), kind: Kind.CO_FINISH, tid: CHILD + 1, worker: 0, co, a: [] },
  ];
  const { c } = build([{ raw: rawOf(ev), strings }]);
  const parent = one(c, 'sh');
  const child = one(c, 'prog');
  assert.equal(parent.kind, 'process');
  assert.equal(parent.pid, PID);
  assert.equal(child.kind, 'process');
  assert.equal(child.pid, CHILD);
  const worker = one(c, 'cs-worker-0');
  assert.equal(worker.parent, child.id, "the child's worker is under the child");
  assert.equal(worker.pid, CHILD);
  const napper = [...c.tracks.values()].find((x) => x.kind === 'coroutine' && x.co === co)!;
  assert.equal(napper.pid, CHILD);
  const group = c.tracks.get(napper.parent)!;
  assert.equal(group.kind, 'coroutines');
  assert.equal(group.parent, child.id, "the child's coroutines are a group under the child");
  assert.equal(one(c, 'sh').id, parent.id);
  const mainThread = [...c.tracks.values()].find((x) => x.kind === 'thread' && x.tid === MAIN_TID);
  if (mainThread) assert.equal(mainThread.parent, parent.id, "the launched process's thread stays under it");
});

test('events of a coroutine that arrive after its finish (another ring, a later batch) draw nothing', () => {
  const strings = new StringTable();
  const w0 = { worker: 0, tid: 4243 };
  const w1 = { worker: 1, tid: 4244 };
  const early = rawOf([
    { ts: t(1), kind: Kind.CO_READY, ...w0, co: 7, a: [0, 0, 0, 0] },
    { ts: t(2), kind: Kind.CO_RUN, ...w0, co: 7, a: [1] },
    { ts: t(3), kind: Kind.CO_FINISH, ...w0, co: 7, a: [0, 0] },
  ]);
  // Ring of worker 1, drained later: a yield and a migration of 7 stamped before its finish, and the first
  // events of a new coroutine whose id shares the low bits of 7's (any cache by id must tell them apart).
  const late = rawOf([
    { ts: t(2.5), kind: Kind.CO_YIELD, ...w1, co: 7, a: [0] },
    { ts: t(2.6), kind: Kind.CO_MIGRATE, ...w1, co: 7, a: [0, 1] },
    { ts: t(4), kind: Kind.CO_READY, ...w1, co: 7 + 4096 * 16, a: [0, 0, 0, 0] },
  ]);
  const { c } = build([
    { raw: early, strings },
    { raw: late, strings },
  ]);
  const track = one(c, 'co #7');
  assert.deepEqual(
    c.slicesOn(track.id).map((s) => s.name),
    ['ready', 'running'],
  );
  assert.deepEqual(
    c.instants.filter((i) => i.track === track.id).map((i) => i.name),
    ['finished'],
  );
  assert.deepEqual(c.tracksNamed(`co #${7 + 4096 * 16}`).length, 1);
  assertWellFormed(c);
});

test("a process's end is an instant on its main thread: its own exit, or the signal its parent saw kill it; an untraced child gets no lane", () => {
  const strings = new StringTable();
  strings.set(1, '/bin/parent');
  strings.set(2, '/bin/child');
  const raw = rawOf([
    { ts: t(0), kind: Kind.PROCESS, tid: 100, a: [100, 1, 0, 0, 0] },
    { ts: t(0), kind: Kind.THREAD, tid: 100, a: [100, 0, 0xffff, 100, 0] },
    { ts: t(1), kind: Kind.PROCESS, tid: 101, a: [101, 2, 0, 0, 0] },
    { ts: t(1), kind: Kind.THREAD, tid: 101, a: [101, 0, 0xffff, 101, 1] },
    { ts: t(2), kind: Kind.PROCESS_EXIT, tid: 100, a: [101, 0, 0xffffffff, 9, 1] }, // reaped: SIGKILL
    { ts: t(3), kind: Kind.PROCESS_EXIT, tid: 100, a: [555, 0, 0xffffffff, 11, 1] }, // a child never traced
    { ts: t(4), kind: Kind.PROCESS_EXIT, tid: 100, a: [100, 3, 0, 0, 0] }, // its own exit
    { ts: t(5), kind: Kind.PROCESS_EXIT, tid: 100, a: [100, 3, 0xffffffff, 0, 2] }, // the launcher repeats it
  ]);
  const { c } = build([{ raw, strings }]);
  const ends = c.instants.filter((i) => i.name === 'exit' || i.name.startsWith('killed'));
  const trackTid = (id: number) => c.tracks.get(id)?.tid;
  assert.deepEqual(
    ends.map((i) => [i.name, trackTid(i.track), i.args]),
    [
      ['killed by SIGKILL', 101, { signal: 'SIGKILL' }],
      ['exit', 100, { code: 3 }],
    ],
  );
  assert.equal([...c.tracks.values()].filter((x) => x.tid === 555).length, 0);
});
