/**
 * One session as the host holds it: the core Session (kept with no event
 * store: counters only), its id, its trace file, and its subscribers — the
 * listeners (a page through a transport) it streams batches to, each from
 * its own position, with flow control (Subscription below).
 *
 * The host keeps no event history: every session is backed by its trace
 * file (live sessions record as they stream, to a private temporary file
 * when the user asked not to keep one; an opened trace is its file), and
 * whatever a subscriber has not received yet is read back from that file.
 *
 * Invariants:
 *  - seq counts a session's events (TraceFile.read's events: no STRING
 *    records); `seq` here is how many have been forwarded (live) or the
 *    file holds (opened); every batch push carries the seq of its first
 *    event, and a subscriber receives each event once, in order, without
 *    gaps — except when the recording failed, where the gap is told as a
 *    problem and the seq jumps;
 *  - the recorder writes (and flushes) a batch to the file before the batch
 *    reaches JS (native/addon/link.c post()), so every event counted in
 *    `seq` is readable from the file: a subscriber fed from the file and one
 *    fed live switch at exactly `seq`;
 *  - a subscriber has at most WINDOW_EVENTS events pushed and not acked
 *    (except a single batch bigger than the window); a subscriber that is
 *    behind gets no live pushes and is fed from the file as it acks;
 *  - status pushes are at most 4 per second per session while events flow,
 *    plus one at once on every state change (exit, problem, end);
 *  - 'end' goes to a subscriber once the session ended and it has every
 *    event; nothing follows it for that subscription;
 *  - level of detail: chunkSummaries() answers from the file's chunk
 *    summaries (headers, not events), re-read at every call and never kept
 *    (a live file is walked on from where the last walk ended: one chunk
 *    index and offset per session), and readWindow() reads one time window's events from the file
 *    for one listener (WindowRead below: at most one per listener and
 *    session, a newer one stops the older), pushed as 'window' parts of at
 *    most WINDOW_PART_EVENTS, one part per turn of the event loop, each
 *    waiting while the listener's transport has more than
 *    WINDOW_BACKLOG_BYTES queued.
 */
import type { ApiPush, SessionStatus, SummaryColumns, WindowRequest, WindowResult } from '../../preload/api.js';
import { chunkEventCount, summaryColumns, type TraceChunkSummary } from '../../core/overview/summaries.js';
import { HostError } from './errors.js';
import type { Session } from '../session/session.js';
import { RawEvents } from '../../core/events/rawEvents.js';
import { addon, type NativeTraceFile } from '../engine/addon.js';

export type Push = (p: ApiPush) => void;

const STATUS_INTERVAL_MS = 250;
const RECORD_BYTES = 64;

/** Events a subscriber may have unacked: 8 MiB of 64-byte records (see the README's measurements). */
export const WINDOW_EVENTS = 131072;
/** Events per batch read from the file for a subscriber that is behind. */
const FILE_BATCH_EVENTS = 32768;
/** Events per 'window' push of a readWindow. */
export const WINDOW_PART_EVENTS = 32768;
/** A readWindow waits while more than this many bytes are queued to its listener (its transport's backlog). */
export const WINDOW_BACKLOG_BYTES = 8 * 1024 * 1024;
/** Most chunk summaries one chunkSummaries answer holds (the page asks again from after them). */
export const SUMMARY_CHUNKS = 16384;
/** Chunk summaries the addon hands over per call of a walk (a walk holds no more at once). */
const WALK_PART_CHUNKS = 4096;

export class SessionEntry {
  /** Events forwarded so far (live), or held by the file (an opened trace). */
  seq = 0;
  ended = false;
  private finished = false;
  private lastStatus = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly subs = new Map<Push, Subscription>();
  private readonly windows = new Map<Push, WindowRead>();
  /** Where the last walk over the file's chunk summaries got to (chunk index, file offset). */
  private walked: { chunk: number; offset: number } | null = null;
  /** Extra cleanup (a demo's companion, a private recording). */
  onClose: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly session: Session,
    readonly name: string,
    private readonly push: Push,
    /** The recording is a private temporary file (record: false): not shown, removed at close. */
    readonly privateFile = false,
  ) {
    if (session.kind === 'replay') {
      this.seq = session.status().events;
      this.ended = true;
    }
  }

  /** The trace file backing the session (undefined: a live session whose recording could not start). */
  get file(): string | undefined {
    return this.session.recordPath;
  }

  /** Live sessions: the target's stream to the subscribers, output, problems and status to everyone. */
  wireLive(): void {
    const s = this.session;
    s.target!.on('events', (raw: RawEvents, strings: [number, string][]) => {
      // The Session counted this batch already (its listener was added first).
      const at = this.seq;
      this.seq += raw.length;
      for (const sub of this.subs.values()) sub.live(raw.bytes, strings, at);
      this.statusSoon();
    });
    s.on('output', (stream, text) => this.push({ type: 'output', session: this.id, stream, text }));
    s.on('exit', () => this.statusNow());
    s.on('problem', (message) => {
      this.push({ type: 'problem', session: this.id, message });
      this.statusNow();
    });
    s.on('end', () => this.finish());
  }

  /** Streams the session to `to` from event fromSeq (clamped to what exists); replaces its earlier subscription. */
  subscribe(to: Push, fromSeq: number): { from: number; events: number } {
    this.subs.get(to)?.close();
    const from = Math.min(fromSeq, this.seq);
    const sub = new Subscription(this, to, from);
    this.subs.set(to, sub);
    sub.start();
    return { from, events: this.seq };
  }

  /** `to` has applied every event before seq. */
  ack(to: Push, seq: number): void {
    this.subs.get(to)?.ack(seq);
  }

  unsubscribe(to: Push): void {
    this.subs.get(to)?.close();
    this.subs.delete(to);
    this.windows.get(to)?.stop();
    this.windows.delete(to);
  }

  /**
   * The file's chunk summaries from chunk `from` on, at most SUMMARY_CHUNKS of them (`more` when
   * the file has others after them). Read from the file at every call, not kept: a live file is
   * walked from where the last walk ended (`walked`: one chunk index and its file offset, O(1)
   * whatever the session's length), so a page polling a live session costs the chunks sealed
   * since its last look. A live file's last chunk may be in the middle of its write(2): the walk
   * stops before it without a problem and the next look goes on there.
   */
  chunkSummaries(from: number): SummaryColumns {
    const chunks: TraceChunkSummary[] = [];
    let problem: string | null = null;
    let at = from;
    let more = false;
    this.walkSummaries(
      from,
      (c, i) => {
        if (i < from) return true;
        if (chunks.length >= SUMMARY_CHUNKS) {
          more = true;
          return false;
        }
        chunks.push(c);
        at = i + 1;
        return true;
      },
      (p) => (problem = p),
    );
    const cols = summaryColumns(chunks, 0, problem);
    cols.from = Math.min(from, at);
    if (more) cols.more = true;
    return cols;
  }

  /**
   * Walks the file's chunk summaries in order from chunk `from` (or the nearest point before it
   * the walk can start from), calling visit(summary, chunk index) until it returns false.
   */
  private walkSummaries(
    from: number,
    visit: (c: TraceChunkSummary, index: number) => boolean,
    onProblem?: (p: string) => void,
  ): void {
    const file = this.file;
    if (!file) throw new HostError('bad-request', `session ${this.id} has no readable recording`);
    let r: NativeTraceFile;
    try {
      r = new (addon().TraceFile)(file);
    } catch (err) {
      throw new HostError('bad-trace', (err as Error).message);
    }
    try {
      const w = this.walked && this.walked.chunk <= from ? this.walked : { chunk: 0, offset: 0 };
      let index = w.chunk;
      let offset = w.offset;
      for (;;) {
        const part = r.summaries(offset, WALK_PART_CHUNKS);
        let stop = false;
        for (const c of part.chunks) {
          if (!visit(c, index)) {
            stop = true;
            break;
          }
          index++;
          offset = c.offset + c.size;
          if (index > (this.walked?.chunk ?? 0)) this.walked = { chunk: index, offset };
        }
        if (stop) return;
        if (part.problem) {
          // The live file's chunk being written is not a problem: the next look reads it whole.
          const writing = !this.ended && part.problem.code === 'CS_TRACE_ETRUNCCHUNK';
          if (!writing) onProblem?.(`${file}: ${part.problem.message} (at offset ${part.problem.offset})`);
          return;
        }
        if (part.chunks.length < WALK_PART_CHUNKS) return;
      }
    } finally {
      r.close();
    }
  }

  /**
   * Reads [t0, t1] of the file to `to` as 'window' pushes; a newer read for `to` stops this one.
   * backlog: bytes queued to `to` (its transport's), the next part waits while above WINDOW_BACKLOG_BYTES.
   */
  readWindow(to: Push, w: WindowRequest, backlog?: () => number): Promise<WindowResult> {
    this.windows.get(to)?.stop();
    // The first chunk that may hold ts >= t0 (chunk last ts made non-decreasing), and its first
    // event's seq: a walk over the summaries, nothing kept.
    let seq = 0;
    let last = -Infinity;
    this.walkSummaries(0, (c) => {
      last = Math.max(last, c.lastTs);
      if (last >= w.t0) return false;
      seq += chunkEventCount(c);
      return true;
    });
    const read = new WindowRead(this, to, w, seq, backlog);
    this.windows.set(to, read);
    return read.run().finally(() => {
      if (this.windows.get(to) === read) this.windows.delete(to);
    });
  }

  /** Subscribers (tests, status). */
  subscribers(): number {
    return this.subs.size;
  }

  /** The end of the stream (or of a loaded file): status to everyone, 'end' to each subscriber once it has it all. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.ended = true;
    this.statusNow();
    for (const sub of this.subs.values()) sub.sessionEnded();
  }

  status(): SessionStatus {
    const st = this.session.status();
    return {
      id: this.id,
      kind: st.kind,
      name: this.name,
      pid: st.pid,
      state: st.state,
      ...(st.exit ? { exit: { code: st.exit.code, signal: st.exit.signal } } : {}),
      events: st.events,
      drops: st.drops,
      rate: st.rate,
      ...(st.recordPath && !this.privateFile ? { recordPath: st.recordPath } : {}),
      ...(st.recordingError ? { recordingError: st.recordingError } : {}),
      problems: [...st.problems],
      startedAt: st.startedAt,
    };
  }

  private statusSoon(): void {
    if (this.timer || this.ended) return;
    const wait = Math.max(0, this.lastStatus + STATUS_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => this.statusNow(), wait);
  }

  statusNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastStatus = Date.now();
    this.push({ type: 'status', status: this.status() });
  }

  /** Stops every subscription and timer, runs the cleanups (before the session is detached). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const sub of this.subs.values()) sub.close();
    this.subs.clear();
    for (const w of this.windows.values()) w.stop();
    this.windows.clear();
  }

  /** After the session is detached: what must outlive the stream (a private file) goes last. */
  cleanup(): void {
    for (const f of this.onClose.splice(0)) f();
  }
}

/**
 * One readWindow: from the chunk that may hold t0, events with ts < t0 skipped, those up to t1
 * pushed in parts (one per turn of the event loop, so other requests and streams go on), until
 * t1 is passed, the file ends or `max` events are sent (then `cut` if more were in the window).
 */
class WindowRead {
  private stopped = false;
  private reader: NativeTraceFile | undefined;

  constructor(
    private readonly entry: SessionEntry,
    private readonly to: Push,
    private readonly w: WindowRequest,
    private seq: number,
    private readonly backlog?: () => number,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  async run(): Promise<WindowResult> {
    const { tag, t0, t1, max } = this.w;
    const e = this.entry;
    let sent = 0;
    let cut = false;
    let pendingStrings: [number, string][] = [];
    try {
      this.reader = new (addon().TraceFile)(e.file!);
      const at = this.reader.seekEvent(this.seq);
      this.seq = at;
      for (;;) {
        // Flow control: a page that does not take its pushes is not sent more (never disconnected for it).
        while (!this.stopped && this.backlog && this.backlog() > WINDOW_BACKLOG_BYTES)
          await new Promise((res) => setTimeout(res, 5));
        if (this.stopped) return { tag, events: sent, cut, complete: false };
        const r = this.reader.read(WINDOW_PART_EVENTS);
        pendingStrings = pendingStrings.concat(r.strings);
        const raw = new RawEvents(r.events);
        const n = raw.length;
        let a = 0;
        while (a < n && raw.ts(a) < t0) a++;
        let b = a;
        while (b < n && raw.ts(b) <= t1) b++;
        let end = b < n || r.done;
        if (sent + (b - a) > max) {
          b = a + (max - sent);
          cut = true;
          end = true;
        }
        const seq = this.seq + a;
        this.seq += n;
        if (b > a || end) {
          this.to({
            type: 'window',
            session: e.id,
            tag,
            seq,
            events: r.events.subarray(a * RECORD_BYTES, b * RECORD_BYTES),
            strings: pendingStrings,
            last: end,
          });
          pendingStrings = [];
          sent += b - a;
        }
        if (end) return { tag, events: sent, cut, complete: true };
        await new Promise((res) => setImmediate(res));
      }
    } finally {
      this.reader?.close();
      this.reader = undefined;
    }
  }
}

/**
 * One listener's stream of one session. Mode 'live': it is up to date and
 * gets live batches as they come (while its window allows); mode 'file': it
 * is behind and is fed from the trace file, one batch per turn of the event
 * loop while its window allows, until it reaches the live position again.
 */
class Subscription {
  private sent: number;
  private acked: number;
  private mode: 'live' | 'file' = 'file';
  private reader: NativeTraceFile | undefined;
  private pumping = false;
  private closed = false;
  private endSent = false;

  constructor(
    private readonly entry: SessionEntry,
    private readonly to: Push,
    from: number,
  ) {
    this.sent = this.acked = from;
  }

  start(): void {
    this.pump();
  }

  private unacked(): number {
    return this.sent - this.acked;
  }

  /** A live batch whose first event is `at`. */
  live(events: Uint8Array, strings: [number, string][], at: number): void {
    if (this.closed || this.mode !== 'live') return;
    const n = events.byteLength / RECORD_BYTES;
    if (this.sent !== at) {
      this.fallBehind();
      return;
    }
    if (this.unacked() > 0 && this.unacked() + n > WINDOW_EVENTS) {
      this.fallBehind();
      return;
    }
    this.send(events, strings);
  }

  ack(seq: number): void {
    if (this.closed) return;
    if (seq > this.acked) this.acked = Math.min(seq, this.sent);
    if (this.mode === 'file') this.pump();
  }

  sessionEnded(): void {
    if (this.mode === 'live' && this.sent >= this.entry.seq) this.sendEnd();
    else this.pump();
  }

  close(): void {
    this.closed = true;
    this.reader?.close();
    this.reader = undefined;
  }

  private send(events: Uint8Array, strings: [number, string][]): void {
    const seq = this.sent;
    this.sent += events.byteLength / RECORD_BYTES;
    this.to({ type: 'batch', session: this.entry.id, seq, events, strings });
  }

  private sendEnd(): void {
    if (this.endSent) return;
    this.endSent = true;
    this.reader?.close();
    this.reader = undefined;
    this.to({ type: 'end', session: this.entry.id });
  }

  private fallBehind(): void {
    this.mode = 'file';
    // Fed from the file: at once if the window has room, else when the page acks.
    this.pump();
  }

  /** Feeds from the file, a batch per turn, while the window allows; switches to live when caught up. */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      if (this.closed || this.mode === 'live') return;
      try {
        this.step();
      } catch (err) {
        this.fail(`reading ${this.entry.file ?? 'the recording'}: ${(err as Error).message}`);
      }
    });
  }

  private step(): void {
    const e = this.entry;
    if (this.sent >= e.seq) {
      this.reader?.close();
      this.reader = undefined;
      if (e.ended) this.sendEnd();
      else this.mode = 'live';
      return;
    }
    const room = WINDOW_EVENTS - this.unacked();
    if (room <= 0) return; // wait for an ack
    if (!e.file || e.session.status().recordingError) {
      // Nothing to read the missed events from: say so, and go on from the live position.
      const missed = e.seq - this.sent;
      this.to({
        type: 'problem',
        session: e.id,
        message:
          `${missed} events were not sent to this page (it fell behind and the session has no readable recording` +
          `${e.session.status().recordingError ? `: ${e.session.status().recordingError}` : ''}); it goes on from the live position`,
      });
      this.sent = this.acked = e.seq;
      this.pump();
      return;
    }
    if (!this.reader) {
      this.reader = new (addon().TraceFile)(e.file);
      const at = this.reader.seekEvent(this.sent);
      if (at !== this.sent) return this.shortFile(at);
    }
    const r = this.reader.read(Math.min(room, FILE_BATCH_EVENTS, e.seq - this.sent));
    if (r.events.byteLength) this.send(r.events, r.strings);
    if (r.done && this.sent < e.seq) {
      // The file grew since this reader opened it (a live session): reopen and go on.
      const status = this.reader.status();
      this.reader.close();
      this.reader = undefined;
      if (!r.events.byteLength) return this.shortFile(this.sent, status?.message);
    }
    this.pump();
  }

  /** The file holds fewer events than the session counted. */
  private shortFile(at: number, why?: string): void {
    this.reader?.close();
    this.reader = undefined;
    const e = this.entry;
    if (!e.ended) {
      // A live file not yet flushed this far (it is written before the batch reaches us; a recorder
      // that stopped is handled above): try again shortly.
      setTimeout(() => this.pump(), 20);
      return;
    }
    this.fail(`${e.file}: only ${at} of ${e.seq} events could be read${why ? ` (${why})` : ''}`);
  }

  private fail(message: string): void {
    this.to({ type: 'problem', session: this.entry.id, message });
    this.sendEnd();
    this.close();
  }
}
