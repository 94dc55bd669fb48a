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
 *  - with `store: false` (the app's host) there is no store and no derived
 *    table: the session only counts (events, drops, rate) as batches pass,
 *    and whoever wants the events reads the recording (store/derived throw).
 */
import { EventEmitter } from 'node:events';
import { RawEvents } from '../../core/events/rawEvents.js';
import { Kind } from '../../core/events/schema.js';
import { StringTable } from '../../core/events/strings.js';
import { EventStore } from '../../core/store/eventStore.js';
import { Derived } from '../../core/derive/derived.js';
import { attach, launch, type LaunchOptions, type RecordingPolicy } from '../engine/launch.js';
import type { EngineTarget, ExitInfo } from '../engine/target.js';
import type { SessionKind, SessionState, SessionStatus } from '../../core/session/status.js';
export type { SessionKind, SessionState, SessionStatus };
import { OutputLog } from '../../core/session/outputLog.js';
import { defaultRecordingPath } from './recordings.js';
import { TraceReader } from './traceReader.js';



export interface SessionEvents {
  batch: [raw: RawEvents];
  output: [stream: 1 | 2, text: string];
  exit: [info: ExitInfo];
  problem: [message: string];
  end: [];
}

/** The kinds a trace reader hands out as events (known kinds, no STRING records): what seq counts. */
const EVENT_KINDS = new Set<number>(Object.values(Kind).filter((k) => k !== Kind.NONE && k !== Kind.STRING && k !== Kind.STRING_MORE));

/** What Session.launch / attach take besides the engine's options. */
export interface KeepOptions {
  /** false: keep no event store nor derived tables, only counters (default true). */
  store?: boolean;
}

export class Session extends EventEmitter<SessionEvents> {
  readonly strings = new StringTable();
  private readonly kept?: { store: EventStore; derived: Derived };
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

  private constructor(
    readonly kind: SessionKind,
    readonly name: string,
    readonly pid: number,
    readonly target?: EngineTarget,
    readonly recordPath?: string,
    keep = true,
  ) {
    super();
    if (keep) {
      const store = new EventStore();
      this.kept = { store, derived: new Derived(store, this.strings) };
    }
    this.state = kind === 'replay' ? 'loaded' : 'running';
    if (target) this.wire(target);
  }

  /** The event store (throws for a session made with `store: false`). */
  get store(): EventStore {
    if (!this.kept) throw new Error('this session keeps no event store (store: false): read its recording');
    return this.kept.store;
  }

  /** The derived tables (throws for a session made with `store: false`). */
  get derived(): Derived {
    if (!this.kept) throw new Error('this session keeps no derived tables (store: false): read its recording');
    return this.kept.derived;
  }

  /** Launch cmd under the engine. Throws ExecError for a program the engine cannot observe. */
  static launch(o: Omit<LaunchOptions, 'record'> & { record?: string | false } & KeepOptions): Session {
    const { store, ...rest } = o;
    const record = o.record === false ? undefined : (o.record ?? defaultRecordingPath(o.cmd));
    const t = launch({ ...rest, record });
    return new Session('launched', o.cmd, t.pid, t, record, store !== false);
  }

  /** Attach to a running engine process. Throws AttachError. */
  static attach(pid: number, o: { record?: string | false; policy?: RecordingPolicy } & KeepOptions = {}): Session {
    const record = o.record === false ? undefined : (o.record ?? defaultRecordingPath(`pid${pid}`));
    const t = attach(pid, { record, policy: o.policy });
    return new Session('attached', `pid ${pid}`, pid, t, record, o.store !== false);
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
      const s = new Session('replay', path, r.info.pid, undefined, path, false);
      const { chunks, problem } = r.summaries();
      for (const c of chunks)
        for (const l of c.lanes)
          for (const [k, n] of Object.entries(l.kinds)) if (EVENT_KINDS.has(+k)) s.events += n;
      if (problem) s.problem(`${path}: ${problem.message} (everything before offset ${problem.offset} is readable)`);
      else if (!r.info.complete)
        s.problem(`${path} was not closed cleanly (the recorder stopped early): the events of its complete chunks are kept`);
      s.ended = true;
      return s;
    } finally {
      r.close();
    }
  }

  /** Replay a trace file: loads it whole (onProgress per batch). Throws only if it cannot be opened at all. */
  static open(path: string, o: { onProgress?(events: number, bytesTotal: number): void } = {}): Session {
    const r = new TraceReader(path);
    const s = new Session('replay', path, r.info.pid, undefined, path);
    try {
      for (const b of r.batches()) {
        s.ingest(b.raw, []);
        o.onProgress?.(s.store.count, r.info.fileSize);
      }
      for (const [id, text] of r.strings.entries()) s.strings.set(id, text);
      const p = r.problem();
      if (p) s.problem(`${path}: ${p.message} (everything before offset ${p.offset} was read)`);
      const unclosed = r.notClosedCleanly();
      if (unclosed) s.problem(unclosed);
    } finally {
      r.close();
    }
    s.ended = true;
    return s;
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

  /** One batch: strings first (events refer to them), then store, derived, listeners. */
  ingest(raw: RawEvents, strings: readonly (readonly [number, string])[]): void {
    for (const [id, text] of strings) this.strings.set(id, text);
    if (this.kept) {
      this.kept.store.append(raw);
      this.kept.derived.append(raw);
    }
    this.events += raw.length;
    for (let i = 0; i < raw.length; i++) if (raw.kind(i) === Kind.DROP) this.lost += raw.a(i, 0);
    if (this.kind !== 'replay') {
      const now = Date.now();
      this.rateWindow.push({ t: now, n: raw.length });
      while (this.rateWindow.length && now - this.rateWindow[0].t > 1000) this.rateWindow.shift();
    }
    this.emit('batch', raw);
  }

  status(): SessionStatus {
    const stats = this.target?.stats();
    return {
      kind: this.kind,
      pid: this.pid,
      name: this.name,
      state: this.state,
      exit: this.exit,
      events: this.events,
      drops: this.lost,
      rate: this.rateWindow.reduce((a, w) => a + w.n, 0),
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
