/**
 * One session as the host holds it: the core Session, its id, every raw
 * batch it produced in order (with the strings first defined in it), and
 * the pushes it makes — batches, output, problems, status, end.
 *
 * Invariants:
 *  - history[i] is the i-th batch pushed; a batch's strings are exactly the
 *    pairs no earlier batch of this session carried, so replaying history
 *    in order gives a listener every string before the events using it;
 *  - status pushes are at most 4 per second per session while events flow,
 *    plus one at once on every state change (exit, problem, end);
 *  - after 'end' is pushed nothing more is pushed for this session except
 *    what replay() re-sends.
 */
import type { ApiPush, SessionStatus } from '../../preload/api.js';
import type { Session } from '../core/session/session.js';
import type { RawEvents } from '../core/events/rawEvents.js';

export type Push = (p: ApiPush) => void;

export interface HistoryBatch {
  events: Uint8Array;
  strings: [number, string][];
}

const STATUS_INTERVAL_MS = 250;

export class SessionEntry {
  readonly history: HistoryBatch[] = [];
  /** Set by the host while the entry is registered: what it pushes to. */
  private lastStatus = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly sent = new Map<number, string>();
  ended = false;
  /** Extra cleanup (a demo's companion). */
  onClose: (() => void)[] = [];

  constructor(readonly id: string, readonly session: Session, readonly name: string, private readonly push: Push) {}

  /** Live sessions: wire the target's stream to pushes. */
  wireLive(): void {
    const s = this.session;
    s.target!.on('events', (raw: RawEvents, strings: [number, string][]) => {
      // The Session ingested this batch already (its listener was added first).
      this.addBatch(raw.bytes, strings.filter(([id, t]) => this.sent.get(id) !== t));
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

  private addBatch(events: Uint8Array, strings: [number, string][]): void {
    for (const [id, t] of strings) this.sent.set(id, t);
    const b = { events, strings };
    this.history.push(b);
    this.push({ type: 'batch', session: this.id, events, strings });
  }

  /** Everything again, from the start, to one listener (or all); `marked`: flag the batches as a replay. */
  replay(to: Push = this.push, marked = false): void {
    for (const b of this.history)
      to({ type: 'batch', session: this.id, events: b.events, strings: b.strings, ...(marked ? { replay: true } : {}) });
    to({ type: 'status', status: this.status() });
    if (this.ended) to({ type: 'end', session: this.id });
  }

  /** The end of the stream (or of a loaded file). */
  finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.statusNow();
    this.push({ type: 'end', session: this.id });
  }

  status(): SessionStatus {
    const st = this.session.status();
    return {
      id: this.id, kind: st.kind, name: this.name, pid: st.pid, state: st.state,
      ...(st.exit ? { exit: { code: st.exit.code, signal: st.exit.signal } } : {}),
      events: st.events, drops: st.drops, rate: st.rate,
      ...(st.recordPath ? { recordPath: st.recordPath } : {}),
      ...(st.recordingError ? { recordingError: st.recordingError } : {}),
      problems: [...st.problems], startedAt: st.startedAt,
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

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const f of this.onClose.splice(0)) f();
  }
}
