/**
 * The Scheduler view, for teaching: the scheduler's boxes (each worker and what it runs, its run
 * queue, the injection queue, the timer heap, fd waits, joins, finished coroutines) with every
 * coroutine as a chip of its timeline colour moving between them; controls to pause, step and
 * slow down a live target; the explanation of the newest scheduling decisions; and a walk back
 * and forth through the recorded decisions (Derived.stateAt at each step). While paused, the
 * engine's own snapshot is fetched and checked against the boxes.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { CoroscopeApi } from '../../../../preload/api.js';
import { getApi, errorText } from '../../api/index.js';
import { useSessions } from '../../stores/sessions.js';
import { selectPaused, selectStops, useRunControl } from '../../stores/runControl.js';
import { fmtDur, type Boxes, type Chip, type EngineSnapshot } from '../../data/schedulerModel.js';
import { coColour } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';
import './scheduler.css';

const EMPTY_BOXES: Boxes = {
  at: NaN,
  workers: [],
  inject: [],
  timers: [],
  fdWaits: [],
  joins: [],
  parked: [],
  done: [],
};

/** Chips drawn per box at most (the rest are counted). */
const MAX_CHIPS = 200;
const EXPLAINED = 10;

export function SchedulerView({ sessionId }: { sessionId: string }) {
  const session = useSessions((s) => s.list.find((x) => x.id === sessionId) ?? null);
  const live = !!session && session.state === 'running' && session.kind !== 'replay';
  const [position, setPosition] = useState<number | null>(null);
  const paused = useRunControl(selectPaused(sessionId));
  const stops = useRunControl(selectStops(sessionId));
  const [engine, setEngine] = useState<EngineSnapshot | null>(null);
  const [error, setError] = useState('');

  // The boxes at the position (Derived.stateAt in the data worker) or live.
  const view = useSessionQuery(sessionId, 'scheduler', { position, explained: EXPLAINED }, { throttleMs: 100 }) ?? {
    n: 0,
    pos: null,
    step: undefined,
    boxes: EMPTY_BOXES,
    lines: [],
    origin: NaN,
  };
  const checked = useSessionQuery(sessionId, 'schedulerCheck', { engine: engine! }, { throttleMs: 100, skip: !engine });
  const check = engine ? (checked ?? null) : null;

  const fetchSnapshot = async () => {
    try {
      setEngine(await getApi().snapshot(sessionId));
    } catch (e) {
      setError(errorText(e));
    }
  };
  // While paused: the engine's picture, again a moment later (the last events drain meanwhile).
  const snapTimers = useRef<ReturnType<typeof setTimeout>[]>([]);
  const refreshSnapshot = () => {
    snapTimers.current.forEach(clearTimeout);
    snapTimers.current = [150, 700].map((ms) => setTimeout(fetchSnapshot, ms));
  };
  useEffect(() => () => snapTimers.current.forEach(clearTimeout), []);
  useEffect(() => {
    if (!live) setEngine(null);
  }, [live]);

  /** One control request to the target; false (and the error shown) when it failed. */
  const send = async (request: (api: CoroscopeApi, id: string) => Promise<unknown>): Promise<boolean> => {
    setError('');
    try {
      await request(getApi(), sessionId);
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    }
  };
  // The run controls are the top bar's (one state, stores/runControl.ts): each time the target
  // comes to rest (a pause or a step, from any control) the view goes to the newest decision and
  // takes the engine's picture; running again, the picture goes.
  useEffect(() => {
    if (!stops) return;
    setPosition(null);
    refreshSnapshot();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- on each rest, not on each render
  }, [stops]);
  useEffect(() => {
    if (!paused) setEngine(null);
  }, [paused]);
  const stepN = (n: number) => void useRunControl.getState().step(sessionId, n);

  const latest = view.lines[0];
  return (
    <div data-testid="scheduler-view" className="sched">
      <div className="sched-bar">
        {live ? (
          <LiveControls paused={paused} onStep={stepN} send={send} />
        ) : (
          <span className="dim">
            {session
              ? `${session.kind === 'replay' ? 'a recording' : `the target ${session.state}`}: nothing to control, walk through the steps below`
              : ''}
          </span>
        )}
        {error && (
          <span className="error" data-testid="sched-error">
            {error}
          </span>
        )}
      </div>
      <div className="sched-bar">
        <button
          data-testid="sched-back"
          disabled={view.n === 0 || view.pos === 0}
          onClick={() => setPosition((view.pos ?? view.n - 1) - 1)}
        >
          ◀ step back
        </button>
        <button
          data-testid="sched-forward"
          disabled={view.pos === null}
          onClick={() => setPosition(view.pos !== null && view.pos + 1 < view.n ? view.pos + 1 : null)}
        >
          step forward ▶
        </button>
        <input
          type="range"
          data-testid="sched-position"
          min={0}
          max={Math.max(0, view.n - 1)}
          value={view.pos ?? Math.max(0, view.n - 1)}
          disabled={view.n === 0}
          style={{ flex: 1, minWidth: 120 }}
          onChange={(e) => {
            const p = Number(e.target.value);
            setPosition(p >= view.n - 1 && position === null ? null : p);
          }}
        />
        <button data-testid="sched-live" disabled={view.pos === null} onClick={() => setPosition(null)}>
          {live ? 'back to live' : 'to the last decision'}
        </button>
        <span className="dim" data-testid="sched-where">
          {view.n === 0
            ? 'no decisions yet'
            : view.pos === null
              ? `${live ? 'live' : 'the last'}: ${view.n} decisions`
              : `decision ${view.pos + 1} of ${view.n}`}
        </span>
      </div>
      <div className="sched-explain card">
        {!latest && (
          <p className="dim" data-testid="sched-explain">
            No scheduling decision seen yet.
          </p>
        )}
        {view.lines.map(({ s, e }, k) => (
          <div
            key={s.index}
            className={k === 0 ? 'sched-line newest' : 'sched-line'}
            data-testid={k === 0 ? 'sched-explain' : undefined}
            data-step={s.n}
            data-rules={e.rules.join(' ')}
          >
            <span className="dim">
              #{s.n + 1} w{s.worker}
            </span>{' '}
            {e.text}
          </div>
        ))}
      </div>
      <div className="sched-main">
        <BoxesView boxes={view.boxes} origin={view.origin} />
        {live && paused && <EnginePanel engine={engine} check={check} onRefresh={fetchSnapshot} />}
      </div>
    </div>
  );
}

function LiveControls({
  paused,
  onStep,
  send,
}: {
  paused: boolean;
  onStep: (n: number) => void;
  send: (request: (api: CoroscopeApi, id: string) => Promise<unknown>) => Promise<boolean>;
}) {
  const [n, setN] = useState('10');
  const [delay, setDelay] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const changeDelay = (ms: number) => {
    setDelay(ms);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(async () => {
      await send((api, id) => api.setEngine(id, { key: 'delay', value: `${ms}ms` }));
    }, 200);
  };
  const nValue = Number(n);
  const nOk = Number.isInteger(nValue) && nValue >= 1 && nValue <= 1_000_000;
  return (
    <>
      <input
        data-testid="sched-step-n-input"
        value={n}
        onChange={(e) => setN(e.target.value)}
        style={{ width: 60 }}
        aria-label="steps"
      />
      <button data-testid="sched-step-n" disabled={!nOk} onClick={() => onStep(nValue)}>
        Step {nOk ? nValue : 'N'}
      </button>
      <label className="dim" style={{ display: 'flex', gap: 6, alignItems: 'center' }}>
        slow motion
        <input
          type="range"
          data-testid="sched-delay"
          min={0}
          max={2000}
          step={50}
          value={delay}
          onChange={(e) => changeDelay(Number(e.target.value))}
        />
        <span data-testid="sched-delay-value">{delay === 0 ? 'off' : `${delay} ms`}</span>
      </label>
      <span className="dim" data-testid="sched-state">
        {paused ? 'paused' : 'running'}
      </span>
    </>
  );
}

// ---- boxes ---------------------------------------------------------------------------------------

function ChipView({ c }: { c: Chip }) {
  return (
    <span
      className="sched-chip"
      data-testid={`sched-chip-${c.co}`}
      data-chip={c.co}
      data-box={c.box}
      style={{ background: coColour(c.co) }}
      title={`co#${c.co}${c.name ? ` ${c.name}` : ''}: ${c.detail}`}
    >
      #{c.co}
      {c.name ? ` ${c.name}` : ''}
    </span>
  );
}

function Chips({ chips, newestLast = false }: { chips: Chip[]; newestLast?: boolean }) {
  if (chips.length === 0) return <span className="dim">empty</span>;
  const shown = chips.length <= MAX_CHIPS ? chips : newestLast ? chips.slice(-MAX_CHIPS) : chips.slice(0, MAX_CHIPS);
  const more = chips.length - shown.length;
  return (
    <>
      {newestLast && more > 0 && <span className="dim">{more} earlier… </span>}
      {shown.map((c) => (
        <ChipView key={c.co} c={c} />
      ))}
      {!newestLast && more > 0 && <span className="dim"> +{more} more</span>}
    </>
  );
}

function Box({
  title,
  testId,
  children,
  extra,
}: {
  title: string;
  testId: string;
  children: React.ReactNode;
  extra?: Record<string, string>;
}) {
  return (
    <section className="sched-box" data-testid={testId} {...extra}>
      <h3>{title}</h3>
      <div className="sched-chips">{children}</div>
    </section>
  );
}

function BoxesView({ boxes, origin }: { boxes: Boxes; origin: number }) {
  const root = useRef<HTMLDivElement>(null);
  useChipMotion(root, boxes);
  const count = (l: unknown[]) => (l.length ? ` (${l.length})` : '');
  const fdCount = boxes.fdWaits.reduce((a, g) => a + g.chips.length, 0);
  return (
    <div className="sched-boxes" ref={root}>
      <div className="sched-workers">
        {boxes.workers.map((w) => (
          <div key={w.worker} className="sched-worker-col">
            <Box
              title={`worker ${w.worker} — ${w.state}`}
              testId={`sched-worker-${w.worker}`}
              extra={{ 'data-running': w.running ? String(w.running.co) : '', 'data-state': w.state }}
            >
              {w.running ? (
                <ChipView c={w.running} />
              ) : (
                <span className="dim">{w.state === 'idle' ? 'asleep' : 'nothing running'}</span>
              )}
            </Box>
            <Box title={`run queue${count(w.runq)}`} testId={`sched-runq-${w.worker}`}>
              <Chips chips={w.runq} />
            </Box>
          </div>
        ))}
      </div>
      <div className="sched-row">
        <Box title={`injection queue${count(boxes.inject)}`} testId="sched-inject">
          <Chips chips={boxes.inject} />
        </Box>
        <Box title={`timer heap${count(boxes.timers)}`} testId="sched-timers">
          <Chips chips={boxes.timers} />
        </Box>
        <Box title={`joins${count(boxes.joins)}`} testId="sched-joins">
          <Chips chips={boxes.joins} />
        </Box>
      </div>
      <div className="sched-row">
        <Box title={`waiting on fds${fdCount ? ` (${fdCount})` : ''}`} testId="sched-fdwait">
          {boxes.fdWaits.length === 0 && <span className="dim">empty</span>}
          {boxes.fdWaits.map((g) => (
            <div key={`${g.fd}:${g.dir}`} className="sched-fd" data-testid={`sched-fd-${g.fd}-${g.dir}`}>
              <span className="dim">
                fd {g.fd} {g.dir}:
              </span>{' '}
              <Chips chips={g.chips} />
            </div>
          ))}
        </Box>
        {boxes.parked.length > 0 && (
          <Box title={`parked in a call${count(boxes.parked)}`} testId="sched-parked">
            <Chips chips={boxes.parked} />
          </Box>
        )}
      </div>
      <Box title={`done${count(boxes.done)}`} testId="sched-done">
        <Chips chips={boxes.done} newestLast />
      </Box>
      <p className="dim sched-at">
        {Number.isFinite(boxes.at) && Number.isFinite(origin)
          ? `at +${fmtDur(boxes.at - origin)} from the first event`
          : ''}
      </p>
    </div>
  );
}

/**
 * Chips glide from their old place to their new one (FLIP: measure, jump back with a transform,
 * let the transition undo it). Skipped when there are too many chips to measure every frame.
 */
function useChipMotion(root: React.RefObject<HTMLDivElement | null>, boxes: Boxes) {
  const last = useRef(new Map<string, { x: number; y: number; box: string }>());
  useLayoutEffect(() => {
    const el = root.current;
    if (!el) return;
    const chips = el.querySelectorAll<HTMLElement>('[data-chip]');
    const next = new Map<string, { x: number; y: number; box: string }>();
    if (chips.length > 400) {
      last.current = next;
      return;
    }
    for (const c of chips) {
      const r = c.getBoundingClientRect();
      const id = c.dataset.chip!;
      const box = c.dataset.box!;
      next.set(id, { x: r.left, y: r.top, box });
      const was = last.current.get(id);
      if (was && was.box !== box && (was.x !== r.left || was.y !== r.top)) {
        c.style.transition = 'none';
        c.style.transform = `translate(${was.x - r.left}px, ${was.y - r.top}px)`;
        requestAnimationFrame(() => {
          c.style.transition = 'transform 300ms ease-out';
          c.style.transform = '';
        });
      }
    }
    last.current = next;
  }, [root, boxes]);
}

// ---- the engine's snapshot -----------------------------------------------------------------------

function EnginePanel({
  engine,
  check,
  onRefresh,
}: {
  engine: EngineSnapshot | null;
  check: string[] | null;
  onRefresh: () => void;
}) {
  return (
    <section className="card sched-engine" data-testid="sched-engine">
      <h3>
        The engine's own snapshot{' '}
        <button onClick={onRefresh} data-testid="sched-snapshot-refresh">
          refresh
        </button>
      </h3>
      {!engine && (
        <p className="dim" data-testid="sched-snapshot-check" data-agree="">
          asking the engine…
        </p>
      )}
      {engine &&
        check &&
        (check.length === 0 ? (
          <p className="ok" data-testid="sched-snapshot-check" data-agree="true">
            The engine's snapshot agrees with the boxes.
          </p>
        ) : (
          <div className="error" data-testid="sched-snapshot-check" data-agree="false">
            The engine's snapshot and the events disagree ({check.length}):
            <ul>
              {check.slice(0, 20).map((l) => (
                <li key={l}>{l}</li>
              ))}
            </ul>
          </div>
        ))}
      {engine && (
        <table>
          <thead>
            <tr>
              <th>co</th>
              <th>name</th>
              <th>state</th>
              <th>worker</th>
              <th>wait</th>
              <th>called at</th>
            </tr>
          </thead>
          <tbody>
            {engine.workers.map((w) => (
              <tr key={`w${w.idx}`}>
                <td colSpan={6} className="dim">
                  worker {w.idx}: {w.running ? `runs co#${w.running}` : w.sleeping ? 'asleep' : 'nothing running'}
                </td>
              </tr>
            ))}
            {engine.coroutines.slice(0, 200).map((c) => (
              <tr key={c.id} data-testid={`sched-engine-co-${c.id}`}>
                <td>
                  <span className="sched-dot" style={{ background: coColour(c.id) }} />
                  {c.id}
                </td>
                <td>{c.name}</td>
                <td>{c.state}</td>
                <td>{c.worker >= 0 ? c.worker : '—'}</td>
                <td>
                  {c.wait
                    ? [
                        c.wait.why,
                        c.wait.call,
                        c.wait.fd !== undefined ? `fd ${c.wait.fd} ${c.wait.events ?? ''}` : '',
                        c.wait.joining ? `joins co#${c.wait.joining}` : '',
                        c.wait.deadline_ns ? 'timer' : '',
                      ]
                        .filter(Boolean)
                        .join(' ')
                    : ''}
                </td>
                <td data-testid={`sched-source-${c.id}`} title={c.wait?.function}>
                  {c.wait?.source ?? ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {engine && engine.coroutines.length > 200 && <p className="dim">+{engine.coroutines.length - 200} more</p>}
    </section>
  );
}
