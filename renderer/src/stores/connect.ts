/**
 * Wires the transport to the stores: pushes in, the session list, one subscription per session
 * (preload/api.ts subscribe/ack), and what the page tells the user about its streams.
 *
 * Invariants:
 *  - `received` is, per session, the seq after the last event queued for the data store: a batch
 *    is taken only from there on (what the page already has is cut off, a gap is shown as a
 *    message), so every event is applied once, in order;
 *  - acks follow what the data worker has applied (onApplied, via stores/data.ts and
 *    worker/client.ts), at most one per session per task;
 *  - a (re)connect subscribes every session from its `received` (0 for a session never seen):
 *    a reconnect resumes, it never starts over;
 *  - every failure (subscribe refused, stream ended with an error, connection closed by the
 *    server) is a message in the page (useStream.messages), not only in the console;
 *  - an opened trace of more than LOD_THRESHOLD events is drawn with level of detail: its chunk
 *    summaries go to the data worker before its first batch (the subscription waits for them),
 *    so the worker streams it through its derived tables only (worker/sessionData.ts); that
 *    stream's acks wait while the user pans or zooms (stores/interaction.ts), and otherwise for
 *    an idle main thread (requestIdleCallback), so it never crowds out frames and input;
 *  - a live session's chunk summaries are polled from its start, every LIVE_SUMMARY_MS while it
 *    runs (at once again while an answer says `more`), each answer asking from where the last
 *    ended, and handed to the worker as a live overview (it switches to it past LIVE_BUDGET
 *    events); after the session stops one last look takes its final chunks. A poll cut by a lost
 *    connection is retried; a session without a readable recording (after a few looks: a
 *    recording just started may not have its header yet) says so once and keeps the whole path.
 */
import { create } from 'zustand';
import type { ApiPush, SessionStatus } from '../../../preload/api.js';
import { getApi, isWsApi } from '../api/index.js';
import { LIVE_SUMMARY_MS, LOD_THRESHOLD } from '../worker/protocol.js';
import { ingest, ingestOverview, onApplied } from './data.js';
import { interactionWait } from './interaction.js';
import { useSessions } from './sessions.js';

const RECORD_BYTES = 64;
/** Longest a big trace's analysis waits for an idle main thread before it is acked anyway. */
const ACK_IDLE_TIMEOUT_MS = 250;

interface StreamState {
  /** Per session: events applied by the page (its seq). */
  applied: Record<string, number>;
  /** Messages about the streams (failures), newest last. */
  messages: string[];
}

export const useStream = create<StreamState>(() => ({ applied: {}, messages: [] }));

function say(message: string): void {
  console.warn(`coroscope: ${message}`);
  useStream.setState((s) => ({ messages: [...s.messages.slice(-4), message] }));
}

let started = false;

export function startConnection(): void {
  if (started) return;
  started = true;
  const api = getApi();
  const received = new Map<string, number>();
  const subscribed = new Set<string>();
  const pendingAcks = new Map<string, number>();
  /** Sessions drawn with level of detail (their chunk summaries were asked for). */
  const lod = new Set<string>();
  let ackScheduled = false;
  /** Live sessions whose chunk summaries are polled: the next chunk to ask for. */
  const livePolls = new Map<string, { next: number; busy: boolean; last: boolean; failures: number }>();

  const pollLive = (id: string) => {
    const p = livePolls.get(id);
    if (!p || p.busy) return;
    p.busy = true;
    const again = (ms: number) => setTimeout(() => pollLive(id), ms);
    api.chunkSummaries(id, p.next).then(
      (cols) => {
        p.busy = false;
        p.failures = 0;
        if (cols.chunkFirstTs.length) ingestOverview(id, cols, true);
        p.next = Math.max(p.next, cols.from + cols.chunkFirstTs.length);
        if (cols.problem) say(`session ${id}: ${cols.problem}`);
        const st = useSessions.getState().list.find((x) => x.id === id);
        if (!st) livePolls.delete(id);
        else if (cols.more) again(0);
        // While chunks keep coming the next look is sooner: the overview is what follow-live draws
        // when the page's analysis is behind.
        else if (st.state === 'running') again(cols.chunkFirstTs.length ? LIVE_SUMMARY_MS / 2 : LIVE_SUMMARY_MS);
        else if (!p.last) {
          p.last = true; // the chunks written as it stopped
          again(LIVE_SUMMARY_MS);
        } else livePolls.delete(id);
      },
      (e: { message?: string }) => {
        p.busy = false;
        const dropped = useSessions.getState().connection !== 'open' || /connection .*lost/.test(e?.message ?? '');
        // A recording that has only just started may not have its header written yet: a few more looks.
        if (dropped) again(LIVE_SUMMARY_MS * 4);
        else if (++p.failures < 5) again(LIVE_SUMMARY_MS * 2 ** p.failures);
        else {
          livePolls.delete(id);
          if (!/no session/.test(e?.message ?? ''))
            say(
              `session ${id}: no overview of its recording (${e?.message ?? e}); its timeline keeps every event in this page`,
            );
        }
      },
    );
  };

  const subscribe = (id: string, st?: SessionStatus) => {
    subscribed.add(id);
    if (st && st.kind !== 'replay' && !livePolls.has(id) && !received.has(id)) {
      livePolls.set(id, { next: 0, busy: false, last: false, failures: 0 });
      pollLive(id);
    }
    if (st && st.kind === 'replay' && st.events > LOD_THRESHOLD && !lod.has(id) && !received.has(id)) {
      lod.add(id);
      // Every chunk's summary (an answer holds a bounded number: ask on while it says `more`).
      const overview = async (from: number): Promise<void> => {
        const cols = await api.chunkSummaries(id, from);
        ingestOverview(id, cols);
        if (cols.problem) say(`session ${id}: ${cols.problem}`);
        if (cols.more && cols.chunkFirstTs.length) await overview(cols.from + cols.chunkFirstTs.length);
      };
      overview(0).then(
        () => streamFrom(id),
        (e: { message?: string }) => {
          say(`session ${id}: no overview of its chunks (${e?.message ?? e}); it is loaded whole`);
          streamFrom(id);
        },
      );
      return;
    }
    streamFrom(id);
  };
  const streamFrom = (id: string) => {
    const from = received.get(id) ?? 0;
    api.subscribe(id, from).then(
      (r) => {
        if (r.from < from) say(`session ${id}: the host has only ${r.from} events, this page had ${from}`);
      },
      (e: { message?: string }) => {
        subscribed.delete(id);
        // A call cut by a dropped connection is not a failure to report: the reconnect subscribes again.
        const dropped = useSessions.getState().connection !== 'open' || /connection .*lost/.test(e?.message ?? '');
        if (!dropped) say(`session ${id}: cannot stream its events: ${e?.message ?? e}`);
      },
    );
  };

  const flushAcks = () => {
    // A big trace's analysis yields to the user's input: its acks wait (the host pauses it).
    const wait = interactionWait();
    if (wait > 0 && [...pendingAcks.keys()].some((id) => lod.has(id))) {
      setTimeout(flushAcks, wait);
      return;
    }
    ackScheduled = false;
    const applied = { ...useStream.getState().applied };
    for (const [id, s] of pendingAcks) {
      applied[id] = s;
      api.ack(id, s).catch(() => {
        /* the session is gone, or the connection: the next subscribe resumes */
      });
    }
    pendingAcks.clear();
    useStream.setState({ applied });
  };
  onApplied((session, seq) => {
    pendingAcks.set(session, seq);
    if (ackScheduled) return;
    ackScheduled = true;
    // A big trace's analysis is acked when the main thread is idle: each ack lets the host send
    // one more batch, which the page receives on this thread, so the stream takes the time
    // frames and input leave over instead of crowding them out (a 2 MiB WebSocket message costs
    // milliseconds of Chromium's own time here). ACK_IDLE_TIMEOUT_MS keeps it going when no
    // idle period comes. Live sessions' acks go at once.
    if (lod.has(session) && typeof requestIdleCallback === 'function')
      requestIdleCallback(() => flushAcks(), { timeout: ACK_IDLE_TIMEOUT_MS });
    else setTimeout(flushAcks, 0);
  });

  const onBatch = (p: Extract<ApiPush, { type: 'batch' }>) => {
    const have = received.get(p.session) ?? 0;
    const n = p.events.byteLength / RECORD_BYTES;
    if (p.seq + n <= have) return; // already here (a batch in flight across a resubscribe)
    let events = p.events;
    if (p.seq < have) events = events.subarray((have - p.seq) * RECORD_BYTES);
    else if (p.seq > have) say(`session ${p.session}: events ${have}..${p.seq - 1} were not received`);
    received.set(p.session, p.seq + n);
    ingest({ ...p, seq: Math.max(p.seq, have), events });
  };

  api.onPush((p) => {
    switch (p.type) {
      case 'status': {
        const st = useSessions.getState();
        st.upsert(p.status);
        if (!st.activeId) st.setActive(p.status.id);
        if (!subscribed.has(p.status.id)) subscribe(p.status.id, p.status);
        break;
      }
      case 'batch':
        onBatch(p);
        break;
      case 'closing':
        say(`the server closed this page's connection: ${p.reason}`);
        break;
      default:
        ingest(p);
    }
  });
  const load = async () => {
    try {
      const list = await api.sessions();
      useSessions.getState().setAll(list);
      subscribed.clear();
      for (const s of list) subscribe(s.id, s);
    } catch (e) {
      say(`cannot list the sessions: ${(e as Error)?.message ?? e}`);
    }
  };
  if (isWsApi(api)) {
    api.onConnection((c, reconnected) => {
      useSessions.getState().setConnection(c);
      if (c === 'closed') subscribed.clear();
      if (c === 'open' && reconnected) void load();
    });
  }
  void load();
}
