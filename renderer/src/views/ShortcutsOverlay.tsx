import { useEffect } from 'react';
import { useOverlays } from '../stores/overlays.js';
import { useUi, VIEWS } from '../stores/ui.js';
import { SHORTCUTS, typing } from './shortcuts.js';

/** The `?` list of every keyboard shortcut, and the keys that work in every view. */
export function ShortcutsOverlay() {
  const open = useOverlays((s) => s.help);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      const o = useOverlays.getState();
      const ui = useUi.getState();
      if (e.key === '?') o.setHelp(!o.help);
      else if (e.key === 'Escape' && (o.help || o.legend)) {
        o.setHelp(false);
        o.setLegend(false);
      } else if ((e.key === 'l' || e.key === 'L') && ui.view === 'timeline') o.setLegend(!o.legend);
      else if (/^[1-9]$/.test(e.key) && +e.key <= VIEWS.length) ui.setView(VIEWS[+e.key - 1].name);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  if (!open) return null;
  return (
    <div className="overlay" data-testid="shortcuts" role="dialog" aria-label="Keyboard shortcuts">
      <div className="card overlay-card">
        <h2>
          Keyboard shortcuts{' '}
          <button
            className="detail-close"
            data-testid="shortcuts-close"
            aria-label="close"
            onClick={() => useOverlays.getState().setHelp(false)}
          >
            ×
          </button>
        </h2>
        <table>
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={`${s.keys} ${s.where}`}>
                <td>
                  <kbd>{s.keys}</kbd>
                </td>
                <td>{s.does}</td>
                <td className="dim">{s.where}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
