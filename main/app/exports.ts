/**
 * Exporting a session to a file in the host's export folder: from the
 * session's recording when it is complete (the session ended), otherwise
 * from the batches the host holds in memory; 'native' copies the .cstrace.
 *
 * Invariants: the output path is chosen here (never by the caller) inside
 * the export folder; a failed export leaves no file (exportToFile removes
 * it; a failed copy is removed too).
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ExportFormat } from '../../preload/api.js';
import { RawEvents } from '../core/events/rawEvents.js';
import { exportToFile } from '../core/export/file.js';
import type { EventBatch } from '../core/model/timeline.js';
import { TraceReader } from '../core/session/traceReader.js';
import { HostError } from './errors.js';
import type { SessionEntry } from './entry.js';

const EXT: Record<ExportFormat, string> = {
  'perfetto': '.perfetto-trace', 'chrome-json': '.json', 'calls-csv': '.calls.csv', 'native': '.cstrace',
};

/** Writes the export; resolves with the file and its size. */
export async function exportEntry(e: SessionEntry, format: ExportFormat, dir: string): Promise<{ path: string; bytes: number }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const s = e.session;
  const base = basename(s.recordPath ?? e.name).replace(/\.cstrace$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'session';
  const out = join(dir, `${base}-${e.id}${EXT[format]}`);
  if (format === 'native') {
    if (!s.recordPath) throw new HostError('bad-request', 'this session was not recorded: there is no trace file to save');
    if (!e.ended) throw new HostError('busy', 'the recording is still being written; export it once the session has ended');
    try {
      await copyFile(s.recordPath, out);
    } catch (err) {
      await rm(out, { force: true });
      throw new HostError('internal', `cannot copy ${s.recordPath}: ${(err as Error).message}`);
    }
  } else if (e.ended && s.recordPath) {
    let r: TraceReader;
    try {
      r = new TraceReader(s.recordPath);
    } catch (err) {
      throw new HostError('bad-trace', (err as Error).message);
    }
    try {
      await exportToFile(format, r.batches(), out, { pid: r.info.pid || undefined });
    } finally {
      r.close();
    }
  } else {
    const batches: EventBatch[] = e.history.map((b) => ({ raw: new RawEvents(b.events), strings: s.strings }));
    await exportToFile(format, batches, out, { pid: s.pid || undefined });
  }
  return { path: out, bytes: (await stat(out)).size };
}
