import { useSessions, selectActive } from '../stores/sessions.js';
import { useUi, VIEWS } from '../stores/ui.js';
import { StartView } from './start/StartView.js';
import { TimelineView } from './timeline/TimelineView.js';
import { SchedulerView } from './scheduler/SchedulerView.js';
import { CoroutinesView } from './coroutines/CoroutinesView.js';
import { CallsView } from './calls/CallsView.js';
import { PreemptionsView } from './preemptions/PreemptionsView.js';
import { OutputView } from './output/OutputView.js';
import { InsightsView } from './insights/InsightsView.js';
import { CompareView } from './compare/CompareView.js';
import { StatusBar } from './session/StatusBar.js';
import { SessionPicker } from './session/SessionPicker.js';
import { Controls } from './session/Controls.js';
import { ExportButtons } from './session/ExportButtons.js';
import { EnginePanel } from './session/EnginePanel.js';
import { useEngineSettings } from '../stores/engineSettings.js';
import { ShortcutsOverlay } from './ShortcutsOverlay.js';
import { SearchBox } from './search/SearchBox.js';

export function App() {
  const view = useUi((s) => s.view);
  const setView = useUi((s) => s.setView);
  const active = useSessions(selectActive);
  const connection = useSessions((s) => s.connection);
  const engineOpen = useEngineSettings((s) => s.open);
  return (
    <div className="app">
      <div className="topbar">
        <div className="tabs" role="tablist">
          {VIEWS.map((v) => (
            <button
              key={v.name}
              role="tab"
              aria-selected={view === v.name}
              data-testid={`view-tab-${v.name}`}
              onClick={() => setView(v.name)}
            >
              {v.title}
            </button>
          ))}
        </div>
        <SessionPicker />
        {active && <SearchBox key={`search-${active.id}`} sessionId={active.id} />}
        {active && <Controls session={active} />}
        {active && <ExportButtons key={`export-${active.id}`} session={active} />}
        {connection !== 'open' && (
          <span className="error" data-testid="connection">
            {connection === 'closed' ? 'disconnected — retrying…' : 'connecting…'}
          </span>
        )}
      </div>
      {engineOpen && active && <EnginePanel session={active} />}
      <div className={view === 'timeline' ? 'main fill' : 'main'}>
        {view === 'start' && <StartView />}
        {view !== 'start' && view !== 'compare' && !active && (
          <p className="dim" data-testid="no-session">
            No session yet: start one from the Start tab.
          </p>
        )}
        {view === 'timeline' && active && <TimelineView sessionId={active.id} />}
        {view === 'scheduler' && active && <SchedulerView sessionId={active.id} />}
        {view === 'coroutines' && active && <CoroutinesView sessionId={active.id} />}
        {view === 'calls' && active && <CallsView sessionId={active.id} />}
        {view === 'preemptions' && active && <PreemptionsView sessionId={active.id} />}
        {view === 'output' && active && <OutputView sessionId={active.id} />}
        {view === 'insights' && active && <InsightsView sessionId={active.id} />}
        {view === 'compare' && <CompareView />}
      </div>
      <StatusBar session={active} />
      <ShortcutsOverlay />
    </div>
  );
}
