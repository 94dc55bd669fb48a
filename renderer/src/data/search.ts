/**
 * Search and jump: what the search box finds in a session, each hit with the time span to show.
 *   12.5ms, 1.2s, 300us    a time from the session's start
 *   #12, co#12             a coroutine by id
 *   fd=7, fd 7             the newest hooked calls on an fd
 *   WORD                   coroutines whose name holds WORD (any case), and the newest calls
 *                          whose name holds it (read finds read, pread64, readv…)
 * Calls come from the event store: a trace drawn with level of detail (no store) finds
 * coroutines and times only, and says so.
 */
import type { CoroutineInfo } from '@core/derive/derived.js';
import type { CallRow } from './calls.js';

export interface SearchHit {
  kind: 'time' | 'coroutine' | 'call';
  label: string;
  detail: string;
  /** What to show: [t0, t1] (ns); the coroutine to select, if any. */
  t0: number;
  t1: number;
  co?: number;
}

export interface SearchAnswer {
  hits: SearchHit[];
  /** Why some kinds could not be searched ('' when all were). */
  note: string;
}

export interface SearchSource {
  oldest: number;
  newest: number;
  coroutines(): CoroutineInfo[];
  /** Newest calls matching; null when the session keeps no calls (level of detail). */
  calls(q: { call?: string; fd?: number }, limit: number): CallRow[] | null;
}

const UNIT: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };

const fmt = (ns: number): string =>
  ns >= 1e9 ? `${(ns / 1e9).toFixed(3)} s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(3)} ms` : `${(ns / 1e3).toFixed(1)} µs`;

function coHit(c: CoroutineInfo, src: SearchSource): SearchHit {
  const t0 = Number.isFinite(c.created) ? c.created : src.oldest;
  const t1 = Number.isFinite(c.finished) ? c.finished : src.newest;
  return {
    kind: 'coroutine',
    label: `#${c.co} ${c.name || '(no name)'}`,
    detail: `${c.state}, ${Number.isFinite(c.finished) ? 'lived' : 'alive'} ${fmt(Math.max(0, t1 - t0))}`,
    t0,
    t1: Math.max(t1, t0 + 1),
    co: c.co,
  };
}

function callHit(r: CallRow, src: SearchSource): SearchHit {
  const t1 = r.ts;
  const t0 = r.ts - Math.max(0, r.duration);
  return {
    kind: 'call',
    label: `${r.call}${r.fd >= 0 ? `(fd ${r.fd})` : '()'}${r.address ? ` ${r.address}` : ''}`,
    detail: `${r.co ? `co#${r.co}` : `thread ${r.tid}`} at ${fmt(t0 - src.oldest)}, took ${fmt(r.duration)}${r.result < 0 ? `, failed (errno ${r.errno})` : ''}`,
    t0,
    t1: Math.max(t1, t0 + 1),
    co: r.co || undefined,
  };
}

export function search(text: string, src: SearchSource, limit = 50): SearchAnswer {
  const q = text.trim();
  const hits: SearchHit[] = [];
  let note = '';
  if (!q || src.newest === 0) return { hits, note };
  const time = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)$/.exec(q);
  if (time) {
    const t = src.oldest + Number(time[1]) * UNIT[time[2]];
    hits.push({
      kind: 'time',
      label: `${q} from the start`,
      detail: t > src.newest ? 'past the newest event' : '',
      t0: t,
      t1: t,
    });
    return { hits, note };
  }
  const id = /^(?:co)?#(\d+)$/i.exec(q);
  if (id) {
    const c = src.coroutines().find((x) => x.co === Number(id[1]));
    if (c) hits.push(coHit(c, src));
    return { hits, note };
  }
  const calls = (query: { call?: string; fd?: number }) => {
    const rows = src.calls(query, limit - hits.length);
    if (rows === null)
      note = 'calls are not searched in a trace drawn from its overview (zoom in and use Hooked calls)';
    for (const r of rows ?? []) hits.push(callHit(r, src));
  };
  const fd = /^fd\s*[= ]\s*(\d+)$/i.exec(q);
  if (fd) {
    calls({ fd: Number(fd[1]) });
    return { hits, note };
  }
  const needle = q.toLowerCase();
  for (const c of src.coroutines()) {
    if (hits.length >= limit) break;
    if (c.name.toLowerCase().includes(needle)) hits.push(coHit(c, src));
  }
  if (hits.length < limit) calls({ call: q });
  return { hits, note };
}
