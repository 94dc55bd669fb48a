/**
 * Stacks of coroutines (CO_STACK) and the code mappings that give their addresses a meaning
 * (MAPPING): what a symboliser needs to turn a stack into (object, file address) pairs. Node-free;
 * the symbolising itself (libdw, in the addon) is the host's (main/engine/stacks.ts).
 *
 * A stack is a string (its text: return addresses in hex, innermost first; docs/events.md); its
 * string id's high 32 bits are the serial of the process that recorded it (several processes in
 * one stream), and so are those of each MAPPING's path: mappings are kept per serial, the newest
 * record of a range winning (an object loaded again at the same place).
 */
import type { RawEvents } from '../events/rawEvents.js';
import { Kind, StackWhy } from '../events/schema.js';
import type { StringTable } from '../events/strings.js';

export interface CodeMapping {
  start: number;
  end: number;
  /** The object's load bias: address - bias = its ELF file's virtual address. */
  bias: number;
  path: string;
  /** GNU build id, lowercase hex ('' if the object has none). */
  buildId: string;
}

/** One address of a stack, placed in its object: what to ask the symboliser. */
export interface FrameSite {
  pc: number;
  /** The file address to look up: pc - bias, minus 1 for a return address (the call is before it). */
  addr: number;
  mapping: CodeMapping | undefined;
}

const SERIAL = 4294967296;

/** The serial of the process a string id belongs to (0: the launched process). */
export function serialOf(stringId: number): number {
  return Math.floor(stringId / SERIAL);
}

/** The addresses of a stack's text ("7f00a1 55c3..."): numbers, innermost first; [] if malformed. */
export function parseStack(text: string): number[] {
  if (!text) return [];
  const out: number[] = [];
  for (const w of text.split(' ')) {
    if (!/^[0-9a-f]{1,13}$/.test(w)) return [];
    out.push(parseInt(w, 16));
  }
  return out;
}

export class CodeMap {
  private readonly bySerial = new Map<number, CodeMapping[]>();

  /** Take the MAPPING records of a batch (strings: the batch's, defined before). */
  scan(raw: RawEvents, strings: StringTable): void {
    for (let i = 0; i < raw.length; i++) {
      if (raw.kind(i) !== Kind.MAPPING) continue;
      const pathId = raw.a(i, 3);
      this.add(serialOf(pathId), {
        start: raw.a(i, 0),
        end: raw.a(i, 1),
        bias: raw.a(i, 2),
        path: strings.get(pathId),
        buildId: strings.get(raw.a(i, 4)),
      });
    }
  }

  add(serial: number, m: CodeMapping): void {
    let list = this.bySerial.get(serial);
    if (!list) this.bySerial.set(serial, (list = []));
    const same = list.findIndex((x) => x.start === m.start && x.end === m.end);
    if (same >= 0) list.splice(same, 1);
    list.push(m);
  }

  /** The mapping holding pc in process `serial` (the newest one recorded). */
  find(serial: number, pc: number): CodeMapping | undefined {
    const list = this.bySerial.get(serial);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (pc >= list[i].start && pc < list[i].end) return list[i];
    return undefined;
  }

  get size(): number {
    let n = 0;
    for (const l of this.bySerial.values()) n += l.length;
    return n;
  }

  /**
   * The sites of stack `stackId` (its text in strings): every address but the first of a stack
   * taken by a signal (preempted, on demand) is a return address, looked up one byte earlier
   * (inside the call instruction).
   */
  sites(stackId: number, why: number, strings: StringTable): FrameSite[] {
    const serial = serialOf(stackId);
    return parseStack(strings.get(stackId)).map((pc, i) => {
      const mapping = this.find(serial, pc);
      const exact = i === 0 && (why === StackWhy.PREEMPT || why === StackWhy.ON_DEMAND);
      return { pc, addr: mapping ? pc - mapping.bias - (exact ? 0 : 1) : pc, mapping };
    });
  }
}

/** A CO_STACK record as the views use it. */
export interface StackRef {
  /** Its string id (the stack's identity in this stream). */
  stack: number;
  why: number;
  frames: number;
  ts: number;
}

export { frameText, type StackFrame } from '../events/frames.js';
