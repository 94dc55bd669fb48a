/**
 * Checks a command before it is launched under the engine, so the user gets
 * a plain answer instead of a program that silently runs unobserved:
 * not found, not executable, not a program, a static binary (LD_PRELOAD
 * cannot load the engine into it), a 32-bit or foreign-architecture binary.
 * Scripts (#!) are checked through their interpreter.
 */
import { accessSync, constants, openSync, readSync, closeSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export type ExecProblem = 'not-found' | 'not-executable' | 'not-a-program' | 'static' | 'wrong-arch' | 'is-directory';

export class ExecError extends Error {
  constructor(
    readonly problem: ExecProblem,
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ExecError';
  }
}

/** Resolve cmd like execvp does (a name with no slash is looked up in PATH). */
export function resolveCommand(cmd: string, cwd = process.cwd(), path = process.env.PATH ?? '/usr/bin:/bin'): string {
  if (!cmd) throw new ExecError('not-found', 'no command given', cmd);
  if (cmd.includes('/')) {
    const p = isAbsolute(cmd) ? cmd : resolve(cwd, cmd);
    try {
      statSync(p);
    } catch {
      throw new ExecError('not-found', `${cmd}: no such file`, p);
    }
    return p;
  }
  let found: string | undefined;
  for (const dir of path.split(delimiter)) {
    const p = join(dir ? resolve(cwd, dir) : cwd, cmd);
    try {
      const st = statSync(p);
      if (!st.isFile()) continue;
      found ??= p;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next directory */
    }
  }
  if (found) return found; // exists but not executable: checkExecutable says so
  throw new ExecError('not-found', `${cmd}: command not found (searched PATH)`, cmd);
}

function readHead(p: string, n: number, at = 0): Buffer {
  const fd = openSync(p, 'r');
  try {
    const b = Buffer.alloc(n);
    const k = readSync(fd, b, 0, n, at);
    return b.subarray(0, k);
  } finally {
    closeSync(fd);
  }
}

export interface ExecInfo {
  path: string;
  kind: 'elf' | 'script';
  interpreter?: string; // the ELF interpreter (dynamic loader) or the script's #! program
}

/** Throws ExecError when the engine could not observe this program. */
export function checkExecutable(p: string, depth = 0): ExecInfo {
  let st;
  try {
    st = statSync(p);
  } catch {
    throw new ExecError('not-found', `${p}: no such file`, p);
  }
  if (st.isDirectory()) throw new ExecError('is-directory', `${p} is a directory, not a program`, p);
  try {
    accessSync(p, constants.X_OK);
  } catch {
    throw new ExecError('not-executable', `${p} is not executable (chmod +x?)`, p);
  }
  const head = readHead(p, 64);
  if (head[0] === 0x23 && head[1] === 0x21) return checkScript(p, depth);
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46)
    throw new ExecError('not-a-program', `${p} is neither an ELF program nor a #! script`, p);
  if (head[4] !== 2)
    throw new ExecError('wrong-arch', `${p} is a 32-bit program; the engine is 64-bit (x86-64) only`, p);
  const machine = head.readUInt16LE(18);
  if (machine !== 0x3e) throw new ExecError('wrong-arch', `${p} is not an x86-64 program (ELF machine ${machine})`, p);
  const phoff = Number(head.readBigUInt64LE(0x20));
  const phentsize = head.readUInt16LE(0x36);
  const phnum = head.readUInt16LE(0x38);
  const ph = readHead(p, phentsize * phnum, phoff);
  for (let i = 0; i + 1 <= phnum && (i + 1) * phentsize <= ph.length; i++) {
    if (ph.readUInt32LE(i * phentsize) !== 3) continue; // PT_INTERP
    const off = Number(ph.readBigUInt64LE(i * phentsize + 8));
    const size = Number(ph.readBigUInt64LE(i * phentsize + 32));
    const interp = readHead(p, Math.min(size, 4096), off).toString('latin1').replace(/\0.*$/s, '');
    return { path: p, kind: 'elf', interpreter: interp };
  }
  throw new ExecError(
    'static',
    `${p} is statically linked: the engine is loaded with LD_PRELOAD, which a static program never reads, ` +
      'so it cannot be observed. Link it dynamically (or link it with libcoroscope).',
    p,
  );
}

function checkScript(p: string, depth: number): ExecInfo {
  const line = readHead(p, 256).toString('latin1').split('\n')[0].slice(2).trim();
  const [prog, arg] = line.split(/\s+/, 2);
  if (!prog) throw new ExecError('not-a-program', `${p}: empty #! line`, p);
  if (depth > 2) throw new ExecError('not-a-program', `${p}: #! interpreters nest too deep`, p);
  // "#!/usr/bin/env python3": the program that will really run is python3.
  const target = prog.endsWith('/env') && arg && !arg.startsWith('-') ? resolveCommand(arg) : prog;
  try {
    checkExecutable(target, depth + 1);
  } catch (e) {
    if (e instanceof ExecError) throw new ExecError(e.problem, `${p} runs ${target}: ${e.message}`, p);
    throw e;
  }
  return { path: p, kind: 'script', interpreter: target };
}
