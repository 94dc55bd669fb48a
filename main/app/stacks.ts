/**
 * The host's answer to stackFrames: a session's stack symbolised (main/engine/stacks.ts). A live
 * session ingests every batch, so its strings and mappings are current; a loaded trace (the host
 * reads no events of it) or a stack the session has not seen yet is looked up in the session's
 * trace file, read again only when it grew since the last reading.
 */
import { statSync } from 'node:fs';
import { CodeMap, type StackFrame } from '../../core/derive/stacks.js';
import { StringTable } from '../../core/events/strings.js';
import { StackSymbols } from '../engine/stacks.js';
import { TraceReader } from '../session/traceReader.js';
import type { Session } from '../session/session.js';

export class SessionStacks {
  private readonly fileMaps = new CodeMap();
  private fileStrings = new StringTable();
  private readSize = -1;
  private symbols?: StackSymbols;

  constructor(
    private readonly session: Session,
    private readonly file: () => string | undefined,
  ) {}

  frames(stack: number, why: number): StackFrame[] {
    let strings = this.session.strings;
    let maps = this.session.codeMap;
    if (!strings.has(stack) || maps.size === 0) {
      this.readFile();
      strings = this.fileStrings;
      maps = this.fileMaps;
    }
    if (!strings.has(stack)) return [];
    this.symbols ??= new StackSymbols();
    return this.symbols.frames(stack, why, strings, maps);
  }

  private readFile(): void {
    const path = this.file();
    if (!path) return;
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return;
    }
    if (size === this.readSize) return;
    let r: TraceReader;
    try {
      r = new TraceReader(path);
    } catch {
      return;
    }
    try {
      for (const b of r.batches(65536, { reuse: true })) this.fileMaps.scan(b.raw, b.strings);
      this.fileStrings = r.strings;
      this.readSize = size;
    } finally {
      r.close();
    }
  }
}
