import { LEGEND, type LegendEntry } from '../../data/palette.js';
import { coColour } from '../../format.js';
import { useOverlays } from '../../stores/overlays.js';

function Swatch({ e }: { e: LegendEntry }) {
  const colour = e.colour === 'coroutine' ? undefined : e.colour;
  const bg =
    e.colour === 'coroutine' ? `linear-gradient(90deg, ${[1, 2, 3, 4].map((c) => coColour(c)).join(', ')})` : colour;
  if (e.shape === 'marker')
    return <span className="legend-swatch legend-marker" style={{ borderBottomColor: colour }} aria-hidden="true" />;
  return (
    <span
      className={`legend-swatch${e.shape === 'call' ? ' legend-call' : ''}`}
      style={{ background: bg }}
      aria-hidden="true"
    />
  );
}

/** What the timeline's colours and marks mean (the same table the frames are painted from). */
export function Legend() {
  const open = useOverlays((s) => s.legend);
  if (!open) return null;
  return (
    <aside className="card legend" data-testid="timeline-legend" aria-label="Legend">
      <h2>
        Legend{' '}
        <button
          className="detail-close"
          aria-label="close the legend"
          title="close (L or Esc)"
          onClick={() => useOverlays.getState().setLegend(false)}
        >
          ×
        </button>
      </h2>
      <ul>
        {LEGEND.map((e) => (
          <li key={e.label}>
            <Swatch e={e} /> {e.label}
          </li>
        ))}
      </ul>
    </aside>
  );
}
