/**
 * SessionData: everything the UI knows about one session's event stream, kept outside React
 * state as mutable objects: the string table, the EventStore and Derived tables of main/core
 * fed the same batches, the timeline model built incrementally by TimelineBuilder, the
 * insights found so far (InsightFinder, finished when the session ends), and the target's output.
 * It lives in the data worker (worker/handler.ts owns one per session); views ask it questions
 * through the query contract (worker/protocol.ts), never read it directly.
 *
 * Three ways to hold a session (`mode`):
 *  - 'full': every event in the store, the derived tables and the timeline model (a small session);
 *  - 'lod': an opened trace too big to hold (addSummaries): overview + windows of detail, the
 *    stream through a store-less Derived only;
 *  - 'live': a live session that passed LIVE_BUDGET events. Its overview grows from the chunk
 *    summaries the page polls (addLiveSummaries, from the session's start, grouped: LIVE_GROUP)
 *    while it is still 'full'; once the store holds more than LIVE_BUDGET events and the overview
 *    has a node, it switches in place — the store is let go (Derived.dropStore: its tables and
 *    counts go on unchanged, so nothing is reset and the event count does not move), and the
 *    timeline model, fed as before, becomes the tail: trimmed to the newest TAIL_NS and at most
 *    TAIL_ITEMS items. The timeline is drawn from the tail where it holds the view, else from the
 *    overview (LodView.liveFrame). Memory is then bounded: no store, a bounded tail, derived
 *    tables bounded by coroutines, an overview of one node per group.
 */
import type { ApiPush } from '../../../preload/api.js';
import { RawEvents } from '@core/events/rawEvents.js';
import { StringTable } from '@core/events/strings.js';
import { EventStore } from '@core/store/eventStore.js';
import { Derived } from '@core/derive/derived.js';
import { TimelineBuilder } from '@core/model/timeline.js';
import { InsightFinder, type Insight } from '@core/insights/insights.js';
import { base64ToBytes } from '../api/base64.js';
import { TimelineModel } from '../data/timelineModel.js';
import type { SummaryColumns } from '@core/overview/summaries.js';
import { LodView } from './lod.js';
import { LIVE_BUDGET, LIVE_GROUP, TAIL_ITEMS, TAIL_NS } from './protocol.js';

import type { OutputChunk } from './protocol.js';

export type { OutputChunk };

/** Keeps at most this many characters of output. */
const MAX_OUTPUT = 1 << 20;

/** When a live session switches and how much its tail keeps (protocol.ts LIVE_BUDGET, TAIL_NS, TAIL_ITEMS). */
export interface LiveLimits {
  budget: number;
  tailNs: number;
  tailItems: number;
  group: { events: number; ns: number };
}
export const LIVE_LIMITS: LiveLimits = {
  budget: LIVE_BUDGET,
  tailNs: TAIL_NS,
  tailItems: TAIL_ITEMS,
  group: LIVE_GROUP,
};

export class SessionData {
  readonly strings = new StringTable();
  /** The event store (replaced by an empty one, never fed, when a live session switches). */
  store = new EventStore();
  derived = new Derived(this.store, this.strings);
  /**
   * Level of detail (a trace too big to hold: the page sent its chunk summaries): the timeline is
   * drawn from lod (overview + a window of detail), and the stream goes only through a store-less
   * Derived and the insights — no EventStore, no whole-trace timeline model. Store-less Derived
   * has no history to recount from here (the page has no file): a coroutine whose transitions
   * arrive after its slot went stale keeps the shared log's exact placement while the log
   * holds them, else its times are marked approximate (core/derive). Views that read the store
   * (call log, a coroutine's calls, scheduler steps) are empty for such a session.
   */
  lod: LodView | null = null;
  /** A live session's overview, grown from its polled chunk summaries (becomes `lod` at the switch). */
  private liveLod: LodView | null = null;
  /** The live session switched: `lod` is its live overview and `timeline` its bounded tail. */
  tail = false;
  /** newest when the tail was last trimmed to TAIL_NS. */
  private trimmedAt = 0;
  readonly timeline = new TimelineModel();
  readonly builder = new TimelineBuilder(this.timeline);
  readonly finder = new InsightFinder();
  output: OutputChunk[] = [];
  private outputChars = 0;
  problems: string[] = [];
  ended = false;
  batches = 0;
  /** Newest event timestamp seen (ns), 0 before any. */
  newest = 0;
  oldest = Infinity;

  constructor(
    readonly id: string,
    /** The live switch's limits (protocol.ts's by default; tests use small ones). */
    readonly limits: LiveLimits = LIVE_LIMITS,
  ) {}

  /** Switches to level of detail with the session's chunk summaries (or adds newer ones). */
  addSummaries(s: SummaryColumns): void {
    if (!this.lod) {
      this.lod = new LodView();
      if (this.derived.count === 0) this.derived = new Derived(null, this.strings);
    }
    this.lod.addSummaries(s);
    const ov = this.lod.overview;
    if (ov.oldest < this.oldest) this.oldest = ov.oldest;
    if (ov.newest > this.newest) this.newest = ov.newest;
  }

  /** A live session's newly sealed chunk summaries: its overview grows (see the top). */
  addLiveSummaries(s: SummaryColumns): void {
    if (this.lod && !this.tail) return; // an opened trace's overview is not a live one
    if (!this.liveLod) this.liveLod = new LodView(undefined, this.limits.group);
    this.liveLod.addSummaries(s);
    if (this.ended) this.liveLod.overview.closeGroup();
    this.maybeSwitch();
  }

  /** How the session is held (see the top). */
  get mode(): 'full' | 'lod' | 'live' {
    return this.tail ? 'live' : this.lod ? 'lod' : 'full';
  }

  /** Switches a live session past LIVE_BUDGET to the bounded path, in place. */
  private maybeSwitch(): void {
    if (this.tail || !this.liveLod || this.store.count <= this.limits.budget) return;
    if (this.liveLod.overview.nodeCount === 0) return;
    this.derived.dropStore();
    this.store = new EventStore();
    this.lod = this.liveLod;
    this.tail = true;
    this.timeline.maxItems = Math.min(this.timeline.maxItems, this.limits.tailItems);
    this.trimTail();
  }

  /** Drops what the tail holds before the newest tailNs — never what the overview does not cover yet. */
  private trimTail(): void {
    this.trimmedAt = this.newest;
    const cut = Math.min(this.newest - this.limits.tailNs, this.lod!.overview.sealedTo);
    if (cut > this.timeline.droppedBefore) this.timeline.dropBefore(cut);
  }

  /**
   * Newest timestamp the timeline can draw: the newest event applied, or for a switched live
   * session whose analysis is behind the stream, the newest its overview covers (an opened LOD
   * trace: its overview's). What follow-live follows.
   */
  get drawnTo(): number {
    if (this.lod && !this.tail) return this.lod.overview.newest;
    if (this.tail) return Math.max(this.newest, this.lod!.overview.sealedTo);
    return this.newest;
  }

  /** Events applied (streamed through the derived tables). */
  get eventCount(): number {
    return this.lod ? this.derived.count : this.store.count;
  }

  /** Events the session has in all, as far as known (the overview's count; else those applied). */
  get totalEvents(): number {
    return this.lod ? Math.max(this.lod.overview.events, this.derived.count) : this.store.count;
  }
  /** A batch push: strings first (records refer to them), then store, derived tables and timeline. */
  addBatch(
    events: Uint8Array | ArrayBuffer | string | ArrayLike<number>,
    strings: readonly [number, string][] = [],
  ): number {
    const bytes = toBytes(events);
    this.strings.add(strings);
    const raw = new RawEvents(bytes);
    if (raw.length === 0) return 0;
    if (this.derived.hasStore) {
      // The whole path (also a session whose summaries came after its first events).
      this.store.append(raw);
      this.builder.push(raw, this.strings);
    } else if (this.tail) this.builder.push(raw, this.strings);
    this.derived.append(raw);
    this.finder.push(raw, this.strings);
    for (let i = 0; i < raw.length; i++) {
      const ts = raw.ts(i);
      if (ts === 0) continue;
      if (ts > this.newest) this.newest = ts;
      if (ts < this.oldest) this.oldest = ts;
    }
    this.batches++;
    if (this.tail) {
      // Trimmed by time every quarter of the tail's length (at most every second): it holds
      // at most 1.25 TAIL_NS, and TAIL_ITEMS whatever the rate.
      if (this.newest - this.trimmedAt >= Math.min(1e9, this.limits.tailNs / 4)) this.trimTail();
    } else if (this.liveLod) this.maybeSwitch();
    return raw.length;
  }

  addOutput(stream: 1 | 2, text: string): void {
    const last = this.output[this.output.length - 1];
    if (last && last.stream === stream && last.text.length < 4096) last.text += text;
    else this.output.push({ stream, text });
    this.outputChars += text.length;
    while (this.outputChars > MAX_OUTPUT && this.output.length > 1)
      this.outputChars -= this.output.shift()!.text.length;
  }

  /** Applies a push about this session; returns whether anything changed. */
  apply(p: ApiPush): boolean {
    switch (p.type) {
      case 'batch':
        return this.addBatch(p.events as Uint8Array | string, p.strings) > 0 || p.strings.length > 0;
      case 'output':
        this.addOutput(p.stream, p.text);
        return true;
      case 'problem':
        this.problems.push(p.message);
        return true;
      case 'window':
        return this.lod ? this.lod.addWindow(p.tag, toBytes(p.events), p.strings, p.last) : false;
      case 'end':
        if (!this.ended) this.finder.finish();
        this.ended = true;
        this.liveLod?.overview.closeGroup();
        return true;
      default:
        return false;
    }
  }

  /** Problems found so far (the live list; complete once ended). */
  get insights(): readonly Insight[] {
    return this.finder.insights;
  }

  /** [oldest, newest] timestamp, or null when empty. */
  range(): { min: number; max: number } | null {
    return this.newest > 0 ? { min: this.oldest, max: this.newest } : null;
  }
}

/** Batch events as bytes whatever the transport made of them (Uint8Array, ArrayBuffer, base64, Buffer JSON). */
export function toBytes(e: unknown): Uint8Array {
  if (e instanceof Uint8Array) return e;
  if (e instanceof ArrayBuffer) return new Uint8Array(e);
  if (ArrayBuffer.isView(e)) return new Uint8Array(e.buffer, e.byteOffset, e.byteLength);
  if (typeof e === 'string') return base64ToBytes(e);
  if (e && typeof e === 'object' && Array.isArray((e as { data?: unknown }).data))
    return Uint8Array.from((e as { data: number[] }).data);
  if (Array.isArray(e)) return Uint8Array.from(e);
  return new Uint8Array(0);
}
