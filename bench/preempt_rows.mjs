// bench/preempt_rows.mjs — the preemption rows of bench/run.mjs (see
// bench/README.md, rows 6 and 7). run.mjs owns the command line, building and
// the table; it hands its helpers in, and gets one runner per benchmark back:
//
//   preempt_latency   native/build/examples/cpu_hog (COROSCOPE_WORKERS=1) vs
//                     go/preempt_hog.go (GOMAXPROCS=1): the ticker's lateness,
//                     p50 and p99, next to a coroutine/goroutine spinning in
//                     pure computation. Target: our p99 <= slice + 2 ms = 12 ms.
//   preempt_overhead  c/preempt_overhead.c, a busy workload that is never
//                     preempted (short compute bursts + yield, every worker),
//                     wall time with COROSCOPE_PREEMPT=1 vs =0. Target <= 1 %.

import { join } from 'node:path';

const SLICE_MS = 10; // the engine's default COROSCOPE_TIME_SLICE
const HOG_SECONDS = 3;

// h: { opts, log, mustRun, lastJson, median, row, errorRow, round4, cleanEnv,
//      needNative, cc, goBuild, linkEngine, nativeBuild: () => dir, lib: () => path }
export function preemptBenchmarks(h) {
  const { opts, log, mustRun, lastJson, median, row, errorRow, round4, cleanEnv, needNative, cc, goBuild, linkEngine } =
    h;

  // "ticks=253 lateness_p50_ms=5.69 lateness_p99_ms=11.25 lateness_max_ms=11.72"
  function parseLateness(what, stdout) {
    const m = /ticks=(\d+) lateness_p50_ms=([\d.]+) lateness_p99_ms=([\d.]+) lateness_max_ms=([\d.]+)/.exec(stdout);
    if (!m)
      throw new Error(`${what}: no "ticks=... lateness_p50_ms=..." line in its output:\n${stdout.trim().slice(-300)}`);
    return { ticks: Number(m[1]), p50: Number(m[2]), p99: Number(m[3]), max: Number(m[4]) };
  }

  async function benchPreemptLatency() {
    const target = SLICE_MS + 2;
    const meta = {
      name: 'preempt_latency',
      title: `ticker lateness p99 next to a CPU hog (slice ${SLICE_MS} ms)`,
      unit: 'ms',
      better: 'lower',
      target: `<= ${target} ms (slice + 2 ms)`,
      peer: 'Go: spinning goroutine + time.Sleep ticker, GOMAXPROCS=1',
    };
    try {
      const cpuHog = join(h.nativeBuild(), 'examples', 'cpu_hog');
      await needNative(h.lib(), cpuHog);
      const goExe = await goBuild('preempt_hog_go', 'go/preempt_hog.go');
      const ours = [];
      const go = [];
      const args = [String(HOG_SECONDS), '--quiet'];
      for (let i = 0; i < opts.reps; i++) {
        const order = i & 1 ? ['go', 'ours'] : ['ours', 'go'];
        for (const which of order) {
          if (which === 'ours')
            ours.push(
              parseLateness(
                'cpu_hog',
                (await mustRun('cpu_hog', cpuHog, args, { env: cleanEnv({ COROSCOPE_WORKERS: '1' }) })).stdout,
              ),
            );
          else
            go.push(
              parseLateness(
                'preempt_hog_go',
                (await mustRun('preempt_hog_go', goExe, args, { env: cleanEnv({ GOMAXPROCS: '1' }) })).stdout,
              ),
            );
        }
        const a = ours.at(-1);
        const b = go.at(-1);
        log(
          `  preempt_latency rep ${i + 1}: ours p50 ${a.p50} p99 ${a.p99} ms (${a.ticks} ticks), go p50 ${b.p50} p99 ${b.p99} ms (${b.ticks} ticks)`,
        );
      }
      const med = (xs, k) => median(xs.map((x) => x[k]));
      const p99 = med(ours, 'p99');
      const goP99 = med(go, 'p99');
      const notes = [
        `p50: ours ${med(ours, 'p50').toFixed(2)} ms, Go ${med(go, 'p50').toFixed(2)} ms; p99: ours ${p99.toFixed(2)} ms, Go ${goP99.toFixed(2)} ms; ` +
          `max: ours ${med(ours, 'max').toFixed(2)} ms, Go ${med(go, 'max').toFixed(2)} ms (medians of ${opts.reps} runs of ${HOG_SECONDS} s)`,
      ];
      const minTicks = Math.min(...ours.map((x) => x.ticks));
      const expected = (HOG_SECONDS * 1000) / SLICE_MS;
      if (minTicks < expected / 3)
        notes.push(
          `a run of ours had only ${minTicks} ticks in ${HOG_SECONDS} s (a free ticker has ~${expected}): the hog was rarely preempted`,
        );
      return [
        row({
          ...meta,
          value: round4(p99),
          peer_value: round4(goP99),
          meets_target: p99 <= target,
          notes,
          detail: {
            p50_ms_ours: round4(med(ours, 'p50')),
            p50_ms_peer: round4(med(go, 'p50')),
            p99_ms_ours: round4(p99),
            p99_ms_peer: round4(goP99),
            max_ms_ours: round4(med(ours, 'max')),
            max_ms_peer: round4(med(go, 'max')),
            reps_ours: ours,
            reps_peer: go,
            method: `cpu_hog ${HOG_SECONDS} --quiet (COROSCOPE_WORKERS=1, default 10 ms slice) vs preempt_hog ${HOG_SECONDS} --quiet (GOMAXPROCS=1); lateness = how late each 10 ms tick woke up; median over runs of each run's percentile`,
          },
        }),
      ];
    } catch (e) {
      return [errorRow(meta.name, meta.title, meta.unit, meta.better, meta.target, meta.peer, e)];
    }
  }

  async function benchPreemptOverhead() {
    const meta = {
      name: 'preempt_overhead',
      title: 'busy, never-preempted workload: wall, preemption on',
      unit: 's',
      better: 'lower',
      target: '<= 1.01x peer (<= 1 % overhead)',
      peer: 'same workload, COROSCOPE_PREEMPT=0',
    };
    try {
      await needNative(h.lib());
      const exe = await cc('preempt_overhead', 'c/preempt_overhead.c', linkEngine());
      const args = ['256', '400', '20000']; // coroutines, rounds, burst: ~20 us bursts, ~3 s of CPU
      const on = [];
      const off = [];
      for (let i = 0; i < opts.reps; i++) {
        const order = i & 1 ? [0, 1] : [1, 0];
        for (const p of order) {
          const j = lastJson(
            'preempt_overhead',
            (await mustRun('preempt_overhead', exe, args, { env: cleanEnv({ COROSCOPE_PREEMPT: String(p) }) })).stdout,
          );
          if (j.preempt !== p)
            throw new Error(`preempt_overhead ran with preempt=${j.preempt}, asked COROSCOPE_PREEMPT=${p}`);
          (p ? on : off).push(j);
        }
        log(
          `  preempt_overhead rep ${i + 1}: on ${on.at(-1).wall_s.toFixed(3)} s, off ${off.at(-1).wall_s.toFixed(3)} s ` +
            `(monitor CPU ${(on.at(-1).monitor_cpu_s * 1e3).toFixed(1)} / ${(off.at(-1).monitor_cpu_s * 1e3).toFixed(1)} ms)`,
        );
      }
      const med = (xs, k) => median(xs.map((x) => x[k]));
      const wallOn = med(on, 'wall_s');
      const wallOff = med(off, 'wall_s');
      const ratio = wallOn / wallOff;
      const pairwise = median(on.map((x, i) => x.wall_s / off[i].wall_s));
      const monOn = med(on, 'monitor_cpu_s');
      const monOff = med(off, 'monitor_cpu_s');
      const cpuOn = med(on, 'cpu_s');
      const sent = on.reduce((s, x) => s + x.sent, 0);
      const notes = [
        `overhead ${((ratio - 1) * 100).toFixed(2)} % (median of pairwise ratios ${((pairwise - 1) * 100).toFixed(2)} %); ` +
          `${on[0].workers} workers, ${on[0].coroutines} coroutines x ${on[0].rounds} rounds of ${on[0].burst}-step bursts + yield`,
        `the monitor thread ran ${(monOn * 1e3).toFixed(1)} ms per run with preemption on (${((monOn / cpuOn) * 100).toFixed(2)} % of the process's CPU time) ` +
          `and ${(monOff * 1e3).toFixed(1)} ms with it off (it sleeps while preemption is off): on/off is the monitor's whole cost`,
      ];
      if (sent)
        notes.push(
          `the monitor sent ${sent} preemption signals over the runs with preemption on: a worker thread held one coroutine for a whole slice (its CPU taken away by the machine?)`,
        );
      const r = row({
        ...meta,
        value: round4(wallOn),
        peer_value: round4(wallOff),
        meets_target: ratio <= 1.01,
        notes,
        detail: {
          overhead_pct: round4((ratio - 1) * 100),
          median_pairwise_overhead_pct: round4((pairwise - 1) * 100),
          monitor_cpu_s_on: round4(monOn),
          monitor_cpu_s_off: round4(monOff),
          process_cpu_s_on: round4(cpuOn),
          process_cpu_s_off: round4(med(off, 'cpu_s')),
          preempt_signals_sent_on: sent,
          reps_on: on,
          reps_off: off,
          method: `preempt_overhead ${args.join(' ')} (default workers), COROSCOPE_PREEMPT=1 and =0 interleaved; wall = first spawn to last join`,
        },
      });
      return [r];
    } catch (e) {
      return [errorRow(meta.name, meta.title, meta.unit, meta.better, meta.target, meta.peer, e)];
    }
  }

  return { preempt_latency: benchPreemptLatency, preempt_overhead: benchPreemptOverhead };
}
