/**
 * Chunk summaries as plain columns: the compact shape in which the host hands a trace's chunk
 * summaries (TraceFile.summaries(): per chunk and per lane = (tid, worker)) to a viewer, and the
 * input of the overview (overview.ts). One flat number array per table instead of one object per
 * lane per chunk: a 100 M-event recording has ~1,600 chunks of a few lanes each, and this shape
 * crosses JSON or structured clone as a few arrays.
 *
 * Invariants: plain data only (JSON-safe numbers, no typed arrays, no classes); `lanes` holds
 * LANE_FIELDS numbers per (chunk, lane) entry, the entries of chunk `from + i` being the
 * chunkLanes[i] entries after those of the chunks before it; chunk i's `events` counts what
 * TraceFile.read() returns of it (records of every known kind but STRING/STRING_MORE), so a running sum of them
 * is the event number (seq) of a chunk's first event.
 */

import { Kind } from '../events/schema.js';

/** The kinds TraceFile.read() hands out as events (every known kind but NONE and strings): what seq counts. */
const EVENT_KINDS = Object.values(Kind)
  .filter((k) => k !== Kind.NONE && k !== Kind.STRING && k !== Kind.STRING_MORE)
  .map(String);

/** One (chunk, lane) entry's fields, in order, in `SummaryColumns.lanes`. */
export const enum LaneField {
  TID,
  WORKER,
  RECORDS,
  FIRST_TS,
  LAST_TS,
  BUSY_NS,
  CO_START,
  CO_END,
  /** Bit 0: idle at the chunk's start; bit 1: idle at its end. */
  FLAGS,
  /** Records of the kinds the timeline marks: CALL, PREEMPTED, PREEMPT_DEFERRED, DROP, CO_RUN (switches in). */
  CALLS,
  PREEMPTS,
  DEFERRALS,
  DROPS,
  SWITCHES,
}
export const LANE_FIELDS = 14;

/** Kind numbers (core/events/schema.ts Kind) counted into the marked fields. */
export const KIND_CALL = 48;
export const KIND_PREEMPTED = 65;
export const KIND_PREEMPT_DEFERRED = 66;
export const KIND_DROP = 96;
export const KIND_CO_RUN = 18;

/** Worker index of a lane off the workers. */
export const NO_WORKER = 0xffff;

export interface SummaryColumns {
  /** Index of this answer's first chunk in the file. */
  from: number;
  /** Per chunk: its first and last timestamp (ns), its events (records but strings), its lane entries. */
  chunkFirstTs: number[];
  chunkLastTs: number[];
  chunkEvents: number[];
  chunkLanes: number[];
  /** LANE_FIELDS numbers per (chunk, lane) entry. */
  lanes: number[];
  /** What ended the walk early (a damaged chunk), else null. */
  problem: string | null;
  /** The file has more chunks after these (an answer holds a bounded number): ask again from after them. */
  more?: boolean;
}

/**
 * One lane (thread) of a chunk as the trace reader gives it (TraceFile.summaries(), typed for the
 * host in main/engine/addon.ts): what a timeline's overview needs without the records.
 */
export interface TraceLaneSummary {
  tid: number;
  /** Worker index, 0xffff off the workers. */
  worker: number;
  records: number;
  firstTs: number;
  lastTs: number;
  /** Time a coroutine ran on the lane (since the lane's previous record, which may be in an earlier chunk). */
  busyNs: number;
  /** Coroutine running before the lane's first record of the chunk / after its last (0: none). */
  coStart: number;
  coEnd: number;
  idleAtStart: boolean;
  idleAtEnd: boolean;
  /** Record count per event kind (kind number as the key). */
  kinds: Record<string, number>;
}

/** One chunk's summary (offset and size: where the chunk is in the file). */
export interface TraceChunkSummary {
  offset: number;
  size: number;
  firstTs: number;
  lastTs: number;
  records: number;
  lanes: TraceLaneSummary[];
}

/** A chunk's events (what TraceFile.read() returns of it: records but strings). */
export function chunkEventCount(ch: Pick<TraceChunkSummary, 'lanes'>): number {
  let events = 0;
  for (const l of ch.lanes) for (const name of EVENT_KINDS) events += l.kinds[name] ?? 0;
  return events;
}

/** Chunks `from` on of a reader's summaries as columns. */
export function summaryColumns(
  chunks: readonly Omit<TraceChunkSummary, 'offset' | 'size'>[],
  from: number,
  problem: string | null = null,
): SummaryColumns {
  const out: SummaryColumns = {
    from,
    chunkFirstTs: [],
    chunkLastTs: [],
    chunkEvents: [],
    chunkLanes: [],
    lanes: [],
    problem,
  };
  for (let c = from; c < chunks.length; c++) {
    const ch = chunks[c];
    const events = chunkEventCount(ch);
    for (const l of ch.lanes) {
      const k = l.kinds;
      out.lanes.push(
        l.tid,
        l.worker,
        l.records,
        l.firstTs,
        l.lastTs,
        l.busyNs,
        l.coStart,
        l.coEnd,
        (l.idleAtStart ? 1 : 0) | (l.idleAtEnd ? 2 : 0),
        k[KIND_CALL] ?? 0,
        k[KIND_PREEMPTED] ?? 0,
        k[KIND_PREEMPT_DEFERRED] ?? 0,
        k[KIND_DROP] ?? 0,
        k[KIND_CO_RUN] ?? 0,
      );
    }
    out.chunkFirstTs.push(ch.firstTs);
    out.chunkLastTs.push(ch.lastTs);
    out.chunkEvents.push(events);
    out.chunkLanes.push(ch.lanes.length);
  }
  return out;
}
