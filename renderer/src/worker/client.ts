/**
 * The page's side of the data worker: sends it the pushes (batch bytes transferred, not copied),
 * resets and queries, and routes what it says back: query results to their promises, `applied`
 * to the listener that acks the host, versions to the listener that re-renders views.
 *
 * The transport is a real Worker (worker/dataWorker.ts) by default; tests connect the client to
 * a DataHandler in the same thread (connectTransport) to run the page's code in Node.
 *
 * A batch's bytes are transferred with their buffer, the view kept (a binary WebSocket frame is
 * one batch: its buffer holds only the frame's small header besides the events, wire.ts). A view
 * that is less than half of its buffer (a slice of a pool or of something else the page holds)
 * is copied first, so nothing else is detached.
 */
import type { SummaryColumns } from '../../../preload/api.js';
import type { DataPush, FromWorker, QueryArgs, QueryName, QueryResult, SessionFacts, ToWorker } from './protocol.js';

export interface Transport {
  send(msg: ToWorker, transfer?: Transferable[]): void;
  /** Called with every message of the worker. */
  onMessage(fn: (msg: FromWorker) => void): void;
}

let transport: Transport | null = null;
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let appliedListener: ((session: string, seq: number) => void) | undefined;
let versionsListener: ((versions: Record<string, number>, facts: Record<string, SessionFacts>) => void) | undefined;

function receive(m: FromWorker): void {
  switch (m.type) {
    case 'applied':
      appliedListener?.(m.session, m.seq);
      break;
    case 'versions':
      versionsListener?.(m.versions, m.facts);
      break;
    case 'result': {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
      break;
    }
  }
}

/** Uses `t` from now on (tests: a DataHandler in this thread). */
export function connectTransport(t: Transport): void {
  transport = t;
  t.onMessage(receive);
}

function workerTransport(): Transport {
  const w = new Worker(new URL('./dataWorker.ts', import.meta.url), { type: 'module', name: 'coroscope-data' });
  w.onerror = (e) => console.error('coroscope: the data worker failed:', e.message);
  return {
    send: (msg, transfer) => w.postMessage(msg, transfer ?? []),
    onMessage: (fn) => {
      w.onmessage = (e: MessageEvent<FromWorker>) => fn(e.data);
    },
  };
}

/** Starts the worker now (it loads while the page connects), unless a transport is set already. */
export function startDataWorker(): void {
  channel();
}

function channel(): Transport {
  if (!transport) connectTransport(workerTransport());
  return transport!;
}

/** Called after each batch slice the worker applied, with the seq after it (one listener: the connection). */
export function onApplied(listener: ((session: string, seq: number) => void) | undefined): void {
  appliedListener = listener;
}

/** Called at most once per frame with the sessions whose data changed and their new versions. */
export function onVersions(
  listener: ((versions: Record<string, number>, facts: Record<string, SessionFacts>) => void) | undefined,
): void {
  versionsListener = listener;
}

/** Hands a data push to the worker (batch bytes transferred). */
export function sendPush(p: DataPush): void {
  if ((p.type === 'batch' || p.type === 'window') && p.events instanceof Uint8Array) {
    let e = p.events;
    if (!(e.buffer instanceof ArrayBuffer) || e.byteLength * 2 < e.buffer.byteLength) e = e.slice();
    channel().send({ type: 'push', push: { ...p, events: e } }, [e.buffer as ArrayBuffer]);
    return;
  }
  channel().send({ type: 'push', push: p });
}

/** A session's chunk summaries: the worker draws its timeline with level of detail from now on. */
export function sendOverview(session: string, summaries: SummaryColumns, live = false): void {
  channel().send({ type: 'overview', session, summaries, ...(live ? { live } : {}) });
}

export function sendReset(session: string): void {
  channel().send({ type: 'reset', session });
}

export function sendDrop(session: string): void {
  channel().send({ type: 'drop', session });
}

/** Asks the worker a question about a session's data. */
export function query<N extends QueryName>(session: string, name: N, args: QueryArgs<N>): Promise<QueryResult<N>> {
  const id = nextId++;
  return new Promise<QueryResult<N>>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    channel().send({ type: 'query', id, session, name, args });
  });
}
