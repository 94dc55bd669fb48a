#!/usr/bin/env node
// bench/ui_measure.mjs — one measurement of the `ui` benchmark (bench/ui_rows.mjs,
// bench/README.md row 12): the inspector UI in Debian's Chromium, driven by
// Playwright against `coroscope serve`. One process per measurement, one JSON
// line on stdout at the end (progress on stderr).
//
//   node bench/ui_measure.mjs trace FILE [--pan-seconds S] [--zoom-seconds S]
//       open FILE through the Start view's "Open a trace" form; time to the first
//       frame with spans on the timeline canvas and to the fully loaded timeline;
//       then frame times while dragging (pan) and wheeling (zoom) over the canvas.
//   node bench/ui_measure.mjs big FILE [--pan-seconds S]
//       a trace too big to hold (level of detail): open FILE, time to the first frame with
//       spans (drawn from the chunk overview); the serve process's and every Chromium
//       process's PSS (/proc smaps_rollup) before opening, after the first paint and after --seconds of analysis;
//       then frame times while panning at three zoom levels (the whole trace, 1/128 and
//       1/16,384 of it, reached with the zoom buttons), and the time each level's detail took
//       to arrive (canvas data-source "detail") where the view is small enough for it.
//   node bench/ui_measure.mjs stream PRODUCER --coroutines N --yields-per-s R --seconds S
//       launch PRODUCER (bench/c/paced_producer.c) through the launch form and keep
//       the timeline following live for S seconds: frame times, then the renderer's
//       JS heap (performance.memory, and after a forced GC) and the renderer's RSS.
//   node bench/ui_measure.mjs live PRODUCER --coroutines N --yields-per-s R --seconds S [--sample-seconds P]
//       a long live session (issue 13's "hour-long live sessions in bounded memory"): PRODUCER
//       launched through the launch form, the timeline following live for S seconds; every P s
//       (default 5) the serve process's and every Chromium process's PSS, the events the host
//       counted and the page applied, the page's store/tail counts (status bar data attributes)
//       and the timeline's lag: CLOCK_MONOTONIC now (this process: the engine's clock) minus the
//       newest timestamp the timeline drew (canvas data-newest). Frame times over the whole run;
//       reconnects = WebSockets the page opened after its first.
//
// Frame time, as measured here: for every animation frame, from the frame's start
// (the requestAnimationFrame timestamp, shared by every rAF callback of the frame)
// to the moment the main thread is free again after that frame (a MessageChannel
// message posted from a rAF callback runs after the frame's rAF callbacks, style,
// layout and paint). That is the main-thread cost of a frame including any task
// that delayed its start; ≤ 16 ms means the frame fits a 60 Hz refresh. The
// intervals between frames (quantised to the display's ~16.7 ms) are reported too.
//
// Environment: COROSCOPE_CHROMIUM (default /usr/bin/chromium). Never downloads a browser.
// Debugging: UI_BENCH_DEBUG=1 (message/frame log), UI_BENCH_PROFILE=1 (the renderer's functions
// by self time), UI_BENCH_TRACE=1 (stream: the main thread's long tasks from a Chrome trace),
// UI_BENCH_HEAP=1 (stream: live heap by allocation site), UI_BENCH_SHOTS=DIR (screenshots).

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'out', 'cli', 'coroscope.mjs');
const CHROMIUM = process.env.COROSCOPE_CHROMIUM || '/usr/bin/chromium';
const log = (...a) => console.error(...a);

// ---- command line ---------------------------------------------------------

function parse(argv) {
  const o = {
    mode: argv[0],
    target: argv[1],
    panSeconds: 3,
    zoomSeconds: 3,
    sampleSeconds: 5,
    coroutines: 16,
    yieldsPerS: 92_500,
    seconds: 20,
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = () => Number(argv[++i]);
    if (a === '--pan-seconds') o.panSeconds = v();
    else if (a === '--zoom-seconds') o.zoomSeconds = v();
    else if (a === '--coroutines') o.coroutines = v();
    else if (a === '--yields-per-s') o.yieldsPerS = v();
    else if (a === '--seconds') o.seconds = v();
    else if (a === '--sample-seconds') o.sampleSeconds = v();
    else throw new Error(`ui_measure: unknown argument ${a}`);
  }
  if (!['trace', 'stream', 'big', 'live'].includes(o.mode) || !o.target) {
    throw new Error(
      'usage: ui_measure.mjs trace FILE [--pan-seconds S] [--zoom-seconds S] | stream PRODUCER [--coroutines N] [--yields-per-s R] [--seconds S]',
    );
  }
  return o;
}

// ---- serve ------------------------------------------------------------------

// `coroscope serve` with private runtime and recordings folders (as e2e/serveHarness.ts).
async function serve() {
  const dir = mkdtempSync(join(tmpdir(), 'coroscope-bench-ui-'));
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  const env = { ...process.env, XDG_RUNTIME_DIR: join(dir, 'run'), COROSCOPE_RECORDINGS: join(dir, 'recordings') };
  for (const k of Object.keys(env))
    if (
      (k.startsWith('COROSCOPE_') && k !== 'COROSCOPE_RECORDINGS' && k !== 'COROSCOPE_NATIVE_DIR') ||
      k === 'LD_PRELOAD'
    )
      delete env[k];
  const child = spawn(process.execPath, [CLI, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(
      () => rej(new Error(`coroscope serve printed no URL within 20 s: ${err.trim().slice(-400)}`)),
      20_000,
    );
    child.stdout.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`coroscope serve exited (${code}): ${err.trim().slice(-400)}`));
    });
  });
  return {
    url,
    dir,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- the page's instrumentation (runs before the app's scripts) --------------

function instrument() {
  const b = (window.__bench = {
    recording: false,
    work: [], // per frame: frame start -> main thread free after the frame (ms)
    intervals: [], // between consecutive frame starts (ms)
    submitAt: null, // performance.now() of the open-trace form's submit
    firstSpansAt: null, // end of the first frame after submit whose canvas shows spans
    loadedAt: null, // status-state became "loaded"
    msgs: 0, // WebSocket messages handled by the app (pushes and replies)
    msgBytes: 0, // their size (characters of text frames, bytes of binary ones)
    msgBusyMs: 0, // time spent in the app's onmessage handler
    lastMsgEnd: null,
    eventsIn: 0, // records in the batch pushes received so far
    loadedEvents: null, // the event count of the "loaded" status push
    allInAt: null, // when eventsIn reached it (every batch received)
    allPaintedAt: null, // end of the first frame whose timeline drew all of them (canvas data-events)
    msgLog: [], // [start, handler ms, size, head] of each message
    frameEnds: [], // after submit: [frame start, main thread free after it]
    sockets: 0, // WebSockets the page opened (more than one: it reconnected)
    recMsgs: [], // while recording: [size, head] of each WebSocket message
  });
  // Count the app's WebSocket messages and the time its handler takes (wsClient.ts sets onmessage).
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(...a) {
      super(...a);
      b.sockets++;
    }
    set onmessage(fn) {
      super.onmessage =
        fn &&
        ((ev) => {
          // Read before the page's handler: it hands a binary frame's buffer to the data worker
          // (transferred, so detached here afterwards).
          const bytes = typeof ev.data === 'string' ? ev.data.length : ev.data.byteLength;
          const frameHead =
            ev.data instanceof ArrayBuffer && ev.data.byteLength >= 4
              ? (() => {
                  const n = new DataView(ev.data).getUint32(0, true);
                  return { n, head: new TextDecoder().decode(new Uint8Array(ev.data, 4, Math.min(n, 200))) };
                })()
              : null;
          const s = performance.now();
          try {
            return fn.call(this, ev);
          } finally {
            const e = performance.now();
            b.msgs++;
            b.msgBytes += bytes;
            b.msgBusyMs += e - s;
            b.lastMsgEnd = e;
            if (b.recording)
              b.recMsgs.push([
                bytes,
                typeof ev.data === 'string' ? ev.data.slice(0, 40) : frameHead ? frameHead.head.slice(0, 40) : '?',
              ]);
            if (typeof ev.data === 'string') {
              const head = ev.data.slice(0, 200);
              if (head.includes('"type":"batch"')) {
                // base64 of fixed-size records (EVENT_SIZE = 64 bytes, main/core/events/schema.ts)
                const i = ev.data.indexOf('"events":"');
                const j = i < 0 ? -1 : ev.data.indexOf('"', i + 10);
                if (j > 0) {
                  let n = j - (i + 10);
                  const pad = ev.data[j - 1] === '=' ? (ev.data[j - 2] === '=' ? 2 : 1) : 0;
                  b.eventsIn += Math.floor(((n / 4) * 3 - pad) / 64);
                }
              } else if (head.includes('"type":"status"')) {
                try {
                  const st = JSON.parse(ev.data).push.status;
                  if (st.state === 'loaded') b.loadedEvents = st.events;
                } catch {
                  /* not ours */
                }
              }
            } else if (frameHead) {
              // A binary batch frame (main/serve/wsApi.ts encodeBinaryPush): u32 n, n bytes of JSON, records.
              if (frameHead.head.includes('"type":"batch"')) b.eventsIn += Math.floor((bytes - 4 - frameHead.n) / 64);
            }
            if (b.loadedEvents !== null && b.eventsIn >= b.loadedEvents && b.allInAt === null) b.allInAt = e;
            // The head is copied: a slice of a string would keep the whole message alive (V8 sliced strings).
            if (b.msgLog.length < 2000)
              b.msgLog.push([
                Math.round(s),
                Math.round(e - s),
                bytes,
                typeof ev.data === 'string' ? [...ev.data.slice(0, 60)].join('') : '(binary)',
              ]);
          }
        });
    }
    get onmessage() {
      return super.onmessage;
    }
    send(d) {
      if (b.recording && typeof d === 'string')
        b.recMsgs.push([0, `SENT@${Math.round(performance.now())} ${d.slice(0, 50)}`]);
      return super.send(d);
    }
  };
  const ch = new MessageChannel();
  let pending = [];
  let lastTs = null;
  // Spans on the canvas: in the first worker lane's middle rows (draw.ts: AXIS_H 24,
  // lanes of 24 px, LABEL_W 150), count pixels clearly different from the
  // background (#15171c); grid and "now" lines are 1 px wide, spans are not.
  const hasSpans = () => {
    const c = document.querySelector('[data-testid="timeline-canvas"]');
    if (!c || !c.width || !c.height) return false;
    // Drawn from data (a frame made from no event draws nothing to count).
    if (!(Number(c.getAttribute('data-events')) > 0)) return false;
    const dpr = window.devicePixelRatio || 1;
    const x0 = Math.round(150 * dpr);
    const w = c.width - x0;
    if (w < 50) return false;
    const y = Math.round((24 + 12) * dpr);
    const px = c.getContext('2d').getImageData(x0, y, w, 1).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4)
      if (Math.abs(px[i] - 0x15) + Math.abs(px[i + 1] - 0x17) + Math.abs(px[i + 2] - 0x1c) > 40) n++;
    return n >= 20;
  };
  ch.port1.onmessage = () => {
    const now = performance.now();
    const ts = pending.shift();
    if (ts === undefined) return;
    if (b.recording) b.work.push(now - ts);
    if (b.submitAt !== null && b.frameEnds.length < 100000) b.frameEnds.push([ts, now]);
    if (b.submitAt !== null && b.firstSpansAt === null && hasSpans()) b.firstSpansAt = now;
    // Everything drawn: the timeline canvas says how many events its data holds (data-events, set
    // when it draws), and that is the count of the host's "loaded" status.
    if (b.submitAt !== null && b.loadedEvents !== null && b.allPaintedAt === null) {
      const c = document.querySelector('[data-testid="timeline-canvas"]');
      if (c && Number(c.getAttribute('data-events')) >= b.loadedEvents) b.allPaintedAt = now;
    }
  };
  const loop = (ts) => {
    requestAnimationFrame(loop);
    if (b.recording && lastTs !== null) b.intervals.push(ts - lastTs);
    lastTs = ts;
    pending.push(ts);
    ch.port2.postMessage(0);
  };
  requestAnimationFrame(loop);
  let lastMove = 0;
  window.addEventListener(
    'mousemove',
    () => {
      const t = performance.now();
      if (b.recording && t - lastMove > 300)
        b.recMsgs.push([0, `MOVEGAP ${Math.round(t - lastMove)} @${Math.round(t)}`]);
      lastMove = t;
    },
    true,
  );
  document.addEventListener(
    'submit',
    (e) => {
      if (e.target && e.target.getAttribute && e.target.getAttribute('data-testid') === 'open-trace')
        b.submitAt = performance.now();
    },
    true,
  );
  const watch = () => {
    const el = document.querySelector('[data-testid="status-state"]');
    if (b.submitAt !== null && b.loadedAt === null && el && el.getAttribute('data-state') === 'loaded') {
      b.loadedAt = performance.now();
    }
  };
  new MutationObserver(watch).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-state'],
  });
}

// ---- helpers ----------------------------------------------------------------

const pct = (xs, p) => {
  const v = [...xs].sort((a, b) => a - b);
  if (!v.length) return null;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
};
const r2 = (x) => (x === null || x === undefined ? x : Math.round(x * 100) / 100);
function summary(work, intervals) {
  const vsync = pct(intervals, 50) || 16.7;
  return {
    frames: work.length,
    work_p50_ms: r2(pct(work, 50)),
    work_p95_ms: r2(pct(work, 95)),
    work_max_ms: r2(work.length ? Math.max(...work) : null),
    interval_p50_ms: r2(pct(intervals, 50)),
    interval_p95_ms: r2(pct(intervals, 95)),
    interval_max_ms: r2(intervals.length ? Math.max(...intervals) : null),
    late_frames_pct: r2(
      intervals.length ? (100 * intervals.filter((x) => x > vsync * 1.5).length) / intervals.length : null,
    ),
  };
}

async function startRecording(page) {
  await page.evaluate(() => {
    window.__bench.work = [];
    window.__bench.intervals = [];
    window.__bench.recMsgs = [];
    window.__bench.recording = true;
  });
}
async function stopRecording(page) {
  return page.evaluate((allMsgs) => {
    window.__bench.recording = false;
    const m = window.__bench.recMsgs;
    return {
      work: window.__bench.work,
      intervals: window.__bench.intervals,
      messages: {
        n: m.length,
        bytes: m.reduce((s, x) => s + x[0], 0),
        heads: allMsgs ? m.map((x) => x[1]) : m.slice(0, 6).map((x) => x[1]),
      },
    };
  }, !!process.env.UI_BENCH_MSGS);
}

/**
 * Drags the canvas from (cx, cy) back and forth, `steps` moves of `stepPx` each way, for `seconds`,
 * recording frame times (and, with UI_BENCH_PROFILE=1, the renderer's profile, logged as `what`).
 */
async function dragPan(page, cx, cy, { stepPx, steps: perSweep, seconds, what, cpuOf }) {
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const prof = process.env.UI_BENCH_PROFILE ? await page.context().newCDPSession(page) : null;
  if (prof) {
    await prof.send('Profiler.enable');
    await prof.send('Profiler.start');
  }
  // The drag has begun when the page has handled its first move (under load that can take a
  // while): frames are measured from there on, while the user pans.
  await page.mouse.move(cx + 1, cy);
  const tracer = process.env.UI_BENCH_PANTRACE ? await startTrace(page) : null;
  const cpu0 = cpuOf ? threadCpu(cpuOf) : null;
  await startRecording(page);
  let dir = 1;
  let steps = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    await page.mouse.move(cx + dir * stepPx * (steps % perSweep), cy);
    if (++steps % perSweep === 0) dir = -dir;
  }
  const pan = await stopRecording(page);
  const cpu = cpu0 ? cpuPerFrame(cpu0, threadCpu(cpuOf), pan.work.length) : null;
  if (tracer) await tracer.stop(what);
  if (prof) await logProfile(prof, what);
  await page.mouse.up();
  return { pan, steps, cpu };
}

// CPU time of every thread of a process tree, from /proc (utime + stime, clock ticks): what a
// frame costs in CPU, which a loaded machine does not inflate as it does wall time.
const TICK_MS = 10; // sysconf(_SC_CLK_TCK) = 100 on Linux
function threadCpu(rootPid) {
  const out = new Map();
  for (const pid of [rootPid, ...descendants(rootPid)]) {
    let type = 'browser';
    try {
      const m = /--type=([\w-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      if (m) type = m[1];
      if (pid !== rootPid && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=') && type === 'browser')
        type = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        out.set(`${pid}/${tid}`, { name: `${type}:${comm}`, ticks: Number(f[11]) + Number(f[12]) });
      } catch {
        /* gone */
      }
    }
  }
  return out;
}
/** CPU ms per frame by thread name (summed over processes), the busiest first, from two threadCpu snapshots. */
function cpuPerFrame(a, b, frames) {
  const by = new Map();
  for (const [k, v] of b) {
    const d = (v.ticks - (a.get(k)?.ticks ?? 0)) * TICK_MS;
    if (d > 0) by.set(v.name, (by.get(v.name) || 0) + d);
  }
  const n = Math.max(1, frames);
  const top = [...by].sort((x, y) => y[1] - x[1]).slice(0, 8);
  return {
    frames,
    total_ms_per_frame: r2([...by.values()].reduce((s, x) => s + x, 0) / n),
    threads_ms_per_frame: Object.fromEntries(top.map(([k, v]) => [k, r2(v / n)])),
  };
}

// UI_BENCH_PANTRACE=1: a Chrome trace of each pan; where each thread's time went (stderr).
async function startTrace(page) {
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', {
    categories:
      process.env.UI_BENCH_TRACECATS ||
      'devtools.timeline,disabled-by-default-devtools.timeline,disabled-by-default-devtools.timeline.frame,blink,cc,v8.execute,gpu',
    transferMode: 'ReportEvents',
  });
  return {
    async stop(what) {
      await cdp.send('Tracing.end');
      await done;
      await cdp.detach();
      if (process.env.UI_BENCH_PANTRACE !== '1') {
        mkdirSync(process.env.UI_BENCH_PANTRACE, { recursive: true });
        writeFileSync(
          join(process.env.UI_BENCH_PANTRACE, `${what.replace(/\W+/g, '_')}.json`),
          JSON.stringify({ traceEvents: events }),
        );
      }
      logTraceSelf(events, what);
    },
  };
}
/** Self time (wall and thread CPU) of the trace's complete events by thread and name. */
function logTraceSelf(events, what) {
  const names = new Map();
  for (const e of events) if (e.name === 'thread_name') names.set(`${e.pid}/${e.tid}`, e.args?.name);
  const byThread = new Map();
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur) continue;
    const k = `${e.pid}/${e.tid}`;
    if (!byThread.has(k)) byThread.set(k, []);
    byThread.get(k).push(e);
  }
  log(`  trace of ${what}:`);
  const rows = [];
  for (const [k, evs] of byThread) {
    evs.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    const self = new Map();
    const stack = [];
    let busy = 0;
    let cpu = 0;
    const add = (e, d, t) => {
      const key = `${e.name}${e.args?.data?.functionName ? `(${e.args.data.functionName})` : ''}${e.name === 'RunTask' && e.args?.src_func ? `[${e.args.src_file?.split('/').pop()}:${e.args.src_func}]` : ''}`;
      const s = self.get(key) || [0, 0, 0];
      s[0] += d;
      s[1] += t;
      s[2]++;
      self.set(key, s);
    };
    for (const e of evs) {
      while (stack.length && stack.at(-1).e.ts + stack.at(-1).e.dur <= e.ts) {
        const top = stack.pop();
        add(top.e, top.e.dur - top.kids, (top.e.tdur ?? 0) - top.kidsT);
      }
      if (stack.length) {
        stack.at(-1).kids += e.dur;
        stack.at(-1).kidsT += e.tdur ?? 0;
      } else {
        busy += e.dur;
        cpu += e.tdur ?? 0;
      }
      stack.push({ e, kids: 0, kidsT: 0 });
    }
    while (stack.length) {
      const top = stack.pop();
      add(top.e, top.e.dur - top.kids, (top.e.tdur ?? 0) - top.kidsT);
    }
    rows.push({ name: names.get(k) || k, busy, cpu, self });
  }
  for (const r of rows.sort((a, b) => b.busy - a.busy).slice(0, 6)) {
    const top = [...r.self]
      .sort((a, b) => b[1][0] - a[1][0])
      .slice(0, 12)
      .map(([n, [d, t, c]]) => `${n} ${(d / 1000).toFixed(0)}/${(t / 1000).toFixed(0)} ms ×${c}`)
      .join(', ');
    log(
      `    ${r.name}: busy ${(r.busy / 1000).toFixed(0)} ms, cpu ${(r.cpu / 1000).toFixed(0)} ms; self wall/cpu: ${top}`,
    );
  }
}

// Children (recursively) of a pid, from /proc: the browser's renderer processes.
function descendants(pid) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out = [];
  const walk = (p) => {
    for (const k of kids.get(p) || []) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}
// Our own descendants only: the browser we launched and its processes.
function rendererRssMb(ancestor) {
  let best = 0;
  for (const p of descendants(ancestor)) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer')) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) best = Math.max(best, Number(m[1]) / 1024);
    } catch {
      /* gone */
    }
  }
  return best || null;
}

const parseCount = (s) => {
  const m = /([\d.]+)\s*([kM]?)/.exec(s || '');
  if (!m) return null;
  return Number(m[1]) * (m[2] === 'M' ? 1e6 : m[2] === 'k' ? 1e3 : 1);
};

// UI_BENCH_PROFILE=1: the renderer's functions by self time while the profiler ran (stderr).
async function logProfile(prof, what) {
  const { profile } = await prof.send('Profiler.stop');
  const self = new Map();
  const dt = profile.timeDeltas;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let total = 0;
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}`;
    self.set(k, (self.get(k) || 0) + (dt[i] || 0) / 1000);
    total += (dt[i] || 0) / 1000;
  });
  log(`  profile of ${what}: ${total.toFixed(0)} ms sampled; top functions by self time:`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25))
    log(`    ${v.toFixed(0).padStart(6)} ms  ${k}`);
}

async function traceLongTasks(page, after, ms) {
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await page.waitForTimeout(after || 3000);
  await cdp.send('Tracing.start', {
    categories: 'devtools.timeline,v8,disabled-by-default-devtools.timeline',
    transferMode: 'ReportEvents',
  });
  await page.waitForTimeout(ms);
  await cdp.send('Tracing.end');
  await done;
  const rendererMain = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const tid = rendererMain?.tid;
  const pid = rendererMain?.pid;
  const mine = events.filter((e) => e.tid === tid && e.pid === pid && e.ph === 'X' && e.dur);
  const tasks = mine.filter((e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask');
  const durs = tasks.map((t) => t.dur / 1000).sort((a, b) => a - b);
  log(
    `  trace: ${tasks.length} main-thread tasks in ${ms} ms, busy ${durs.reduce((a, b) => a + b, 0).toFixed(0)} ms; p50 ${durs[Math.floor(durs.length / 2)]?.toFixed(2)} p95 ${durs[Math.floor(durs.length * 0.95)]?.toFixed(2)} max ${durs.at(-1)?.toFixed(2)} ms`,
  );
  // Where the main thread's time went: the tasks' top-level children by name (with the JS function for calls).
  const byName = new Map();
  for (const t of tasks) {
    const kids = mine.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && e.name !== 'RunTask');
    const top = kids.filter(
      (k) => !kids.some((o) => o !== k && o.ts <= k.ts && o.ts + o.dur >= k.ts + k.dur && o.dur > k.dur),
    );
    let covered = 0;
    for (const k of top) {
      const key = `${k.name}${k.args?.data?.functionName ? `(${k.args.data.functionName})` : ''}`;
      byName.set(key, (byName.get(key) || 0) + k.dur / 1000);
      covered += k.dur / 1000;
    }
    byName.set('(task, other)', (byName.get('(task, other)') || 0) + Math.max(0, t.dur / 1000 - covered));
  }
  log(
    `  main thread by activity: ${[...byName]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 14)
      .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
      .join(', ')}`,
  );
  // What the tasks over 8 ms contain (their direct children, by name, with durations).
  const names = new Map();
  for (const t of tasks.filter((x) => x.dur > 8000)) {
    const kids = mine.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && e.name !== 'RunTask');
    const top = kids.filter(
      (k) => !kids.some((o) => o !== k && o.ts <= k.ts && o.ts + o.dur >= k.ts + k.dur && o.dur > k.dur),
    );
    const key = top
      .map(
        (k) =>
          `${k.name}${k.args?.data?.functionName ? `(${k.args.data.functionName})` : ''} ${(k.dur / 1000).toFixed(1)}`,
      )
      .join(', ');
    log(`    task ${(t.dur / 1000).toFixed(1)} ms: ${key.slice(0, 400)}`);
    names.set(key, 1);
  }
  await cdp.detach();
}

// ---- scenarios --------------------------------------------------------------

async function traceScenario(page, o) {
  const canvasBox = async () => page.getByTestId('timeline-canvas').boundingBox();
  await page.getByTestId('open-trace-path').fill(resolve(o.target));
  const t0 = Date.now();
  await page.getByTestId('open-trace-submit').click();
  await page.getByTestId('status-state').and(page.locator('[data-state="loaded"]')).waitFor({ timeout: 120_000 });
  // Fully loaded: the batch pushes received hold as many events as the host's "loaded" status
  // says the trace has (allInAt). Painted: the end of the first frame whose timeline drew them
  // all (the canvas's data-events attribute, set by the draw, reached that count).
  await page.waitForFunction(
    () => {
      const b = window.__bench;
      return b.firstSpansAt !== null && b.allPaintedAt !== null;
    },
    null,
    { timeout: 120_000, polling: 100 },
  );
  const t = await page.evaluate(() => ({ ...window.__bench, work: undefined, intervals: undefined }));
  const paintedAt = t.allPaintedAt;
  const loadFrames = t.frameEnds.filter(([ts]) => ts <= paintedAt).map(([ts, end]) => end - ts);
  const events = parseCount(await page.getByTestId('status-events').innerText());
  log(
    `  opened ${events} events: first spans ${(t.firstSpansAt - t.submitAt).toFixed(0)} ms, status loaded ${(t.loadedAt - t.submitAt).toFixed(0)} ms, last batch received ${(t.allInAt - t.submitAt).toFixed(0)} ms, all painted ${(paintedAt - t.submitAt).toFixed(0)} ms (wall ${Date.now() - t0} ms); ${t.msgs} messages, ${(t.msgBytes / 2 ** 20).toFixed(1)} MiB, handler ${t.msgBusyMs.toFixed(0)} ms`,
  );
  const msgs0 = t.msgs;
  if (process.env.UI_BENCH_DEBUG)
    log(
      JSON.stringify({
        submit: t.submitAt,
        msgs: t.msgLog,
        frames: t.frameEnds.filter(([a, b]) => b - a > 30).map(([a, b]) => [Math.round(a), Math.round(b - a)]),
      }),
    );

  // Idle frames of the loaded, fitted timeline (nothing changes: the app does not redraw).
  await page.waitForTimeout(300);
  if (process.env.UI_BENCH_SHOTS) await page.screenshot({ path: join(process.env.UI_BENCH_SHOTS, 'ui-trace.png') });
  const box = await canvasBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + Math.min(box.height / 2, 60);

  // Pan: drag back and forth over the whole fitted trace.
  const { pan, steps } = await dragPan(page, cx, cy, { stepPx: 8, steps: 40, seconds: o.panSeconds, what: 'the pan' });
  log(
    `  pan: ${steps} mouse moves; the last frame filled ${await page.getByTestId('timeline-canvas').getAttribute('data-rects')} rectangles`,
  );

  // Zoom: wheel in 12 notches (about 11x), then out again, around the cursor, from the fitted view.
  await page.getByTestId('timeline-fit').click();
  await page.mouse.move(cx, cy);
  await page.waitForTimeout(100);
  await startRecording(page);
  let wheels = 0;
  const tZoom = Date.now();
  while (Date.now() - tZoom < o.zoomSeconds * 1000) {
    await page.mouse.wheel(0, Math.floor(wheels / 12) % 2 === 0 ? -120 : 120);
    wheels++;
    await page.waitForTimeout(8);
  }
  const zoom = await stopRecording(page);
  log(`  zoom: ${wheels} wheel events`);
  const both = { work: [...pan.work, ...zoom.work], intervals: [...pan.intervals, ...zoom.intervals] };
  return {
    mode: 'trace',
    events,
    first_spans_ms: r2(t.firstSpansAt - t.submitAt),
    status_loaded_ms: r2(t.loadedAt - t.submitAt),
    last_batch_ms: r2(t.allInAt - t.submitAt),
    loaded_painted_ms: r2(paintedAt - t.submitAt),
    load_messages: msgs0,
    load_message_mib: r2(t.msgBytes / 2 ** 20),
    load_handler_ms: r2(t.msgBusyMs),
    load_frames: summary(loadFrames, []),
    events_in_batches: t.eventsIn,
    messages_during_pan_zoom: (await page.evaluate(() => window.__bench.msgs)) - msgs0,
    pan: summary(pan.work, pan.intervals),
    zoom: summary(zoom.work, zoom.intervals),
    pan_zoom: summary(both.work, both.intervals),
    mouse_moves: steps,
    wheel_events: wheels,
  };
}

async function streamScenario(page, o, ancestor) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  const heap0 = await page.evaluate(() => performance.memory.usedJSHeapSize);
  // The producer runs a few seconds longer than the measurement, so the heap is read mid-stream.
  const runFor = o.seconds + 5;
  await page.getByTestId('launch-cmd').fill(resolve(o.target));
  await page.getByTestId('launch-args').fill(`${o.coroutines} ${o.yieldsPerS} ${runFor}`);
  await page.getByTestId('launch-submit').click();
  try {
    await page.getByTestId('status-state').and(page.locator('[data-state="running"]')).waitFor({ timeout: 30_000 });
  } catch (e) {
    if (process.env.UI_BENCH_DEBUG) await page.screenshot({ path: '/tmp/uitest/fail.png' });
    const bar = await page
      .getByTestId('status-bar')
      .innerText()
      .catch(() => '?');
    const err = await page
      .getByTestId('launch-error')
      .innerText({ timeout: 500 })
      .catch(() => '');
    throw new Error(
      `the launched producer is not running: status bar "${bar}"${err ? `, launch error "${err}"` : ''}`,
      { cause: e },
    );
  }
  await page.getByTestId('timeline-canvas').waitFor({ timeout: 10_000 });
  const follow = page.getByTestId('timeline-follow');
  if (!(await follow.isChecked())) await follow.check();
  const prof = process.env.UI_BENCH_PROFILE ? await page.context().newCDPSession(page) : null;
  if (prof) {
    await prof.send('Profiler.enable');
    await prof.send('Profiler.setSamplingInterval', { interval: 500 });
    await prof.send('Profiler.start');
  }
  // UI_BENCH_HEAP=1: where the live JS heap at the end was allocated (sampling heap profiler, stderr).
  if (process.env.UI_BENCH_HEAP) await cdp.send('HeapProfiler.startSampling', { samplingInterval: 64 * 1024 });
  await startRecording(page);
  const msgs0 = await page.evaluate(() => window.__bench.msgs);
  const drawn = async () => Number(await page.getByTestId('timeline-canvas').getAttribute('data-events'));
  const t0 = Date.now();
  const ev0 = parseCount(await page.getByTestId('status-events').innerText());
  const dr0 = await drawn();
  const samples = [];
  // UI_BENCH_TRACE=S: a Chrome trace of 4 s from S s into the stream; the renderer main thread's long tasks and what they were (stderr).
  if (process.env.UI_BENCH_TRACE) await traceLongTasks(page, Number(process.env.UI_BENCH_TRACE) * 1000, 4000);
  while (Date.now() - t0 < o.seconds * 1000) {
    await page.waitForTimeout(Math.min(5000, o.seconds * 1000 - (Date.now() - t0)));
    const heap = await page.evaluate(() => performance.memory.usedJSHeapSize);
    const ev = parseCount(await page.getByTestId('status-events').innerText());
    samples.push({ s: r2((Date.now() - t0) / 1000), heap_mb: r2(heap / 2 ** 20), events: ev });
    log(`  stream ${samples.at(-1).s} s: ${ev} events, JS heap ${samples.at(-1).heap_mb} MB`);
  }
  const frames = await stopRecording(page);
  const elapsed = (Date.now() - t0) / 1000;
  if (process.env.UI_BENCH_SHOTS) await page.screenshot({ path: join(process.env.UI_BENCH_SHOTS, 'ui-stream.png') });
  if (prof) await logProfile(prof, 'the stream');
  const msgs = (await page.evaluate(() => window.__bench.msgs)) - msgs0;
  if (process.env.UI_BENCH_HEAP) {
    await cdp.send('HeapProfiler.collectGarbage');
    const { profile } = await cdp.send('HeapProfiler.getSamplingProfile');
    const bySite = new Map();
    const walk = (n, stack) => {
      const f = n.callFrame;
      const here = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
      const st = [...stack, here].slice(-3);
      if (n.selfSize) bySite.set(st.join(' < '), (bySite.get(st.join(' < ')) || 0) + n.selfSize);
      for (const c of n.children) walk(c, st);
    };
    walk(profile.head, []);
    log('  live JS heap by allocation site (sampled):');
    for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 20))
      log(`    ${(v / 2 ** 20).toFixed(1).padStart(7)} MB  ${k}`);
  }
  const ev1 = parseCount(await page.getByTestId('status-events').innerText());
  const dr1 = await drawn();
  const drops = parseCount(await page.getByTestId('status-drops').innerText());
  const state = await page.getByTestId('status-state').getAttribute('data-state');
  const heap = await page.evaluate(() => ({
    used: performance.memory.usedJSHeapSize,
    total: performance.memory.totalJSHeapSize,
  }));
  const rss = rendererRssMb(ancestor);
  await cdp.send('HeapProfiler.collectGarbage');
  const heapGc = await page.evaluate(() => performance.memory.usedJSHeapSize);
  return {
    mode: 'stream',
    seconds: r2(elapsed),
    still_running: state === 'running',
    events: ev1,
    events_per_s: Math.round((ev1 - ev0) / elapsed),
    // what the timeline drew (the renderer's own count, data-events), and how far it lagged at the end
    drawn_events_per_s: Math.round((dr1 - dr0) / elapsed),
    drawn_lag_events: Math.max(0, Math.round(ev1 - dr1)),
    messages_per_s: Math.round(msgs / elapsed),
    drops,
    heap_start_mb: r2(heap0 / 2 ** 20),
    heap_used_mb: r2(heap.used / 2 ** 20),
    heap_total_mb: r2(heap.total / 2 ** 20),
    heap_after_gc_mb: r2(heapGc / 2 ** 20),
    renderer_rss_mb: r2(rss),
    samples,
    frames: summary(frames.work, frames.intervals),
  };
}

// Memory (MB) of a process and its descendants, from /proc: [the process, its descendants]. PSS
// (smaps_rollup: shared pages split between their users), so Chromium's processes, which share
// most of their code and some memory, are not counted several times over as their RSS would be.
function treePssMb(pid) {
  const pss = (p) => {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'));
      return m ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  return [pss(pid), descendants(pid).reduce((s, p) => s + pss(p), 0)];
}

async function bigScenario(page, o, srv, browserPid) {
  const memory = () => {
    const [host] = treePssMb(srv.pid);
    const [b, kids] = treePssMb(browserPid);
    // Chromium's share by process type (the page's renderer holds the data worker).
    const byType = {};
    for (const p of [browserPid, ...descendants(browserPid)]) {
      try {
        const m = /--type=([\w-]+)/.exec(readFileSync(`/proc/${p}/cmdline`, 'utf8'));
        const k = m ? m[1] : 'browser';
        const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'));
        byType[k] = r2((byType[k] || 0) + (pss ? Number(pss[1]) / 1024 : 0));
      } catch {
        /* gone */
      }
    }
    return { host_pss_mb: r2(host), chromium_pss_mb: r2(b + kids), total_mb: r2(host + b + kids), by_type: byType };
  };
  const memBefore = memory();
  log(`  before opening: memory ${JSON.stringify(memBefore)}`);
  await page.getByTestId('open-trace-path').fill(resolve(o.target));
  await page.getByTestId('open-trace-submit').click();
  await page.waitForFunction(() => window.__bench.firstSpansAt !== null, null, { timeout: 120_000, polling: 20 });
  const t = await page.evaluate(() => ({
    submitAt: window.__bench.submitAt,
    firstSpansAt: window.__bench.firstSpansAt,
  }));
  const source = await page.getByTestId('timeline-canvas').getAttribute('data-source');
  const firstPaint = t.firstSpansAt - t.submitAt;
  const memFirst = memory();
  log(`  first spans ${firstPaint.toFixed(0)} ms (from ${source}); memory ${JSON.stringify(memFirst)}`);
  const box = await page.getByTestId('timeline-canvas').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + Math.min(box.height / 2, 60);
  const levels = [];
  let peak = memFirst.total_mb;
  const sample = () => {
    const m = memory();
    peak = Math.max(peak, m.total_mb);
    return m;
  };
  const sampler = setInterval(sample, 500);
  try {
    // Zoom levels: the whole trace (Fit), then 1/128 and 1/16,384 of it (the + button halves the span).
    await page.getByTestId('timeline-fit').click();
    for (const [name, halvings] of [
      ['whole', 0],
      ['1/128', 7],
      ['1/16384', 7],
    ]) {
      for (let i = 0; i < halvings; i++) {
        await page.getByTestId('timeline-zoom-in').click();
        await page.waitForTimeout(30);
      }
      const tw = Date.now();
      let detailMs = null;
      for (; Date.now() - tw < 30_000;) {
        const s = await page.getByTestId('timeline-canvas').getAttribute('data-source');
        if (s === 'detail') {
          detailMs = Date.now() - tw;
          break;
        }
        if (s === 'overview') break;
        await page.waitForTimeout(20);
      }
      const src = await page.getByTestId('timeline-canvas').getAttribute('data-source');
      const span = await page.getByTestId('timeline-span').innerText();
      const { pan, cpu } = await dragPan(page, cx, cy, {
        stepPx: 4,
        steps: 20,
        seconds: o.panSeconds,
        what: `the pan at ${name}`,
        cpuOf: browserPid,
      });
      const s = summary(pan.work, pan.intervals);
      const load = loadavg()[0];
      const drawn = await page.evaluate(() => {
        const c = document.querySelector('[data-testid="timeline-canvas"]');
        return { rects: Number(c.dataset.rects), markers: Number(c.dataset.markers), labels: Number(c.dataset.labels) };
      });
      log(
        `  ${name} (${span}, ${src}${detailMs !== null ? `, detail after ${detailMs} ms` : ''}): pan frame p50 ${s.work_p50_ms} p95 ${s.work_p95_ms} ms over ${s.frames} frames; load ${load.toFixed(2)}; last frame drew ${JSON.stringify(drawn)}; CPU per frame ${JSON.stringify(cpu)}; messages ${JSON.stringify(pan.messages)}`,
      );
      const mem = sample();
      log(`    memory after the pan at ${name}: ${JSON.stringify(mem)}`);
      levels.push({
        level: name,
        span,
        source: src,
        detail_ms: detailMs,
        pan: s,
        cpu,
        load: r2(load),
        drawn,
        memory: mem,
      });
    }
    // Let the whole-trace analysis run on (the stream through the derived tables), then measure again.
    const analysed = async () =>
      page
        .getByTestId('status-behind')
        .innerText({ timeout: 500 })
        .catch(() => '');
    await page.waitForTimeout(Math.max(0, o.seconds * 1000));
    const memLater = sample();
    const progress = await analysed();
    log(
      `  after ${o.seconds} s more: memory ${JSON.stringify(memLater)}, "${progress}"; peak total ${peak.toFixed(0)} MB`,
    );
    return {
      mode: 'big',
      first_paint_ms: r2(firstPaint),
      first_source: source,
      memory_before_open: memBefore,
      memory_first_paint: memFirst,
      memory_later: memLater,
      peak_total_mb: r2(peak),
      progress_later: progress,
      levels,
    };
  } finally {
    clearInterval(sampler);
  }
}

// A long live session: memory sampled over time, the timeline's lag behind live, frames, reconnects.
async function liveScenario(page, o, srv, browserPid) {
  const memory = () => {
    const [host] = treePssMb(srv.pid);
    const [b, kids] = treePssMb(browserPid);
    return { host: r2(host), chromium: r2(b + kids), total: r2(host + b + kids) };
  };
  const mem0 = memory();
  log(`  before the launch: memory ${JSON.stringify(mem0)} MB`);
  await page.getByTestId('launch-cmd').fill(resolve(o.target));
  await page.getByTestId('launch-args').fill(`${o.coroutines} ${o.yieldsPerS} ${o.seconds + 15}`);
  await page.getByTestId('launch-submit').click();
  await page.getByTestId('status-state').and(page.locator('[data-state="running"]')).waitFor({ timeout: 30_000 });
  await page.getByTestId('view-tab-timeline').click();
  await page.getByTestId('timeline-canvas').waitFor({ timeout: 10_000 });
  const follow = page.getByTestId('timeline-follow');
  if (!(await follow.isChecked())) await follow.check();
  await startRecording(page);
  const bar = page.getByTestId('status-bar');
  const attr = async (loc, name) => Number(await loc.getAttribute(name));
  const samples = [];
  const t0 = Date.now();
  for (let k = 1; ; k++) {
    const due = t0 + k * o.sampleSeconds * 1000;
    if (due > t0 + o.seconds * 1000) break;
    await page.waitForTimeout(Math.max(0, due - Date.now()));
    const drawnNewest = await attr(page.getByTestId('timeline-canvas'), 'data-newest');
    const now = Number(process.hrtime.bigint());
    const m = memory();
    const [mode, stored, items, nodes, applied] = await Promise.all([
      bar.getAttribute('data-mode'),
      attr(bar, 'data-stored-events'),
      attr(bar, 'data-timeline-items'),
      attr(bar, 'data-overview-nodes'),
      attr(bar, 'data-applied'),
    ]);
    const events = parseCount(await page.getByTestId('status-events').innerText());
    const s = {
      s: r2((Date.now() - t0) / 1000),
      ...m,
      lag_s: drawnNewest > 0 ? r2((now - drawnNewest) / 1e9) : null,
      events,
      applied,
      mode,
      stored,
      tail_items: items,
      overview_nodes: nodes,
      load1: r2(loadavg()[0]),
    };
    samples.push(s);
    log(
      `  live ${s.s} s: ${events} events (page ${applied}, ${mode}, store ${stored}, tail ${items} items, overview ${nodes} nodes); memory host ${m.host} + Chromium ${m.chromium} = ${m.total} MB; lag ${s.lag_s} s; load ${s.load1}`,
    );
  }
  const frames = await stopRecording(page);
  const elapsed = (Date.now() - t0) / 1000;
  if (process.env.UI_BENCH_SHOTS) await page.screenshot({ path: join(process.env.UI_BENCH_SHOTS, 'ui-live.png') });
  const sockets = await page.evaluate(() => window.__bench.sockets);
  const state = await page.getByTestId('status-state').getAttribute('data-state');
  const drops = parseCount(await page.getByTestId('status-drops').innerText());
  return {
    mode: 'live',
    seconds: r2(elapsed),
    still_running: state === 'running',
    drops,
    reconnects: Math.max(0, sockets - 1),
    memory_before: mem0,
    samples,
    frames: summary(frames.work, frames.intervals),
  };
}

// ---- main ---------------------------------------------------------------------

async function main() {
  const o = parse(process.argv.slice(2));
  const { chromium } = await import('@playwright/test');
  const srv = await serve();
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--enable-precise-memory-info',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e).slice(0, 600)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text().slice(0, 600));
    });
    process.on('exit', () => {
      if (pageErrors.length) log(`page errors:\n  ${pageErrors.slice(0, 5).join('\n  ')}`);
    });
    await page.addInitScript(instrument);
    await page.goto(srv.url);
    await page.getByTestId('start-view').waitFor({ timeout: 20_000 });
    const browserPid = descendants(process.pid).find((p) => {
      try {
        return (
          readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0] === CHROMIUM ||
          readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('chrom')
        );
      } catch {
        return false;
      }
    });
    const res =
      o.mode === 'trace'
        ? await traceScenario(page, o)
        : o.mode === 'big'
          ? await bigScenario(page, o, srv, browserPid ?? process.pid)
          : o.mode === 'live'
            ? await liveScenario(page, o, srv, browserPid ?? process.pid)
            : await streamScenario(page, o, process.pid);
    res.chromium = browser.version();
    res.dpr = await page.evaluate(() => window.devicePixelRatio);
    console.log(JSON.stringify(res));
  } finally {
    if (browser) await browser.close().catch(() => {});
    await srv.stop();
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
