import { useState } from 'react';
import type { ExportFormat, ExportResult, SessionStatus } from '../../../../preload/api.js';
import { getApi, errorText } from '../../api/index.js';
import { fmtBytes } from '../../format.js';

const FORMATS: { format: ExportFormat; id: string; title: string }[] = [
  { format: 'perfetto', id: 'perfetto', title: 'Perfetto' },
  { format: 'chrome-json', id: 'chrome-json', title: 'Chrome JSON' },
  { format: 'calls-csv', id: 'csv', title: 'CSV' },
  { format: 'native', id: 'native', title: 'Trace' },
];

/** Export the session; shows the written path (Electron) or a download link (serve). */
export function ExportButtons({ session }: { session: SessionStatus }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<(ExportResult & { format: string }) | null>(null);
  const [error, setError] = useState('');
  const run = async (format: ExportFormat) => {
    setBusy(true);
    setError('');
    setResult(null);
    try {
      setResult({ ...(await getApi().exportSession(session.id, format)), format });
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span style={{ display: 'flex', gap: 4, alignItems: 'center' }}>
      <span className="dim">Export:</span>
      {FORMATS.map((f) => (
        <button key={f.id} data-testid={`export-${f.id}`} disabled={busy} onClick={() => run(f.format)}>
          {f.title}
        </button>
      ))}
      {result && (
        <span data-testid="export-result">
          {result.url ? (
            <a href={result.url} download style={{ color: 'var(--accent)' }}>
              download {result.format}
            </a>
          ) : (
            <code>{result.path}</code>
          )}{' '}
          <span className="dim">({fmtBytes(result.bytes)})</span>
        </span>
      )}
      {error && (
        <span className="error" data-testid="export-error">
          {error}
        </span>
      )}
    </span>
  );
}
