/**
 * Per-session data (SessionData: EventStore + Derived + timeline, outside React state) and a
 * version number per session, bumped at most once per animation frame however many batches
 * arrived, so views that select the version re-render at most once per frame.
 *
 * Pushes are applied in arrival order but not in the message handler: they are queued (big
 * batches cut into slices of SLICE_EVENTS events) and applied by a task that runs right after
 * the next frame, at most BUDGET_MS at a time (a backlog goes on in further tasks, so frames
 * get their turn in between). So a burst of data never sits between the display's vsync and
 * the frame it should start, and a huge trace shows its first spans after its first slice.
 * Once a batch slice is applied, the applied listener (onApplied: connect.ts, which acks to the
 * host) learns the session's seq after it: the host's flow control follows what is applied,
 * not what arrived.
 */
import { create } from 'zustand';
import type { ApiPush } from '../../../preload/api.js';
import { SessionData } from '../data/sessionData.js';

const sessions = new Map<string, SessionData>();
const dirty = new Set<string>();
let scheduled = false;

interface DataState {
  versions: Record<string, number>;
}

export const useDataStore = create<DataState>(() => ({ versions: {} }));

/** The session's data, created on first use. */
export function sessionData(id: string): SessionData {
  let d = sessions.get(id);
  if (!d) sessions.set(id, (d = new SessionData(id)));
  return d;
}

export function peekSessionData(id: string): SessionData | undefined {
  return sessions.get(id);
}

/** Forgets what was received for a session (before asking the host to replay it). */
export function resetSessionData(id: string): SessionData {
  forgetQueued(id);
  const d = new SessionData(id);
  sessions.set(id, d);
  markDirty(id);
  return d;
}

export function dropSessionData(id: string): void {
  forgetQueued(id);
  sessions.delete(id);
  markDirty(id);
}

type DataPush = Exclude<ApiPush, { type: 'status' | 'closing' }>;

/** Batches are applied in slices of at most this many events. */
const SLICE_EVENTS = 4096;
const RECORD_BYTES = 64;
/** A drain task stops after this long and leaves the rest to the next one. */
const BUDGET_MS = 6;

/** Pushes not applied yet, in arrival order (from `head`). */
let queue: (DataPush | undefined)[] = [];
let head = 0;
let drainScheduled = false;

let appliedListener: ((session: string, seq: number) => void) | undefined;

/** Called after each batch slice is applied with the seq after its last event (one listener: the connection). */
export function onApplied(listener: ((session: string, seq: number) => void) | undefined): void {
  appliedListener = listener;
}

/** Routes a data push (batch, output, problem, end) to its session: queued, applied after the next frame. */
export function ingest(p: ApiPush): void {
  if (p.type === 'status' || p.type === 'closing') return;
  if (p.type === 'batch' && p.events instanceof Uint8Array && p.events.byteLength > SLICE_EVENTS * RECORD_BYTES) {
    const e = p.events;
    for (let o = 0; o < e.byteLength; o += SLICE_EVENTS * RECORD_BYTES) {
      const end = Math.min(e.byteLength, o + SLICE_EVENTS * RECORD_BYTES);
      queue.push({ ...p, seq: p.seq + o / RECORD_BYTES, events: e.subarray(o, end), strings: o === 0 ? p.strings : [] });
    }
  } else queue.push(p);
  scheduleDrain(false);
}

/** Applies every queued push now (tests; a view that needs the data at once). */
export function drainNow(): void {
  while (head < queue.length) applyNext();
  queue = [];
  head = 0;
}

/** Pushes waiting to be applied. */
export function queuedPushes(): number {
  return queue.length - head;
}

function applyNext(): void {
  const p = queue[head]!;
  queue[head++] = undefined;
  if (sessionData(p.session).apply(p)) markDirty(p.session);
  if (p.type === 'batch' && typeof p.seq === 'number') appliedListener?.(p.session, p.seq + p.events.byteLength / RECORD_BYTES);
}

function forgetQueued(id: string): void {
  if (head >= queue.length) return;
  queue = queue.slice(head).filter((p) => p && p.session !== id);
  head = 0;
}

const now = typeof performance === 'object' ? () => performance.now() : () => Date.now();
const channel = typeof MessageChannel === 'function' ? new MessageChannel() : null;
let fallback: ReturnType<typeof setTimeout> | undefined;
if (channel) {
  channel.port1.onmessage = () => drain();
  // Node's ports keep the process alive; a browser's do not need this.
  (channel.port1 as unknown as { unref?: () => void }).unref?.();
}

/** After the next frame (or at once as a task: `soon`), with a timer in case no frame comes (a hidden tab). */
function scheduleDrain(soon: boolean): void {
  if (drainScheduled) return;
  drainScheduled = true;
  if (!channel || typeof requestAnimationFrame !== 'function') {
    fallback = setTimeout(drain, soon ? 0 : 16);
    return;
  }
  if (soon) channel.port2.postMessage(0);
  else {
    requestAnimationFrame(() => channel.port2.postMessage(0));
    fallback = setTimeout(drain, 100);
  }
}

function drain(): void {
  if (!drainScheduled) return;
  drainScheduled = false;
  if (fallback !== undefined) clearTimeout(fallback);
  fallback = undefined;
  const t0 = now();
  while (head < queue.length) {
    applyNext();
    if (now() - t0 >= BUDGET_MS) break;
  }
  if (head >= queue.length) {
    queue = [];
    head = 0;
  } else {
    if (head > 4096) {
      queue = queue.slice(head);
      head = 0;
    }
    scheduleDrain(true);
  }
}

const frame: (cb: () => void) => void =
  typeof requestAnimationFrame === 'function' ? (cb) => requestAnimationFrame(() => cb()) : (cb) => setTimeout(cb, 16);

export function markDirty(id: string): void {
  dirty.add(id);
  if (scheduled) return;
  scheduled = true;
  frame(flush);
}

/** Bumps the version of every session that changed since the last frame (one store update). */
export function flush(): void {
  scheduled = false;
  if (!dirty.size) return;
  const versions = { ...useDataStore.getState().versions };
  for (const id of dirty) versions[id] = (versions[id] ?? 0) + 1;
  dirty.clear();
  useDataStore.setState({ versions });
}

export const selectVersion = (id: string | null) => (s: DataState) => (id ? (s.versions[id] ?? 0) : 0);
export const useDataVersion = (id: string | null) => useDataStore(selectVersion(id));
