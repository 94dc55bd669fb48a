/**
 * The data worker's answers: one function per query of protocol.ts's Queries, from a session's
 * SessionData to plain data. Runs in the worker only (worker/handler.ts calls them); each does
 * the sorting, filtering and cutting a view used to do on the UI thread, so what crosses to the
 * page is what it shows. Per-session caches (scheduler steps, explanations) live in WeakMaps
 * keyed by the SessionData, so a reset session starts afresh.
 */
import { Kind, SuspendWhy } from '@core/events/schema.js';
import { wakeCauses, type CoEvent } from '@core/derive/fds.js';
import { fmtDur } from '../format.js';
import type { CoroutineInfo } from '@core/derive/derived.js';
import type { StackRef } from '@core/derive/stacks.js';
import { AddressPairer, callRow, newestCalls, type CallRow } from '../data/calls.js';
import { coroutineMatcher } from '../data/coroutineFilter.js';
import { search } from '../data/search.js';
import {
  boxesOf,
  coNames,
  compareWithEngine,
  ExplanationCache,
  SchedulerSteps,
  type Step,
} from '../data/schedulerModel.js';
import type { Queries, QueryName, SpanAnswer, TimelineFrame, TrackRow } from './protocol.js';
import type { SessionData } from './sessionData.js';
import { timelineFrame } from './timelineFrame.js';

type Handlers = { [N in QueryName]: (d: SessionData, args: Queries[N][0]) => Queries[N][1] };

/** Column values of the coroutine table, by sort key. */
const SORT_VALUE: Record<string, (c: CoroutineInfo) => number | string> = {
  co: (c) => c.co,
  name: (c) => c.name,
  state: (c) => c.state,
  worker: (c) => c.worker ?? -1,
  runTime: (c) => c.runTime,
  readyTime: (c) => c.readyTime,
  suspendedTime: (c) => c.suspendedTime,
  switches: (c) => c.switches,
  preemptions: (c) => c.preemptions,
  calls: (c) => c.calls,
};

const models = new WeakMap<
  SessionData,
  { store: SessionData['store']; steps: SchedulerSteps; explained: ExplanationCache }
>();
function schedulerModel(d: SessionData) {
  let m = models.get(d);
  // A live session that switched let its store go: its steps go with it.
  if (!m || m.store !== d.store)
    models.set(d, (m = { store: d.store, steps: new SchedulerSteps(), explained: new ExplanationCache() }));
  m.steps.update(d.store);
  return m;
}

function trackRow(info: { id: number; kind: string; name: string; co?: number; worker?: number }): TrackRow {
  const r: TrackRow = { id: info.id, kind: info.kind === 'coroutine' ? 'coroutine' : 'thread', name: info.name };
  if (info.co !== undefined) r.co = info.co;
  if (info.worker !== undefined) r.worker = info.worker;
  return r;
}

/** Wakes listed in a coroutine's detail. */
const WAKES_SHOWN = 30;

/** Each row's fd as it was at the call (FD_DESC of the row's process), when described. */
function describeFds(d: SessionData, rows: CallRow[]): CallRow[] {
  for (const r of rows) {
    if (r.fd < 0 || r.summaryKind === 'timeout_ms' || r.summaryKind === 'sleep_ms') continue;
    const desc = d.derived.fds.at(d.derived.process.serialOf(r.tid), r.fd, r.ts, d.strings);
    if (desc) r.fdDesc = desc.text;
  }
  return rows;
}

export const QUERIES: Handlers = {
  info: (d) => ({
    events: d.eventCount,
    total: d.totalEvents,
    lod: d.lod !== null,
    batches: d.batches,
    problems: [...d.problems],
    ended: d.ended,
    oldest: d.oldest,
    newest: d.newest,
    mode: d.mode,
    stored: d.store.count,
    timelineItems: d.timeline.items,
    overviewNodes: d.lod?.overview.nodeCount ?? 0,
    drawnTo: d.drawnTo,
  }),

  output: (d) => d.output.map((c) => ({ ...c })),

  callStats: (d) => d.derived.calls.rows(),

  callLog: (d, { query, limit }) => describeFds(d, newestCalls(d.store, query, limit, d.strings)),

  search: (d, { text, limit }) =>
    search(
      text,
      {
        oldest: d.oldest,
        newest: d.newest,
        coroutines: () => d.derived.coroutines(true),
        calls: (q, n) => (d.lod ? null : newestCalls(d.store, q, n, d.strings)),
      },
      limit,
    ),

  callP99: (d, { hook }) => d.derived.calls.summary(hook).p99,

  preemptions: (d, { perCoLimit }) => ({
    summary: d.derived.preemption.summary(),
    perCo: d.derived
      .coroutines(true)
      .filter((c) => c.preemptions > 0)
      .sort((a, b) => b.preemptions - a.preemptions)
      .slice(0, perCoLimit),
    bins: d.derived.preemption.latency.log2Bins(),
  }),

  insights: (d) => ({ list: [...d.insights], suppressed: [...d.finder.suppressed], ended: d.ended }),

  coroutineRows: (d, { filter, showDone, sort, limit }) => {
    let all = d.derived.coroutines(true);
    const total = all.length;
    if (!showDone) all = all.filter((c) => c.state !== 'done');
    if (filter.trim()) all = all.filter(coroutineMatcher(filter));
    const value = SORT_VALUE[sort.key] ?? SORT_VALUE.co;
    const dir = sort.desc ? -1 : 1;
    all.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      return (x < y ? -1 : x > y ? 1 : 0) * dir || a.co - b.co;
    });
    return { rows: all.slice(0, limit), matched: all.length, total };
  },

  coroutineDetail: (d, { co, lastCalls }) => {
    const info = d.derived.coroutine(co);
    const calls: CallRow[] = [];
    const pairs = new AddressPairer<CallRow>();
    let stack: StackRef | undefined;
    const wakeEvents: CoEvent[] = [];
    d.store.scanCo(co, -Infinity, Infinity, (ev) => {
      if (ev.kind === Kind.WAKE || ev.kind === Kind.WAKER || ev.kind === Kind.CO_SUSPEND) {
        wakeEvents.push({ ts: ev.ts, kind: ev.kind, co: ev.co, a: Array.from(ev.a) });
        if (wakeEvents.length > 4096) wakeEvents.splice(0, 2048);
      }
      if (ev.kind === Kind.CO_STACK) {
        stack = { stack: ev.a[0], why: ev.a[1], frames: ev.a[2], ts: ev.ts };
        return;
      }
      if (ev.kind !== Kind.CALL) return pairs.see(ev);
      const row = callRow(ev);
      pairs.see(ev, row);
      calls.push(row);
      if (calls.length > lastCalls * 4) calls.splice(0, calls.length - lastCalls);
    });
    for (const [row] of pairs.addresses) row.address = pairs.text(row, d.strings);
    // Its process's fds: a coroutine id carries its process's serial in its high 32 bits.
    const serial = Math.floor(co / 2 ** 32);
    const fdName = (fd: number, t: number) => {
      const desc = d.derived.fds.at(serial, fd, t, d.strings);
      return desc ? `fd ${fd} (${desc.text})` : `fd ${fd}`;
    };
    const coName = (c: number) => {
      const name = d.derived.coroutine(c)?.name;
      return name ? `co#${c} "${name}"` : `co#${c}`;
    };
    const wait = info?.wait;
    const waitsOn =
      wait && wait.why === SuspendWhy.CALL && wait.fd >= 0
        ? d.derived.fds.at(serial, wait.fd, info!.since, d.strings)?.text
        : undefined;
    const wakes = wakeCauses(wakeEvents, { dur: fmtDur, fdName, coName }, WAKES_SHOWN).reverse();
    return { info, calls: describeFds(d, calls.slice(-lastCalls).reverse()), stack, waitsOn, wakes };
  },

  config: (d) => d.derived.process.summary(d.strings).config,

  scheduler: (d, { position, explained }) => {
    const { steps, explained: cache } = schedulerModel(d);
    const n = steps.length;
    const pos = position === null ? null : Math.min(Math.max(0, position), n - 1);
    const step = pos === null ? undefined : steps.get(pos);
    const snap = step ? d.derived.stateAt(step.ts) : d.derived.current();
    const workers = d.derived.process.summary(d.strings).config?.workers ?? 0;
    const boxes = boxesOf(snap, coNames(d.derived), workers, steps.ownerAt);
    const shown: Step[] = step ? steps.upTo(step.n, explained) : steps.newest(explained);
    const lines = shown.map((s) => ({ s, e: cache.get(d.derived, s) }));
    return { n, pos, step, boxes, lines, origin: d.oldest };
  },

  stateAt: (d, { t }) => d.derived.stateAt(t),

  schedulerCheck: (d, { engine }) => compareWithEngine(d.derived.current(), engine),

  compareSummary: (d) => {
    const cos = d.derived.coroutines(true);
    let switches = 0;
    for (const c of cos) switches += c.switches;
    const byHook = new Map<number, number>();
    for (const r of d.derived.calls.rows()) byHook.set(r.hook, (byHook.get(r.hook) ?? 0) + r.count);
    const range = d.range();
    return {
      wallNs: range ? range.max - range.min : 0,
      events: d.derived.count,
      coroutines: cos.length,
      switches,
      preemptions: d.derived.preemption.summary().preempted,
      calls: d.derived.calls.total().count,
      drops: d.derived.drops.lost,
      insights: d.insights.length,
      callsByHook: [...byHook],
    };
  },

  tracks: (d) => {
    if (d.lod && !d.tail) return d.lod.tracks();
    const tl = d.timeline;
    // A session that followed children: each thread lane says its process (pid and program).
    const meta = d.derived.process;
    const procs = meta.processes(d.strings);
    const threads = tl.threadTracks().map((t) => {
      const row = trackRow(t.info);
      if (procs.length > 1 && t.info.tid !== undefined) {
        const p = procs.find((x) => x.serial === meta.serialOf(t.info.tid!));
        if (p) row.name = `${row.name} · pid ${p.pid} ${(p.cmdline || p.exe).split(' ')[0].split('/').pop()}`;
      }
      return row;
    });
    const coroutines: TrackRow[] = [];
    for (const t of tl.tracks.values()) if (t.info.kind === 'coroutine') coroutines.push(trackRow(t.info));
    coroutines.sort((a, b) => (a.co ?? 0) - (b.co ?? 0));
    return { version: tl.tracksVersion, threads, coroutines };
  },

  frame: (d, req) => {
    if (!d.lod) return timelineFrame(d, req);
    if (!d.tail) return d.lod.frame(req);
    return d.lod.liveFrame(d, req, {
      oldest: d.oldest,
      newest: d.drawnTo,
      events: d.totalEvents,
      tracksVersion: d.timeline.tracksVersion,
    });
  },

  spanAt: (d, { track, t, tol, depth }) => {
    let tl = d.timeline;
    let newest = d.newest;
    if (d.lod && !(d.tail && t >= d.timeline.droppedBefore)) {
      // From the detail window, if it holds t (its track of the lane's thread; a live session's
      // rows name its tail's tracks).
      const det = d.lod.detail;
      const tid = d.tail ? d.timeline.tracks.get(track)?.info.tid : undefined;
      const lane = d.tail
        ? tid === undefined
          ? undefined
          : d.lod.overview.lanes[d.lod.overview.laneOf(tid) ?? -1]
        : d.lod.overview.lanes[track - 1];
      const id = det && lane && det.t0 <= t && t <= det.t1 ? det.trackOf(lane.tid) : undefined;
      if (!det || id === undefined) return null;
      tl = det.timeline;
      track = id;
      newest = det.newest;
    }
    const tr = tl.tracks.get(track);
    if (!tr) return null;
    const a = tr.depths[depth];
    const co = d.lod ? undefined : tr.info.co;
    const withStack = (s: SpanAnswer): SpanAnswer => {
      const stack = co ? stackWithin(d, co, s.t0, s.t1) : undefined;
      return stack ? { ...s, stack } : s;
    };
    if (a && a.length) {
      const i = a.firstEndingAfter(t - tol);
      if (i < a.length && a.t0(i) <= t + tol) {
        const s = a.get(i);
        return withStack({ name: s.name, t0: s.t0, t1: s.t1, args: s.args ? { ...s.args } : null });
      }
    }
    const o = depth < tr.open.length ? tr.open[depth] : undefined;
    if (o && o.t0 <= t && !tr.closed)
      return withStack({ name: o.name, t0: o.t0, t1: newest, args: o.args ? { ...o.args } : null });
    return null;
  },
};

/** The newest CO_STACK of co with ts in [t0, t1] (a park's follows its CO_SUSPEND, a preemption's precedes its yield). */
function stackWithin(d: SessionData, co: number, t0: number, t1: number): StackRef | undefined {
  let found: StackRef | undefined;
  d.store.scanCo(co, t0, t1, (ev) => {
    if (ev.kind === Kind.CO_STACK) found = { stack: ev.a[0], why: ev.a[1], frames: ev.a[2], ts: ev.ts };
  });
  return found;
}

/** The buffers of a frame answer, transferred to the page rather than copied. */
export function frameTransfer(value: unknown): Transferable[] {
  const f = value as TimelineFrame;
  return [
    f.rects.buffer,
    f.rectColour.buffer,
    f.outlines.buffer,
    f.markers.buffer,
    f.markerColour.buffer,
    f.labelXY.buffer,
    f.flows.buffer,
  ];
}
