import { useMemo } from 'react';
import type { CallQuery, CallRow } from '../../data/calls.js';
import { useUi } from '../../stores/ui.js';
import { fmtCount, fmtDur } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';

const LOG_ROWS = 500;

/** Hooked calls: statistics per call, and a live log of the newest matching calls. */
export function CallsView({ sessionId }: { sessionId: string }) {
  const f = useUi((s) => s.callFilter);
  const setF = useUi.getState().setCallFilter;
  const stats = useSessionQuery(sessionId, 'callStats', {}, { throttleMs: 250 }) ?? [];
  const query: CallQuery | string = useMemo(() => {
    const q: CallQuery = { call: f.call.trim() || undefined, errorsOnly: f.errorsOnly };
    if (f.fd.trim()) {
      const n = Number(f.fd);
      if (!Number.isInteger(n)) return 'fd must be a number';
      q.fd = n;
    }
    if (f.co.trim()) {
      const n = Number(f.co.replace(/^#/, ''));
      if (!Number.isInteger(n)) return 'coroutine must be an id';
      q.co = n;
    }
    if (f.slowerUs.trim()) {
      const n = Number(f.slowerUs);
      if (!Number.isFinite(n)) return 'slower than: a number of µs';
      q.slowerThan = n * 1000;
    }
    return q;
  }, [f]);
  const bad = typeof query === 'string';
  const log = useSessionQuery(
    sessionId,
    'callLog',
    { query: bad ? {} : query, limit: LOG_ROWS },
    { throttleMs: 250, skip: bad },
  );
  const rows: CallRow[] = bad ? [] : (log ?? []);
  const info = useSessionQuery(sessionId, 'info', {}, { throttleMs: 250 });
  const base = info?.oldest ?? 0;
  return (
    <div>
      <h2>Statistics</h2>
      <table data-testid="calls-stats">
        <thead>
          <tr>
            <th>call</th>
            <th>where</th>
            <th className="num">count</th>
            <th className="num">errors</th>
            <th className="num">parked</th>
            <th className="num">blocked</th>
            <th className="num">p50</th>
            <th className="num">p99</th>
            <th className="num">max</th>
          </tr>
        </thead>
        <tbody>
          {stats.map((r) => (
            <tr key={`${r.hook}-${r.inCo}`} data-testid={`calls-stats-${r.name}-${r.inCo ? 'co' : 'thread'}`}>
              <td>{r.name}</td>
              <td className="dim">{r.inCo ? 'coroutine' : 'thread'}</td>
              <td className="num">{fmtCount(r.count)}</td>
              <td className={`num${r.errors ? ' error' : ''}`}>{fmtCount(r.errors)}</td>
              <td className="num">{fmtCount(r.parked)}</td>
              <td className="num">{fmtCount(r.blocked)}</td>
              <td className="num">{fmtDur(r.p50)}</td>
              <td className="num">{fmtDur(r.p99)}</td>
              <td className="num">{fmtDur(r.max)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>
        Log <span className="dim">(newest {LOG_ROWS} matching)</span>
      </h2>
      <div className="filters" data-testid="calls-filters">
        <input
          data-testid="calls-filter-call"
          placeholder="call (e.g. read)"
          value={f.call}
          onChange={(e) => setF({ call: e.target.value })}
        />
        <input
          data-testid="calls-filter-fd"
          placeholder="fd"
          size={5}
          value={f.fd}
          onChange={(e) => setF({ fd: e.target.value })}
        />
        <input
          data-testid="calls-filter-co"
          placeholder="coroutine id"
          size={10}
          value={f.co}
          onChange={(e) => setF({ co: e.target.value })}
        />
        <label>
          <input
            type="checkbox"
            data-testid="calls-filter-errors"
            checked={f.errorsOnly}
            onChange={(e) => setF({ errorsOnly: e.target.checked })}
          />{' '}
          errors only
        </label>
        <label>
          slower than{' '}
          <input
            data-testid="calls-filter-slower"
            size={6}
            value={f.slowerUs}
            onChange={(e) => setF({ slowerUs: e.target.value })}
          />{' '}
          µs
        </label>
        {typeof query === 'string' && <span className="error">{query}</span>}
      </div>
      <div className="scroll">
        <table data-testid="calls-log">
          <thead>
            <tr>
              <th className="num">time</th>
              <th>thread</th>
              <th>coroutine</th>
              <th>call</th>
              <th>args</th>
              <th>result</th>
              <th className="num">duration</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.index} data-testid="calls-log-row">
                <td className="num">{fmtDur(c.ts - base)}</td>
                <td>
                  {c.tid}
                  {c.worker !== 0xffff ? ` (w${c.worker})` : ''}
                </td>
                <td>{c.co ? `#${c.co}` : '—'}</td>
                <td>
                  {c.call}
                  {c.parked ? <span className="tag"> parked</span> : null}
                  {c.blocked ? <span className="tag bad"> blocked</span> : null}
                </td>
                <td data-testid="calls-log-args">{argsText(c)}</td>
                <td className={c.errno ? 'error' : ''}>{c.errno ? `${c.result} (errno ${c.errno})` : c.result}</td>
                <td className="num">{fmtDur(c.duration)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function argsText(c: CallRow): string {
  const parts: string[] = [];
  const hasFd =
    c.summaryKind === 'bytes' ||
    c.summaryKind === 'cmd' ||
    c.summaryKind === 'none' ||
    c.call.startsWith('accept') ||
    c.call.startsWith('epoll');
  if (hasFd) parts.push(c.fdDesc ? `fd ${c.fd} (${c.fdDesc})` : `fd ${c.fd}`);
  if (c.summaryKind === 'bytes') parts.push(`size ${c.summary === 0xffffffff ? '≥4G' : c.summary}`);
  else if (c.summaryKind === 'timeout_ms')
    parts.push(c.summary === 0xffffffff ? 'no timeout' : `timeout ${c.summary} ms`);
  else if (c.summaryKind === 'sleep_ms') parts.push(`${c.summary} ms`);
  else if (c.summaryKind === 'flags') parts.push(`flags 0x${c.summary.toString(16)}`);
  else if (c.summaryKind === 'cmd' && c.summary) parts.push(`cmd 0x${c.summary.toString(16)}`);
  if (c.address)
    parts.push(
      c.call === 'connect' ? `to ${c.address}` : c.call.startsWith('accept') ? `from ${c.address}` : c.address,
    );
  return parts.join(', ');
}
