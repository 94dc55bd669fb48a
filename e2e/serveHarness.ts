// Starts `coroscope serve` (the built CLI) with private runtime and
// recordings folders, and gives its token URL; stops it afterwards.
import { test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const example = (name: string): string => join(root, 'native', 'build', 'examples', name);
export const artifacts = join(root, 'test-results', 'screenshots');

export interface Served {
  url: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function serve(): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'coroscope-e2e-'));
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  mkdirSync(artifacts, { recursive: true });
  const env = { ...process.env, XDG_RUNTIME_DIR: join(dir, 'run'), COROSCOPE_RECORDINGS: join(dir, 'recordings') };
  const child: ChildProcess = spawn(process.execPath, [join(root, 'out', 'cli', 'coroscope.mjs'), 'serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(out);
      if (m) res(m[1]);
    });
    child.on('exit', (code) => rej(new Error(`coroscope serve exited (${code}): ${err}`)));
  });
  return {
    url,
    dir,
    env,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One `coroscope serve` for a spec file: started before its first test, stopped after its last. */
export function servedForFile(): () => Served {
  let served: Served | undefined;
  test.beforeAll(async () => {
    served = await serve();
  });
  test.afterAll(async () => {
    await served?.stop();
  });
  return () => {
    if (!served) throw new Error('coroscope serve is not running (used outside a test?)');
    return served;
  };
}
