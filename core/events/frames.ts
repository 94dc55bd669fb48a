/**
 * A symbolised stack frame and its one-line text: what the host's stackFrames answers and what the
 * CLI, the coroutine detail and the timeline's hover print (outside core/derive: the page imports it).
 */

/** A symbolised frame. */
export interface StackFrame {
  pc: number;
  /** '' unknown */
  function: string;
  /** The source file's name ('' unknown) and line (0 unknown). */
  file: string;
  line: number;
  /** The object's file name (libc.so.6, the program). */
  object: string;
  /** Inlined into the next frame (same pc). */
  inlined: boolean;
}

/** "wait_for_byte (stack_sites.c:19)", "?? (libfoo.so+0x1a2b)" — one line of a stack. */
export function frameText(f: StackFrame): string {
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const where = f.file ? `${base(f.file)}${f.line ? `:${f.line}` : ''}` : f.object ? base(f.object) : '';
  const fn = f.function || `0x${f.pc.toString(16)}`;
  return `${fn}${where ? ` (${where})` : ''}${f.inlined ? ' [inlined]' : ''}`;
}
