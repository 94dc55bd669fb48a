#!/usr/bin/env node
// The `coroscope` command (package.json "bin"): loads the bundle that
// `npm run build` makes from main/cli/main.ts (out/cli/coroscope.mjs).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundle = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'cli', 'coroscope.mjs');
if (!existsSync(bundle)) {
  process.stderr.write(`coroscope: ${bundle} is missing: run npm run build\n`);
  process.exit(3);
}
const { main } = await import(pathToFileURL(bundle).href);
const code = await main(process.argv.slice(2));
process.exitCode = code;
setTimeout(() => process.exit(code), 50).unref();
