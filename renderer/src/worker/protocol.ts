/**
 * The one contract between the page (UI thread) and the data worker (worker/dataWorker.ts):
 * what the page sends (pushes to apply, resets, queries), what the worker answers (query
 * results), and what it tells on its own (events applied, per-session data versions).
 *
 * QUERIES maps a query name to its arguments and its result, like preload/api.ts's REQUESTS: the
 * client (worker/client.ts) and the handler (worker/handler.ts) are both typed from it, so a
 * wrong name, argument or result is a type error at both ends. Every result is plain data
 * (structured-cloneable, no class instances); the timeline frame's big parts are typed arrays,
 * transferred, not copied.
 *
 * This module holds types and constants only: the UI thread imports it without pulling any of
 * the data work (EventStore, Derived, TimelineBuilder, InsightFinder) in.
 */
import type { StackRef } from '@core/derive/stacks.js';
import type { ApiPush, SummaryColumns } from '../../../preload/api.js';
import type { CoroutineInfo } from '@core/derive/derived.js';
import type { CallSummary } from '@core/derive/calls.js';
import type { WakeCause } from '@core/derive/fds.js';
import type { PreemptSummary } from '@core/derive/preemption.js';
import type { ProcessSummary } from '@core/derive/process.js';
import type { Snapshot } from '@core/derive/snapshot.js';
import type { Insight } from '@core/insights/insights.js';
import type { Args } from '@core/model/timeline.js';
import type { CallQuery, CallRow } from '../data/calls.js';
import type { Boxes, EngineSnapshot, Explanation, Step } from '../data/schedulerModel.js';
import type { SearchAnswer } from '../data/search.js';

/** Pushes the data worker applies (the rest, status and closing, stay on the page). */
export type DataPush = Exclude<ApiPush, { type: 'status' | 'closing' }>;

export interface OutputChunk {
  stream: 1 | 2;
  text: string;
}

/**
 * What a version notice says about each session that changed, so the timeline can fit, follow
 * live and know whether its track list is stale without a round trip.
 */
export interface SessionFacts {
  /** Events applied (streamed through the derived tables). */
  events: number;
  /** Events the session has, as far as known (a trace drawn with level of detail: the file's count). */
  total: number;
  /** [oldest, newest] event timestamp (ns); newest 0 before any event. */
  oldest: number;
  newest: number;
  tracksVersion: number;
}

/** What the status bar and the views' headers need: counts and the time range. */
export interface SessionInfo {
  /** Events applied. */
  events: number;
  /** Events the session has, as far as known (level of detail: the file's count; else as events). */
  total: number;
  /** The timeline is drawn from an overview and windows of detail (a big trace). */
  lod: boolean;
  batches: number;
  /** Problems the stream reported (problem pushes). */
  problems: string[];
  ended: boolean;
  /** [oldest, newest] event timestamp (ns); oldest is Infinity and newest 0 before any event. */
  oldest: number;
  newest: number;
  /**
   * How the timeline is fed: 'full' every event in the page's store and model; 'lod' an opened
   * trace's overview and windows; 'live' a live session past LIVE_BUDGET (overview + bounded tail).
   */
  mode: 'full' | 'lod' | 'live';
  /** Events held in the page's event store (0 once a live session switched: bounded, not growing). */
  stored: number;
  /** Items (spans, instants, flows) the timeline model holds (live: the tail; bounded by TAIL_ITEMS). */
  timelineItems: number;
  /** Nodes of the overview (chunks, or groups of a live recording's chunks); 0 without one. */
  overviewNodes: number;
  /** Newest timestamp the timeline can draw (ns): what a live view is behind the recording by. */
  drawnTo: number;
}

export interface CoroutineSort {
  key: string;
  desc: boolean;
}

export interface RunSummary {
  wallNs: number;
  events: number;
  coroutines: number;
  switches: number;
  preemptions: number;
  calls: number;
  drops: number;
  insights: number;
  /** Calls per hook id (in and outside coroutines). */
  callsByHook: [number, number][];
}

export interface SchedulerAnswer {
  /** Scheduling decisions seen. */
  n: number;
  /** The step shown (null: live, the newest state). */
  pos: number | null;
  step: Step | undefined;
  boxes: Boxes;
  /** The newest decisions up to the one shown, newest first, with their explanation. */
  lines: { s: Step; e: Explanation }[];
  /** The first event's timestamp. */
  origin: number;
}

/** One track of the timeline, as the layout needs it (no spans). */
export interface TrackRow {
  id: number;
  kind: 'thread' | 'coroutine';
  name: string;
  co?: number;
  worker?: number;
}

export interface TracksAnswer {
  /** Bumped whenever a track was added or removed. */
  version: number;
  /** Thread tracks in lane order, then coroutine tracks by id. */
  threads: TrackRow[];
  coroutines: TrackRow[];
}

/** A row the frame covers: where it is drawn (y from the top of the lanes) and how. */
export interface FrameRow {
  track: number;
  kind: 'thread' | 'co';
  co: number;
  y: number;
  h: number;
  expanded: boolean;
}

/**
 * "What is in [t0, t0 + span] at `width` pixels for these rows": the timeline frame query. The
 * answer is per-pixel aggregated rectangles per row, labels and markers, at x from `left` (the
 * plot's left edge) and y from the top of the lanes. Anything that can answer it (the span lists
 * kept now, or a multi-resolution summary with detail re-read from the file later) serves the
 * same canvas unchanged.
 */
export interface FrameRequest {
  t0: number;
  span: number;
  /** The plot's left edge and the canvas's width (CSS pixels): x of t0 is `left`. */
  left: number;
  width: number;
  rows: FrameRow[];
  selectedCo: number | null;
}

export interface TimelineFrame {
  /** The request's view, snapped to a whole pixel of a grid fixed in time. */
  t0: number;
  span: number;
  left: number;
  width: number;
  /** Colours referred to by index below. */
  colours: string[];
  /** Filled rectangles, x y w h each, in paint order (spans, then calls), with their colour index. */
  rects: Float32Array;
  rectColour: Uint16Array;
  /** Outlines (stroked white) of the selected coroutine's spans on worker lanes: x y w h. */
  outlines: Float32Array;
  /** Marker triangles: x y (the tip's top), and their colour index. */
  markers: Float32Array;
  markerColour: Uint16Array;
  /** Labels drawn over the spans: text, x y, colour index. */
  labels: string[];
  labelXY: Float32Array;
  labelColour: Uint16Array;
  /** Wake arrows ending on the selected coroutine: x0 y0 x1 y1 (y from the top of the lanes). */
  flows: Float32Array;
  /** Session facts the frame was made from. */
  oldest: number;
  newest: number;
  droppedBefore: number;
  events: number;
  tracksVersion: number;
  /**
   * What answered: 'full' the session's whole model (a small trace); 'detail' the loaded detail
   * of a window around the view; 'overview' the chunk summaries (the view holds more events than
   * the detail budget); 'loading' the overview while the view's detail is on its way.
   */
  source: 'full' | 'overview' | 'detail' | 'loading' | 'live';
  /** The detail the worker wants read (the page asks the host: readWindow with this tag). */
  want?: { tag: number; t0: number; t1: number; max: number };
}

export interface SpanAnswer {
  name: string;
  t0: number;
  t1: number;
  args: Args | null;
  /** A coroutine's span: the newest stack recorded within it (where it parked, or was preempted). */
  stack?: StackRef;
}

/** Query name -> [arguments, result]. */
export interface Queries {
  info: [Record<string, never>, SessionInfo];
  output: [Record<string, never>, OutputChunk[]];
  callStats: [Record<string, never>, CallSummary[]];
  callLog: [{ query: CallQuery; limit: number }, CallRow[]];
  /** p99 duration (ns) of one hook's calls, NaN without any. */
  callP99: [{ hook: number }, number];
  preemptions: [
    { perCoLimit: number },
    { summary: PreemptSummary; perCo: CoroutineInfo[]; bins: { lo: number; hi: number; count: number }[] },
  ];
  insights: [Record<string, never>, { list: Insight[]; suppressed: [string, number][]; ended: boolean }];
  /** Coroutine table rows: filtered, sorted and cut in the worker. */
  coroutineRows: [
    { filter: string; showDone: boolean; sort: CoroutineSort; limit: number },
    { rows: CoroutineInfo[]; matched: number; total: number },
  ];
  /** stack: its newest CO_STACK (where it parked or was preempted last), for the host's stackFrames. */
  coroutineDetail: [
    { co: number; lastCalls: number },
    {
      info: CoroutineInfo | undefined;
      calls: CallRow[];
      stack: StackRef | undefined;
      /** What the fd it waits on is (FD_DESC), when it waits on a described fd. */
      waitsOn?: string;
      /** Its latest wakes, newest first, each with its cause (core/derive/fds.ts wakeCauses). */
      wakes: WakeCause[];
    },
  ];
  /** The engine's configuration as the CONFIG event said. */
  config: [Record<string, never>, ProcessSummary['config'] | undefined];
  /** The scheduler's state: live (position null) or at a recorded decision. */
  scheduler: [{ position: number | null; explained: number }, SchedulerAnswer];
  /** The scheduler state at a time (ns). */
  stateAt: [{ t: number }, Snapshot];
  /** Where the live state and the engine's own snapshot disagree (empty: they agree). */
  schedulerCheck: [{ engine: EngineSnapshot }, string[]];
  compareSummary: [Record<string, never>, RunSummary];
  tracks: [Record<string, never>, TracksAnswer];
  frame: [FrameRequest, TimelineFrame];
  /** The span under t (within tol ns) on a track at a depth (tooltips, clicks). */
  spanAt: [{ track: number; t: number; tol: number; depth: number }, SpanAnswer | null];
  /** Search and jump (data/search.ts): coroutines, calls, times. */
  search: [{ text: string; limit: number }, SearchAnswer];
}

export type QueryName = keyof Queries;
export type QueryArgs<N extends QueryName> = Queries[N][0];
export type QueryResult<N extends QueryName> = Queries[N][1];

/** Page -> worker. */
export type ToWorker =
  | { type: 'push'; push: DataPush }
  /**
   * A session's chunk summaries (from chunkSummaries): it is drawn from an overview and windows of
   * detail. live: a live session's newly sealed chunks (polled); the worker keeps its overview
   * growing and switches to it once the session passes LIVE_BUDGET events.
   */
  | { type: 'overview'; session: string; summaries: SummaryColumns; live?: boolean }
  | { type: 'reset'; session: string }
  | { type: 'drop'; session: string }
  | { type: 'query'; id: number; session: string; name: QueryName; args: unknown };

/** Worker -> page. */
export type FromWorker =
  | { type: 'applied'; session: string; seq: number }
  | { type: 'versions'; versions: Record<string, number>; facts: Record<string, SessionFacts> }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: string };

/**
 * Most events a view is drawn from detail with (worker/lod.ts): a view with more is drawn from the
 * overview. A window of detail costs the worker about 140 bytes per event (its TimelineModel:
 * 272 MB measured for 2 M events of bench/c/rec_workload.c), and one is held while the next
 * arrives: at 1 M events a window stays under ~140 MB, which keeps a 100 M-event trace's page
 * and host under 1 GB beside Chromium's own ~400 MB.
 */
export const DETAIL_BUDGET = 1_000_000;
/** Opened traces with more events than this are drawn with level of detail (stores/connect.ts). */
export const LOD_THRESHOLD = 2_000_000;

/**
 * A live session whose page store passes this many events is switched, without a reset, to the
 * bounded path: its event store is let go (the derived tables go on store-less), the timeline is
 * drawn from the live overview (chunk summaries polled every LIVE_SUMMARY_MS) plus the tail.
 */
export const LIVE_BUDGET = DETAIL_BUDGET;
/**
 * The tail: the newest part of a switched live session is drawn from its timeline model kept
 * for the last TAIL_NS of events and at most TAIL_ITEMS items (spans, instants, flows; about
 * 46 bytes each: ~46 MB at most), whichever is less. The open chunk (not summarised yet) is
 * always within it; older time is the overview's, and readWindow's detail when zoomed in.
 */
export const TAIL_NS = 12e9;
export const TAIL_ITEMS = 1_000_000;
/** How often the page asks a live session's newly sealed chunk summaries (ms; half that while chunks keep coming). */
export const LIVE_SUMMARY_MS = 250;
/** A live overview groups chunks into nodes of at least this many events or this long (ns). */
export const LIVE_GROUP = { events: 16384, ns: 100e6 };

/** Batch events cross as 64-byte records. */
export const RECORD_BYTES = 64;
