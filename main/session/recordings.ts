/**
 * Where live sessions are recorded by default: $COROSCOPE_RECORDINGS, else
 * $XDG_DATA_HOME/coroscope/recordings, else ~/.local/share/coroscope/recordings
 * (created 0700: traces show what a program did). One file per session,
 * named after the program and the start time.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/** The directory cannot be made (its message names it and says how to choose another). */
export class RecordingsDirError extends Error {}

export function recordingsDir(): string {
  const dir =
    process.env.COROSCOPE_RECORDINGS ??
    join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'coroscope', 'recordings');
  try {
    makeDirs(resolve(dir), 0o700);
  } catch (e) {
    throw new RecordingsDirError(
      `cannot create the recordings directory ${dir} (${(e as Error).message}): set COROSCOPE_RECORDINGS to a directory you can write, or do not record (--no-record)`,
    );
  }
  return dir;
}

/**
 * mkdir -p, one component at a time. Not `mkdirSync(dir, { recursive: true })`: Node's loops
 * forever at 100 % CPU under /proc (mkdir gives ENOENT there, and it retries the parent).
 */
function makeDirs(dir: string, mode: number): void {
  try {
    mkdirSync(dir, { mode });
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`, { cause: e });
      return;
    }
    if (code !== 'ENOENT' || dirname(dir) === dir) throw e;
  }
  makeDirs(dirname(dir), mode);
  mkdirSync(dir, { mode }); // the parent exists now: a second ENOENT is real (procfs), and thrown
}

export function defaultRecordingPath(cmd: string, now = new Date()): string {
  const name = basename(cmd).replace(/[^A-Za-z0-9._-]/g, '_') || 'session';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  let path = join(recordingsDir(), `${name}-${stamp}.cstrace`);
  for (let i = 2; exists(path); i++) path = join(recordingsDir(), `${name}-${stamp}-${i}.cstrace`);
  return path;
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

export interface Recording {
  path: string;
  name: string;
  bytes: number;
  modified: number;
}

/** Recent recordings, newest first. */
export function listRecordings(limit = 50): Recording[] {
  const dir = recordingsDir();
  return readdirSync(dir)
    .filter((n) => n.endsWith('.cstrace'))
    .map((n) => {
      const st = statSync(join(dir, n));
      return { path: join(dir, n), name: n, bytes: st.size, modified: st.mtimeMs };
    })
    .sort((a, b) => b.modified - a.modified)
    .slice(0, limit);
}
