import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Demo, EngineOptions, SessionStatus } from '../../../../preload/api.js';
import { hookName } from '@core/events/schema.js';
import { errorText, getApi } from '../../api/index.js';
import { useDataStore } from '../../stores/data.js';
import { query } from '../../worker/client.js';
import { useSessions } from '../../stores/sessions.js';
import { fmtCount, fmtDur } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';
import { CompareCanvas } from './CompareCanvas.js';
import { useCompare } from './compareStore.js';
import { difference, mostFrequentHook, type RunSummary } from './summary.js';

/**
 * Compare: two sessions side by side — their worker lanes on one time axis (each relative to its
 * own first event, one shared zoom/pan), and their summary numbers with the differences
 * highlighted. "Run twice" launches a demo twice with one setting changed and compares the runs.
 */
export function CompareView() {
  const list = useSessions((s) => s.list);
  const { a: pickA, b: pickB, labels } = useCompare();
  const sorted = useMemo(() => [...list].sort((x, y) => x.startedAt - y.startedAt), [list]);
  const a = sorted.find((s) => s.id === pickA) ?? sorted[sorted.length - 2] ?? null;
  const b = sorted.find((s) => s.id === pickB) ?? sorted[sorted.length - 1] ?? null;
  const sa = useSessionQuery(a?.id, 'compareSummary', {}, { throttleMs: 250 }) ?? null;
  const sb = useSessionQuery(b?.id, 'compareSummary', {}, { throttleMs: 250 }) ?? null;
  const fit = { r0: 0, span: Math.max(sa?.wallNs ?? 0, sb?.wallNs ?? 0, 1e6) * 1.02 };
  const label = (s: SessionStatus) =>
    `${s.name}${labels[s.id] ? ` [${labels[s.id]}]` : ''} (${s.pid || s.kind}) — ${s.state}`;
  const picker = (side: 'a' | 'b', cur: SessionStatus | null) => (
    <select
      data-testid={`compare-${side}`}
      value={cur?.id ?? ''}
      onChange={(e) =>
        side === 'a'
          ? useCompare.getState().setA(e.target.value || null)
          : useCompare.getState().setB(e.target.value || null)
      }
    >
      {!cur && <option value="">(none)</option>}
      {sorted.map((s) => (
        <option key={s.id} value={s.id}>
          {label(s)}
        </option>
      ))}
    </select>
  );
  return (
    <div data-testid="compare-view">
      <RunTwice />
      {sorted.length < 2 && (
        <p className="dim" data-testid="compare-need-two">
          Compare needs two sessions: run one twice above, or start two from the Start tab.
        </p>
      )}
      <section className="card">
        <div className="timeline-bar" style={{ borderBottom: 0, padding: '0 0 6px 0' }}>
          <b>A</b> {picker('a', a)}
          <b>B</b> {picker('b', b)}
          <button data-testid="compare-fit" onClick={() => useCompare.getState().setViewport(null)}>
            Fit
          </button>
          <span className="dim">both from their first event · wheel: zoom · drag: pan (both together)</span>
        </div>
        {a && <h3 style={{ margin: '4px 0' }}>A: {label(a)}</h3>}
        {a && <CompareCanvas sessionId={a.id} fit={fit} testId="compare-canvas-a" />}
        {b && <h3 style={{ margin: '4px 0' }}>B: {label(b)}</h3>}
        {b && <CompareCanvas sessionId={b.id} fit={fit} testId="compare-canvas-b" />}
      </section>
      {a && b && <SummaryTable a={sa} b={sb} aId={a.id} bId={b.id} />}
    </div>
  );
}

interface RowDef {
  key: string;
  title: string;
  value: (s: RunSummary) => number;
  fmt: (n: number) => string;
}

function SummaryTable({ a, b, aId, bId }: { a: RunSummary | null; b: RunSummary | null; aId: string; bId: string }) {
  const hook = mostFrequentHook(a, b);
  const p99a = useSessionQuery(aId, 'callP99', { hook: hook ?? 0 }, { throttleMs: 250, skip: hook === null }) ?? NaN;
  const p99b = useSessionQuery(bId, 'callP99', { hook: hook ?? 0 }, { throttleMs: 250, skip: hook === null }) ?? NaN;
  const rows: RowDef[] = [
    { key: 'wall', title: 'wall time', value: (s) => s.wallNs, fmt: fmtDur },
    { key: 'events', title: 'events', value: (s) => s.events, fmt: fmtCount },
    { key: 'coroutines', title: 'coroutines', value: (s) => s.coroutines, fmt: fmtCount },
    { key: 'switches', title: 'switches', value: (s) => s.switches, fmt: fmtCount },
    { key: 'preemptions', title: 'preemptions', value: (s) => s.preemptions, fmt: fmtCount },
    { key: 'calls', title: 'hooked calls', value: (s) => s.calls, fmt: fmtCount },
    {
      key: 'p99',
      title: `p99 of ${hook === null ? 'the most frequent call' : hookName(hook)}`,
      value: (s) => (s === a ? p99a : p99b),
      fmt: fmtDur,
    },
    { key: 'drops', title: 'events dropped', value: (s) => s.drops, fmt: fmtCount },
    { key: 'insights', title: 'insights found', value: (s) => s.insights, fmt: fmtCount },
  ];
  const ia = useSessionQuery(aId, 'insights', {}, { throttleMs: 250 });
  const ib = useSessionQuery(bId, 'insights', {}, { throttleMs: 250 });
  const kinds = (l: { kind: string }[] | undefined) => [...new Set(l?.map((i) => i.kind) ?? [])].join(', ') || '—';
  const ka = kinds(ia?.list);
  const kb = kinds(ib?.list);
  return (
    <section className="card">
      <h2>Summary</h2>
      <table data-testid="compare-summary">
        <thead>
          <tr>
            <th />
            <th className="num">A</th>
            <th className="num">B</th>
            <th className="num">B − A</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const x = a ? r.value(a) : NaN;
            const y = b ? r.value(b) : NaN;
            const diff = difference(x, y);
            const delta = y - x;
            return (
              <tr
                key={r.key}
                data-testid={`compare-row-${r.key}`}
                data-diff={diff}
                style={
                  diff
                    ? { background: diff === 2 ? 'rgba(230, 140, 40, 0.25)' : 'rgba(230, 200, 60, 0.12)' }
                    : undefined
                }
              >
                <td>{r.title}</td>
                <td className="num" data-testid={`compare-${r.key}-a`} data-value={Number.isFinite(x) ? x : ''}>
                  {r.fmt(x)}
                </td>
                <td className="num" data-testid={`compare-${r.key}-b`} data-value={Number.isFinite(y) ? y : ''}>
                  {r.fmt(y)}
                </td>
                <td className="num dim">
                  {Number.isFinite(delta) && delta !== 0 ? `${delta > 0 ? '+' : '−'}${r.fmt(Math.abs(delta))}` : ''}
                </td>
              </tr>
            );
          })}
          <tr
            data-testid="compare-row-kinds"
            data-diff={ka === kb ? 0 : 2}
            style={ka === kb ? undefined : { background: 'rgba(230, 140, 40, 0.25)' }}
          >
            <td>insight kinds</td>
            <td className="num" data-testid="compare-kinds-a">
              {ka}
            </td>
            <td className="num" data-testid="compare-kinds-b">
              {kb}
            </td>
            <td />
          </tr>
        </tbody>
      </table>
    </section>
  );
}

type Vary = 'preempt' | 'hooks' | 'workers';

const VARY: Record<
  Vary,
  {
    title: string;
    a: (n: number) => EngineOptions;
    b: (n: number) => EngineOptions;
    la: (n: number) => string;
    lb: (n: number) => string;
  }
> = {
  preempt: {
    title: 'preemption on / off',
    a: () => ({ preempt: true }),
    b: () => ({ preempt: false }),
    la: () => 'preempt on',
    lb: () => 'preempt off',
  },
  hooks: {
    title: 'hooks on / off',
    a: () => ({ hooks: true }),
    b: () => ({ hooks: false }),
    la: () => 'hooks on',
    lb: () => 'hooks off',
  },
  workers: {
    title: '1 / N workers',
    a: () => ({ workers: 1 }),
    b: (n) => ({ workers: n }),
    la: () => '1 worker',
    lb: (n) => `${n} workers`,
  },
};

/** Resolves once the session has ended (its data saw 'end', or its status left 'running'). */
function whenEnded(id: string): Promise<void> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      unsubA();
      unsubB();
      resolve();
    };
    const check = () => {
      const st = useSessions.getState().list.find((s) => s.id === id);
      if (st !== undefined && st.state !== 'running') return finish();
      query(id, 'info', {}).then(
        (i) => {
          if (i.ended) finish();
        },
        () => {
          /* asked again on the next change */
        },
      );
    };
    const unsubA = useSessions.subscribe(check);
    const unsubB = useDataStore.subscribe(check);
    check();
  });
}

/** Launches one demo twice, with one setting changed, one after the other; then compares the two runs. */
function RunTwice() {
  const [demos, setDemos] = useState<Demo[]>([]);
  const [demo, setDemo] = useState('cpu_hog');
  const [vary, setVary] = useState<Vary>('preempt');
  const [workers, setWorkers] = useState('4');
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  useEffect(() => {
    getApi()
      .listDemos()
      .then(setDemos, (e) => setError(errorText(e)));
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    const n = Math.max(1, Math.min(1024, parseInt(workers, 10) || 4));
    const v = VARY[vary];
    setBusy(true);
    try {
      setStatus(`running ${demo} with ${v.la(n)}…`);
      const first = await getApi().runDemo(demo, v.a(n));
      useSessions.getState().upsert(first);
      useCompare.getState().setLabel(first.id, v.la(n));
      await whenEnded(first.id);
      setStatus(`running ${demo} with ${v.lb(n)}…`);
      const second = await getApi().runDemo(demo, v.b(n));
      useSessions.getState().upsert(second);
      useCompare.getState().setLabel(second.id, v.lb(n));
      await whenEnded(second.id);
      useCompare.getState().setPair(first.id, second.id);
      setStatus(`done: A = ${v.la(n)}, B = ${v.lb(n)}`);
    } catch (err) {
      setError(errorText(err));
      setStatus('');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" data-testid="compare-run" onSubmit={submit}>
      <h2>Run twice</h2>
      <div className="timeline-bar" style={{ borderBottom: 0, padding: 0 }}>
        <label>
          demo{' '}
          <select data-testid="compare-run-demo" value={demo} onChange={(e) => setDemo(e.target.value)}>
            {(demos.length ? demos.map((d) => d.name) : [demo]).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          vary{' '}
          <select data-testid="compare-run-vary" value={vary} onChange={(e) => setVary(e.target.value as Vary)}>
            {(Object.keys(VARY) as Vary[]).map((k) => (
              <option key={k} value={k}>
                {VARY[k].title}
              </option>
            ))}
          </select>
        </label>
        {vary === 'workers' && (
          <label>
            N{' '}
            <input
              data-testid="compare-run-workers"
              value={workers}
              onChange={(e) => setWorkers(e.target.value)}
              style={{ width: 50 }}
            />
          </label>
        )}
        <button className="primary" type="submit" data-testid="compare-run-submit" disabled={busy}>
          {busy ? 'Running…' : 'Run twice'}
        </button>
        <span className="dim" data-testid="compare-run-status">
          {status}
        </span>
      </div>
      {error && (
        <p className="error" role="alert" data-testid="compare-run-error">
          {error}
        </p>
      )}
    </form>
  );
}
