/**
 * Per-session data (SessionData: EventStore + Derived + timeline, outside React state) and a
 * version number per session, bumped at most once per animation frame however many batches
 * arrived, so views that select the version re-render at most once per frame.
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
  const d = new SessionData(id);
  sessions.set(id, d);
  markDirty(id);
  return d;
}

export function dropSessionData(id: string): void {
  sessions.delete(id);
  markDirty(id);
}

/** Routes a data push (batch, output, problem, end) to its session. */
export function ingest(p: ApiPush): void {
  if (p.type === 'status') return;
  if (sessionData(p.session).apply(p)) markDirty(p.session);
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
