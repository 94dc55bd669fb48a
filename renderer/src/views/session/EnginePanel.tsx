import { useEffect, useState } from 'react';
import type { EngineSetting, SessionStatus } from '../../../../preload/api.js';
import { getApi, errorText } from '../../api/index.js';
import {
  acknowledged,
  changeText,
  currentSettings,
  fromEventConfig,
  fromRuntimeConfig,
  parseSliceInput,
  sourceText,
  type SettingChange,
} from '../../data/engineSettings.js';
import { stateText } from '../../data/exitText.js';
import { fmtDur } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';
import { useEngineSettings } from '../../stores/engineSettings.js';

const clock = (ms: number) => new Date(ms).toLocaleTimeString();

function whyNotLive(s: SessionStatus): string {
  if (s.kind === 'replay') return 'This is a recording: there is no engine to change.';
  if (s.state === 'exited') {
    const how = s.exit ? stateText(s) : 'exited';
    return `The target ${how.startsWith('killed') ? `was ${how}` : how}: its settings can no longer be changed.`;
  }
  if (s.state === 'detached') return 'Detached from the target: its settings can no longer be changed from here.';
  return 'The target is not running.';
}

/**
 * The engine's run-time settings for the active session: time slice, preemption, hooks. Shows
 * the current values (the CONFIG event, then the engine's hello and set replies; the engine also
 * emits a new CONFIG after each change), sends each change through setEngine, and says plainly
 * whether the engine acknowledged it.
 */
export function EnginePanel({ session }: { session: SessionStatus }) {
  const replied = useEngineSettings((s) => s.replied[session.id]);
  const { setOpen, learn } = useEngineSettings.getState();
  const live = session.state === 'running' && session.kind !== 'replay';
  const config = useSessionQuery(session.id, 'config', {});
  const current = currentSettings(fromEventConfig(config), replied);
  const [slice, setSlice] = useState('');
  /** The change on its way: its checkbox shows the value asked for until the engine answers. */
  const [pending, setPending] = useState<SettingChange | null>(null);
  const busy = pending?.key ?? '';
  const [error, setError] = useState('');
  const [ack, setAck] = useState('');

  // The engine's own word on its settings when the panel opens (the CONFIG event may be old).
  useEffect(() => {
    if (!live) return;
    let gone = false;
    getApi()
      .hello(session.id)
      .then(
        (r) => {
          if (!gone) learn(session.id, { ...fromRuntimeConfig(r.config), source: 'hello', at: Date.now() });
        },
        (e) => {
          if (!gone) setError(`Could not read the engine's settings: ${errorText(e)}`);
        },
      );
    return () => {
      gone = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session.id, live]);

  const change = async (c: SettingChange, setting: EngineSetting) => {
    setError('');
    setAck('');
    setPending(c);
    try {
      const r = acknowledged(c, await getApi().setEngine(session.id, setting), Date.now());
      if ('error' in r) setError(r.error);
      else {
        learn(session.id, r.settings);
        setAck(`${changeText(c, fmtDur)}: acknowledged by the engine`);
      }
    } catch (e) {
      setError(`Not changed (${changeText(c, fmtDur)}): ${errorText(e)}`);
    } finally {
      setPending(null);
    }
  };

  const applySlice = (e: React.FormEvent) => {
    e.preventDefault();
    const p = parseSliceInput(slice);
    if ('error' in p) {
      setAck('');
      return setError(p.error);
    }
    void change({ key: 'slice', ns: p.ns }, { key: 'slice', value: p.value });
  };

  const disabled = !live || !!busy;
  return (
    <section
      className="card engine-panel"
      data-testid="engine-panel"
      aria-label="Engine settings"
      style={{ margin: '8px 10px 0', display: 'flex', flexDirection: 'column', gap: 6 }}
    >
      <div style={{ display: 'flex', gap: 8, alignItems: 'baseline' }}>
        <h2 style={{ margin: 0 }}>Engine settings</h2>
        <span className="dim">
          {session.name}
          {session.pid ? ` (pid ${session.pid})` : ''}
        </span>
        <span style={{ flex: 1 }} />
        <button data-testid="engine-close" aria-label="Close the engine panel" onClick={() => setOpen(false)}>
          Close
        </button>
      </div>
      <div className="kv" data-testid="engine-current">
        <span className="dim">time slice</span>
        <span data-testid="engine-current-slice">{current ? fmtDur(current.timeSliceNs) : '—'}</span>
        <span className="dim">preemption</span>
        <span data-testid="engine-current-preempt" data-on={current ? String(current.preempt) : ''}>
          {current ? (current.preempt ? 'on' : 'off') : '—'}
        </span>
        <span className="dim">hooks</span>
        <span data-testid="engine-current-hooks" data-on={current ? String(current.hooks) : ''}>
          {current ? (current.hooks ? 'on' : 'off') : '—'}
        </span>
        <span className="dim">source</span>
        <span className="dim" data-testid="engine-source" data-source={current?.source ?? ''}>
          {current ? sourceText(current, clock) : 'nothing yet: the engine has not sent its configuration'}
        </span>
      </div>
      {!live && (
        <p className="dim" data-testid="engine-not-live" style={{ margin: 0 }}>
          {whyNotLive(session)}
        </p>
      )}
      <div className="filters" style={{ marginBottom: 0 }}>
        <form onSubmit={applySlice} style={{ display: 'flex', gap: 4, alignItems: 'center' }}>
          <label htmlFor="engine-slice">Time slice</label>
          <input
            id="engine-slice"
            data-testid="engine-slice-input"
            size={8}
            value={slice}
            disabled={!live}
            placeholder={current ? `${current.timeSliceNs / 1e6}` : '10'}
            onChange={(e) => setSlice(e.target.value)}
          />
          <span className="dim">ms</span>
          <button type="submit" data-testid="engine-slice-apply" disabled={disabled || !slice.trim()}>
            {busy === 'slice' ? 'Setting…' : 'Set'}
          </button>
        </form>
        <label>
          <input
            type="checkbox"
            data-testid="engine-preempt"
            disabled={disabled || !current}
            checked={pending?.key === 'preempt' ? pending.on : (current?.preempt ?? false)}
            onChange={(e) =>
              change({ key: 'preempt', on: e.target.checked }, { key: 'preempt', value: e.target.checked })
            }
          />{' '}
          preemption
        </label>
        <label>
          <input
            type="checkbox"
            data-testid="engine-hooks"
            disabled={disabled || !current}
            checked={pending?.key === 'hooks' ? pending.on : (current?.hooks ?? false)}
            onChange={(e) => change({ key: 'hooks', on: e.target.checked }, { key: 'hooks', value: e.target.checked })}
          />{' '}
          hooks
        </label>
        {busy && (
          <span className="dim" data-testid="engine-busy">
            sending…
          </span>
        )}
      </div>
      {ack && (
        <p data-testid="engine-ack" style={{ margin: 0, color: 'var(--ok)' }}>
          {ack}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="engine-error" style={{ margin: 0 }}>
          {error}
        </p>
      )}
      <p className="dim" style={{ margin: 0, fontSize: 12 }}>
        Each change is also an event (CONFIG) in the stream and the recording, so the views built from the events follow
        it. Hooks off: blocking calls block their worker from now on.
      </p>
    </section>
  );
}
