import { useState } from 'react';
import type { SessionStatus } from '../../../../preload/api.js';
import { getApi, errorText } from '../../api/index.js';
import { useEngineSettings } from '../../stores/engineSettings.js';

/** Pause / step / resume (and kill) for a live session, and the Engine settings panel's button. */
export function Controls({ session }: { session: SessionStatus }) {
  const [error, setError] = useState('');
  const [paused, setPaused] = useState(false);
  const engineOpen = useEngineSettings((s) => s.open);
  const live = session.state === 'running' && session.kind !== 'replay';
  if (!live) return null;
  /** One control request; once the engine has answered, the target is paused or not. */
  const send = async (request: () => Promise<unknown>, pausedAfter: boolean) => {
    setError('');
    try {
      await request();
      setPaused(pausedAfter);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const kill = async () => {
    setError('');
    try {
      await getApi().kill(session.id);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <span style={{ display: 'flex', gap: 4, alignItems: 'center' }} data-testid="controls">
      <button
        data-testid="control-pause"
        disabled={paused}
        onClick={() => send(() => getApi().pause(session.id), true)}
      >
        Pause
      </button>
      <button data-testid="control-step" onClick={() => send(() => getApi().step(session.id, 1), true)}>
        Step
      </button>
      <button
        data-testid="control-resume"
        disabled={!paused}
        onClick={() => send(() => getApi().resume(session.id), false)}
      >
        Resume
      </button>
      {session.kind === 'launched' && (
        <button data-testid="control-kill" onClick={kill}>
          Kill
        </button>
      )}
      <button
        data-testid="control-engine"
        aria-pressed={engineOpen}
        title="time slice, preemption and hooks, changed while it runs"
        onClick={() => useEngineSettings.getState().setOpen(!engineOpen)}
      >
        Engine…
      </button>
      {error && (
        <span className="error" data-testid="control-error">
          {error}
        </span>
      )}
    </span>
  );
}
