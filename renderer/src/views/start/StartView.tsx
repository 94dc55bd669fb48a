import { useCallback, useEffect, useState } from 'react';
import type {
  Demo,
  DemoLesson,
  EngineOptions,
  EngineProcessInfo,
  RecordingInfo,
  SessionStatus,
} from '../../../../preload/api.js';
import { getApi, errorText } from '../../api/index.js';
import { useSessions } from '../../stores/sessions.js';
import { useUi } from '../../stores/ui.js';
import { useRunControl } from '../../stores/runControl.js';
import { fmtBytes } from '../../format.js';

/**
 * After a session starts: remember it, show it, go to the timeline — unless the user went to
 * another view meanwhile (the session's first status push can come before the reply, and
 * the user may already be looking at it elsewhere).
 */
function opened(s: SessionStatus): void {
  useSessions.getState().upsert(s);
  useSessions.getState().setActive(s.id);
  if (useUi.getState().view === 'start') useUi.getState().setView('timeline');
}

export function StartView() {
  return (
    <div data-testid="start-view">
      <Demos />
      <div className="grid2">
        <LaunchForm />
        <div>
          <ProcessList />
          <OpenTrace />
          <Recordings />
        </div>
      </div>
    </div>
  );
}

function Demos() {
  const [demos, setDemos] = useState<Demo[] | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState('');
  useEffect(() => {
    getApi()
      .listDemos()
      .then(setDemos, (e) => setError(errorText(e)));
  }, []);
  const run = async (name: string) => {
    setBusy(name);
    setError('');
    try {
      opened(await getApi().runDemo(name));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy('');
    }
  };
  return (
    <section className="card" data-testid="demos">
      <h2>Demos</h2>
      {!demos && !error && <p className="dim">loading…</p>}
      <div className="demos">
        {demos?.map((d) => (
          <div key={d.name} className="demo-cell" style={{ display: 'flex', flexDirection: 'column', gap: 4 }}>
            <button className="demo" data-testid={`demo-${d.name}`} disabled={!!busy} onClick={() => run(d.name)}>
              <b>{d.title || d.name}</b>
              <span className="dim">{d.description}</span>
            </button>
            {d.lesson && <Lesson name={d.name} lesson={d.lesson} />}
          </div>
        ))}
      </div>
      {error && (
        <p className="error" data-testid="demo-error">
          {error}
        </p>
      )}
    </section>
  );
}

/** A demo's lesson: what to look at, the question it answers, what to try (folded by default). */
function Lesson({ name, lesson }: { name: string; lesson: DemoLesson }) {
  return (
    <details data-testid={`lesson-${name}`} style={{ fontSize: 12, padding: '0 4px' }}>
      <summary className="dim" style={{ cursor: 'pointer' }}>
        Lesson
      </summary>
      <p style={{ margin: '4px 0' }}>
        <b>Look at: </b>
        {lesson.look}
      </p>
      <p style={{ margin: '4px 0' }}>
        <b>Question: </b>
        {lesson.question}
      </p>
      <b>Try:</b>
      <ul style={{ margin: '2px 0', paddingLeft: 18 }}>
        {lesson.tryThis.map((t) => (
          <li key={t}>{t}</li>
        ))}
      </ul>
    </details>
  );
}

/** "KEY=VALUE" lines to an env object; returns an error for a line without '='. */
export function parseEnv(text: string): { env: Record<string, string>; error?: string } {
  const env: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { env, error: `environment line ${i + 1} is not KEY=VALUE: ${line}` };
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { env };
}

/** Arguments split on whitespace, with "double" or 'single' quotes grouping. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]));
  return out;
}

function LaunchForm() {
  const [cmd, setCmd] = useState('');
  const [args, setArgs] = useState('');
  const [cwd, setCwd] = useState('');
  const [env, setEnv] = useState('');
  const [workers, setWorkers] = useState('');
  const [slice, setSlice] = useState('');
  const [preempt, setPreempt] = useState(true);
  const [hooks, setHooks] = useState(true);
  const [startPaused, setStartPaused] = useState(false);
  const [follow, setFollow] = useState(true);
  const [record, setRecord] = useState(true);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError('');
    if (!cmd.trim()) return setError('Enter the program to run.');
    const parsed = parseEnv(env);
    if (parsed.error) return setError(parsed.error);
    const engine: EngineOptions = {
      preempt,
      hooks,
      ...(startPaused ? { startPaused } : {}),
      ...(follow ? {} : { follow }),
    };
    if (workers.trim()) {
      const n = Number(workers);
      if (!Number.isInteger(n) || n < 1) return setError('Workers must be a whole number ≥ 1.');
      engine.workers = n;
    }
    if (slice.trim()) engine.timeSlice = slice.trim();
    setBusy(true);
    try {
      const s = await getApi().launch({
        cmd: cmd.trim(),
        args: splitArgs(args),
        cwd: cwd.trim() || undefined,
        env: Object.keys(parsed.env).length ? parsed.env : undefined,
        engine,
        record,
      });
      if (startPaused) useRunControl.getState().startedPaused(s.id);
      opened(s);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" data-testid="launch-form" onSubmit={submit}>
      <h2>Launch a program</h2>
      <div className="form">
        <label htmlFor="l-cmd">Command</label>
        <input
          id="l-cmd"
          data-testid="launch-cmd"
          value={cmd}
          onChange={(e) => setCmd(e.target.value)}
          placeholder="/usr/bin/python3 or ./server"
        />
        <label htmlFor="l-args">Arguments</label>
        <input
          id="l-args"
          data-testid="launch-args"
          value={args}
          onChange={(e) => setArgs(e.target.value)}
          placeholder='-c "print(1)"'
        />
        <label htmlFor="l-cwd">Working directory</label>
        <input
          id="l-cwd"
          data-testid="launch-cwd"
          value={cwd}
          onChange={(e) => setCwd(e.target.value)}
          placeholder="(the host's)"
        />
        <label htmlFor="l-env">Environment</label>
        <textarea
          id="l-env"
          data-testid="launch-env"
          value={env}
          onChange={(e) => setEnv(e.target.value)}
          placeholder="KEY=VALUE, one per line"
        />
        <label htmlFor="l-workers">Workers</label>
        <input
          id="l-workers"
          data-testid="launch-workers"
          value={workers}
          onChange={(e) => setWorkers(e.target.value)}
          placeholder="(engine default)"
        />
        <label htmlFor="l-slice">Time slice</label>
        <input
          id="l-slice"
          data-testid="launch-slice"
          value={slice}
          onChange={(e) => setSlice(e.target.value)}
          placeholder="e.g. 10ms"
        />
        <span>Engine</span>
        <span style={{ display: 'flex', gap: 12 }}>
          <label>
            <input
              type="checkbox"
              data-testid="launch-preempt"
              checked={preempt}
              onChange={(e) => setPreempt(e.target.checked)}
            />{' '}
            preemption
          </label>
          <label>
            <input
              type="checkbox"
              data-testid="launch-hooks"
              checked={hooks}
              onChange={(e) => setHooks(e.target.checked)}
            />{' '}
            hooks
          </label>
          <label>
            <input
              type="checkbox"
              data-testid="launch-record"
              checked={record}
              onChange={(e) => setRecord(e.target.checked)}
            />{' '}
            record
          </label>
          <label title="the scheduler waits before its first decision: step it from the Scheduler view">
            <input
              type="checkbox"
              data-testid="launch-start-paused"
              checked={startPaused}
              onChange={(e) => setStartPaused(e.target.checked)}
            />{' '}
            start paused
          </label>
          <label title="forked children and exec'd programs join the session as processes of their own (like strace -f)">
            <input
              type="checkbox"
              data-testid="launch-follow"
              checked={follow}
              onChange={(e) => setFollow(e.target.checked)}
            />{' '}
            follow children
          </label>
        </span>
        <span />
        <span>
          <button className="primary" type="submit" data-testid="launch-submit" disabled={busy}>
            {busy ? 'Launching…' : 'Launch'}
          </button>
        </span>
      </div>
      {error && (
        <p className="error" role="alert" data-testid="launch-error">
          {error}
        </p>
      )}
    </form>
  );
}

function ProcessList() {
  const [procs, setProcs] = useState<EngineProcessInfo[]>([]);
  const [error, setError] = useState('');
  const refresh = useCallback(() => {
    getApi()
      .listProcesses()
      .then(
        (p) => {
          setProcs(p);
          setError('');
        },
        (e) => setError(errorText(e)),
      );
  }, []);
  useEffect(() => {
    refresh();
    const t = setInterval(refresh, 2000);
    return () => clearInterval(t);
  }, [refresh]);
  const attach = async (pid: number) => {
    setError('');
    try {
      opened(await getApi().attach(pid));
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section className="card" data-testid="process-list">
      <h2>Running engine processes</h2>
      {procs.length === 0 && <p className="dim">None of this user's processes runs the engine.</p>}
      {procs.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>pid</th>
              <th>program</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {procs.map((p) => (
              <tr key={p.pid} data-testid={`process-${p.pid}`}>
                <td>{p.pid}</td>
                <td title={p.cmdline.join(' ')}>{p.cmdline.join(' ') || p.exe}</td>
                <td>
                  <button data-testid={`attach-${p.pid}`} onClick={() => attach(p.pid)}>
                    Attach
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {error && (
        <p className="error" data-testid="attach-error">
          {error}
        </p>
      )}
    </section>
  );
}

function OpenTrace() {
  const [path, setPath] = useState('');
  const [error, setError] = useState('');
  const open = async (e: React.FormEvent) => {
    e.preventDefault();
    setError('');
    if (!path.trim()) return setError('Enter the path of a trace file.');
    try {
      opened(await getApi().openTrace(path.trim()));
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form className="card" data-testid="open-trace" onSubmit={open}>
      <h2>Open a trace file</h2>
      <span style={{ display: 'flex', gap: 6 }}>
        <input
          style={{ flex: 1 }}
          data-testid="open-trace-path"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder="/tmp/t.cstrace"
        />
        <button type="submit" data-testid="open-trace-submit">
          Open
        </button>
      </span>
      {error && (
        <p className="error" data-testid="open-trace-error">
          {error}
        </p>
      )}
    </form>
  );
}

/** Recent sessions: the recordings made (newest first), each reopened with one click. */
function Recordings() {
  const [recs, setRecs] = useState<RecordingInfo[]>([]);
  const [error, setError] = useState('');
  const sessions = useSessions((s) => s.list);
  // Refetched whenever a session starts or ends: its recording appears, then is complete.
  const sessionsKey = sessions.map((x) => `${x.id}:${x.state}`).join(',');
  const refresh = useCallback(() => {
    getApi()
      .listRecordings()
      .then(
        (r) => {
          setRecs(r);
          setError('');
        },
        (e) => setError(errorText(e)),
      );
  }, []);
  useEffect(refresh, [refresh, sessionsKey]);
  const writing = new Set(sessions.filter((x) => x.state === 'running' && x.recordPath).map((x) => x.recordPath));
  const open = async (path: string) => {
    setError('');
    try {
      opened(await getApi().openTrace(path));
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section className="card" data-testid="recordings">
      <h2 style={{ display: 'flex', gap: 8, alignItems: 'baseline' }}>
        Recent recordings{' '}
        <span className="dim" style={{ fontWeight: 'normal' }}>
          every live session is recorded
        </span>
        <span style={{ flex: 1 }} />
        <button data-testid="recordings-refresh" onClick={refresh} style={{ fontWeight: 'normal' }}>
          Refresh
        </button>
      </h2>
      {recs.length === 0 && <p className="dim">No recordings yet.</p>}
      {recs.length > 0 && (
        <table>
          <tbody>
            {[...recs]
              .sort((a, b) => b.modified - a.modified)
              .slice(0, 20)
              .map((r) => (
                <tr key={r.path} data-testid="recording-row" data-path={r.path}>
                  <td title={r.path}>{r.name}</td>
                  <td className="dim">
                    {writing.has(r.path) ? (
                      <span data-testid="recording-live">recording…</span>
                    ) : (
                      new Date(r.modified).toLocaleString()
                    )}
                  </td>
                  <td className="num">{fmtBytes(r.bytes)}</td>
                  <td>
                    <button data-testid={`recording-open-${r.name}`} onClick={() => open(r.path)}>
                      Open
                    </button>
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
      {error && (
        <p className="error" data-testid="recordings-error">
          {error}
        </p>
      )}
    </section>
  );
}
