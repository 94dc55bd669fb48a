/**
 * The `coroscope` command line: run / record / ps / attach / export / stats /
 * dump / demo / help. Everything is done by core/ and main/ (engine, session, export); this file parses the
 * arguments, maps failures to exit codes and prints.
 *
 * Exit codes: 0 ok; 1 the program failed (run/record: the target's own code,
 * 128+signal when killed); 2 usage error; 3 cannot run or attach; 4 bad or
 * corrupt file.
 */
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Session } from '../session/session.js';
import { TraceReader } from '../session/traceReader.js';
import { ExecError } from '../engine/executable.js';
import { AttachError } from '../engine/launch.js';
import { listEngineProcesses } from '../engine/discover.js';
import { findDemo, listDemos, startCompanion } from '../app/demos.js';
import type { Demo } from '../../preload/api.js';
import { exportToFile, type ExportFormat } from '../export/file.js';
import type { EngineOptions, RecordingPolicy } from '../engine/launch.js';
import { bytes, count, DumpFds, dumpLine, liveView, statsReport, table } from './format.js';
import { exitText } from '../../core/derive/process.js';
import { InsightFinder } from '../../core/insights/insights.js';
import { MetricsCollector } from '../../core/check/metrics.js';
import { evaluate, LimitError, parseLimit, type Limit } from '../../core/check/thresholds.js';
import { parseConfig } from '../../core/check/config.js';
import { buildReport } from '../../core/check/report.js';
import { CHECK_FORMATS, FINDING_KINDS, formatReport, type CheckFormat } from '../../core/check/formats.js';
import { startServe } from '../serve/server.js';
import { packageRoot } from '../engine/paths.js';
import { listRecordings, recordingsDir, RecordingsDirError, type Recording } from '../session/recordings.js';
import { StackSymbols } from '../engine/stacks.js';
import { CodeMap, frameText } from '../../core/derive/stacks.js';
import { Kind } from '../../core/events/schema.js';

const VERSION = '0.1.0';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, CANNOT_RUN: 3, BAD_FILE: 4 } as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}
const usage = (m: string) => new CliError(`${m} (see coroscope help)`, EXIT.USAGE);

const EXIT_HELP = `Exit codes:
  0  ok
  1  the program failed / the check found problems (run, record: the program's own exit code; 128+N when killed by signal N)
  2  usage error
  3  cannot run or attach (program not found, not executable, statically linked, no engine at pid)
  4  bad or corrupt trace file`;

const UNCLOSED_HELP = `A trace its writer never closed (the program or the recorder was killed) is
read up to its last complete chunk, and a warning says so and how many events
were kept.`;

const ENGINE_HELP = `Engine options:
  --workers N       worker threads (default: one per CPU)
  --slice 10ms      preemption time slice (ns, us, ms, s)
  --no-preempt      never preempt long-running coroutines
  --no-hooks        do not hook blocking libc calls
  --stack 256K      coroutine stack size
  --no-follow       do not follow forked children and exec'd programs (by default
                    each one is a process of its own in the same session, like
                    strace -f; the session lasts while any of them runs)`;

interface Command {
  summary: string;
  help: string;
  /** Option name -> takes a value. */
  options: Record<string, boolean>;
  run(o: Parsed): Promise<number>;
}

interface Parsed {
  opts: Map<string, string | true>;
  /** Every value of each option given with a value, in order (repeatable options read these). */
  multi: Map<string, string[]>;
  positional: string[];
  /** After `--`. */
  rest: string[] | undefined;
}

const ENGINE_OPTS = {
  workers: true,
  slice: true,
  'no-preempt': false,
  'no-hooks': false,
  stack: true,
  'no-follow': false,
};

function parse(argv: string[], spec: Record<string, boolean>): Parsed {
  const opts = new Map<string, string | true>();
  const multi = new Map<string, string[]>();
  const positional: string[] = [];
  let rest: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      let name = a.replace(/^--?/, '');
      let value: string | undefined;
      const eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      if (name === 'h') name = 'help';
      if (name === 'help') {
        opts.set('help', true);
        continue;
      }
      if (!(name in spec)) throw usage(`unknown option ${a}`);
      if (spec[name]) {
        if (value === undefined) {
          if (i + 1 >= argv.length) throw usage(`option --${name} needs a value`);
          value = argv[++i];
        }
        opts.set(name, value);
        multi.set(name, [...(multi.get(name) ?? []), value]);
      } else {
        if (value !== undefined) throw usage(`option --${name} takes no value`);
        opts.set(name, true);
      }
      continue;
    }
    positional.push(a);
  }
  return { opts, multi, positional, rest };
}

function engineOptions(p: Parsed): EngineOptions {
  const e: EngineOptions = {};
  const w = p.opts.get('workers');
  if (typeof w === 'string') {
    if (!/^\d+$/.test(w) || +w < 1 || +w > 1024) throw usage(`--workers ${w}: expected a number 1..1024`);
    e.workers = +w;
  }
  const s = p.opts.get('slice');
  if (typeof s === 'string') {
    if (!/^\d+(\.\d+)?(ns|us|ms|s)$/.test(s)) throw usage(`--slice ${s}: expected a duration like 10ms or 500us`);
    e.timeSlice = s;
  }
  if (p.opts.has('no-preempt')) e.preempt = false;
  if (p.opts.has('no-hooks')) e.hooks = false;
  if (p.opts.has('no-follow')) e.follow = false;
  const st = p.opts.get('stack');
  if (typeof st === 'string') {
    if (!/^\d+[KkMm]?$/.test(st)) throw usage(`--stack ${st}: expected a size like 256K or 1M`);
    e.stackSize = st;
  }
  return e;
}

function exitCodeOf(s: Session): number {
  const e = s.exit;
  if (!e) return EXIT.OK;
  if (e.signal) return 128 + e.signal;
  return e.code ?? EXIT.FAILED;
}

function launchError(err: unknown, cmd: string): never {
  if (err instanceof ExecError) {
    const msg =
      err.problem === 'static'
        ? `${err.path} is statically linked: the Coroscope engine cannot be preloaded into it (LD_PRELOAD needs a dynamically linked program)`
        : err.message;
    throw new CliError(msg, EXIT.CANNOT_RUN);
  }
  if (err instanceof RangeError) throw usage(err.message);
  if (err instanceof RecordingsDirError) throw new CliError(err.message, EXIT.CANNOT_RUN);
  throw new CliError(`cannot run ${cmd}: ${(err as Error).message}`, EXIT.CANNOT_RUN);
}

/** run / attach / demo: the live view needs the derived tables, never the events (memory stays flat). */
const LIVE_KEEP = { store: false, derived: true } as const;

// ---- live view ---------------------------------------------------------------------

/** Draws the view below the program's output on a TTY stderr, at most 4 times a second. */
class LiveScreen {
  private lines = 0;
  private timer?: NodeJS.Timeout;
  private dirty = true;
  readonly tty = !!process.stderr.isTTY;

  constructor(private readonly s: Session) {}

  start(): void {
    if (!this.tty) return;
    this.timer = setInterval(() => this.draw(), 250);
    this.s.on('batch', () => (this.dirty = true));
  }

  /** Program output goes above the view: erase the view, write, redraw later. */
  output(stream: 1 | 2, text: string): void {
    this.erase();
    (stream === 1 ? process.stdout : process.stderr).write(text);
    this.dirty = true;
  }

  private erase(): void {
    if (this.lines > 0) process.stderr.write(`\r\x1b[${this.lines}A\x1b[J`);
    this.lines = 0;
  }

  draw(force = false): void {
    if (!this.tty || (!this.dirty && !force && this.lines)) return;
    const text = liveView(this.s, process.stderr.columns || 100, process.stderr.rows || 30);
    this.erase();
    process.stderr.write(`\x1b[2m${'─'.repeat(Math.min(60, process.stderr.columns || 60))}\x1b[0m\n${text}\n`);
    this.lines = text.split('\n').length + 1;
    this.dirty = false;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.erase();
  }
}

/**
 * Signal the launched program; when it has already ended and only followed children keep the
 * session open (a daemon it started), stop reading and leave them running, as strace -f does on
 * Ctrl-C.
 */
function stopTarget(s: Session, signal: NodeJS.Signals): void {
  if (!s.kill(signal)) void s.detach();
}

async function live(s: Session, o: { seconds?: number; attach?: boolean; quiet?: boolean }): Promise<void> {
  const screen = new LiveScreen(s);
  s.on('output', (stream, text) => screen.output(stream, text));
  s.on('problem', (m) => screen.output(2, `coroscope: ${m}\n`));
  screen.start();
  let interrupted = 0;
  const onSigint = () => {
    interrupted++;
    if (o.attach) void s.detach();
    else stopTarget(s, interrupted > 1 ? 'SIGKILL' : 'SIGINT');
  };
  process.on('SIGINT', onSigint);
  const timer =
    o.seconds !== undefined
      ? setTimeout(() => void (o.attach ? s.detach() : stopTarget(s, 'SIGTERM')), o.seconds * 1000)
      : undefined;
  await s.whenEnded();
  if (timer) clearTimeout(timer);
  process.off('SIGINT', onSigint);
  screen.stop();
  if (!o.quiet) process.stderr.write(`${liveView(s, 1000, 60, true)}\n`);
}

function seconds(p: Parsed): number | undefined {
  const v = p.opts.get('seconds');
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+(\.\d+)?$/.test(v)) throw usage(`--seconds ${v}: expected a number`);
  return +v;
}

const POLICY_HELP = `  --policy P         when the program's event rings fill up faster than they are
                     read: lossless (its threads wait for the recorder, at most 1 s
                     each time; nothing is lost unless the recorder stalls) or drop
                     (they never wait; every lost event is counted in DROP events)`;

function policyOption(p: Parsed, dflt: RecordingPolicy): RecordingPolicy {
  const v = p.opts.get('policy');
  if (v === undefined) return dflt;
  if (v !== 'lossless' && v !== 'drop') throw usage(`--policy ${v}: expected lossless or drop`);
  return v;
}

function recordOption(p: Parsed): string | false | undefined {
  if (p.opts.has('no-record')) return false;
  const o = p.opts.get('o') ?? p.opts.get('output');
  return typeof o === 'string' ? o : undefined;
}

async function runCommand(p: Parsed, cmdline: string[] | undefined, demo?: Demo): Promise<number> {
  if (!cmdline?.length) throw usage('run: no program given (coroscope run [options] -- program args...)');
  if (p.positional.length) throw usage(`run: unexpected ${p.positional[0]} (put the program after --)`);
  // A demo's own engine options (cpu_hog: one worker) unless the user chose otherwise.
  const engine = { ...demo?.engine, ...engineOptions(p) };
  let s: Session;
  try {
    s = Session.launch({
      cmd: cmdline[0],
      args: cmdline.slice(1),
      engine,
      record: recordOption(p),
      stdin: 'inherit',
      policy: policyOption(p, 'drop'),
      ...LIVE_KEEP,
    });
  } catch (e) {
    launchError(e, cmdline[0]);
  }
  const stopCompanion = demo?.companion ? startCompanion(s, demo.companion, 'inherit') : undefined;
  try {
    await live(s, { seconds: seconds(p) });
  } finally {
    stopCompanion?.();
  }
  reportRecording(s);
  return exitCodeOf(s);
}

function reportRecording(s: Session): void {
  const st = s.status();
  if (st.recordingError) process.stderr.write(`coroscope: recording failed: ${st.recordingError}\n`);
  else if (st.recordPath) process.stderr.write(`coroscope: recorded ${st.events} events to ${st.recordPath}\n`);
}

// ---- commands ------------------------------------------------------------------------

const commands: Record<string, Command> = {
  run: {
    summary: 'run a program under the engine with a live view',
    help: `Usage: coroscope run [engine options] [--no-record | -o FILE] [--seconds N] -- PROGRAM [ARGS...]

Runs PROGRAM under the Coroscope engine. Its output stays visible; when stderr
is a terminal a live view (coroutines and threads, busiest hooked calls,
preemptions, drops) is redrawn below it, otherwise a summary is printed at the
end. The session is recorded to the recordings directory
($COROSCOPE_RECORDINGS, default ~/.local/share/coroscope/recordings).

Options:
  -o, --output FILE  record to FILE
  --no-record        do not record
  --seconds N        stop the program (SIGTERM) after N seconds
${POLICY_HELP} (default: drop)
${ENGINE_HELP}

Ctrl-C is passed on to the program (twice: it is killed).
The exit code is the program's (128+N when killed by signal N); 2 for a usage
error, 3 when the program cannot be run under the engine.`,
    options: { ...ENGINE_OPTS, o: true, output: true, 'no-record': false, seconds: true, policy: true },
    run: (p) => runCommand(p, p.rest),
  },

  record: {
    summary: 'record a program to a trace file, with a progress line',
    help: `Usage: coroscope record -o FILE [engine options] -- PROGRAM [ARGS...]

Runs PROGRAM under the engine and records every event to FILE, printing a
progress line (events, drops, bytes, rate) on stderr. The program's output is
passed through.

Options:
  -o, --output FILE  the trace file (required)
  --seconds N        stop the program (SIGTERM) after N seconds
${POLICY_HELP} (default: lossless)
${ENGINE_HELP}

The exit code is the program's (128+N when killed by signal N); 2 for a usage
error, 3 when the program cannot be run under the engine.`,
    options: { ...ENGINE_OPTS, o: true, output: true, seconds: true, policy: true },
    async run(p) {
      const out = p.opts.get('o') ?? p.opts.get('output');
      if (typeof out !== 'string') throw usage('record: -o FILE is required');
      if (!p.rest?.length) throw usage('record: no program given (coroscope record -o FILE -- program args...)');
      if (p.positional.length) throw usage(`record: unexpected ${p.positional[0]} (put the program after --)`);
      const engine = engineOptions(p);
      let s: Session;
      try {
        // events: false — record only writes the file: no batch is copied into JS; batches of
        // 16384 records are sorted and encoded within a core's L2 (the engine's recorder's size).
        s = Session.launch({
          cmd: p.rest[0],
          args: p.rest.slice(1),
          engine,
          record: out,
          stdin: 'inherit',
          store: false,
          events: false,
          batchEvents: 16384,
          policy: policyOption(p, 'lossless'),
        });
      } catch (e) {
        launchError(e, p.rest[0]);
      }
      const tty = !!process.stderr.isTTY;
      let lastBytes = 0;
      const line = (final = false) => {
        const st = s.status();
        lastBytes = Math.max(lastBytes, s.target?.stats().bytesRecorded ?? 0);
        if (final) {
          // The link is gone: the file (closed, with its index) says how big the recording is.
          lastBytes = Math.max(lastBytes, fileSize(out));
          const secs = Math.max((Date.now() - st.startedAt) / 1000, 1e-3);
          return `events ${count(st.events)}  drops ${st.drops}  ${bytes(lastBytes)}  ${count(Math.round(st.events / secs))} ev/s average`;
        }
        return `events ${count(st.events)}  drops ${st.drops}  ${bytes(lastBytes)}  ${count(st.rate)} ev/s`;
      };
      let shown = false;
      s.on('output', (stream, text) => {
        if (shown) process.stderr.write('\r\x1b[K');
        shown = false;
        (stream === 1 ? process.stdout : process.stderr).write(text);
      });
      s.on('problem', (m) => process.stderr.write(`coroscope: ${m}\n`));
      const timer = setInterval(
        () => {
          if (tty) {
            process.stderr.write(`\r\x1b[K${line()}`);
            shown = true;
          } else process.stderr.write(`${line()}\n`);
        },
        tty ? 250 : 1000,
      );
      const onSigint = () => stopTarget(s, 'SIGINT');
      process.on('SIGINT', onSigint);
      const secs = seconds(p);
      const stop = secs !== undefined ? setTimeout(() => stopTarget(s, 'SIGTERM'), secs * 1000) : undefined;
      await s.whenEnded();
      clearInterval(timer);
      if (stop) clearTimeout(stop);
      process.off('SIGINT', onSigint);
      if (shown) process.stderr.write('\r\x1b[K');
      process.stderr.write(`${line(true)}\n`);
      reportRecording(s);
      return exitCodeOf(s);
    },
  },

  ps: {
    summary: 'list the processes running the engine',
    help: `Usage: coroscope ps [--json]

Lists this user's processes that run the Coroscope engine (they have a control
socket): pid, start time, executable, command line.
Exit: 0 ok.`,
    options: { json: false },
    async run(p) {
      const list = listEngineProcesses();
      if (p.opts.has('json')) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return EXIT.OK;
      }
      if (!list.length) {
        process.stdout.write('no engine processes\n');
        return EXIT.OK;
      }
      process.stdout.write(
        table(
          ['pid', 'started', 'exe', 'cmdline'],
          list.map((e) => [e.pid, new Date(e.startedAt).toLocaleString(), e.exe, e.cmdline.join(' ')]),
        ) + '\n',
      );
      return EXIT.OK;
    },
  },

  attach: {
    summary: 'attach to a running engine process with the live view',
    help: `Usage: coroscope attach PID [--no-record | -o FILE] [--seconds N] [--policy P]

Attaches to process PID (see coroscope ps) and shows the live view. Ctrl-C
detaches and leaves the process running, unpaused.

Options:
  -o, --output FILE  record to FILE (default: the recordings directory)
  --no-record        do not record
  --seconds N        detach after N seconds
${POLICY_HELP} (default: drop)

Exit: 0 after detaching, 3 when there is no engine at PID.`,
    options: { o: true, output: true, 'no-record': false, seconds: true, policy: true },
    async run(p) {
      if (p.positional.length !== 1) throw usage('attach: give one pid');
      const pid = Number(p.positional[0]);
      if (!/^\d+$/.test(p.positional[0]) || pid <= 0) throw usage(`attach: ${p.positional[0]} is not a pid`);
      const secs = seconds(p);
      const policy = policyOption(p, 'drop');
      if (!listEngineProcesses().some((e) => e.pid === pid)) {
        throw new CliError(
          `process ${pid} does not run the Coroscope engine (no control socket; see coroscope ps)`,
          EXIT.CANNOT_RUN,
        );
      }
      let s: Session;
      try {
        s = Session.attach(pid, { record: recordOption(p), policy, ...LIVE_KEEP });
      } catch (e) {
        if (e instanceof AttachError) throw new CliError(`cannot attach to ${pid}: ${e.message}`, EXIT.CANNOT_RUN);
        if (e instanceof RecordingsDirError) throw new CliError(e.message, EXIT.CANNOT_RUN);
        throw e;
      }
      await live(s, { seconds: secs, attach: true });
      reportRecording(s);
      if (s.state === 'exited') process.stderr.write(`coroscope: process ${pid} exited\n`);
      else process.stderr.write(`coroscope: detached from ${pid} (still running)\n`);
      return EXIT.OK;
    },
  },

  export: {
    summary: 'convert a trace file to Perfetto, Chrome JSON or CSV',
    help: `Usage: coroscope export FILE|--last --format perfetto|chrome|csv -o OUT

  perfetto  Perfetto protobuf trace (open in ui.perfetto.dev)
  chrome    Chrome trace-event JSON (chrome://tracing, Perfetto)
  csv       per-call statistics as CSV

A progress bar is shown on stderr for large files when it is a terminal.
${UNCLOSED_HELP}
Exit: 0 ok, 2 usage error, 4 bad or corrupt file.`,
    options: { format: true, f: true, o: true, output: true, last: false },
    async run(p) {
      const file = traceArg(p, 'export');
      const fmt = p.opts.get('format') ?? p.opts.get('f');
      const formats: Record<string, ExportFormat> = {
        perfetto: 'perfetto',
        chrome: 'chrome-json',
        'chrome-json': 'chrome-json',
        csv: 'calls-csv',
        'calls-csv': 'calls-csv',
      };
      if (fmt === undefined) throw usage('export: --format perfetto|chrome|csv is required');
      if (typeof fmt !== 'string' || !Object.hasOwn(formats, fmt))
        throw usage(`export: unknown format ${fmt === true ? '(none given)' : fmt}: expected perfetto, chrome or csv`);
      const out = p.opts.get('o') ?? p.opts.get('output');
      if (typeof out !== 'string') throw usage('export: -o OUT is required');
      const r = openTrace(file);
      const total = Math.max(1, r.info.records || r.info.fileSize / 64);
      const bar = process.stderr.isTTY && r.info.fileSize > 8 << 20;
      let problem: string | undefined;
      let unclosed: string | null = null;
      try {
        const batches = (async function* () {
          yield* r.batchesAhead(65536); // the exporters keep nothing of a batch: the next is decoded meanwhile
          const pr = r.problem();
          if (pr) problem = `${r.path}: ${pr.message} (everything before offset ${pr.offset} was exported)`;
          else unclosed = r.notClosedCleanly();
        })();
        await exportToFile(formats[fmt], batches, out, {
          pid: r.info.pid,
          onProgress: bar
            ? (n) => {
                const f = Math.min(1, n / total);
                process.stderr.write(
                  `\r[${'#'.repeat(Math.round(f * 30)).padEnd(30)}] ${(f * 100).toFixed(0)}%  ${count(n)} events`,
                );
              }
            : undefined,
        });
      } catch (e) {
        throw new CliError(`export failed: ${(e as Error).message}`, EXIT.BAD_FILE);
      } finally {
        if (bar) process.stderr.write('\r\x1b[K');
        r.close();
      }
      process.stderr.write(`exported ${count(r.eventsRead)} events to ${out}\n`);
      if (problem) throw new CliError(problem, EXIT.BAD_FILE);
      if (unclosed) process.stderr.write(`coroscope: ${unclosed}\n`);
      return EXIT.OK;
    },
  },

  stats: {
    summary: 'summary tables of a trace file',
    help: `Usage: coroscope stats FILE|--last [--all]

Prints the process, the engine configuration, the coroutines (the 30 that ran
longest unless --all), per-call statistics like strace -c, preemption and drops.
${UNCLOSED_HELP}
Exit: 0 ok, 4 bad or corrupt file (what could be read is still printed).`,
    options: { all: false, last: false },
    async run(p) {
      const s = await openSession(traceArg(p, 'stats'));
      process.stdout.write(statsReport(s, { limit: p.opts.has('all') ? Infinity : 30 }) + '\n');
      return reportProblems(s);
    },
  },

  serve: {
    summary: 'serve the inspector UI in a browser on 127.0.0.1 (token-protected)',
    help: `Usage: coroscope serve [--port N]

Hosts the same core and the same UI as the desktop app on http://127.0.0.1:PORT
(any free port unless --port), over HTTP and a WebSocket. The URL it prints
carries a random token; without it, or the session cookie it sets, every
request is refused. Ctrl-C stops it (programs it launched are sent SIGTERM).

The token lets its holder run any command as you: the UI launches programs
(any command line, environment and folder), attaches to and signals your
engine processes, and opens any file you can read. Share the URL with no one.
It is kept in the printed URL (your terminal, the browser's address bar and
history) and, once opened, in a session cookie coroscope-127-0-0-1-PORT that
holds a random session id, not the token (HttpOnly, SameSite=Strict, gone when
the browser closes). To revoke both, stop serve: the next one has a new token
and a new session id.
Exit: 0 stopped, 2 usage error, 3 the UI is not built or the port is taken.`,
    options: { port: true },
    async run(p) {
      if (p.positional.length) throw usage(`serve: unexpected ${p.positional[0]}`);
      const pv = p.opts.get('port');
      if (pv !== undefined && (typeof pv !== 'string' || !/^\d+$/.test(pv) || +pv > 65535))
        throw usage(`--port ${pv}: expected 0..65535`);
      const rendererDir = join(packageRoot(), 'out', 'renderer');
      if (!existsSync(join(rendererDir, 'index.html')))
        throw new CliError(
          `the UI is not built (${rendererDir}/index.html is missing): run npm run build`,
          EXIT.CANNOT_RUN,
        );
      let served;
      try {
        served = await startServe({ port: pv ? +pv : 0, rendererDir });
      } catch (e) {
        throw new CliError(`serve: ${(e as Error).message}`, EXIT.CANNOT_RUN);
      }
      process.stdout.write(
        `Coroscope is served at ${served.url}\n` +
          '(only this machine can reach it; the token in the URL is required, and lets whoever holds it run any command\n' +
          ' as you: do not share it; stopping serve revokes it)\n',
      );
      await new Promise<void>((res) => {
        const stop = () => res();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await served.close();
      return EXIT.OK;
    },
  },

  check: {
    summary: 'find problems in a trace file, hold it to limits and to a baseline (for CI)',
    help: `Usage: coroscope check FILE|--last [--long-run MS] [--baseline OLD.cstrace]
                      [--max METRIC=LIMIT]... [--max-regression METRIC=ALLOWANCE]...
                      [--config FILE] [--format text|json|junit|sarif] [-o OUT]

Looks for the problems coroutine runtimes have, and says what to change:
  long-run        a coroutine ran longer than MS (default: twice the time
                  slice, at least 20 ms) of CPU time without switching out
                  (wall time minus the time the OS had the worker off its CPU)
  descheduled     the OS took a worker's CPU away for that long during a run
                  (contention: the machine, not the program; shown, but not
                  counted in the exit status)
  blocked-worker  a worker thread blocked in a call the engine cannot park,
                  named (system call, file) and ranked by total time
  join-cycle      coroutines joining each other in a cycle (deadlock)
  lost-wakeup     a join still waiting although its target finished
  eintr           EINTR reached code in a coroutine
  short-write     a write in a coroutine returned fewer bytes than asked
  drops           events lost while recording
  idle-imbalance  a worker idle while another had a long run queue

Limits (for CI). METRIC is p50(CALL), p99(CALL), max(CALL), mean(CALL),
count(CALL), errors(CALL) — CALL a hooked call such as read, or * for every
one — stall (time workers were blocked), drops, or findings(KIND):
  --max p99(read)=2ms            fails when the trace's p99 of read exceeds 2 ms
  --baseline OLD.cstrace         the run to compare with
  --max-regression p99(read)=10% fails when p99(read) grew more than 10 %
  --max-regression stall=+5ms    ... or stall grew by more than 5 ms
  --config FILE                  limits kept in the repository (default:
                                 ./coroscope-check.json when it exists):
    {"max": {"p99(read)": "2ms"}, "maxRegression": {"p99(*)": "20%"},
     "ignore": ["descheduled"]}
Output (--format, default text; --json is --format json): text, json, junit
(JUnit XML for CI test reports) or sarif (SARIF 2.1.0 for code scanning), to
stdout or -o OUT. A sample CI workflow: docs/ci.md.
${UNCLOSED_HELP}
Exit: 0 nothing found and every limit held, 1 problems found or a limit
exceeded (usable in a test suite), 2 usage or configuration error, 4 bad or
corrupt trace or baseline.`,
    options: {
      'long-run': true,
      json: false,
      last: false,
      baseline: true,
      max: true,
      'max-regression': true,
      config: true,
      format: true,
      o: true,
      output: true,
    },
    async run(p) {
      const file = traceArg(p, 'check');
      const lr = p.opts.get('long-run');
      if (lr !== undefined && (typeof lr !== 'string' || !/^\d+(\.\d+)?$/.test(lr)))
        throw usage(`--long-run ${lr}: expected milliseconds`);
      const fmtOpt = p.opts.get('format') ?? (p.opts.has('json') ? 'json' : 'text');
      if (typeof fmtOpt !== 'string' || !(CHECK_FORMATS as readonly string[]).includes(fmtOpt))
        throw usage(`check: unknown format ${String(fmtOpt)}: expected ${CHECK_FORMATS.join(', ')}`);
      const format = fmtOpt as CheckFormat;
      const out = p.opts.get('o') ?? p.opts.get('output');
      if (out === true) throw usage('check: -o needs a file');
      const { limits, ignore } = checkLimits(p);
      const baselinePath = p.opts.get('baseline');
      if (baselinePath === true) throw usage('check: --baseline needs a trace file');
      if (limits.some((l) => l.kind === 'regression') && !baselinePath)
        throw usage('check: a --max-regression limit needs --baseline OLD.cstrace');

      const cur = await scanForCheck(file, lr ? +lr * 1e6 : 0);
      let base: Awaited<ReturnType<typeof scanForCheck>> | undefined;
      if (baselinePath) {
        base = await scanForCheck(baselinePath, lr ? +lr * 1e6 : 0);
        if (base.problem) throw new CliError(`${baselinePath} (the baseline): ${base.problem.message}`, EXIT.BAD_FILE);
      }
      let results;
      try {
        results = evaluate(limits, cur.metrics, base?.metrics);
      } catch (e) {
        if (e instanceof LimitError) throw usage(`check: ${e.message}`);
        throw e;
      }
      const report = buildReport({
        trace: file,
        baseline: baselinePath,
        insights: cur.found,
        suppressed: cur.suppressed,
        limits: results,
        ignore,
      });
      if (format === 'text' && !out && cur.procs.length > 1) {
        // A followed session: which processes the checks covered, one line each.
        for (const pr of cur.procs)
          process.stdout.write(
            `process pid ${pr.pid} (${pr.cmdline || pr.exe || '-'}): ${pr.how}${pr.ppid !== null ? ` from ${pr.ppid}` : ''}, ${pr.signal !== null ? exitText(pr) : pr.exitCode !== null ? `exit ${pr.exitCode}` : pr.execd ? "exec'd" : 'exit not seen'}\n`,
          );
      }
      const text =
        format === 'json'
          ? JSON.stringify({ ...report, processes: cur.procs }, null, 2) + '\n'
          : formatReport(report, format, VERSION);
      if (typeof out === 'string') writeFileSync(out, text, { mode: 0o600 });
      else process.stdout.write(text);
      if (cur.problem) {
        process.stderr.write(`coroscope: ${file}: ${cur.problem.message} (checked what came before)\n`);
        return EXIT.BAD_FILE;
      }
      if (cur.unclosed) process.stderr.write(`coroscope: ${cur.unclosed}\n`);
      return report.failed ? EXIT.FAILED : EXIT.OK;
    },
  },

  dump: {
    summary: 'print a trace file, one line per event',
    help: `Usage: coroscope dump FILE|--last

A first line "# coroscope trace: format X.Y, ..." describes the file (format
1 or 2, whether it was closed cleanly), then one line per event: seconds
since the first event, thread id, worker, coroutine, and what happened.
A coroutine's stack (where it parked or was preempted) follows its record,
one indented line per frame: function (file:line), symbolised with libdw
from the recorded mappings and the objects' files as they are now.
${UNCLOSED_HELP}
Exit: 0 ok, 4 bad or corrupt file (the events before the damage are printed).`,
    options: { last: false },
    async run(p) {
      const r = openTrace(traceArg(p, 'dump'));
      const inf = r.info;
      process.stdout.write(
        `# coroscope trace: format ${inf.version}, pid ${inf.pid}, ${inf.complete ? 'closed cleanly' : 'not closed cleanly (no index: the writer was killed or is still writing)'}\n`,
      );
      let t0 = NaN;
      const maps = new CodeMap();
      let symbols: StackSymbols | undefined;
      const fds = new DumpFds(); // what each fd is, so waits and calls name it
      try {
        for (const b of r.batches()) {
          const lines: string[] = [];
          maps.scan(b.raw, b.strings);
          for (let i = 0; i < b.raw.length; i++) {
            if (Number.isNaN(t0) && b.raw.ts(i) > 0) t0 = b.raw.ts(i);
            lines.push(dumpLine(b.raw, i, b.strings, Number.isNaN(t0) ? 0 : t0, fds));
            if (b.raw.kind(i) === Kind.CO_STACK) {
              symbols ??= new StackSymbols();
              const frames = symbols.frames(b.raw.a(i, 0), b.raw.a(i, 1), b.strings, maps);
              frames.forEach((f, k) => lines.push(`${' '.repeat(16)}#${k} ${frameText(f)}`));
            }
          }
          if (!process.stdout.write(lines.join('\n') + '\n'))
            await new Promise((res) => process.stdout.once('drain', res));
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') return EXIT.OK;
        throw e;
      }
      const pr = r.problem();
      r.close();
      if (pr) {
        process.stderr.write(
          `coroscope: ${r.path}: ${pr.message} (everything before offset ${pr.offset} was printed)\n`,
        );
        return EXIT.BAD_FILE;
      }
      const unclosed = r.notClosedCleanly();
      if (unclosed) process.stderr.write(`coroscope: ${unclosed}\n`);
      return EXIT.OK;
    },
  },

  recordings: {
    summary: 'list the recordings, newest first (the other commands take --last for the newest)',
    help: `Usage: coroscope recordings [--json] [-n N]

Lists the trace files in the recordings directory ($COROSCOPE_RECORDINGS,
default ~/.local/share/coroscope/recordings), newest first: when, size, path.
stats, check, dump and export take --last instead of a file: the newest one.
Exit: 0 ok, 2 usage error, 3 the directory cannot be created.`,
    options: { json: false, n: true },
    async run(p) {
      if (p.positional.length) throw usage(`recordings: unexpected ${p.positional[0]}`);
      const nv = p.opts.get('n');
      if (nv !== undefined && (typeof nv !== 'string' || !/^[1-9]\d*$/.test(nv)))
        throw usage(`-n ${nv}: expected a positive count`);
      const list = recordings(nv ? +nv : Infinity);
      if (p.opts.has('json')) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return EXIT.OK;
      }
      if (!list.length) {
        process.stdout.write(`no recordings in ${recordingsDirOrFail()}\n`);
        return EXIT.OK;
      }
      process.stdout.write(
        table(
          ['modified', 'size', 'path'],
          list.map((r) => [new Date(r.modified).toLocaleString(), bytes(r.bytes), r.path]),
        ) + '\n',
      );
      return EXIT.OK;
    },
  },

  demo: {
    summary: 'list or run the built-in examples',
    help: `Usage: coroscope demo [NAME] [engine options] [-- ARGS...]

Without NAME, lists the examples (native/build/examples) and what each shows.
With NAME, runs it like coroscope run (echo_server also starts echo_client
against it, then stops the server).
Exit: as coroscope run's; 3 when there is no example NAME or it is not built.`,
    options: { ...ENGINE_OPTS, o: true, output: true, 'no-record': false, seconds: true },
    async run(p) {
      const demos = listDemos();
      if (!p.positional.length) {
        process.stdout.write(
          table(
            ['example', 'what it shows'],
            demos.map((d) => [d.name, d.description]),
          ) + '\n',
        );
        process.stdout.write('\nRun one: coroscope demo NAME\n');
        return EXIT.OK;
      }
      // echo_client is the echo demo's companion: asking for it runs the pair.
      const name = p.positional[0] === 'echo_client' ? 'echo_server' : p.positional[0];
      if (p.positional.length > 1) throw usage(`demo: unexpected ${p.positional[1]}`);
      const d = findDemo(name);
      if (!d) throw new CliError(`no example named ${name} (coroscope demo lists them)`, EXIT.CANNOT_RUN);
      if (!existsSync(d.cmd)) throw new CliError(`${d.cmd} is not built: run npm run build`, EXIT.CANNOT_RUN);
      return runCommand({ ...p, positional: [] }, [d.cmd, ...(p.rest ?? d.args)], d);
    },
  },
};

/** One pass over a trace for check: its insights, its metrics, its processes and what went wrong. */
async function scanForCheck(path: string, longRunNs: number) {
  const r = openTrace(path);
  const f = new InsightFinder({ longRunNs });
  const m = new MetricsCollector();
  try {
    for await (const b of r.batchesAhead(65536)) {
      f.push(b.raw, b.strings);
      m.push(b.raw);
    }
  } finally {
    r.close();
  }
  const found = f.finish();
  const counts = new Map<string, number>(Object.keys(FINDING_KINDS).map((k) => [k, 0]));
  for (const i of found) counts.set(i.kind, (counts.get(i.kind) ?? 0) + 1);
  for (const [k, n] of f.suppressed) counts.set(k, (counts.get(k) ?? 0) + n);
  return {
    found,
    suppressed: f.suppressed as Map<string, number>,
    metrics: m.values(counts),
    procs: f.processes.processes(r.strings),
    problem: r.problem(),
    unclosed: r.notClosedCleanly(),
  };
}

/** The limits of a check: the config file's (--config, or ./coroscope-check.json), then the command line's. */
function checkLimits(p: Parsed): { limits: Limit[]; ignore: Set<string> } {
  const limits: Limit[] = [];
  let ignore = new Set<string>();
  const cfgOpt = p.opts.get('config');
  if (cfgOpt === true) throw usage('check: --config needs a file');
  const cfgPath = cfgOpt ?? (existsSync('coroscope-check.json') ? 'coroscope-check.json' : undefined);
  try {
    if (cfgPath) {
      let text: string;
      try {
        text = readFileSync(cfgPath, 'utf8');
      } catch (e) {
        throw new LimitError(
          `${cfgPath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
        );
      }
      const cfg = parseConfig(text, cfgPath);
      limits.push(...cfg.limits);
      ignore = cfg.ignore;
    }
    for (const [opt, kind] of [
      ['max', 'max'],
      ['max-regression', 'regression'],
    ] as const)
      for (const spec of all(p, opt)) limits.push(parseLimit(kind, spec));
  } catch (e) {
    if (e instanceof LimitError) throw usage(`check: ${e.message}`);
    throw e;
  }
  return { limits, ignore };
}

/** Every value of a repeatable option, in order (given several times, or comma-separated). */
function all(p: Parsed, name: string): string[] {
  return (p.multi.get(name) ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The one trace file a command reads: its FILE argument, or with --last the newest recording. */
function traceArg(p: Parsed, cmd: string): string {
  if (p.opts.has('last')) {
    if (p.positional.length) throw usage(`${cmd}: give a trace file or --last, not both`);
    const newest = recordings()[0];
    if (!newest) throw new CliError(`no recordings yet in ${recordingsDirOrFail()}`, EXIT.BAD_FILE);
    process.stderr.write(`coroscope: ${newest.path}\n`);
    return newest.path;
  }
  if (p.positional.length !== 1) throw usage(`${cmd}: give one trace file (or --last: the newest recording)`);
  return p.positional[0];
}

function recordingsDirOrFail(): string {
  try {
    return recordingsDir();
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.CANNOT_RUN);
  }
}

function recordings(limit = Infinity): Recording[] {
  recordingsDirOrFail();
  return listRecordings(limit);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function openTrace(path: string): TraceReader {
  try {
    return new TraceReader(path);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.BAD_FILE);
  }
}

async function openSession(path: string): Promise<Session> {
  try {
    // Streamed into derived tables without a store: memory bounded by coroutines and hooks.
    return await Session.read(path, { store: false });
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.BAD_FILE);
  }
}

function reportProblems(s: Session): number {
  let bad = false;
  for (const m of s.problems) {
    process.stderr.write(`coroscope: ${m}\n`);
    if (!/not closed cleanly/.test(m) && !s.untracedChildren.includes(m)) bad = true;
  }
  return bad ? EXIT.BAD_FILE : EXIT.OK;
}

function mainHelp(): string {
  const w = Math.max(...Object.keys(commands).map((c) => c.length));
  return `Usage: coroscope COMMAND [options]

Coroscope: an inspector for programs running the Coroscope coroutine engine.

Commands:
${Object.entries(commands)
  .map(([n, c]) => `  ${n.padEnd(w)}  ${c.summary}`)
  .join('\n')}
  ${'help'.padEnd(w)}  coroscope help COMMAND: the options of a command

${EXIT_HELP}`;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [name, ...args] = argv;
    if (!name || name === '--help' || name === '-h') {
      process.stdout.write(mainHelp() + '\n');
      return name ? EXIT.OK : EXIT.USAGE;
    }
    if (name === '--version' || name === '-V') {
      process.stdout.write(`coroscope ${VERSION}\n`);
      return EXIT.OK;
    }
    if (name === 'help') {
      if (!args.length) {
        process.stdout.write(mainHelp() + '\n');
        return EXIT.OK;
      }
      const c = commands[args[0]];
      if (!c) throw usage(`unknown command ${args[0]}`);
      process.stdout.write(`${c.help}\n`);
      return EXIT.OK;
    }
    const c = commands[name];
    if (!c) throw usage(`unknown command ${name}`);
    const p = parse(args, c.options);
    if (p.opts.has('help')) {
      process.stdout.write(`${c.help}\n`);
      return EXIT.OK;
    }
    return await c.run(p);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`coroscope: ${e.message}\n`);
      return e.code;
    }
    process.stderr.write(`coroscope: ${(e as Error)?.stack ?? e}\n`);
    return EXIT.FAILED;
  }
}

// Run when this file is the entry (node out/cli/coroscope.mjs, or tsx main/cli/main.ts); the shim calls main().
function isEntry(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isEntry()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Let stdout flush, then leave even if a handle (addon) lingers.
    setTimeout(() => process.exit(code), 50).unref();
  });
}
