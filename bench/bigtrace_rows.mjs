// bench/bigtrace_rows.mjs — row 14 of bench/run.mjs (see bench/README.md):
// the CLI on a ~100 M-event recording and `coroscope run` over minutes
// (issue 13). run.mjs owns the command line, building and the table; it hands
// its helpers in and gets one runner back.
//
//   bigtrace   c/rec_workload.c (issue 12's coroutine workload) recorded with
//              `coroscope record` into a temporary directory (~100 M events
//              with 320,000 coroutines, ~3 B/event), then `coroscope stats`,
//              `check` and `export --format perfetto` on it, each --reps times
//              (at least 3), interleaved, under /usr/bin/time: wall seconds
//              and peak RSS (max resident set, the whole node process).
//              Rows: events/s and peak RSS per command. Targets: >= 5 M
//              events/s, <= 500 MB.
//              Then `coroscope run -o FILE -- paced_producer 16 Y S` at about
//              200 k events/s for --bigtrace-run-seconds (default 120): the
//              CLI process's VmRSS from /proc every second; the row is the
//              slope of a least-squares line over the second half (after
//              warm-up), in MB per minute, with the growth over an hour it
//              implies in the notes. Target: <= 1 MB/min (flat; the store it
//              kept before grew ~90 MB/min at this rate).
//              Everything written goes to the temporary directory, removed at
//              the end (the recording is ~300 MB, a Perfetto export ~7 GB),
//              except the recording with --bigtrace-file FILE: kept there,
//              recorded only when FILE does not exist (then reused as it is,
//              never written). --bigtrace-commands picks a subset of stats,
//              check, export, run.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';

const TARGET_MEPS = 5;
const TARGET_RSS_MB = 500;
const TARGET_SLOPE_MB_MIN = 1;
const ROUNDS = 30; // rec_workload rounds per coroutine (as row 13)
const BATCH_PAIRS = 1000;
const EVENTS_PER_YIELD = 2.16; // paced_producer under an inspector (bench/ui_rows.mjs)
const RUN_RATE = 200_000;
const COMMANDS = [
  { key: 'stats', title: 'coroscope stats', args: (f) => ['stats', f] },
  { key: 'check', title: 'coroscope check', args: (f) => ['check', f] },
  {
    key: 'export',
    title: 'coroscope export --format perfetto',
    args: (f, dir) => ['export', f, '--format', 'perfetto', '-o', join(dir, 'out.pftrace')],
  },
];

// h: { opts, log, run, mustRun, median, row, errorRow, round4, cleanEnv, needNative, cc, linkEngine, root, nativeBuild, lib }
export function bigtraceBenchmarks(h) {
  const { opts, log, run, mustRun, median, row, errorRow, round4, cleanEnv, needNative, cc, linkEngine } = h;
  const cli = join(h.root, 'out', 'cli', 'coroscope.mjs');
  const env = () => cleanEnv(opts.nativeDir ? { COROSCOPE_NATIVE_DIR: h.nativeBuild() } : {});

  // /usr/bin/time -f: wall seconds, max RSS (KB), user and system CPU seconds on its last stderr line;
  // the 1-minute load average before and after (the machine is shared: CPU time is the steadier number).
  async function timed(what, args, timeout) {
    const load0 = os.loadavg()[0];
    const r = await run('/usr/bin/time', ['-f', 'TIME %e %M %U %S', process.execPath, cli, ...args], {
      env: env(),
      cwd: h.root,
      timeout,
    });
    const m = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
    if (!m) throw new Error(`${what}: no /usr/bin/time line (exit ${r.code}): ${r.stderr.slice(-400)}`);
    // check exits 1 when it finds problems: only a crash or a bad file (4) counts as failure
    if (r.code !== 0 && !(args[0] === 'check' && r.code === 1))
      throw new Error(`${what} exited ${r.code}: ${r.stderr.slice(-400)}`);
    return {
      seconds: +m[1],
      rssMb: +m[2] / 1024,
      cpu: +m[3] + +m[4],
      load: [load0, os.loadavg()[0]],
      stdout: r.stdout,
      stderr: r.stderr,
    };
  }

  /** The events of a trace file, counted by reading it through the addon (as the CLI does). */
  function countEvents(file) {
    const { TraceFile } = createRequire(import.meta.url)(join(h.nativeBuild(), 'coroscope.node'));
    const f = new TraceFile(file);
    const into = new Uint8Array(65536 * 64);
    let n = 0;
    try {
      for (;;) {
        const r = f.read(65536, into);
        n += r.events.byteLength / 64;
        if (r.done) break;
      }
    } finally {
      f.close();
    }
    return n;
  }

  async function record(dir, exe) {
    const kept = opts.bigtraceFile;
    if (kept && existsSync(kept))
      return { file: kept, events: countEvents(kept), bytes: statSync(kept).size, drops: NaN, reused: true };
    const file = kept ? `${kept}.part` : join(dir, 'big.cstrace');
    const r = await mustRun(
      'coroscope record (rec_workload)',
      process.execPath,
      [cli, 'record', '-o', file, '--', exe, String(opts.bigtraceCoroutines), String(ROUNDS), String(BATCH_PAIRS)],
      { env: env(), cwd: h.root, timeout: 1_800_000 },
    );
    const m = /recorded (\d+) events/.exec(r.stderr);
    if (!m) throw new Error(`coroscope record printed no event count: ${r.stderr.slice(-400)}`);
    const drops = +(/drops (\d+)/.exec(r.stderr)?.[1] ?? NaN);
    if (kept) renameSync(file, kept); // under its name only once complete
    return { file: kept ?? file, events: +m[1], bytes: statSync(kept ?? file).size, drops, reused: false };
  }

  // coroscope run at ~RUN_RATE events/s: VmRSS of the CLI every second.
  function runSlope(dir, producer) {
    const seconds = opts.bigtraceRunSeconds;
    const yields = Math.round(RUN_RATE / EVENTS_PER_YIELD);
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [cli, 'run', '-o', join(dir, 'run.cstrace'), '--', producer, '16', String(yields), String(seconds)],
        { env: env(), cwd: h.root, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
      const t0 = Date.now();
      const samples = [];
      const timer = setInterval(() => {
        try {
          const kb = +/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1];
          samples.push({ t: (Date.now() - t0) / 1000, mb: kb / 1024 });
        } catch {
          /* exited */
        }
      }, 1000);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearInterval(timer);
        if (code !== 0) return reject(new Error(`coroscope run exited ${code}: ${stderr.slice(-400)}`));
        const events = +(/recorded (\d+) events/.exec(stderr)?.[1] ?? NaN);
        resolve({
          samples,
          events,
          seconds: (Date.now() - t0) / 1000,
          drops: +(/drops (\d+)/.exec(stderr)?.[1] ?? NaN),
        });
      });
    });
  }

  async function benchBigtrace() {
    const commands = COMMANDS.filter((c) => opts.bigtraceCommands.includes(c.key));
    const metas = [];
    for (const c of commands) {
      metas.push({
        name: `bigtrace_${c.key}_rate`,
        title: `${c.title}, ~100 M-event recording: events/s`,
        unit: 'M events/s',
        better: 'higher',
        target: `>= ${TARGET_MEPS} M/s`,
        peer: `target ${TARGET_MEPS} M/s`,
      });
      metas.push({
        name: `bigtrace_${c.key}_rss`,
        title: `${c.title}, ~100 M-event recording: peak RSS`,
        unit: 'MB',
        better: 'lower',
        target: `<= ${TARGET_RSS_MB} MB`,
        peer: `target ${TARGET_RSS_MB} MB`,
      });
    }
    const slopeMeta = {
      name: 'bigtrace_run_rss_slope',
      title: `coroscope run at ~200 k events/s: RSS slope after warm-up`,
      unit: 'MB/min',
      better: 'lower',
      target: `<= ${TARGET_SLOPE_MB_MIN} MB/min`,
      peer: `target ${TARGET_SLOPE_MB_MIN} MB/min`,
    };
    const dir = mkdtempSync(join(os.tmpdir(), 'coroscope-bench-bigtrace-'));
    const rows = [];
    try {
      await needNative(h.lib(), join(h.nativeBuild(), 'coroscope.node'));
      if (!existsSync('/usr/bin/time')) throw new Error('needs /usr/bin/time (Debian package time) for peak RSS');
      await mustRun('npm run build:cli', 'npm', ['run', 'build:cli'], { env: process.env, cwd: h.root });
      const workload = await cc('rec_workload', 'c/rec_workload.c', linkEngine());
      const t0 = Date.now();
      const rec = commands.length ? await record(dir, workload) : null;
      if (rec)
        log(
          rec.reused
            ? `  reused ${rec.file}: ${rec.events.toLocaleString('en-US')} events (${(rec.bytes / 1e6).toFixed(0)} MB)`
            : `  recorded ${rec.events.toLocaleString('en-US')} events (${(rec.bytes / 1e6).toFixed(0)} MB, ${rec.drops} drops) in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
        );
      const reps = Math.max(3, opts.reps);
      const got = Object.fromEntries(commands.map((c) => [c.key, []]));
      for (let i = 0; rec && i < reps; i++) {
        // The commands in a rotating order (each one first, second, third in turn).
        const order = commands.map((_, k) => commands[(k + i) % commands.length]);
        for (const c of order) {
          const r = await timed(c.title, c.args(rec.file, dir), 3_600_000);
          if (c.key === 'export') rmSync(join(dir, 'out.pftrace'), { force: true });
          got[c.key].push(r);
          log(
            `  ${c.title} rep ${i + 1}: ${r.seconds.toFixed(1)} s (${(rec.events / r.seconds / 1e6).toFixed(2)} M events/s), CPU ${r.cpu.toFixed(1)} s, peak RSS ${r.rssMb.toFixed(0)} MB, load ${r.load.map((l) => l.toFixed(1)).join(' -> ')}`,
          );
        }
      }
      for (const c of rec ? commands : []) {
        const runs = got[c.key];
        const secs = median(runs.map((r) => r.seconds));
        const rss = median(runs.map((r) => r.rssMb));
        const cpu = median(runs.map((r) => r.cpu));
        const eps = rec.events / secs / 1e6;
        const detail = {
          events: rec.events,
          file_bytes: rec.bytes,
          reps_seconds: runs.map((r) => r.seconds),
          reps_cpu_seconds: runs.map((r) => round4(r.cpu)),
          reps_rss_mb: runs.map((r) => round4(r.rssMb)),
          reps_load_avg: runs.map((r) => r.load.map(round4)),
        };
        const source = rec.reused
          ? `${opts.bigtraceFile}, reused`
          : `rec_workload ${opts.bigtraceCoroutines} ${ROUNDS} ${BATCH_PAIRS}`;
        const loads = runs.flatMap((r) => r.load);
        const what = `${rec.events.toLocaleString('en-US')}-event recording (${source}, ${(rec.bytes / 1e6).toFixed(0)} MB); node ${process.version}; whole process under /usr/bin/time, start-up included; median of ${reps}; CPU (user + system) ${cpu.toFixed(1)} s, i.e. ${(rec.events / cpu / 1e6).toFixed(2)} M events per CPU second; 1-min load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`;
        rows.push(
          row({
            ...metas.find((m) => m.name === `bigtrace_${c.key}_rate`),
            value: round4(eps),
            peer_value: TARGET_MEPS,
            meets_target: eps >= TARGET_MEPS,
            detail,
            notes: [`${secs.toFixed(1)} s; ${what}`],
          }),
        );
        rows.push(
          row({
            ...metas.find((m) => m.name === `bigtrace_${c.key}_rss`),
            value: round4(rss),
            peer_value: TARGET_RSS_MB,
            meets_target: rss <= TARGET_RSS_MB,
            detail,
            notes: [what],
          }),
        );
      }
      if (rec && !rec.reused && !opts.bigtraceFile) rmSync(rec.file, { force: true });
    } catch (e) {
      for (const m of metas)
        if (!rows.some((r) => r.name === m.name))
          rows.push(errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
    }
    try {
      if (!opts.bigtraceCommands.includes('run')) return rows;
      const producer = await cc('paced_producer', 'c/paced_producer.c', linkEngine());
      const r = await runSlope(dir, producer);
      const half = r.samples.filter((s) => s.t >= r.seconds / 2);
      if (half.length < 10) throw new Error(`only ${half.length} RSS samples after warm-up`);
      const slope =
        lineSlope(
          half.map((s) => s.t),
          half.map((s) => s.mb),
        ) * 60; // MB per minute
      const eps = r.events / r.seconds;
      rows.push(
        row({
          ...slopeMeta,
          value: round4(slope),
          peer_value: TARGET_SLOPE_MB_MIN,
          meets_target: slope <= TARGET_SLOPE_MB_MIN,
          detail: { samples: r.samples.map((s) => [round4(s.t), round4(s.mb)]), events: r.events, drops: r.drops },
          notes: [
            `paced_producer 16 coroutines for ${opts.bigtraceRunSeconds} s, recorded (-o): ${Math.round(eps).toLocaleString('en-US')} events/s reached the CLI (${r.events.toLocaleString('en-US')} events, ${r.drops} dropped); ` +
              `RSS ${r.samples[0]?.mb.toFixed(0)} MB at 1 s, ${half[0].mb.toFixed(0)} MB at ${half[0].t.toFixed(0)} s, ${half.at(-1).mb.toFixed(0)} MB at ${half.at(-1).t.toFixed(0)} s; ` +
              `least-squares slope over the second half: ${slope.toFixed(2)} MB/min, i.e. ${(slope * 60).toFixed(0)} MB over 60 min (one run)`,
          ],
        }),
      );
    } catch (e) {
      rows.push(
        errorRow(
          slopeMeta.name,
          slopeMeta.title,
          slopeMeta.unit,
          slopeMeta.better,
          slopeMeta.target,
          slopeMeta.peer,
          e,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  }

  return { bigtrace: benchBigtrace };
}

/** Least-squares slope of y over x. */
export function lineSlope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : NaN;
}
