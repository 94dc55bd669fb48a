#!/usr/bin/env node
// The terminal demo launcher (`npm start`, or `node native/demo.mjs`).
//
//   node native/demo.mjs [NAME [ARGS...]]   list the examples, then run NAME (default sleep_forever)
//   node native/demo.mjs --list             only list them
//
// The examples are the programs built from native/examples/*.c into
// native/build/examples/. Each one's description is the first line of the
// comment at the top of its source, " * name — what it shows". The program
// runs with this terminal as its stdin/stdout/stderr and with the current
// environment, so the engine's COROSCOPE_* variables apply, e.g.
//   COROSCOPE_HOOK=0 COROSCOPE_WORKERS=1 npm start        (never ends: Ctrl-C)
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const examplesSrc = join(here, 'examples');
const examplesBin = join(here, 'build', 'examples');
const DEFAULT = 'sleep_forever';

function die(msg, code = 1) {
  process.stderr.write(`demo: ${msg}\n`);
  process.exit(code);
}

// The sentence describing example `name`: in the first comment block of its
// source, the text after the name on the line that starts with it (or the
// next non-empty line when that is empty).
export function describe(name) {
  let src;
  try {
    src = readFileSync(join(examplesSrc, `${name}.c`), 'utf8');
  } catch {
    return '(no source in native/examples)';
  }
  const block = src.match(/\/\*([\s\S]*?)\*\//);
  if (!block) return '(no description)';
  const lines = block[1].split('\n').map((l) => l.replace(/^\s*\*?\s?/, '').trim());
  const at = lines.findIndex((l) => l === name || l.startsWith(`${name} `) || l.startsWith(`${name}:`));
  if (at < 0) return lines.find((l) => l) || '(no description)';
  const rest = lines[at].slice(name.length).replace(/^\s*(—|–|-|:)\s*/, '').trim();
  if (rest) return rest;
  return lines.slice(at + 1).find((l) => l) || '(no description)';
}

function builtExamples() {
  if (!existsSync(examplesBin)) return null;
  return readdirSync(examplesBin)
    .filter((f) => {
      try {
        const st = statSync(join(examplesBin, f));
        return st.isFile() && st.mode & 0o111;
      } catch {
        return false;
      }
    })
    .sort();
}

const args = process.argv.slice(2);
if (args[0] === '--help' || args[0] === '-h') {
  process.stdout.write(
    'usage: node native/demo.mjs [--list | NAME [ARGS...]]\n' +
      `Lists the built example programs and runs NAME (default ${DEFAULT}).\n`,
  );
  process.exit(0);
}

const names = builtExamples();
if (!names || names.length === 0) {
  die(
    `no example programs in ${relative(process.cwd(), examplesBin) || examplesBin}: build them first with ` +
      '`npm run build` (or `make -C native`), or use `npm start`, which builds and then runs the demo.',
  );
}

const width = Math.max(...names.map((n) => n.length));
process.stdout.write('Coroscope examples (native/examples):\n');
for (const n of names) process.stdout.write(`  ${n.padEnd(width)}  ${describe(n)}\n`);
if (args[0] === '--list') process.exit(0);

const name = args[0] || DEFAULT;
const extra = args.slice(1);
if (!names.includes(name)) {
  die(`there is no built example named "${name}" (the list is above).`, 2);
}

const settings = Object.entries(process.env)
  .filter(([k]) => k.startsWith('COROSCOPE_'))
  .map(([k, v]) => `${k}=${v}`);
process.stdout.write(
  `\n$ ${settings.length ? settings.join(' ') + ' ' : ''}native/build/examples/${name}${extra.length ? ' ' + extra.join(' ') : ''}\n` +
    '(its output follows; Ctrl-C stops it)\n\n',
);

const t0 = process.hrtime.bigint();
const child = spawn(join(examplesBin, name), extra, { stdio: 'inherit' });
// Ctrl-C reaches the child through the terminal's process group; a signal
// sent to this launcher alone is passed on.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('error', (err) => die(`cannot run ${name}: ${err.message}`));
child.on('exit', (code, signal) => {
  const ms = Number((process.hrtime.bigint() - t0) / 1000000n);
  const how = signal ? `was stopped by ${signal}` : `exited with status ${code}`;
  process.stdout.write(`\n${name} ${how} after ${(ms / 1000).toFixed(2)} s\n`);
  process.exit(signal ? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9 }[signal] ?? 0) : code);
});
