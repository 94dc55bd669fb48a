/**
 * Finding the processes that run the engine: each one has a control socket
 * <runtime dir>/<pid>.sock (native/wire/control_path.h). A socket whose pid
 * is dead, or now belongs to a process without the engine, is stale (the
 * process was killed before it could remove it) and is not listed. Readable by the same user only, like the sockets themselves.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { addon } from './addon.js';

export interface EngineProcess {
  pid: number;
  exe: string;
  cmdline: string[];
  /** Wall-clock start time of the process (ms since the epoch). */
  startedAt: number;
  socket: string;
}

/** Where the engines' control sockets are: the native rule (native/wire/control_path.h), not a copy of it. */
export function runtimeDirs(): string[] {
  return addon().controlDirs();
}

function bootTimeMs(): number {
  const stat = readFileSync('/proc/stat', 'utf8');
  const m = /^btime (\d+)$/m.exec(stat);
  return m ? Number(m[1]) * 1000 : 0;
}

/** Start time from /proc/PID/stat field 22 (clock ticks since boot; 100 Hz on Linux). */
function startedAt(pid: number, boot: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return boot + (Number(fields[19]) * 1000) / 100;
}

export function describeProcess(pid: number, socket = ''): EngineProcess | undefined {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmdline.at(-1) === '') cmdline.pop();
    let exe = '';
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      exe = cmdline[0] ?? '';
    }
    return { pid, exe, cmdline, startedAt: startedAt(pid, bootTimeMs()), socket };
  } catch {
    return undefined; // gone
  }
}

/** The engine library is mapped in pid (a socket of a dead process whose pid was reused is not enough). */
function runsEngine(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('/libcoroscope.so');
  } catch {
    return false;
  }
}

/** Every live process with an engine control socket and the engine loaded, by pid. */
export function listEngineProcesses(): EngineProcess[] {
  const seen = new Map<number, EngineProcess>();
  for (const dir of runtimeDirs()) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^(\d+)\.sock$/.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (seen.has(pid) || pid === process.pid) continue;
      const p = runsEngine(pid) ? describeProcess(pid, join(dir, name)) : undefined;
      if (p) seen.set(pid, p);
    }
  }
  return [...seen.values()].sort((a, b) => a.pid - b.pid);
}
