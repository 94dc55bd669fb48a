// bench/ui_rows.mjs — the UI's rows of bench/run.mjs (see bench/README.md, row 12).
// run.mjs owns the command line, building and the table; it hands its helpers in
// and gets the `ui` runner back. The measurements are bench/ui_measure.mjs (Playwright
// driving Debian's Chromium against `coroscope serve`, one process per measurement,
// JSON on stdout):
//
//   ui_first_paint    a recording of >= 1 M events (c/paced_producer.c recorded with
//                     `coroscope record`), opened through the Start view: submit ->
//                     first frame whose timeline canvas shows spans (ms); the time
//                     until every event is in and painted is in the notes. No target.
//   ui_pan_zoom_p95   then, the whole trace fitted: p95 frame time while dragging
//                     (pan) and wheeling (zoom) over the canvas. Target <= 16 ms.
//   ui_stream_p95     c/paced_producer.c launched through the launch form at about
//                     200 k events/s, the timeline following live: p95 frame time over
//                     --ui-stream-seconds (default 20; 60 for the full measurement).
//                     Target <= 16 ms.
//   ui_stream_heap    the page's main-thread JS heap (performance.memory.usedJSHeapSize, which
//                     in Chromium counts ArrayBuffer contents; the session data is in the
//                     data worker, not counted: its RSS is in the notes)
//                     at the end of that; after a forced GC and the renderer's RSS in the
//                     notes. No target.
//
// ui_big (its own benchmark: --only ui_big), issue 13's 100 M-event targets with level of
// detail: c/rec_workload.c recorded once into bench/build/big100m.cstrace (~102 M events,
// ~280 MB; reused by later runs, delete it to record again), then `ui_measure big` --ui-reps
// times (at least 3):
//   ui_big_first_paint   submit of the open form -> first frame drawn from data (the chunk
//                        overview). Target <= 2000 ms.
//   ui_big_memory        serve's PSS + every Chromium process's PSS (/proc smaps_rollup),
//                        the highest sample from the first paint to 60 s of analysis later.
//                        Target <= 1000 MB.
//   ui_big_pan_p95       the worst of the pan frame p95 at three zoom levels (whole trace,
//                        1/128, 1/16,384). Target <= 16 ms.
//
// ui_live (its own benchmark: --only ui_live), issue 13's live target: c/paced_producer.c at
// ~200 k events/s (--ui-stream-rate) launched through the launch form, the timeline following
// live, for COROSCOPE_BENCH_LIVE_SECONDS (default 60; 600 for the 10-minute run), sampled every
// 5 s (`ui_measure live`):
//   ui_live_memory       serve's PSS + every Chromium process's PSS, extrapolated to 60 minutes
//                        from the last sample and the slope after warm-up. Target <= 1000 MB.
//   ui_live_slope        that slope (least squares over the samples after warm-up: the first
//                        min(60 s, half the run)), MB/min. Target "flat": <= 2 MB/min.
//   ui_live_lag          the timeline's lag behind live after warm-up, median of the samples:
//                        CLOCK_MONOTONIC now minus the newest timestamp drawn. Target <= 1 s.
//   ui_live_frame_p95    frame time p95 over the whole run. Target <= 16 ms.
//   ui_live_reconnects   WebSockets the page opened after its first. Target 0.

import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const TARGET_FRAME_MS = 16;
const TRACE_EVENTS = 1_000_000; // at least
const TRACE_COROUTINES = 16;
const TRACE_YIELDS_PER_S = 200_000; // recorded for 2.5 s: about 1.08 M events, no drops
const TRACE_SECONDS = 2.5;
const STREAM_COROUTINES = 16;
const EVENTS_PER_YIELD = 2.16; // paced_producer under an inspector: CO_YIELD + CO_RUN, plus the sleeps' events

// h: { opts, log, mustRun, lastJson, median, row, errorRow, round4, cleanEnv,
//      needNative, cc, linkEngine, bench: dir, root: dir, nativeBuild: () => dir, lib: () => path }
export function uiBenchmarks(h) {
  const { opts, log, mustRun, lastJson, median, row, errorRow, round4, cleanEnv, needNative, cc, linkEngine } = h;
  const script = join(h.bench, 'ui_measure.mjs');
  const cli = join(h.root, 'out', 'cli', 'coroscope.mjs');
  const env = (extra = {}) =>
    cleanEnv({ ...(opts.nativeDir ? { COROSCOPE_NATIVE_DIR: h.nativeBuild() } : {}), ...extra });
  const measure = async (what, args, timeout) =>
    lastJson(
      what,
      (await mustRun(what, process.execPath, [script, ...args], { env: env(), cwd: h.root, timeout })).stdout,
    );
  const streamSeconds = opts.uiStreamSeconds ?? 20;
  const streamRate = opts.uiStreamRate ?? 200_000;
  const reps = opts.uiReps ?? 1;

  // The CLI bundle and the renderer: built when missing (npm run build builds both).
  async function needUi() {
    await needNative(h.lib(), join(h.nativeBuild(), 'coroscope.node'));
    if (!existsSync(cli)) {
      log('build: npm run build:cli');
      await mustRun('npm run build:cli', 'npm', ['run', 'build:cli'], {
        env: process.env,
        cwd: h.root,
        timeout: 300_000,
      });
    }
    if (!existsSync(join(h.root, 'out', 'renderer', 'index.html'))) {
      log('build: npm run build:app');
      await mustRun('npm run build:app', 'npm', ['run', 'build:app'], {
        env: process.env,
        cwd: h.root,
        timeout: 600_000,
      });
    }
    const chromium = process.env.COROSCOPE_CHROMIUM || '/usr/bin/chromium';
    if (!existsSync(chromium))
      throw new Error(`${chromium} does not exist (apt-get install chromium, or set COROSCOPE_CHROMIUM)`);
  }

  async function recordTrace(exe, dir) {
    const path = join(dir, 'ui_1m.cstrace');
    const rec = await mustRun(
      'coroscope record (paced_producer)',
      process.execPath,
      [
        cli,
        'record',
        '-o',
        path,
        '--',
        exe,
        String(TRACE_COROUTINES),
        String(TRACE_YIELDS_PER_S),
        String(TRACE_SECONDS),
      ],
      { env: env({ XDG_RUNTIME_DIR: dir }), cwd: h.root, timeout: 120_000 },
    );
    const m = /recorded (\d+) events/.exec(rec.stderr);
    const events = m ? Number(m[1]) : NaN;
    if (!(events >= TRACE_EVENTS))
      throw new Error(
        `the recording has ${events} events, fewer than ${TRACE_EVENTS}:\n${rec.stderr.trim().slice(-400)}`,
      );
    const d = /drops (\d+)/.exec(rec.stderr);
    return { path, events, drops: d ? Number(d[1]) : null };
  }

  async function benchUi() {
    const fpMeta = {
      name: 'ui_first_paint',
      title: 'UI: open a 1 M-event trace -> first timeline paint',
      unit: 'ms',
      better: 'lower',
      target: '— (reported)',
      peer: '—',
    };
    const pzMeta = {
      name: 'ui_pan_zoom_p95',
      title: 'UI: frame time p95, pan+zoom, 1 M-event trace',
      unit: 'ms',
      better: 'lower',
      target: `<= ${TARGET_FRAME_MS} ms`,
      peer: `target ${TARGET_FRAME_MS} ms`,
    };
    const stMeta = {
      name: 'ui_stream_p95',
      title: `UI: frame time p95, streaming ~${Math.round(streamRate / 1000)} k ev/s, ${streamSeconds} s`,
      unit: 'ms',
      better: 'lower',
      target: `<= ${TARGET_FRAME_MS} ms`,
      peer: `target ${TARGET_FRAME_MS} ms`,
    };
    const hpMeta = {
      name: 'ui_stream_heap',
      title: `UI: renderer JS heap after ${streamSeconds} s streaming`,
      unit: 'MB',
      better: 'lower',
      target: '— (reported)',
      peer: '—',
    };
    const metas = [fpMeta, pzMeta, stMeta, hpMeta];
    const dir = mkdtempSync(join(os.tmpdir(), 'coroscope-bench-ui-'));
    try {
      await needUi();
      const exe = await cc('paced_producer', 'c/paced_producer.c', linkEngine());
      const trace = await recordTrace(exe, dir);
      log(`  recorded ${trace.events} events (${trace.drops ?? '?'} dropped) to ${trace.path}`);
      const tr = [];
      const st = [];
      for (let i = 0; i < reps; i++) {
        tr.push(await measure('ui_measure trace', ['trace', trace.path], 300_000));
        const a = tr.at(-1);
        log(
          `  ui trace rep ${i + 1}: first spans ${a.first_spans_ms} ms (status "loaded" ${a.status_loaded_ms} ms), all ${a.events_in_batches} events in + painted ${a.loaded_painted_ms} ms; ` +
            `pan+zoom frame p50 ${a.pan_zoom.work_p50_ms} / p95 ${a.pan_zoom.work_p95_ms} / max ${a.pan_zoom.work_max_ms} ms (${a.pan_zoom.frames} frames)`,
        );
        st.push(
          await measure(
            'ui_measure stream',
            [
              'stream',
              exe,
              '--coroutines',
              String(STREAM_COROUTINES),
              '--yields-per-s',
              String(Math.round(streamRate / EVENTS_PER_YIELD)),
              '--seconds',
              String(streamSeconds),
            ],
            (streamSeconds + 180) * 1000,
          ),
        );
        const b = st.at(-1);
        log(
          `  ui stream rep ${i + 1}: ${b.events_per_s} events/s for ${b.seconds} s; frame p50 ${b.frames.work_p50_ms} / p95 ${b.frames.work_p95_ms} / max ${b.frames.work_max_ms} ms (${b.frames.frames} frames); ` +
            `JS heap ${b.heap_used_mb} MB (${b.heap_after_gc_mb} MB after GC), renderer RSS ${b.renderer_rss_mb} MB`,
        );
      }
      const med = (xs, f) => median(xs.map(f));
      const fp = med(tr, (r) => r.first_spans_ms);
      const pz = med(tr, (r) => r.pan_zoom.work_p95_ms);
      const sp = med(st, (r) => r.frames.work_p95_ms);
      const hp = med(st, (r) => r.heap_used_mb);
      const repsNote = reps > 1 ? `medians of ${reps} runs` : '1 run (--ui-reps N for medians)';
      const frameDef =
        'frame time = rAF timestamp of the frame -> main thread free after it (a MessageChannel message posted from a rAF callback), so it includes input handling, the timeline draw, style/layout/paint and any task that delayed the frame; Chromium ' +
        `${tr[0].chromium}, --disable-gpu, 1400x900, dpr ${tr[0].dpr}`;
      const f = (s) =>
        `p50 ${s.work_p50_ms} / p95 ${s.work_p95_ms} / max ${s.work_max_ms} ms over ${s.frames} frames (intervals p50 ${s.interval_p50_ms} / p95 ${s.interval_p95_ms} / max ${s.interval_max_ms} ms)`;
      const t0 = tr[0];
      const s0 = st[0];
      return [
        row({
          ...fpMeta,
          value: round4(fp),
          peer_value: null,
          meets_target: true,
          notes: [
            `${trace.events.toLocaleString('en-US')}-event recording (paced_producer ${TRACE_COROUTINES} coroutines, ${TRACE_SECONDS} s, ${trace.drops ?? '?'} drops); ${repsNote}`,
            `first paint = submit of the open-trace form -> end of the first frame whose canvas shows spans in the first worker lane (pixels sampled after each frame)`,
            `the host answers (status "loaded") after ${median(tr.map((r) => r.status_loaded_ms)).toFixed(0)} ms: it checks the header, the index and the chunk headers before replying (main/app/host.ts openTrace), so the first paint cannot come sooner`,
            `every event in and painted: ${median(tr.map((r) => r.loaded_painted_ms)).toFixed(0)} ms (the last of ${t0.load_messages} batch messages, ${t0.load_message_mib} MiB, binary frames, arrives at ${t0.last_batch_ms.toFixed(0)} ms; message handlers ${t0.load_handler_ms.toFixed(0)} ms in all (they only hand the bytes to the data worker, which applies them in slices: renderer/src/worker/handler.ts); painted = the end of the first frame whose timeline drew every event (the canvas's data-events); frames while loading: p95 ${t0.load_frames.work_p95_ms} ms, max ${t0.load_frames.work_max_ms} ms)`,
          ],
          detail: { reps: tr },
        }),
        row({
          ...pzMeta,
          value: round4(pz),
          peer_value: TARGET_FRAME_MS,
          meets_target: pz <= TARGET_FRAME_MS,
          notes: [
            `pan (mouse drag, ${t0.mouse_moves} moves in 3 s): ${f(t0.pan)}`,
            `zoom (wheel around the cursor, 12 notches in then out, ${t0.wheel_events} events in 3 s, from the fitted view): ${f(t0.zoom)}`,
            frameDef,
          ],
          detail: { reps_p95_ms: tr.map((r) => r.pan_zoom.work_p95_ms) },
        }),
        row({
          ...stMeta,
          value: round4(sp),
          peer_value: TARGET_FRAME_MS,
          meets_target: sp <= TARGET_FRAME_MS,
          notes: [
            `measured over ${streamSeconds} s (--ui-stream-seconds ${streamSeconds}; the full measurement is 60); ${repsNote}`,
            `paced_producer ${STREAM_COROUTINES} coroutines launched through the launch form (record on, as by default): ${s0.events_per_s.toLocaleString('en-US')} events/s reached the host (${s0.events} in all, ${s0.drops} dropped) and ${s0.drawn_events_per_s.toLocaleString('en-US')} events/s were drawn by the timeline (the renderer's own count; ${s0.drawn_lag_events} behind at the end, about one status interval), ${s0.messages_per_s} binary batch messages/s, timeline following live`,
            `frames: ${f(s0.frames)}`,
            frameDef,
          ],
          detail: { reps: st.map((r) => ({ ...r, samples: undefined })) },
        }),
        row({
          ...hpMeta,
          value: round4(hp),
          peer_value: null,
          meets_target: true,
          notes: [
            `after ${s0.seconds} s of ${s0.events_per_s.toLocaleString('en-US')} events/s: performance.memory.usedJSHeapSize ${s0.heap_used_mb} MB (total ${s0.heap_total_mb} MB; ${s0.heap_start_mb} MB before the launch), ${s0.heap_after_gc_mb} MB after a forced GC; renderer process RSS ${s0.renderer_rss_mb} MB. usedJSHeapSize is the page's main thread only: the session data (the timeline's spans, bounded by TimelineModel MAX_ITEMS, 2.5 M slices/instants/flows, about 115 MB at most, and the session's EventStore, about 8 bytes per event, not bounded) is in the data worker's heap, counted in the renderer's RSS, not here`,
            `heap over time: ${s0.samples.map((x) => `${x.s} s ${x.heap_mb} MB`).join(', ')}`,
          ],
          detail: { reps_mb: st.map((r) => r.heap_used_mb), samples: s0.samples },
        }),
      ];
    } catch (e) {
      return metas.map((m) => errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // ---- ui_big: a ~100 M-event recording with level of detail ----------------------------------

  const BIG_COROUTINES = 320_000; // rec_workload 320000 30 1000: about 102 M events
  const TARGET_BIG_PAINT_MS = 2000;
  const TARGET_BIG_MB = 1000;

  async function bigTrace() {
    const path = join(h.bench, 'build', 'big100m.cstrace');
    if (existsSync(path) && statSync(path).size > 100e6) return path;
    mkdirSync(join(h.bench, 'build'), { recursive: true });
    const exe = await cc('rec_workload', 'c/rec_workload.c', linkEngine());
    log(`  recording ${path} (rec_workload ${BIG_COROUTINES} 30 1000, about a minute)`);
    const tmp = `${path}.part`;
    await mustRun(
      'coroscope record (rec_workload)',
      process.execPath,
      [cli, 'record', '-o', tmp, '--', exe, String(BIG_COROUTINES), '30', '1000'],
      { env: env(), cwd: h.root, timeout: 1_800_000 },
    );
    renameSync(tmp, path);
    return path;
  }

  async function benchUiBig() {
    const metas = [
      {
        name: 'ui_big_first_paint',
        title: 'UI: open a ~100 M-event trace -> first timeline paint',
        unit: 'ms',
        better: 'lower',
        target: `<= ${TARGET_BIG_PAINT_MS} ms`,
        peer: `target ${TARGET_BIG_PAINT_MS} ms`,
      },
      {
        name: 'ui_big_memory',
        title: 'UI: serve + Chromium memory (PSS), ~100 M-event trace, first 60 s',
        unit: 'MB',
        better: 'lower',
        target: `<= ${TARGET_BIG_MB} MB`,
        peer: `target ${TARGET_BIG_MB} MB`,
      },
      {
        name: 'ui_big_pan_p95',
        title: 'UI: pan frame p95, ~100 M-event trace, worst of 3 zoom levels',
        unit: 'ms',
        better: 'lower',
        target: `<= ${TARGET_FRAME_MS} ms`,
        peer: `target ${TARGET_FRAME_MS} ms`,
      },
    ];
    try {
      await needUi();
      const path = await bigTrace();
      const runs = [];
      for (let i = 0; i < Math.max(3, reps); i++) {
        runs.push(await measure('ui_measure big', ['big', path, '--pan-seconds', '3', '--seconds', '60'], 600_000));
        const r = runs.at(-1);
        log(
          `  ui big rep ${i + 1}: first paint ${r.first_paint_ms} ms (${r.first_source}); peak memory ${r.peak_total_mb} MB; pan p95 ${r.levels.map((l) => `${l.level} ${l.pan.work_p95_ms}`).join(', ')} ms`,
        );
      }
      const fp = median(runs.map((r) => r.first_paint_ms));
      const mem = median(runs.map((r) => r.peak_total_mb));
      const pan = median(runs.map((r) => Math.max(...r.levels.map((l) => l.pan.work_p95_ms))));
      const what = `${path} (${(statSync(path).size / 1e6).toFixed(0)} MB); medians of ${runs.length} runs; Chromium ${runs[0].chromium}, --disable-gpu, 1400x900`;
      return [
        row({
          ...metas[0],
          value: round4(fp),
          peer_value: TARGET_BIG_PAINT_MS,
          meets_target: fp <= TARGET_BIG_PAINT_MS,
          notes: [what, 'drawn from the chunk overview (core/overview): no event is read before it'],
          detail: { reps: runs },
        }),
        row({
          ...metas[1],
          value: round4(mem),
          peer_value: TARGET_BIG_MB,
          meets_target: mem <= TARGET_BIG_MB,
          notes: [
            what,
            `before opening ${median(runs.map((r) => r.memory_before_open.total_mb)).toFixed(0)} MB (Chromium's own), at first paint ${median(runs.map((r) => r.memory_first_paint.total_mb)).toFixed(0)} MB, after 60 s ${median(runs.map((r) => r.memory_later.total_mb)).toFixed(0)} MB (status bar: ${runs[0].progress_later || 'no "analysed" note'})`,
          ],
        }),
        row({
          ...metas[2],
          value: round4(pan),
          peer_value: TARGET_FRAME_MS,
          meets_target: pan <= TARGET_FRAME_MS,
          notes: [
            what,
            // Per level, medians over the runs: frame time (wall: a loaded machine inflates it), the
            // CPU time per frame of the page's main thread and of every Chromium thread (from /proc,
            // which load does not inflate), and the 1-minute load average while it was measured.
            ...runs[0].levels.map((l, k) => {
              const at = runs.map((r) => r.levels[k]).filter(Boolean);
              const m = (f) => round4(median(at.map(f).filter((x) => typeof x === 'number')));
              return (
                `${l.level} (${l.span}, ${l.source}${l.detail_ms !== null ? `, detail in ${l.detail_ms} ms` : ''}): ` +
                `p50 ${m((x) => x.pan.work_p50_ms)} / p95 ${m((x) => x.pan.work_p95_ms)} ms; CPU per frame: page main thread ` +
                `${m((x) => x.cpu?.threads_ms_per_frame?.['renderer:chromium'])} ms, all of Chromium ${m((x) => x.cpu?.total_ms_per_frame)} ms; ` +
                `load ${m((x) => x.load)}; last frame drew ${JSON.stringify(l.drawn ?? {})}`
              );
            }),
          ],
          detail: { reps_p95_ms: runs.map((r) => r.levels.map((l) => l.pan.work_p95_ms)) },
        }),
      ];
    } catch (e) {
      return metas.map((m) => errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
    }
  }

  // ---- ui_live: a long live session at ~200 k events/s ------------------------------------------

  const TARGET_LIVE_MB = 1000;
  const TARGET_LIVE_SLOPE = 2;
  const TARGET_LIVE_LAG_S = 1;

  async function benchUiLive() {
    const seconds = Number(process.env.COROSCOPE_BENCH_LIVE_SECONDS || 60);
    const mins = `${seconds >= 120 ? `${(seconds / 60).toFixed(0)} min` : `${seconds} s`}`;
    const metas = [
      [
        'ui_live_memory',
        `UI: live ~${Math.round(streamRate / 1000)} k ev/s, serve + Chromium PSS extrapolated to 60 min (from ${mins})`,
        'MB',
        `<= ${TARGET_LIVE_MB} MB`,
      ],
      [
        'ui_live_slope',
        `UI: live ~${Math.round(streamRate / 1000)} k ev/s, memory slope after warm-up (${mins})`,
        'MB/min',
        `<= ${TARGET_LIVE_SLOPE} MB/min`,
      ],
      [
        'ui_live_lag',
        `UI: live ~${Math.round(streamRate / 1000)} k ev/s, timeline lag behind live, median (${mins})`,
        's',
        `<= ${TARGET_LIVE_LAG_S} s`,
      ],
      [
        'ui_live_frame_p95',
        `UI: live ~${Math.round(streamRate / 1000)} k ev/s, frame p95 following live (${mins})`,
        'ms',
        `<= ${TARGET_FRAME_MS} ms`,
      ],
      [
        'ui_live_reconnects',
        `UI: live ~${Math.round(streamRate / 1000)} k ev/s, page reconnects (${mins})`,
        'count',
        '0',
      ],
    ].map(([name, title, unit, target]) => ({ name, title, unit, better: 'lower', target, peer: `target ${target}` }));
    try {
      if (!(seconds >= 20)) throw new Error('COROSCOPE_BENCH_LIVE_SECONDS must be >= 20');
      await needUi();
      const exe = await cc('paced_producer', 'c/paced_producer.c', linkEngine());
      const load0 = loadavg()
        .map((x) => x.toFixed(2))
        .join(' ');
      const r = await measure(
        'ui_measure live',
        [
          'live',
          exe,
          '--coroutines',
          String(STREAM_COROUTINES),
          '--yields-per-s',
          String(Math.round(streamRate / EVENTS_PER_YIELD)),
          '--seconds',
          String(seconds),
        ],
        (seconds + 240) * 1000,
      );
      const load1 = loadavg()
        .map((x) => x.toFixed(2))
        .join(' ');
      const warm = Math.min(60, seconds / 2);
      const after = r.samples.filter((s) => s.s >= warm);
      // Least squares of total MB against minutes, over the samples after warm-up.
      const xs = after.map((s) => s.s / 60);
      const ys = after.map((s) => s.total);
      const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
      const my = ys.reduce((a, b) => a + b, 0) / ys.length;
      let num = 0;
      let den = 0;
      for (let i = 0; i < xs.length; i++) {
        num += (xs[i] - mx) * (ys[i] - my);
        den += (xs[i] - mx) ** 2;
      }
      const slope = den > 0 ? num / den : NaN;
      const last = r.samples.at(-1);
      const at60 = last.total + Math.max(0, slope) * (60 - last.s / 60);
      const peak = Math.max(...r.samples.map((s) => s.total));
      const lags = after.map((s) => s.lag_s).filter((x) => x !== null);
      const lag = median(lags);
      const sorted = [...lags].sort((a, b) => a - b);
      const lagP95 = sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
      const rate = Math.round((last.events - r.samples[0].events) / (last.s - r.samples[0].s));
      const what = `paced_producer ${STREAM_COROUTINES} coroutines at ~${streamRate.toLocaleString('en-US')} events/s asked, ${rate.toLocaleString('en-US')} events/s counted by the host (${last.events.toLocaleString('en-US')} events in ${r.seconds} s, ${r.drops} dropped), launched through the launch form (record on), timeline following live; Chromium ${r.chromium}, --disable-gpu, 1400x900; 1 run; load average ${load0} before, ${load1} after`;
      const memNote = `memory (MB, host = serve's PSS, Chromium = every Chromium process's PSS): before the launch ${r.memory_before.total}; samples ${r.samples
        .filter((_, i) => i % Math.max(1, Math.round(r.samples.length / 12)) === 0 || i === r.samples.length - 1)
        .map((s) => `${s.s} s ${s.host}+${s.chromium}=${s.total}`)
        .join(
          ', ',
        )}; peak ${peak}; slope after ${warm} s warm-up ${slope.toFixed(2)} MB/min over ${after.length} samples; 60 min = last sample + slope x the minutes left`;
      const pageNote = `the page at the end: ${last.mode} (store ${last.stored} events, tail ${last.tail_items} items, overview ${last.overview_nodes} nodes), applied ${last.applied.toLocaleString('en-US')} of ${last.events.toLocaleString('en-US')} events the host counted (status interval 250 ms)`;
      const f = r.frames;
      return [
        row({
          ...metas[0],
          value: round4(at60),
          peer_value: TARGET_LIVE_MB,
          meets_target: at60 <= TARGET_LIVE_MB,
          notes: [what, memNote, pageNote],
          detail: { samples: r.samples },
        }),
        row({
          ...metas[1],
          value: round4(slope),
          peer_value: TARGET_LIVE_SLOPE,
          meets_target: slope <= TARGET_LIVE_SLOPE,
          notes: [what, memNote],
        }),
        row({
          ...metas[2],
          value: round4(lag),
          peer_value: TARGET_LIVE_LAG_S,
          meets_target: lag <= TARGET_LIVE_LAG_S,
          notes: [
            what,
            `lag = CLOCK_MONOTONIC in the bench process (the engine's clock) minus the newest timestamp the timeline drew (canvas data-newest), read every 5 s after ${warm} s: median ${lag} s, p95 ${lagP95} s, max ${Math.max(...lags)} s over ${lags.length} samples (it includes the engine's and the addon's batching, ~5-50 ms)`,
            pageNote,
          ],
        }),
        row({
          ...metas[3],
          value: round4(f.work_p95_ms),
          peer_value: TARGET_FRAME_MS,
          meets_target: f.work_p95_ms <= TARGET_FRAME_MS,
          notes: [
            what,
            `frames: p50 ${f.work_p50_ms} / p95 ${f.work_p95_ms} / max ${f.work_max_ms} ms over ${f.frames} frames (intervals p50 ${f.interval_p50_ms} / p95 ${f.interval_p95_ms} ms, ${f.late_frames_pct} % late)`,
          ],
        }),
        row({ ...metas[4], value: r.reconnects, peer_value: 0, meets_target: r.reconnects === 0, notes: [what] }),
      ];
    } catch (e) {
      return metas.map((m) => errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
    }
  }

  return { ui: benchUi, ui_big: benchUiBig, ui_live: benchUiLive };
}
