/**
 * Level of detail for one session in the data worker: the timeline of a trace too big to hold is
 * drawn from an Overview (core/overview: per-lane mipmaps of the chunk summaries the host gives,
 * chunkSummaries) and, where the view holds few enough events, from the detail of one time window
 * read back from the trace file (readWindow), built into a TimelineModel of its own.
 *
 * Invariants:
 *  - the track list is the overview's lanes (thread tracks, id = lane index + 1), whatever
 *    answers a frame, so rows do not jump when the source changes; its version is the
 *    overview's lanesVersion;
 *  - a frame comes from the detail only when the loaded window covers the whole view (a window
 *    cut at the budget covers up to its last event), and the view holds at most DETAIL_BUDGET
 *    events (estimated from the chunks); else from
 *    the overview ('overview' when the view is too big for detail, 'loading' when its detail is
 *    wanted: the frame's `want` names the window to read, with margin, and its tag);
 *  - memory is bounded by the detail budget, not the trace: at most two windows are held (the one
 *    drawn and the one arriving, which replaces it when its last part is in); parts of a window
 *    no longer wanted (an older tag) are dropped;
 *  - runs in the worker only; SessionData owns one LodView when the page sent an overview.
 */
import { Overview, type OverviewGrouping } from '@core/overview/overview.js';
import { NO_WORKER, type SummaryColumns } from '@core/overview/summaries.js';
import { RawEvents } from '@core/events/rawEvents.js';
import { StringTable } from '@core/events/strings.js';
import { TimelineBuilder } from '@core/model/timeline.js';
import { TimelineModel } from '../data/timelineModel.js';
import {
  DETAIL_BUDGET,
  type FrameRequest,
  type FrameRow,
  type TimelineFrame,
  type TrackRow,
  type TracksAnswer,
} from './protocol.js';
import { mergeFrames, overviewFrame, timelineFrame, type FrameData, type OverviewFacts } from './timelineFrame.js';

/** The detail of one time window: its events' timeline model. */
export class DetailWindow implements FrameData {
  readonly timeline = new TimelineModel();
  readonly strings = new StringTable();
  private readonly builder = new TimelineBuilder(this.timeline);
  eventCount = 0;
  complete = false;
  cut = false;
  newest = 0;
  oldest = Infinity;
  /** Thread track of the detail model per tid (made when complete). */
  private trackOfTid = new Map<number, number>();

  /** The time up to which the window holds every event (its t1, or its last event's time when cut). */
  coveredTo: number;

  constructor(
    readonly tag: number,
    readonly t0: number,
    readonly t1: number,
  ) {
    this.coveredTo = t1;
  }

  add(events: Uint8Array, strings: readonly [number, string][]): void {
    this.strings.add(strings);
    const raw = new RawEvents(events);
    if (!raw.length) return;
    this.builder.push(raw, this.strings);
    this.eventCount += raw.length;
    for (let i = 0; i < raw.length; i++) {
      const ts = raw.ts(i);
      if (ts === 0) continue;
      if (ts > this.newest) this.newest = ts;
      if (ts < this.oldest) this.oldest = ts;
    }
  }

  finish(cut: boolean): void {
    this.complete = true;
    this.cut = cut;
    // Cut at max: every event up to the last one read is here (the file is in time order), the
    // events at that very time perhaps not all.
    if (cut) this.coveredTo = Math.min(this.t1, this.newest - 1);
    for (const t of this.timeline.threadTracks())
      if (t.info.tid !== undefined) this.trackOfTid.set(t.info.tid, t.info.id);
  }

  trackOf(tid: number): number | undefined {
    return this.trackOfTid.get(tid);
  }

  range(): { min: number; max: number } | null {
    return this.newest > 0 ? { min: this.oldest, max: this.newest } : null;
  }

  covers(t0: number, t1: number): boolean {
    return this.complete && this.t0 <= t0 && t1 <= this.coveredTo;
  }
}

export class LodView {
  readonly overview: Overview;

  /**
   * budget: most events a view is drawn from detail with (a window asks at most that many);
   * group: the overview's grouping of chunks (a live recording's small chunks), none by default.
   */
  constructor(
    readonly budget = DETAIL_BUDGET,
    group: OverviewGrouping | null = null,
  ) {
    this.overview = new Overview(group);
  }

  /** The window drawn from, and the one arriving. */
  detail: DetailWindow | null = null;
  private incoming: DetailWindow | null = null;
  /** The window asked for last (its tag, range): parts of other tags are dropped. */
  private wanted: { tag: number; t0: number; t1: number; tight: boolean } | null = null;
  private nextTag = 1;
  /**
   * A view whose own window (no margin) came back cut (more events than the budget where the
   * chunks' estimate said fewer): views inside it and about as wide are drawn from the overview,
   * not asked again (the same read would be cut again); a narrower view is asked anew.
   */
  private tooDense: { t0: number; t1: number } | null = null;

  addSummaries(s: SummaryColumns): void {
    this.overview.add(s);
  }

  /** A part of a window's events (a 'window' push); returns whether a new window became drawable. */
  addWindow(
    tag: number,
    events: Uint8Array,
    strings: readonly [number, string][],
    last: boolean,
    cut = false,
  ): boolean {
    const w = this.wanted;
    if (!w || tag !== w.tag) return false;
    if (!this.incoming || this.incoming.tag !== tag) this.incoming = new DetailWindow(tag, w.t0, w.t1);
    this.incoming.add(events, strings);
    if (!last) return false;
    // A window holding the whole budget may have been cut short of t1 (readWindow's max).
    this.incoming.finish(cut || this.incoming.eventCount >= this.budget);
    if (this.incoming.cut && w.tight) this.tooDense = { t0: w.t0, t1: w.t1 };
    this.detail = this.incoming;
    this.incoming = null;
    this.wanted = null;
    return true;
  }

  tracks(): TracksAnswer {
    const threads: TrackRow[] = this.overview.lanes
      .map((l) => {
        const r: TrackRow = {
          id: l.index + 1,
          kind: 'thread',
          name: l.worker === NO_WORKER ? `thread ${l.tid}` : `worker ${l.worker} (${l.tid})`,
        };
        if (l.worker !== NO_WORKER) r.worker = l.worker;
        return r;
      })
      .sort((a, b) => (a.worker ?? 1e9) - (b.worker ?? 1e9) || a.id - b.id);
    return { version: this.overview.lanesVersion, threads, coroutines: [] };
  }

  /**
   * A switched live session's frame (protocol.ts LIVE_BUDGET): `tail` (the session's timeline
   * model, holding everything from its droppedBefore to its newest event: the newest TAIL_NS the
   * page applied) draws what it holds, so the open chunk no summary covers yet is drawn; older
   * time comes from the overview, or from a window of detail when the whole view is older than
   * the tail (the user looks at the past); and newer time than the page has applied (the page's
   * analysis fell behind the stream) from the overview too, which the page polls apart from the
   * events: the timeline follows the recording even while the analysis catches up. Rows name
   * the tail model's tracks (the track list does not change at the switch); thread rows are
   * mapped to the overview's lanes by tid, coroutine rows are drawn from the tail only.
   */
  liveFrame(tail: FrameData, req: FrameRequest, facts: OverviewFacts): TimelineFrame {
    const tailFrom = tail.timeline.droppedBefore;
    const plotW = Math.max(1, req.width - req.left);
    const nsPerPx = req.span / plotW;
    const t0 = Math.round(req.t0 / nsPerPx) * nsPerPx;
    const t1 = t0 + req.span;
    const withFacts = (f: TimelineFrame, source: TimelineFrame['source']): TimelineFrame => ({
      ...f,
      oldest: facts.oldest,
      newest: facts.newest,
      events: facts.events,
      tracksVersion: facts.tracksVersion,
      droppedBefore: 0,
      source,
    });
    const tailTo = tail.newest;
    // Time the page has not applied yet but the overview covers (its analysis is behind).
    const ahead = this.overview.sealedTo > tailTo && tailTo < t1;
    if (tailFrom <= t0 && !ahead) return withFacts(timelineFrame(tail, req), 'live');
    const rows: FrameRow[] = [];
    for (const r of req.rows) {
      if (r.kind !== 'thread') continue;
      const tid = tail.timeline.tracks.get(r.track)?.info.tid;
      const lane = tid === undefined ? undefined : this.overview.laneOf(tid);
      if (lane !== undefined) rows.push({ ...r, track: lane + 1 });
    }
    if (tailFrom >= t1) {
      const f = this.frame({ ...req, rows });
      return withFacts(f, f.source);
    }
    const ov = overviewFrame(this.overview, facts, { ...req, rows });
    if (tailTo <= t0) return withFacts(ov, 'overview');
    let f = timelineFrame(tail, req);
    if (tailFrom > t0) f = mergeFrames(ov, f, req.left + (tailFrom - t0) / nsPerPx);
    if (ahead) f = mergeFrames(f, ov, req.left + (tailTo - t0) / nsPerPx);
    return withFacts(f, 'live');
  }

  frame(req: FrameRequest): TimelineFrame {
    const ov = this.overview;
    const t0 = req.t0;
    const t1 = req.t0 + req.span;
    const facts = { oldest: ov.oldest, newest: ov.newest, events: ov.events, tracksVersion: ov.lanesVersion };
    const inView = ov.eventsIn(t0, t1);
    if (inView > this.budget) return overviewFrame(ov, facts, req);
    const d = this.detail;
    if (d && d.covers(t0, t1)) {
      const rows: FrameRow[] = [];
      for (const r of req.rows) {
        const lane = ov.lanes[r.track - 1];
        const id = r.kind === 'thread' && lane ? d.trackOf(lane.tid) : undefined;
        if (id !== undefined) rows.push({ ...r, track: id });
      }
      const f = timelineFrame(d, { ...req, rows });
      return {
        ...f,
        oldest: facts.oldest,
        newest: facts.newest,
        events: facts.events,
        tracksVersion: facts.tracksVersion,
        droppedBefore: 0,
        source: 'detail',
      };
    }
    const f = overviewFrame(ov, facts, req);
    const dense = this.tooDense;
    if (dense && dense.t0 <= t0 && t1 <= dense.t1 && req.span >= (dense.t1 - dense.t0) * 0.9) return f; // its detail does not fit
    f.source = 'loading';
    const w = this.wanted;
    if (!w || w.t0 > t0 || w.t1 < t1) {
      // The view and half a view each side, as long as the budget allows; the view alone when
      // that does not fit, or when a window around it came back cut.
      let a = t0 - req.span / 2;
      let b = t1 + req.span / 2;
      const tight = ov.eventsIn(a, b) > this.budget || (d !== null && d.cut && d.t0 <= t0 && t0 <= d.t1);
      if (tight) {
        a = t0;
        b = t1;
      }
      this.wanted = { tag: this.nextTag++, t0: Math.max(0, Math.floor(a)), t1: Math.ceil(b), tight };
    }
    const want = this.wanted!;
    f.want = { tag: want.tag, t0: want.t0, t1: want.t1, max: this.budget };
    return f;
  }
}
