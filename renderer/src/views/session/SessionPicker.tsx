import { useState } from 'react';
import { getApi, errorText } from '../../api/index.js';
import { useSessions } from '../../stores/sessions.js';
import { dropSessionData } from '../../stores/data.js';

/** Which session the views show; close it. */
export function SessionPicker() {
  const list = useSessions((s) => s.list);
  const activeId = useSessions((s) => s.activeId);
  const setActive = useSessions((s) => s.setActive);
  const remove = useSessions((s) => s.remove);
  const [error, setError] = useState('');
  if (!list.length) return null;
  const close = async () => {
    if (!activeId) return;
    setError('');
    try {
      await getApi().closeSession(activeId);
      remove(activeId);
      dropSessionData(activeId);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <span style={{ display: 'flex', gap: 4, alignItems: 'center' }}>
      <select data-testid="session-select" value={activeId ?? ''} onChange={(e) => setActive(e.target.value || null)}>
        {list.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name} ({s.pid || s.kind}) — {s.state}
          </option>
        ))}
      </select>
      <button
        data-testid="session-close"
        onClick={close}
        title="Stop reading this session (a launched target keeps running)"
      >
        Close
      </button>
      {error && (
        <span className="error" data-testid="session-error">
          {error}
        </span>
      )}
    </span>
  );
}
