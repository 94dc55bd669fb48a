/**
 * Session: one thing being inspected — a program launched under the engine,
 * a process attached to, or a recorded trace replayed — with everything the
 * views need: the event store, the derived tables, the strings, the
 * program's output and its status. Plain Node (the CLI, the serve mode and
 * the desktop app's main process all use it).
 *
 * Invariants:
 *  - every batch goes to the store, then to the derived tables, then to
 *    'batch' listeners, in arrival order (the addon sorts each batch);
 *  - a live session is recorded by the addon as it streams (the file holds
 *    every event, string definitions included; a crash of the inspector
 *    loses at most the batch in flight), unless `record: false`;
 *  - a replay of a damaged file keeps everything before the damage and
 *    reports the loss as a problem; it never throws after opening;
 *  - with `store: false` there is no event store, so memory does not grow
 *    with the events: with `derived: true` (the CLI's run, attach and stats)
 *    the derived tables are kept without one (core/derive/derived.ts: no
 *    rewind; a replay recounts late coroutines from the file); with
 *    `derived: false` (the default then; the app's host, record) the session
 *    only counts (events, drops, rate) as batches pass, and whoever wants
 *    the events reads the recording (store/derived throw);
 *  - a launched session with `events: false` (record) gets no batches at
 *    all: the addon records and counts, and the counts come from its stats.
 */
import { EventEmitter } from 'node:events';
import { RawEvents } from '../../core/events/rawEvents.js';
import { Kind } from '../../core/events/schema.js';
import { StringTable } from '../../core/events/strings.js';
import { EventStore } from '../../core/store/eventStore.js';
import { Derived } from '../../core/derive/derived.js';
import { CodeMap } from '../../core/derive/stacks.js';
import { ProcessMeta } from '../../core/derive/process.js';
import { attach, launch, type LaunchOptions, type RecordingPolicy } from '../engine/launch.js';
import type { EngineTarget, ExitInfo } from '../engine/target.js';
import type { SessionKind, SessionState, SessionStatus } from '../../core/session/status.js';
export type { SessionKind, SessionState, SessionStatus };
import { OutputLog } from '../../core/session/outputLog.js';
import { defaultRecordingPath } from './recordings.js';
import { TraceReader } from './traceReader.js';
import { fileHistory } from './fileHistory.js';
import type { TransitionHistory } from '../../core/derive/derived.js';

/** Events lost in a batch: the sum of its DROP records' a0 (read from the words, no call per event). */
function dropped(raw: RawEvents): number {
  const n = raw.length;
  const u = new Uint32Array(raw.bytes.buffer, raw.bytes.byteOffset, n * 16);
  let lost = 0;
  for (let o = 2, end = n * 16; o < end; o += 16)
    if ((u[o] & 0xffff) === Kind.DROP) lost += u[o + 5] * 4294967296 + u[o + 4];
  return lost;
}

export interface SessionEvents {
  batch: [raw: RawEvents];
  output: [stream: 1 | 2, text: string];
  exit: [info: ExitInfo];
  problem: [message: string];
  end: [];
}

/** The kinds a trace reader hands out as events (known kinds, no STRING records): what seq counts. */
const EVENT_KINDS = new Set<number>(
  Object.values(Kind).filter((k) => k !== Kind.NONE && k !== Kind.STRING && k !== Kind.STRING_MORE),
);

/** What Session.launch / attach / open take besides the engine's options. */
export interface KeepOptions {
  /** false: keep no event store (default true). */
  store?: boolean;
  /** Keep the derived tables (default: as store); with store: false they are kept without a store. */
  derived?: boolean;
}

/** What to keep: a store and its derived tables, derived tables alone, or neither. */
type Keep = 'all' | 'derived' | 'none';
const keepOf = (o: KeepOptions): Keep => (o.store !== false ? 'all' : o.derived ? 'derived' : 'none');

/** What Session.open / read take. */
type OpenOptions = { onProgress?(events: number, bytesTotal: number): void } & KeepOptions;

export class Session extends EventEmitter<SessionEvents> {
  readonly strings = new StringTable();
  private readonly keptStore?: EventStore;
  private readonly keptDerived?: Derived;
  /** Events and events lost (DROP a0) seen so far, store or not. */
  private events = 0;
  private lost = 0;
  readonly output = new OutputLog();
  readonly problems: string[] = [];
  readonly startedAt = Date.now();
  state: SessionState;
  exit?: ExitInfo;
  ended = false;
  private rateWindow: { t: number; n: number }[] = [];
  /** The addon counts the events (launched with events: false): no batches come. */
  private counted = false;

  private constructor(
    readonly kind: SessionKind,
    readonly name: string,
    readonly pid: number,
    readonly target?: EngineTarget,
    readonly recordPath?: string,
    keep: Keep = 'all',
    history?: TransitionHistory,
  ) {
    super();
    if (keep === 'all') this.keptStore = new EventStore();
    if (keep !== 'none') this.keptDerived = new Derived(this.keptStore ?? null, this.strings, { history });
    this.state = kind === 'replay' ? 'loaded' : 'running';
    if (target) this.wire(target);
  }

  /** The event store (throws for a session made with `store: false`). */
  get store(): EventStore {
    if (!this.keptStore) throw new Error('this session keeps no event store (store: false): read its recording');
    return this.keptStore;
  }

  /** The derived tables (throws for a session made with `store: false` and no `derived: true`). */
  get derived(): Derived {
    if (!this.keptDerived) throw new Error('this session keeps no derived tables (store: false): read its recording');
    return this.keptDerived;
  }

  /** Launch cmd under the engine. Throws ExecError for a program the engine cannot observe. */
  static launch(o: Omit<LaunchOptions, 'record'> & { record?: string | false } & KeepOptions): Session {
    const { store, derived, ...rest } = o;
    const keep = keepOf({ store, derived });
    if (o.events === false && keep !== 'none')
      throw new Error('events: false keeps nothing: it needs store: false and no derived tables');
    const record = o.record === false ? undefined : (o.record ?? defaultRecordingPath(o.cmd));
    const t = launch({ ...rest, record });
    const s = new Session('launched', o.cmd, t.pid, t, record, keep);
    s.counted = o.events === false;
    return s;
  }

  /** Attach to a running engine process. Throws AttachError. */
  static attach(pid: number, o: { record?: string | false; policy?: RecordingPolicy } & KeepOptions = {}): Session {
    const record = o.record === false ? undefined : (o.record ?? defaultRecordingPath(`pid${pid}`));
    const t = attach(pid, { record, policy: o.policy });
    return new Session('attached', `pid ${pid}`, pid, t, record, keepOf(o));
  }

  /**
   * A trace file as a session without reading its events (the app's host: the page reads the
   * file by range): the header and index are checked, the event count comes from the chunks'
   * summaries. Throws when the file is not a readable trace; damage found in the summaries
   * walk is a problem.
   */
  static file(path: string): Session {
    const r = new TraceReader(path);
    try {
      const s = new Session('replay', path, r.info.pid, undefined, path, 'none');
      const { chunks, problem } = r.summaries();
      for (const c of chunks)
        for (const l of c.lanes) for (const [k, n] of Object.entries(l.kinds)) if (EVENT_KINDS.has(+k)) s.events += n;
      if (problem) s.problem(`${path}: ${problem.message} (everything before offset ${problem.offset} is readable)`);
      else if (!r.info.complete)
        s.problem(
          `${path} was not closed cleanly (the recorder stopped early): the events of its complete chunks are kept`,
        );
      s.ended = true;
      return s;
    } finally {
      r.close();
    }
  }

  /**
   * Replay a trace file, one batch at a time (onProgress per batch): into a store and derived
   * tables (the default: memory grows with the events), or with `store: false` into derived
   * tables alone (memory bounded by coroutines and hooks; coroutines with late transitions are
   * recounted by reading the file again). Throws only if it cannot be opened at all.
   */
  static open(path: string, o: OpenOptions = {}): Session {
    const { r, s, keep } = Session.opening(path, o);
    try {
      // Without a store nothing keeps a batch (no listener can be added before open returns): one buffer.
      for (const b of r.batches(65536, { reuse: keep !== 'all' })) {
        s.ingest(b.raw, []);
        o.onProgress?.(s.events, r.info.fileSize);
      }
      s.opened(r);
    } finally {
      r.close();
    }
    return s;
  }

  /**
   * open, with the next batch decoded on another thread while this one is ingested (what the CLI's
   * stats uses: the decode no longer adds to the ingest). Same result as open.
   */
  static async read(path: string, o: OpenOptions = {}): Promise<Session> {
    const { r, s, keep } = Session.opening(path, o);
    try {
      // Without a store nothing keeps a batch: two buffers in turn; with one, a fresh buffer per batch.
      for await (const b of keep === 'all' ? r.batches(65536) : r.batchesAhead(65536)) {
        s.ingest(b.raw, []);
        o.onProgress?.(s.events, r.info.fileSize);
      }
      s.opened(r);
    } finally {
      r.close();
    }
    return s;
  }

  private static opening(path: string, o: OpenOptions): { r: TraceReader; s: Session; keep: Keep } {
    const r = new TraceReader(path);
    const keep = keepOf({ store: o.store, derived: o.derived ?? true });
    let s: Session | undefined;
    const history = keep === 'derived' ? fileHistory(path, () => s?.events ?? 0) : undefined;
    s = new Session('replay', path, r.info.pid, undefined, path, keep, history);
    return { r, s, keep };
  }

  /** After the last batch of open / read: the strings, what stopped the reading, ended. */
  private opened(r: TraceReader): void {
    for (const [id, text] of r.strings.entries()) this.strings.set(id, text);
    const p = r.problem();
    if (p) this.problem(`${r.path}: ${p.message} (everything before offset ${p.offset} was read)`);
    const unclosed = r.notClosedCleanly();
    if (unclosed) this.problem(unclosed);
    this.reportUntraced(true);
    this.ended = true;
  }

  private wire(t: EngineTarget): void {
    t.on('events', (raw, strings) => this.ingest(raw, strings));
    t.on('output', (stream, data) => this.emit('output', stream, this.output.push(stream, data).text));
    t.on('exit', (e) => {
      this.exit = e;
      this.state = 'exited';
      this.emit('exit', e);
    });
    t.on('problem', (m) => this.problem(m));
    t.on('end', () => {
      if (this.counted) this.takeCounts(); // the last counts, before stop() frees the link
      this.reportUntraced(true);
      this.ended = true;
      if (this.state === 'running') this.state = 'detached';
      t.stop();
      this.emit('end');
    });
  }

  private problem(m: string): void {
    this.problems.push(m);
    this.emit('problem', m);
  }

  private readonly untracedSeen = new Set<string>();
  /** The problems that are children the engine does not see (also in `problems`): about the program, not the file. */
  readonly untracedChildren: string[] = [];
  /** The processes of the stream (several when children are followed), kept with or without derived tables. */
  readonly processes = new ProcessMeta();
  /** The code mappings of the stream (MAPPING records), for symbolising its stacks (core/derive/stacks.ts). */
  readonly codeMap = new CodeMap();

  /** Feeds the process records of a batch to `processes` (a scan of the kinds; the rest is skipped). */
  private trackProcesses(raw: RawEvents): boolean {
    let spawned = false;
    const p = this.processes;
    for (let i = 0; i < raw.length; i++) {
      const k = raw.kind(i);
      if (k > Kind.SPAWN || k === Kind.CONFIG || k === Kind.STRING || k === Kind.STRING_MORE) continue;
      if (k === Kind.PROCESS) p.onProcess(raw.a(i, 0), raw.a(i, 1), raw.a(i, 2), raw.a(i, 3), raw.a(i, 4), raw.tid(i));
      else if (k === Kind.LINEAGE) p.onLineage(raw.tid(i), raw.a(i, 0), raw.a(i, 1), raw.a(i, 2), raw.a(i, 3));
      else if (k === Kind.THREAD) p.onThread(raw.a(i, 0), raw.a(i, 1), raw.a(i, 2), raw.a(i, 3), raw.a(i, 4));
      else if (k === Kind.PROCESS_EXIT)
        p.onExit(raw.a(i, 0), raw.signed(i, 1), raw.a(i, 2), raw.ts(i), raw.a(i, 3), raw.a(i, 4));
      else if (k === Kind.SPAWN) {
        p.onSpawn(raw.ts(i), raw.tid(i), raw.a(i, 0), raw.a(i, 1), raw.a(i, 2), raw.a(i, 4), raw.a(i, 3));
        spawned = true;
      }
    }
    return spawned;
  }

  /**
   * Children and programs of a followed session that are not traced (static, set-user-ID, never
   * reported: core/derive/process.ts), each once: "child pid N (cmd) is not traced: why". `final`:
   * the stream ended, so a child that never joined is known not to. Following off is no problem.
   */
  private reportUntraced(final: boolean): void {
    for (const u of this.processes.untraced(this.strings, final)) {
      if (!u.problem) continue;
      const key = `${u.pid}:${u.how}:${u.path}`;
      if (this.untracedSeen.has(key)) continue;
      this.untracedSeen.add(key);
      const what = u.cmdline || u.path || `forked from pid ${u.parentPid}`;
      const m = `child pid ${u.pid || '?'} (${what}) is not traced: ${u.reason}`;
      this.untracedChildren.push(m);
      this.problem(m);
    }
  }

  /** One batch: strings first (events refer to them), then store, derived, listeners. */
  ingest(raw: RawEvents, strings: readonly (readonly [number, string])[]): void {
    for (const [id, text] of strings) this.strings.set(id, text);
    this.codeMap.scan(raw, this.strings);
    if (this.counted) {
      // Launched with events: false, only the process records come (the counts are the addon's).
      if (this.trackProcesses(raw)) this.reportUntraced(false);
      return;
    }
    this.keptStore?.append(raw);
    this.keptDerived?.append(raw);
    this.events += raw.length;
    // A program the engine cannot follow is said as soon as it starts (SPAWN with a reason).
    if (this.trackProcesses(raw) && this.kind !== 'replay') this.reportUntraced(false);
    if (!this.keptDerived) this.lost += dropped(raw); // else the derived drop table has it
    if (this.kind !== 'replay') {
      const now = Date.now();
      this.rateWindow.push({ t: now, n: raw.length });
      while (this.rateWindow.length && now - this.rateWindow[0].t > 1000) this.rateWindow.shift();
    }
    this.emit('batch', raw);
  }

  /** Counts from the addon's stats (a session launched with events: false). */
  private takeCounts(): void {
    const st = this.target?.stats();
    if (!st || this.ended) return;
    this.events = st.delivered;
    this.lost = st.dropped;
    const now = Date.now();
    this.rateWindow.push({ t: now, n: st.delivered });
    while (this.rateWindow.length > 1 && now - this.rateWindow[1].t >= 1000) this.rateWindow.shift();
  }

  status(): SessionStatus {
    if (this.counted) this.takeCounts();
    const stats = this.target?.stats();
    return {
      kind: this.kind,
      pid: this.pid,
      name: this.name,
      state: this.state,
      exit: this.exit,
      events: this.events,
      drops: this.keptDerived ? this.keptDerived.drops.lost : this.lost,
      rate: this.counted
        ? this.rateWindow.length
          ? this.events - this.rateWindow[0].n
          : 0
        : this.rateWindow.reduce((a, w) => a + w.n, 0),
      recordPath: this.recordPath,
      recordingError: stats?.recordingError ?? undefined,
      problems: this.problems,
      startedAt: this.startedAt,
    };
  }

  /** Resolves when nothing more will arrive (the target ended, or we detached/stopped). */
  whenEnded(): Promise<void> {
    return this.ended ? Promise.resolve() : new Promise((r) => this.once('end', () => r()));
  }

  /** Leave the target running unpaused; stop reading (the recording is closed). */
  async detach(): Promise<void> {
    if (this.target && !this.ended) await this.target.detach();
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    return this.target ? this.target.kill(signal) : false;
  }
}
