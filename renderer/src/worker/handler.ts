/**
 * DataHandler: the data worker's whole logic as a plain class (worker/dataWorker.ts only wires it
 * to `self`; tests drive it directly in Node). It owns every session's SessionData and is the
 * only code that touches them.
 *
 * Invariants:
 *  - pushes are applied in arrival order; a batch bigger than SLICE_EVENTS is applied in slices,
 *    at most BUDGET_MS of applying per task, so queries (separate messages) are answered between
 *    slices while a big trace loads;
 *  - after each applied batch slice, `applied` (session, seq after the slice) is posted: the
 *    page acks the host with it, so the host's flow control follows what this worker applied;
 *  - a session's version is bumped when a push changed its data, and the versions are posted at
 *    most once per `frame` tick (the page re-queries only when data changed);
 *  - a reset or drop forgets what was queued for that session;
 *  - queries run on the data as applied so far and answer with plain data; a throwing query
 *    answers with its error message (the page's promise rejects), it never stops the worker.
 */
import type { DataPush, FromWorker, QueryName, SessionFacts, ToWorker } from './protocol.js';
import { RECORD_BYTES } from './protocol.js';
import { LIVE_LIMITS, SessionData, type LiveLimits } from './sessionData.js';
import { QUERIES, frameTransfer } from './queries.js';

/** Batches are applied in slices of at most this many events. */
export const SLICE_EVENTS = 4096;
/** A drain task stops after this long and leaves the rest to the next one. */
const BUDGET_MS = 8;

export type Post = (msg: FromWorker, transfer?: Transferable[]) => void;

export interface Scheduler {
  /** Runs fn as a new task soon (after the messages already queued). */
  soon(fn: () => void): void;
  /** Runs fn at the next notification tick (an animation frame, or ~16 ms). */
  frame(fn: () => void): void;
}

const now = typeof performance === 'object' ? () => performance.now() : () => Date.now();

export const timerScheduler: Scheduler = {
  soon: (fn) => setTimeout(fn, 0),
  frame: (fn) => setTimeout(fn, 16),
};

export class DataHandler {
  private readonly sessions = new Map<string, SessionData>();
  private readonly versions = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private notifyScheduled = false;
  private queue: (DataPush | undefined)[] = [];
  private head = 0;
  private drainScheduled = false;

  constructor(
    private readonly post: Post,
    private readonly scheduler: Scheduler = timerScheduler,
    /** When live sessions switch to the bounded path (tests use small limits). */
    private readonly limits: LiveLimits = LIVE_LIMITS,
  ) {}

  /** The session's data, created on first use (tests read it; the page cannot). */
  session(id: string): SessionData {
    let d = this.sessions.get(id);
    if (!d) this.sessions.set(id, (d = new SessionData(id, this.limits)));
    return d;
  }

  /** Pushes waiting to be applied. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  onMessage(m: ToWorker): void {
    switch (m.type) {
      case 'push':
        this.enqueue(m.push);
        break;
      case 'reset':
        this.forgetQueued(m.session);
        this.sessions.set(m.session, new SessionData(m.session, this.limits));
        this.markDirty(m.session);
        break;
      case 'drop':
        this.forgetQueued(m.session);
        this.sessions.delete(m.session);
        this.markDirty(m.session);
        break;
      case 'query':
        this.answer(m.id, m.session, m.name, m.args);
        break;
      case 'overview':
        if (m.live) this.session(m.session).addLiveSummaries(m.summaries);
        else this.session(m.session).addSummaries(m.summaries);
        this.markDirty(m.session);
        break;
    }
  }

  /** Answers one query now (what the worker does on a query message). */
  answer(id: number, session: string, name: QueryName, args: unknown): void {
    try {
      const fn = QUERIES[name] as ((d: SessionData, a: unknown) => unknown) | undefined;
      if (!fn) throw new Error(`no query named ${String(name)}`);
      const value = fn(this.session(session), args);
      this.post({ type: 'result', id, ok: true, value }, name === 'frame' ? frameTransfer(value) : undefined);
    } catch (e) {
      this.post({ type: 'result', id, ok: false, error: (e as Error)?.message ?? String(e) });
    }
  }

  /** Applies every queued push now (tests). */
  drainNow(): void {
    while (this.head < this.queue.length) this.applyNext();
    this.queue = [];
    this.head = 0;
  }

  private enqueue(p: DataPush): void {
    if (p.type === 'batch' && p.events instanceof Uint8Array && p.events.byteLength > SLICE_EVENTS * RECORD_BYTES) {
      const e = p.events;
      for (let o = 0; o < e.byteLength; o += SLICE_EVENTS * RECORD_BYTES) {
        const end = Math.min(e.byteLength, o + SLICE_EVENTS * RECORD_BYTES);
        this.queue.push({
          ...p,
          seq: p.seq + o / RECORD_BYTES,
          events: e.subarray(o, end),
          strings: o === 0 ? p.strings : [],
        });
      }
    } else this.queue.push(p);
    this.scheduleDrain();
  }

  private applyNext(): void {
    const p = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    if (this.session(p.session).apply(p)) this.markDirty(p.session);
    if (p.type === 'batch' && typeof p.seq === 'number') {
      this.post({ type: 'applied', session: p.session, seq: p.seq + p.events.byteLength / RECORD_BYTES });
    }
  }

  private forgetQueued(id: string): void {
    if (this.head >= this.queue.length) return;
    this.queue = this.queue.slice(this.head).filter((p) => p && p.session !== id);
    this.head = 0;
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.scheduler.soon(() => this.drain());
  }

  private drain(): void {
    this.drainScheduled = false;
    const t0 = now();
    while (this.head < this.queue.length) {
      this.applyNext();
      if (now() - t0 >= BUDGET_MS) break;
    }
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else {
      if (this.head > 4096) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.scheduleDrain();
    }
  }

  private markDirty(id: string): void {
    this.dirty.add(id);
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    this.scheduler.frame(() => this.notify());
  }

  /** Posts the versions of the sessions that changed since the last tick (one message). */
  private notify(): void {
    this.notifyScheduled = false;
    if (!this.dirty.size) return;
    const versions: Record<string, number> = {};
    const facts: Record<string, SessionFacts> = {};
    for (const id of this.dirty) {
      const v = (this.versions.get(id) ?? 0) + 1;
      this.versions.set(id, v);
      versions[id] = v;
      const d = this.sessions.get(id);
      if (d) {
        facts[id] = {
          events: d.eventCount,
          total: d.totalEvents,
          oldest: d.oldest,
          newest: d.tail ? d.drawnTo : d.newest,
          tracksVersion: d.lod && !d.tail ? d.lod.overview.lanesVersion : d.timeline.tracksVersion,
        };
      }
    }
    this.dirty.clear();
    this.post({ type: 'versions', versions, facts });
  }
}
