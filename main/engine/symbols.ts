/**
 * Source lines of code addresses in a live process, where symbols allow it:
 * the mapping that holds the address (/proc/PID/maps), its file-relative
 * address, then binutils' addr2line on that file (the program's own debug
 * information, e.g. built with -g). No addr2line, no debug info or a gone
 * process: no line (never an error).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import type { SnapshotReply } from '../../core/engine/controlReplies.js';

interface Mapping {
  start: number;
  end: number;
  offset: number;
  path: string;
}

function mappings(pid: number): Mapping[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return [];
  }
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(\/.*)$/.exec(line);
    if (m) out.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16), offset: parseInt(m[3], 16), path: m[4] });
  }
  return out;
}

/** ET_EXEC programs are linked at fixed addresses; everything else (PIE, shared objects) is relative. */
function isFixed(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    const b = Buffer.alloc(18);
    readSync(fd, b, 0, 18, 0);
    closeSync(fd);
    return b.readUInt16LE(16) === 2;
  } catch {
    return false;
  }
}

export interface SourceLine {
  /** "sleep_forever.c:29" */
  line: string;
  function: string;
  file: string;
}

/** pc values are return addresses (the instruction after the call): the line of the call is at pc - 1. */
export function sourceLines(pid: number, pcs: readonly number[]): Map<number, SourceLine> {
  const out = new Map<number, SourceLine>();
  const maps = mappings(pid);
  const byFile = new Map<string, { pc: number; addr: number }[]>();
  for (const pc of new Set(pcs)) {
    const m = maps.find((x) => pc >= x.start && pc < x.end);
    if (!m) continue;
    const addr = isFixed(m.path) ? pc - 1 : pc - 1 - m.start + m.offset;
    const list = byFile.get(m.path) ?? [];
    list.push({ pc, addr });
    byFile.set(m.path, list);
  }
  for (const [file, list] of byFile) {
    const r = spawnSync('addr2line', ['-f', '-C', '-e', file, ...list.map((x) => '0x' + x.addr.toString(16))], {
      encoding: 'utf8',
      timeout: 5000,
    });
    if (r.status !== 0 || !r.stdout) continue;
    const lines = r.stdout.split('\n');
    list.forEach((x, i) => {
      const fn = lines[2 * i] ?? '??';
      const loc = lines[2 * i + 1] ?? '??:0';
      const m = /^(.*):(\d+)/.exec(loc);
      if (!m || m[1] === '??' || m[2] === '0') return;
      out.set(x.pc, { line: `${basename(m[1])}:${m[2]}`, function: fn, file: m[1] });
    });
  }
  return out;
}

/** The snapshot with `source` and `function` added to each wait that has a call site. */
export function withSourceLines(s: SnapshotReply, pid: number): SnapshotReply {
  const pcs = s.coroutines.flatMap((c) => (c.wait?.pc ? [c.wait.pc] : []));
  if (!pcs.length) return s;
  const lines = sourceLines(pid, pcs);
  for (const c of s.coroutines) {
    const l = c.wait?.pc ? lines.get(c.wait.pc) : undefined;
    if (l && c.wait) Object.assign(c.wait, { source: l.line, function: l.function });
  }
  return s;
}
