// bench/rec_rows.mjs — the recording rows of bench/run.mjs (see
// bench/README.md, row 13; issue 12). run.mjs owns the command line, building
// and the table; it hands its helpers in and gets one runner back:
//
//   recording  how much recording costs and what it keeps, next to Go's
//              execution tracer and strace:
//     - c/rec_workload.c, the coroutine workload (coroutine pairs x 30 rounds
//       of {yield; every 4th usleep(50 us); socketpair ping-pong}) sized to
//       ~1 M and ~10 M events (and ~100 M with --recording-big): unrecorded,
//       COROSCOPE_TRACE=file, `coroscope record -o file`; the same work in Go
//       (go/rec_workload.go) untraced and under runtime/trace;
//     - c/write1m.c, 1,000,000 write(2) calls to /dev/null from a plain
//       thread: as is, with libcoroscope.so preloaded (not recording,
//       COROSCOPE_TRACE, `coroscope record`), and under
//       `strace -f -o /dev/null`.
//     All variants of one workload interleaved (a different order each
//     repetition), --reps of each; medians. Kept events are counted by
//     reading each file with the project's reader (bench/rec_count.ts), Go's
//     by decoding its trace (bench/go_trace.mjs); made/lost by the rules of
//     bench/rec_account.mjs. Every trace file is deleted once counted.
//
// Recording policies (issue 12: lossless / drop): when `coroscope record
// --help` documents --policy, the record variants run once per policy with
// `--policy lossless|drop`; when libcoroscope.so knows COROSCOPE_TRACE_POLICY
// the COROSCOPE_TRACE variants run with COROSCOPE_TRACE_POLICY=lossless|drop.
// Otherwise they run as the build records by default and the output says
// "policy: not supported by this build".

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { countGoTrace } from './go_trace.mjs';
import {
  accountCoroutines,
  accountGo,
  accountWrites,
  cliTakesPolicy,
  engineTakesPolicy,
  rotation,
} from './rec_account.mjs';

const ROUNDS = 30;
const BATCH_PAIRS = 1000; // at most 2000 coroutines (1000 socketpairs) alive at once
// ~320 events per coroutine (about 100 of them of the kinds with a fixed count)
const SIZES = [
  { key: '1m', label: '~1 M', coroutines: 3_200, big: false },
  { key: '10m', label: '~10 M', coroutines: 32_000, big: false },
  { key: '100m', label: '~100 M', coroutines: 320_000, big: true },
];
const WRITES = 1_000_000;
const TARGET_LOSSLESS = 1.3; // x unrecorded run time, 0 lost
const TARGET_DROP = 1.1; // x unrecorded run time, made = kept + counted lost
const TARGET_BYTES = 4; // bytes per event on disk

// h: { opts, log, mustRun, lastJson, median, row, errorRow, round4, cleanEnv,
//      needNative, cc, linkEngine, goBuild, run, bench: dir, root: dir,
//      nativeBuild: () => dir, lib: () => path }
export function recordingBenchmarks(h) {
  const { opts, log, mustRun, lastJson, median, row, errorRow, round4, cleanEnv, needNative, cc, linkEngine, goBuild } =
    h;
  const cli = join(h.root, 'out', 'cli', 'coroscope.mjs');
  const countScript = join(h.bench, 'rec_count.ts');
  const M = (x) => x / 1e6;
  const n0 = (x) => Math.round(x).toLocaleString('en-US');
  const pct = (x) => `${x.toFixed(x && Math.abs(x) < 0.1 ? 3 : 1)} %`;
  const med = (xs, f) => median(xs.map(f));

  // The environment of every process started here: nothing inherited from
  // the engine's settings, a private XDG_RUNTIME_DIR, and with --native-dir
  // the CLI and the reader take the addon and library from there too.
  const baseEnv = (dir, extra = {}) =>
    cleanEnv({
      ...(dir ? { XDG_RUNTIME_DIR: join(dir, 'run') } : {}),
      ...(opts.nativeDir ? { COROSCOPE_NATIVE_DIR: h.nativeBuild() } : {}),
      ...extra,
    });

  let cliBuilt;
  function buildCli() {
    cliBuilt ??= (async () => {
      if (!opts.nativeBuild && existsSync(cli)) return;
      log('build: npm run build:cli');
      await mustRun('npm run build:cli', 'npm', ['run', 'build:cli'], {
        env: process.env,
        cwd: h.root,
        timeout: 300_000,
      });
    })();
    return cliBuilt;
  }

  // ---- what this build supports ----------------------------------------

  async function policySupport(env) {
    const help = await h.run(process.execPath, [cli, 'record', '--help'], { env, cwd: h.root, timeout: 60_000 });
    const text = `${help.stdout}\n${help.stderr}`;
    if (!/coroscope record/.test(text))
      throw new Error(
        `coroscope record --help did not print its usage (exit ${help.code}):\n${text.trim().slice(-500)}`,
      );
    return {
      cli: cliTakesPolicy(text),
      engine: engineTakesPolicy(readFileSync(h.lib())),
    };
  }

  // Recorded variants: COROSCOPE_TRACE and `coroscope record`, once per policy
  // when the build has them.
  function recordModes(support) {
    const modes = [];
    for (const p of support.engine ? ['lossless', 'drop'] : [null]) {
      modes.push({
        key: p ? `trace_${p}` : 'trace',
        how: 'trace',
        policy: p,
        title: `COROSCOPE_TRACE${p ? ` (COROSCOPE_TRACE_POLICY=${p})` : ''}`,
      });
    }
    for (const p of support.cli ? ['lossless', 'drop'] : [null]) {
      modes.push({
        key: p ? `record_${p}` : 'record',
        how: 'record',
        policy: p,
        title: `coroscope record${p ? ` --policy ${p}` : ''}`,
      });
    }
    return modes;
  }

  const targetOf = (mode) => (mode.policy === 'drop' ? TARGET_DROP : TARGET_LOSSLESS);
  const timeTarget = (mode) =>
    mode.policy === 'drop'
      ? `<= ${TARGET_DROP}x peer (drop)`
      : `<= ${TARGET_LOSSLESS}x peer (lossless${mode.policy ? '' : ', the default to be'})`;
  // The coroutine workload's whole count is not known in advance: in drop
  // mode its row can only check that no loss on the known kinds went
  // uncounted (necessary, not sufficient); write1m's row is the exact check.
  const lostTarget = (mode, exact = true) =>
    mode.policy === 'drop'
      ? exact
        ? 'made = kept + counted lost'
        : 'no uncounted loss on the known kinds (write1m: exact)'
      : '0 lost';

  // ---- running one variant ----------------------------------------------

  async function timed(what, cmd, args, { env, timeout }) {
    const t0 = process.hrtime.bigint();
    const r = await mustRun(what, cmd, args, { env, timeout, cwd: h.root });
    const wall_s = Number(process.hrtime.bigint() - t0) / 1e9;
    const program = lastJson(what, r.stdout);
    return { wall_s, internal_s: program.elapsed_ns / 1e9, program, stderr: r.stderr };
  }

  async function countFile(file, timeout) {
    const env = baseEnv(null);
    const c = lastJson(
      'rec_count',
      (
        await mustRun('rec_count', process.execPath, ['--import', 'tsx', countScript, file], {
          env,
          cwd: h.root,
          timeout,
        })
      ).stdout,
    );
    if (c.problem) throw new Error(`${file}: ${c.problem}`);
    return c;
  }

  // Run a recorded variant, count its file, delete it.
  async function recorded(mode, what, exe, args, { env, timeout, file, account }) {
    rmSync(file, { force: true });
    let r;
    if (mode.how === 'trace') {
      r = await timed(what, exe, args, {
        env: { ...env, COROSCOPE_TRACE: file, ...(mode.policy ? { COROSCOPE_TRACE_POLICY: mode.policy } : {}) },
        timeout,
      });
    } else {
      const pol = mode.policy ? ['--policy', mode.policy] : [];
      r = await timed(
        `coroscope record ${what}`,
        process.execPath,
        [cli, 'record', '-o', file, ...pol, '--', exe, ...args],
        { env, timeout },
      );
    }
    if (!existsSync(file))
      throw new Error(
        `${mode.title} ${what}: no trace file ${file}${r.stderr.trim() ? `\n${r.stderr.trim().slice(-500)}` : ''}`,
      );
    const bytes = statSync(file).size;
    const count = await countFile(file, timeout);
    rmSync(file, { force: true });
    const a = account(r.program, count);
    // The time that the row compares: the process for COROSCOPE_TRACE; the
    // target's own run for `coroscope record` (the CLI adds Node's start-up).
    const time_s = mode.how === 'trace' ? r.wall_s : r.internal_s;
    return { ...r, time_s, bytes, count, account: a, bytes_per_event: bytes / a.kept, events_per_s: a.kept / time_s };
  }

  const slim = (r) => ({
    wall_s: round4(r.wall_s),
    internal_s: round4(r.internal_s),
    ...(r.bytes !== undefined
      ? { bytes: r.bytes, bytes_per_event: round4(r.bytes_per_event), events_per_s: Math.round(r.events_per_s) }
      : {}),
    ...(r.account ? { account: { ...r.account, lost_known_pct: round4(r.account.lost_known_pct) } } : {}),
    ...(r.count ? { kinds: r.count.kinds, drop_records: r.count.drop_records, read_s: round4(r.count.read_s) } : {}),
  });

  // ---- repetitions -------------------------------------------------------

  // Every variant --reps times, in a different order each repetition. A
  // variant that fails is left out from then on (its rows report the error;
  // the others still run); a failure of `essential` (the unrecorded peer)
  // ends the benchmark.
  async function runReps(variants, essential, runOne, logRep) {
    const res = Object.fromEntries(variants.map((v) => [v, []]));
    const failed = {};
    for (let i = 0; i < opts.reps; i++) {
      for (const v of rotation(variants, i)) {
        if (failed[v]) continue;
        try {
          res[v].push(await runOne(v, i));
        } catch (e) {
          if (essential.includes(v)) throw e;
          failed[v] = e;
          log(
            `  ${v}: failed; left out of the remaining repetitions:\n    ${String(e && e.message ? e.message : e).replace(/\n/g, '\n    ')}`,
          );
        }
      }
      logRep(i, (v) => (failed[v] ? undefined : res[v].at(-1)));
    }
    return { res, failed };
  }

  // A row, or the error row of its meta when a variant it needs failed.
  const guarded = (meta, failed, needs, build) => {
    const bad = needs.find((v) => failed[v]);
    if (bad)
      return errorRow(
        meta.name,
        meta.title,
        meta.unit,
        meta.better,
        meta.target,
        meta.peer,
        new Error(`${bad}: ${failed[bad].message ?? failed[bad]}`),
      );
    return row({ ...meta, ...build() });
  };

  const policyNote = (m) =>
    m.policy
      ? []
      : [
          `policy: not supported by this build (${m.how === 'trace' ? 'libcoroscope.so does not read COROSCOPE_TRACE_POLICY' : 'coroscope record --help has no --policy'}): recorded as it records by default`,
        ];

  // ---- the coroutine workload at one size --------------------------------

  function coMetas(size, modes) {
    const metas = [];
    for (const m of modes) {
      metas.push({
        name: `recording_co_${size.key}_${m.key}_time`,
        title: `recording, coroutine workload ${size.label} events, ${m.title}: run time`,
        unit: 's',
        better: 'lower',
        target: timeTarget(m),
        peer:
          m.how === 'trace' ? 'same program unrecorded (process wall)' : 'same program unrecorded (its own run time)',
      });
      metas.push({
        name: `recording_co_${size.key}_${m.key}_lost`,
        title: `recording, coroutine workload ${size.label} events, ${m.title}: events lost`,
        unit: '% lost',
        better: 'lower',
        target: lostTarget(m, false),
        peer: 'Go runtime/trace, same work',
      });
    }
    metas.push({
      name: `recording_co_${size.key}_bytes`,
      title: `recording, coroutine workload ${size.label} events: bytes per event on disk`,
      unit: 'B/event',
      better: 'lower',
      target: `<= ${TARGET_BYTES} B`,
      peer: 'Go runtime/trace, same work',
    });
    metas.push({
      name: `recording_co_${size.key}_go`,
      title: `Go runtime/trace, coroutine workload ${size.label} events: run time`,
      unit: 's',
      better: 'lower',
      target: '— (reference)',
      peer: 'same Go program untraced',
    });
    return metas;
  }

  async function benchCoroutines(size, modes, dir) {
    const [exe, goExe] = await Promise.all([
      cc('rec_workload', 'c/rec_workload.c', linkEngine()),
      goBuild('rec_workload_go', 'go/rec_workload.go'),
    ]);
    const args = [String(size.coroutines), String(ROUNDS), String(BATCH_PAIRS)];
    const timeout = Math.max(180_000, size.coroutines * 10);
    const env = baseEnv(dir);
    const goEnv = cleanEnv();
    const variants = ['base', ...modes.map((m) => m.key), 'go', 'go_trace'];
    log(
      `  compared: ${exe} ${args.join(' ')} (default workers) unrecorded | ${modes.map((m) => m.title).join(' | ')} | ` +
        `${goExe} ${args.join(' ')} (default GOMAXPROCS) untraced | the same with -trace FILE (runtime/trace)`,
    );
    const runOne = async (v, i) => {
      const file = join(dir, `${size.key}-${v}-${i}.trace`);
      if (v === 'base') return timed('rec_workload', exe, args, { env, timeout });
      if (v === 'go') return timed('rec_workload_go', goExe, args, { env: goEnv, timeout });
      if (v === 'go_trace') {
        rmSync(file, { force: true });
        try {
          const r = await timed('rec_workload_go -trace', goExe, ['-trace', file, ...args], { env: goEnv, timeout });
          const g = countGoTrace(readFileSync(file));
          return {
            ...r,
            time_s: r.wall_s,
            bytes: g.bytes,
            go: g,
            account: accountGo(r.program, g),
            bytes_per_event: g.bytes / g.events,
            events_per_s: g.events / r.wall_s,
          };
        } finally {
          rmSync(file, { force: true });
        }
      }
      return recorded(
        modes.find((m) => m.key === v),
        'rec_workload',
        exe,
        args,
        { env, timeout, file, account: accountCoroutines },
      );
    };
    const logRep = (i, last) => {
      const parts = [`unrecorded ${last('base').wall_s.toFixed(2)} s`];
      for (const m of modes) {
        const r = last(m.key);
        if (r)
          parts.push(
            `${m.key} ${r.time_s.toFixed(2)} s, kept ${n0(r.account.kept)}, lost ${pct(r.account.lost_known_pct)} of the known kinds, ` +
              `counted lost ${n0(r.account.counted_lost)}, ${r.bytes_per_event.toFixed(1)} B/event`,
          );
      }
      if (last('go')) parts.push(`go ${last('go').wall_s.toFixed(2)} s`);
      const g = last('go_trace');
      if (g)
        parts.push(
          `go trace ${g.wall_s.toFixed(2)} s (${n0(g.go.events)} events, ${g.bytes_per_event.toFixed(2)} B/event)`,
        );
      log(`  recording ${size.key} rep ${i + 1}: ${parts.join(' | ')}`);
    };
    const { res, failed } = await runReps(variants, ['base'], runOne, logRep);
    return rowsFor(size, modes, res, failed);
  }

  function rowsFor(size, modes, res, failed) {
    const rows = [];
    const base = res.base;
    const goT = res.go_trace;
    const haveGo = !failed.go && !failed.go_trace;
    const goTime = med(goT, (r) => r.wall_s);
    const goBase = med(res.go, (r) => r.wall_s);
    const goOverhead = goTime / goBase;
    const goEvents = med(goT, (r) => r.go.events);
    const goBpe = med(goT, (r) => r.bytes_per_event);
    const goEps = med(goT, (r) => r.events_per_s);
    const goLost = med(goT, (r) => r.account.lost_known_pct);
    const goNote = haveGo
      ? `Go runtime/trace on the same work: ${goOverhead.toFixed(2)}x, ${n0(goEvents)} events, ${M(goEps).toFixed(2)} M events/s`
      : `Go runtime/trace: failed (see recording_co_${size.key}_go)`;
    for (const m of modes) {
      const [timeMeta, lostMeta] = coMetas(size, [m]);
      const rs = res[m.key];
      rows.push(
        guarded(timeMeta, failed, [m.key], () => {
          const peerOf = (b) => (m.how === 'trace' ? b.wall_s : b.internal_s);
          const value = med(rs, (r) => r.time_s);
          const peer = med(base, peerOf);
          const ratio = value / peer;
          const pairwise = median(rs.map((r, i) => r.time_s / peerOf(base[i])));
          const kept = med(rs, (r) => r.account.kept);
          const eps = med(rs, (r) => r.events_per_s);
          return {
            value: round4(value),
            peer_value: round4(peer),
            meets_target: ratio <= targetOf(m),
            notes: [
              `overhead ${ratio.toFixed(2)}x (median of pairwise ratios ${pairwise.toFixed(2)}x); ${n0(kept)} events kept per run, ${M(eps).toFixed(2)} M events/s recorded; ${goNote}`,
              ...(m.how === 'record'
                ? [
                    `times are the target's own (main to the last join, JSON line); the whole \`coroscope record\` command took ${med(rs, (r) => r.wall_s).toFixed(2)} s (Node start-up, launch, the end of the recording) against ${med(base, (b) => b.wall_s).toFixed(2)} s for the unrecorded process`,
                  ]
                : [`times are process walls (spawn to exit, the engine's exit handlers included)`]),
              ...policyNote(m),
            ],
            detail: {
              policy: m.policy ?? 'none (not supported by this build)',
              median_pairwise_ratio: round4(pairwise),
              events_kept: kept,
              events_per_s: Math.round(eps),
              go_overhead: haveGo ? round4(goOverhead) : null,
              go_events_per_s: haveGo ? Math.round(goEps) : null,
              reps: rs.map(slim),
              reps_unrecorded: base.map(slim),
              method: `rec_workload ${size.coroutines} ${ROUNDS} ${BATCH_PAIRS} (default workers); ${m.title}; ${m.how === 'trace' ? 'process wall, spawn to exit' : "the target's elapsed_ns (main to last join)"}; unrecorded: the same program and environment without recording`,
            },
          };
        }),
      );
      rows.push(
        guarded(lostMeta, failed, [m.key], () => {
          const kept = med(rs, (r) => r.account.kept);
          const broken = [...new Set(rs.flatMap((r) => r.account.rule_broken))];
          const allLossless = rs.every((r) => r.account.lost_known === 0 && r.account.counted_lost === 0);
          const allCounted = rs.every((r) => r.account.uncounted_min === 0);
          return {
            value: round4(med(rs, (r) => r.account.lost_known_pct)),
            peer_value: haveGo ? round4(goLost) : null,
            meets_target: !broken.length && (m.policy === 'drop' ? allCounted : allLossless),
            notes: [
              `medians per run: of the kinds with a known count (create, finish, yield, the hooked calls) ${n0(med(rs, (r) => r.account.made_known))} made, ${n0(med(rs, (r) => r.account.kept_known))} kept; ` +
                `all kinds: ${n0(kept)} kept, ${n0(med(rs, (r) => r.account.counted_lost))} counted lost (DROP), at least ${n0(med(rs, (r) => r.account.uncounted_min))} lost uncounted ` +
                `(per run: ${rs.map((r) => r.account.uncounted_min).join(', ')}), so at least ${n0(med(rs, (r) => r.account.made_min))} made`,
              ...(m.policy === 'drop'
                ? [
                    'drop mode: the check is that no loss on the known kinds went uncounted (uncounted = 0); the whole count is not known in advance for this workload (write1m checks made = kept + counted exactly)',
                  ]
                : []),
              ...(broken.length ? [`the events-per-operation rule did not hold: ${broken.join('; ')}`] : []),
              ...policyNote(m),
            ],
            detail: {
              policy: m.policy ?? 'none (not supported by this build)',
              reps: rs.map((r) => ({ ...r.account, lost_known_pct: round4(r.account.lost_known_pct) })),
              go_reps: goT.map((r) => r.account),
              method:
                'lost % = (made - kept) / made over the kinds whose count per operation is fixed (bench/rec_account.mjs); counted lost = sum of DROP a0; uncounted >= that loss minus the counted loss',
            },
          };
        }),
      );
    }
    // Bytes per event: the first COROSCOPE_TRACE variant that ran (lossless when there are policies).
    const [bytesMeta, goMeta] = coMetas(size, []);
    const bm = modes.find((m) => m.how === 'trace' && !failed[m.key]) ?? modes.find((m) => !failed[m.key]) ?? modes[0];
    rows.push(
      guarded(bytesMeta, failed, [bm.key], () => {
        const bpe = med(res[bm.key], (r) => r.bytes_per_event);
        return {
          value: round4(bpe),
          peer_value: haveGo ? round4(goBpe) : null,
          meets_target: bpe <= TARGET_BYTES,
          notes: [
            `${bm.title}: file bytes / events kept; ${modes
              .filter((m) => !failed[m.key])
              .map(
                (m) =>
                  `${m.title} ${med(res[m.key], (r) => r.bytes_per_event).toFixed(2)} B/event, ${(med(res[m.key], (r) => r.bytes) / 1e6).toFixed(1)} MB`,
              )
              .join('; ')}; ` +
              (haveGo
                ? `Go: ${goBpe.toFixed(2)} B/event, ${(med(goT, (r) => r.bytes) / 1e6).toFixed(1)} MB for ${n0(goEvents)} events (counted by decoding its trace: bench/go_trace.mjs)`
                : goNote),
          ],
          detail: {
            from: bm.key,
            reps: res[bm.key].map((r) => round4(r.bytes_per_event)),
            go_reps: goT.map((r) => round4(r.bytes_per_event)),
          },
        };
      }),
    );
    rows.push(
      guarded(goMeta, failed, ['go', 'go_trace'], () => ({
        value: round4(goTime),
        peer_value: round4(goBase),
        meets_target: true,
        notes: [
          `Go's tracer: ${goOverhead.toFixed(2)}x, ${n0(goEvents)} events (${goBpe.toFixed(2)} B/event, ${M(goEps).toFixed(2)} M events/s), ` +
            `${pct(goLost)} lost on the kinds with a known count (GoSleep, GoSched, GoEnd)`,
        ],
        detail: {
          go_events: goEvents,
          reps_traced: goT.map((r) => ({
            wall_s: round4(r.wall_s),
            events: r.go.events,
            bytes: r.bytes,
            by_type: r.go.byType,
            account: r.account,
          })),
          reps_untraced: res.go.map(slim),
          method: `go/rec_workload.go ${size.coroutines} ${ROUNDS} ${BATCH_PAIRS} with and without -trace FILE (runtime/trace from main's start to the end of the work), process walls`,
        },
      })),
    );
    return rows;
  }

  // ---- the 1 M-write program ---------------------------------------------

  function writeMetas(modes) {
    const metas = [];
    for (const m of modes) {
      metas.push({
        name: `recording_write1m_${m.key}_time`,
        title: `recording, 1 M write(2) on a plain thread, ${m.title}: run time`,
        unit: 's',
        better: 'lower',
        target: timeTarget(m),
        peer:
          m.how === 'trace'
            ? 'same program, engine preloaded, not recording (process wall)'
            : 'same program, engine preloaded, not recording (its own run time)',
      });
      metas.push({
        name: `recording_write1m_${m.key}_lost`,
        title: `recording, 1 M write(2), ${m.title}: events lost`,
        unit: '% lost',
        better: 'lower',
        target: lostTarget(m),
        peer: '—',
      });
    }
    metas.push({
      name: 'recording_write1m_bytes',
      title: 'recording, 1 M write(2): bytes per event on disk',
      unit: 'B/event',
      better: 'lower',
      target: `<= ${TARGET_BYTES} B`,
      peer: '—',
    });
    metas.push({
      name: 'recording_write1m_strace',
      title: 'strace -f -o /dev/null, 1 M write(2): run time',
      unit: 's',
      better: 'lower',
      target: '— (reference)',
      peer: 'same program, no engine, untraced',
    });
    return metas;
  }

  async function benchWrites(modes, dir) {
    const exe = await cc('write1m', 'c/write1m.c');
    const strace = (await h.run('sh', ['-c', 'command -v strace'], {})).stdout.trim();
    const args = [String(WRITES)];
    const timeout = 600_000;
    const env = baseEnv(dir);
    const pre = { ...env, LD_PRELOAD: h.lib() };
    const variants = ['plain', 'preload', ...modes.map((m) => m.key), 'strace'];
    log(
      `  compared: ${exe} ${WRITES} as is | LD_PRELOAD=${h.lib()} (not recording) | ${modes.map((m) => m.title).join(' | ')} | ${strace || 'strace'} -f -o /dev/null ${exe} ${WRITES}`,
    );
    const runOne = async (v, i) => {
      if (v === 'plain') return timed('write1m', exe, args, { env, timeout });
      if (v === 'preload') return timed('write1m (preloaded)', exe, args, { env: pre, timeout });
      if (v === 'strace') {
        if (!strace)
          throw new Error("strace is not installed (Debian: apt-get install strace); it is the write program's peer");
        return timed('strace write1m', strace, ['-f', '-o', '/dev/null', exe, ...args], { env, timeout });
      }
      const mode = modes.find((m) => m.key === v);
      // COROSCOPE_TRACE: the library preloaded; record: the CLI preloads it.
      return recorded(mode, 'write1m', exe, args, {
        env: mode.how === 'trace' ? pre : env,
        timeout,
        file: join(dir, `write1m-${v}-${i}.trace`),
        account: accountWrites,
      });
    };
    const logRep = (i, last) => {
      const parts = [`plain ${last('plain').wall_s.toFixed(3)} s`, `preloaded ${last('preload').wall_s.toFixed(3)} s`];
      for (const m of modes) {
        const r = last(m.key);
        if (r)
          parts.push(
            `${m.key} ${r.time_s.toFixed(3)} s, kept ${n0(r.account.kept)}, lost ${n0(r.account.lost_known)} (counted ${n0(r.account.counted_lost)})`,
          );
      }
      if (last('strace')) parts.push(`strace ${last('strace').wall_s.toFixed(2)} s`);
      log(`  recording write1m rep ${i + 1}: ${parts.join(' | ')}`);
    };
    const { res, failed } = await runReps(variants, ['plain', 'preload'], runOne, logRep);
    const rows = [];
    const haveStrace = !failed.strace;
    const straceT = med(res.strace, (r) => r.wall_s);
    const plainT = med(res.plain, (r) => r.wall_s);
    const metas = writeMetas(modes);
    modes.forEach((m, mi) => {
      const rs = res[m.key];
      rows.push(
        guarded(metas[2 * mi], failed, [m.key], () => {
          const peerOf = (b) => (m.how === 'trace' ? b.wall_s : b.internal_s);
          const value = med(rs, (r) => r.time_s);
          const peer = med(res.preload, peerOf);
          const ratio = value / peer;
          const pairwise = median(rs.map((r, i) => r.time_s / peerOf(res.preload[i])));
          const eps = med(rs, (r) => r.events_per_s);
          return {
            value: round4(value),
            peer_value: round4(peer),
            meets_target: ratio <= targetOf(m),
            notes: [
              `overhead ${ratio.toFixed(2)}x (median of pairwise ratios ${pairwise.toFixed(2)}x); ${n0(med(rs, (r) => r.account.kept))} events kept per run, ${M(eps).toFixed(2)} M events/s recorded; ` +
                (haveStrace
                  ? `strace -f -o /dev/null: ${straceT.toFixed(2)} s (${(straceT / plainT).toFixed(0)}x the program without the engine, ${plainT.toFixed(3)} s), this recording ${(med(rs, (r) => r.wall_s) / straceT).toFixed(3)}x strace's wall`
                  : 'strace: failed (see recording_write1m_strace)'),
              ...(m.how === 'record'
                ? [
                    `times are the target's own (main to the last write); the whole \`coroscope record\` command took ${med(rs, (r) => r.wall_s).toFixed(2)} s`,
                  ]
                : ['times are process walls (spawn to exit)']),
              ...policyNote(m),
            ],
            detail: {
              policy: m.policy ?? 'none (not supported by this build)',
              median_pairwise_ratio: round4(pairwise),
              events_per_s: Math.round(eps),
              strace_s: haveStrace ? round4(straceT) : null,
              plain_s: round4(plainT),
              reps: rs.map(slim),
              reps_preloaded: res.preload.map(slim),
              method: `write1m ${WRITES}; ${m.title}; peer: LD_PRELOAD=libcoroscope.so, not recording`,
            },
          };
        }),
      );
      rows.push(
        guarded(metas[2 * mi + 1], failed, [m.key], () => {
          const broken = [...new Set(rs.flatMap((r) => r.account.rule_broken))];
          const exactAll = rs.every((r) => r.account.uncounted_min === 0);
          const none = rs.every((r) => r.account.lost_known === 0 && r.account.counted_lost === 0);
          return {
            value: round4(med(rs, (r) => r.account.lost_known_pct)),
            peer_value: null,
            meets_target: !broken.length && (m.policy === 'drop' ? exactAll : none),
            notes: [
              `medians per run: ${n0(med(rs, (r) => r.account.made_known))} made (1 CALL per write + metadata), ${n0(med(rs, (r) => r.account.kept))} kept, ${n0(med(rs, (r) => r.account.lost_known))} lost, ` +
                `${n0(med(rs, (r) => r.account.counted_lost))} of them counted (DROP): made - kept - counted = ${n0(med(rs, (r) => r.account.uncounted_min))} ` +
                `(per run: ${rs.map((r) => r.account.uncounted_min).join(', ')}); strace loses nothing (it stops the program at every call)`,
              ...(broken.length ? [`the events-per-operation rule did not hold: ${broken.join('; ')}`] : []),
              ...policyNote(m),
            ],
            detail: {
              policy: m.policy ?? 'none (not supported by this build)',
              reps: rs.map((r) => ({ ...r.account, lost_known_pct: round4(r.account.lost_known_pct) })),
            },
          };
        }),
      );
    });
    const bm = modes.find((m) => m.how === 'trace' && !failed[m.key]) ?? modes.find((m) => !failed[m.key]) ?? modes[0];
    rows.push(
      guarded(metas[2 * modes.length], failed, [bm.key], () => {
        const bpe = med(res[bm.key], (r) => r.bytes_per_event);
        return {
          value: round4(bpe),
          peer_value: null,
          meets_target: bpe <= TARGET_BYTES,
          notes: [
            `${modes
              .filter((m) => !failed[m.key])
              .map(
                (m) =>
                  `${m.title} ${med(res[m.key], (r) => r.bytes_per_event).toFixed(2)} B/event, ${(med(res[m.key], (r) => r.bytes) / 1e6).toFixed(1)} MB`,
              )
              .join('; ')}`,
          ],
          detail: { from: bm.key, reps: res[bm.key].map((r) => round4(r.bytes_per_event)) },
        };
      }),
    );
    rows.push(
      guarded(metas[2 * modes.length + 1], failed, ['strace'], () => ({
        value: round4(straceT),
        peer_value: round4(plainT),
        meets_target: true,
        notes: [
          `strace -f -o /dev/null stops the program at each system call: ${(straceT / plainT).toFixed(0)}x; preloaded engine, not recording: ${med(res.preload, (r) => r.wall_s).toFixed(3)} s`,
        ],
        detail: { reps: res.strace.map(slim), reps_plain: res.plain.map(slim), reps_preloaded: res.preload.map(slim) },
      })),
    );
    return rows;
  }

  // ---- the runner ----------------------------------------------------------

  async function benchRecording() {
    const sizes = SIZES.filter((s) => !s.big || opts.recordingBig);
    const dir = mkdtempSync(join(os.tmpdir(), 'coroscope-bench-recording-'));
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    let modes = recordModes({ cli: false, engine: false });
    const rows = [];
    try {
      let support;
      try {
        await needNative(h.lib(), join(h.nativeBuild(), 'coroscope.node'));
        await buildCli();
        support = await policySupport(baseEnv(dir));
        modes = recordModes(support);
      } catch (e) {
        for (const s of sizes)
          for (const m of coMetas(s, modes))
            rows.push(errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
        for (const m of writeMetas(modes)) rows.push(errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
        return rows;
      }
      if (!support.engine)
        log(
          '  COROSCOPE_TRACE policy: not supported by this build (libcoroscope.so does not read COROSCOPE_TRACE_POLICY)',
        );
      else log('  COROSCOPE_TRACE policy: COROSCOPE_TRACE_POLICY=lossless and =drop');
      if (!support.cli)
        log('  coroscope record policy: not supported by this build (coroscope record --help has no --policy)');
      else log('  coroscope record policy: --policy lossless and --policy drop');
      for (const s of sizes) {
        try {
          rows.push(...(await benchCoroutines(s, modes, dir)));
        } catch (e) {
          for (const m of coMetas(s, modes))
            rows.push(errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
        }
      }
      try {
        rows.push(...(await benchWrites(modes, dir)));
      } catch (e) {
        for (const m of writeMetas(modes)) rows.push(errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
      }
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  return { recording: benchRecording };
}
