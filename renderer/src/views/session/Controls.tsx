import type { SessionStatus } from '../../../../preload/api.js';
import { selectControlError, selectPaused, useRunControl } from '../../stores/runControl.js';
import { useEngineSettings } from '../../stores/engineSettings.js';

/** Pause / step / resume (and kill) for a live session — the one row of run controls — and the Engine settings panel's button. */
export function Controls({ session }: { session: SessionStatus }) {
  const paused = useRunControl(selectPaused(session.id));
  const error = useRunControl(selectControlError(session.id));
  const engineOpen = useEngineSettings((s) => s.open);
  const live = session.state === 'running' && session.kind !== 'replay';
  if (!live) return null;
  const rc = useRunControl.getState();
  return (
    <span style={{ display: 'flex', gap: 4, alignItems: 'center' }} data-testid="controls">
      <button data-testid="control-pause" disabled={paused} onClick={() => void rc.pause(session.id)}>
        Pause
      </button>
      <button data-testid="control-step" onClick={() => void rc.step(session.id, 1)}>
        Step
      </button>
      <button data-testid="control-resume" disabled={!paused} onClick={() => void rc.resume(session.id)}>
        Resume
      </button>
      {session.kind === 'launched' && (
        <button data-testid="control-kill" onClick={() => void rc.kill(session.id)}>
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
