/**
 * Exporting a session to a file in the host's export folder, always from
 * the session's trace file (the host holds no events), streaming one batch
 * at a time: a live session's export holds what the file holds so far;
 * 'native' copies the .cstrace (once the session ended and the file is
 * closed).
 *
 * Invariants: the output path is chosen here (never by the caller) inside
 * the export folder; a failed export leaves no file (exportToFile removes
 * it; a failed copy is removed too).
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ExportFormat } from '../../preload/api.js';
import { exportToFile } from '../export/file.js';
import { TraceReader } from '../session/traceReader.js';
import { HostError } from './errors.js';
import type { SessionEntry } from './entry.js';

const EXT: Record<ExportFormat, string> = {
  perfetto: '.perfetto-trace',
  'chrome-json': '.json',
  'calls-csv': '.calls.csv',
  native: '.cstrace',
};

/** Writes the export; resolves with the file and its size. */
export async function exportEntry(
  e: SessionEntry,
  format: ExportFormat,
  dir: string,
): Promise<{ path: string; bytes: number }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const s = e.session;
  const base =
    basename(s.recordPath ?? e.name)
      .replace(/\.cstrace$/, '')
      .replace(/[^A-Za-z0-9._-]/g, '_') || 'session';
  const out = join(dir, `${base}-${e.id}${EXT[format]}`);
  if (format === 'native') {
    if (!s.recordPath || e.privateFile)
      throw new HostError('bad-request', 'this session was not recorded: there is no trace file to save');
    if (!e.ended)
      throw new HostError('busy', 'the recording is still being written; export it once the session has ended');
    try {
      await copyFile(s.recordPath, out);
    } catch (err) {
      await rm(out, { force: true });
      throw new HostError('internal', `cannot copy ${s.recordPath}: ${(err as Error).message}`);
    }
  } else {
    if (!e.file)
      throw new HostError(
        'bad-request',
        'this session has no trace file to export from (its recording could not start)',
      );
    let r: TraceReader;
    try {
      r = new TraceReader(e.file);
    } catch (err) {
      throw new HostError('bad-trace', (err as Error).message);
    }
    try {
      await exportToFile(format, r.batches(), out, { pid: r.info.pid || s.pid || undefined });
    } finally {
      r.close();
    }
  }
  return { path: out, bytes: (await stat(out)).size };
}
