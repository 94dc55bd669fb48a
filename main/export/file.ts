/**
 * Exporting straight to a file: opens it (mode 0600: an export holds what the
 * trace held), runs one exporter, closes it, and removes the partial file if
 * the export fails (no half-written trace is left behind looking valid).
 */
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { exportCallStatsCsv, type CallStatsSummary } from '../../core/export/callStats.js';
import { exportChromeJson, type ChromeSummary } from '../../core/export/chromeJson.js';
import { exportPerfetto, type PerfettoSummary } from '../../core/export/perfetto.js';
import type { Batches, ExportOptions } from '../../core/export/output.js';
import { writableSink } from './nodeSink.js';

export type ExportFormat = 'perfetto' | 'chrome-json' | 'calls-csv';

export interface ExportSummaries {
  perfetto: PerfettoSummary;
  'chrome-json': ChromeSummary;
  'calls-csv': CallStatsSummary;
}

/** Bytes the stream may hold before the exporter waits for it. */
const WRITE_AHEAD = 8 << 20;

const exporters = { perfetto: exportPerfetto, 'chrome-json': exportChromeJson, 'calls-csv': exportCallStatsCsv };

export async function exportToFile<F extends ExportFormat>(
  format: F,
  batches: Batches,
  path: string,
  opts: ExportOptions = {},
): Promise<ExportSummaries[F]> {
  // Private to the user (0600), like the traces it comes from; an existing file is made private too.
  const fh = await open(path, 'w', 0o600);
  try {
    await fh.chmod(0o600);
  } catch {
    // not ours to chmod (a shared file we may write): left as it is
  }
  // Room for a few of the exporters' 1 MB chunks: the exporter goes on with the next batch while the
  // file takes the last ones (at the default 16 KB it waited for every chunk to reach the disk).
  const out = createWriteStream('', { fd: fh, highWaterMark: WRITE_AHEAD });
  out.on('error', () => {}); // reported by the exporter's next write or drain, or by finished()
  try {
    const summary = await exporters[format](batches, writableSink(out), opts);
    out.end();
    await finished(out);
    return summary as ExportSummaries[F];
  } catch (err) {
    out.destroy();
    await finished(out).catch(() => {}); // closed (and opened, if the open was still pending) before removing
    await rm(path, { force: true });
    throw err;
  }
}
