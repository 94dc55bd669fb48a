// What the engine's Node-run tests share: where the build is, a clean
// environment for the programs they start, compiling a test program against
// the engine, and an echo server that says its port. No tests here.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const here = dirname(fileURLToPath(import.meta.url));
export const build = resolve(process.env.COROSCOPE_TEST_BUILD_DIR || join(here, '..', 'build'));
export const examples = join(build, 'examples');
export const dump = join(build, 'coroscope-dump');

/** This process's environment without any engine setting, plus `extra`. */
export function cleanEnv(extra = {}) {
  const e = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('COROSCOPE_') && k !== 'LD_PRELOAD') e[k] = v;
  return { ...e, ...extra };
}

/** The C compiler for test programs and its flags: COROSCOPE_TEST_CC (e.g. "clang -fsanitize=thread",
 *  to match a sanitizer build in COROSCOPE_TEST_BUILD_DIR), default "cc". */
export function testCompiler() {
  const words = (process.env.COROSCOPE_TEST_CC || 'cc').split(/\s+/).filter(Boolean);
  return { cc: words[0], flags: words.slice(1) };
}

/** Compile the C file `src` against libcoroscope (and `libs`, e.g. ['-lcrypto']) into exe; exe. */
export function compileAgainstEngine(src, exe, libs = []) {
  const { cc, flags } = testCompiler();
  const r = spawnSync(cc, [...flags, '-O1', '-I', join(here, '..', 'engine', 'include'), src,
    '-o', exe, '-L', build, '-lcoroscope', `-Wl,-rpath,${build}`, ...libs], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return exe;
}

/** Compile native/test/progs/NAME.c against libcoroscope (and `libs`, e.g. ['-lcrypto']) into dir; its path. */
export function compileProg(name, dir, libs = []) {
  return compileAgainstEngine(join(here, 'progs', `${name}.c`), join(dir, name), libs);
}

/** examples/echo_server on a free port with env (see cleanEnv): the process and its port. */
export async function startEchoServer(env) {
  const server = spawn(join(examples, 'echo_server'), ['--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise((res, rej) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) res(m[1]);
    });
    server.on('exit', () => rej(new Error('echo_server exited early')));
  });
  return { server, port };
}

/** The CALL lines of a trace as { co, hook, args, ret, ms, parked, blocked }. */
export function traceCalls(file) {
  const d = spawnSync(dump, [file], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  assert.equal(d.status, 0, d.stderr);
  const out = [];
  const re = /^\S+ \S+ co#\d+ "([^"]*)" (\w+)\(([^)]*)\) = (.+?) <([\d.]+)(ns|us|ms|s)>( parked)?( BLOCKED-WORKER)?$/;
  const scale = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000 };
  for (const line of d.stdout.split('\n')) {
    const m = re.exec(line);
    if (m) out.push({ co: m[1], hook: m[2], args: m[3], ret: m[4], ms: Number(m[5]) * scale[m[6]], parked: !!m[7], blocked: !!m[8] });
  }
  return out;
}
