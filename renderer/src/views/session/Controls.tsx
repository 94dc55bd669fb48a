import { useState } from 'react';
import type { ControlCommand, SessionStatus } from '../../../../preload/api.js';
import { getApi, errorText } from '../../api/index.js';
import { useEngineSettings } from '../../stores/engineSettings.js';

/** Pause / step / resume (and kill) for a live session, and the Engine settings panel's button. */
export function Controls({ session }: { session: SessionStatus }) {
  const [error, setError] = useState('');
  const [paused, setPaused] = useState(false);
  const engineOpen = useEngineSettings((s) => s.open);
  const live = session.state === 'running' && session.kind !== 'replay';
  if (!live) return null;
  const send = async (cmd: ControlCommand) => {
    setError('');
    try {
      await getApi().control(session.id, cmd);
      if (cmd.op === 'pause' || cmd.op === 'step') setPaused(true);
      if (cmd.op === 'resume') setPaused(false);
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
      <button data-testid="control-pause" disabled={paused} onClick={() => send({ op: 'pause' })}>Pause</button>
      <button data-testid="control-step" onClick={() => send({ op: 'step', n: 1 })}>Step</button>
      <button data-testid="control-resume" disabled={!paused} onClick={() => send({ op: 'resume' })}>Resume</button>
      {session.kind === 'launched' && <button data-testid="control-kill" onClick={kill}>Kill</button>}
      <button data-testid="control-engine" aria-pressed={engineOpen} title="time slice, preemption and hooks, changed while it runs"
        onClick={() => useEngineSettings.getState().setOpen(!engineOpen)}>Engine…</button>
      {error && <span className="error" data-testid="control-error">{error}</span>}
    </span>
  );
}
