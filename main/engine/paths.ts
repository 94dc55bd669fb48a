/**
 * Where the native build lives: native/build of the package this file
 * belongs to, found by walking up from here (works from the sources under
 * tsx and from the bundled output alike). COROSCOPE_NATIVE_DIR overrides.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new Error('cannot find the Coroscope package root (no package.json with native/ above this file)');
    dir = up;
  }
}

export function nativeDir(): string {
  if (cached) return cached;
  const env = process.env.COROSCOPE_NATIVE_DIR;
  cached = env ? resolve(env) : join(packageRoot(), 'native', 'build');
  return cached;
}

export const enginePath = (): string => join(nativeDir(), 'libcoroscope.so');
export const addonPath = (): string => join(nativeDir(), 'coroscope.node');
export const examplesDir = (): string => join(nativeDir(), 'examples');
