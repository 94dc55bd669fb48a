/**
 * The page's view of the sessions' data: a version number per session, bumped when the data
 * worker (worker/handler.ts, which owns every session's data) says the session changed, at most
 * once per animation frame however many batches it applied. Views select the version and
 * re-query the worker (views/useSessionQuery.ts) when it moves.
 *
 * Data pushes go straight to the worker (ingest); the worker applies them in slices and tells
 * after each one how far it got (onApplied: connect.ts acks the host with it), so the host's
 * flow control follows what the worker applied, not what arrived.
 */
import { create } from 'zustand';
import type { ApiPush } from '../../../preload/api.js';
import type { SessionFacts } from '../worker/protocol.js';
import type { SummaryColumns } from '../../../preload/api.js';
import {
  onApplied as onWorkerApplied,
  onVersions,
  sendDrop,
  sendOverview,
  sendPush,
  sendReset,
} from '../worker/client.js';

interface DataState {
  versions: Record<string, number>;
}

export const useDataStore = create<DataState>(() => ({ versions: {} }));

/** The newest facts (range, events, track list version) of each session, as of its version. */
const facts = new Map<string, SessionFacts>();

export function sessionFacts(id: string): SessionFacts | undefined {
  return facts.get(id);
}

onVersions((changed, newFacts) => {
  for (const [id, f] of Object.entries(newFacts)) facts.set(id, f);
  useDataStore.setState((s) => ({ versions: { ...s.versions, ...changed } }));
});

/** Called after each batch slice the worker applied, with the seq after its last event (one listener: the connection). */
export function onApplied(listener: ((session: string, seq: number) => void) | undefined): void {
  onWorkerApplied(listener);
}

/** Routes a data push (batch, output, problem, end) to the worker, which applies it in order. */
export function ingest(p: ApiPush): void {
  if (p.type === 'status' || p.type === 'closing') return;
  sendPush(p);
}

/** A session's chunk summaries (a big trace): its timeline is drawn with level of detail. */
export function ingestOverview(id: string, summaries: SummaryColumns, live = false): void {
  sendOverview(id, summaries, live);
}

/** Forgets what was received for a session (before asking the host to replay it). */
export function resetSessionData(id: string): void {
  facts.delete(id);
  sendReset(id);
}

export function dropSessionData(id: string): void {
  facts.delete(id);
  sendDrop(id);
}

export const selectVersion = (id: string | null) => (s: DataState) => (id ? (s.versions[id] ?? 0) : 0);
export const useDataVersion = (id: string | null) => useDataStore(selectVersion(id));
