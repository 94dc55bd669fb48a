// Host memory over a long live session (issue 13): the app's host (AppHost,
// as serve and Electron run it) streams a fast producer (bench/c/write1m.c,
// one CALL event per write) to one subscribed page that acks every batch,
// and samples the process's RSS and JS heap (after a GC) every second.
// Prints one JSON line per sample and a summary: the least-squares slope of
// RSS and heap against events (bytes/event) and against time (MB/min).
//
//   node --expose-gc --import tsx bench/host_memory.ts [seconds (300)] [--slow-page S]
//
// --slow-page S: the page stops acking for S seconds in the middle, then
// acks again (it must catch up: the summary says how many events it got
// against how many the session has, and whether any arrived twice).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiPush } from '../preload/api.js';
import { AppHost } from '../main/app/host.js';

const args = process.argv.slice(2);
const seconds = Number(args.find((a) => /^\d+$/.test(a)) ?? 300);
const slowAt = args.indexOf('--slow-page');
const slowFor = slowAt >= 0 ? Number(args[slowAt + 1]) : 0;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const dir = mkdtempSync(join(tmpdir(), 'coroscope-hostmem-'));
process.env.COROSCOPE_RECORDINGS = join(dir, 'rec');
const writer = join(dir, 'write1m');
execFileSync('cc', ['-O2', '-std=gnu11', join(import.meta.dirname, 'c', 'write1m.c'), '-o', writer]);

const host = new AppHost();
let seq = 0;
let paused = false;
let repeats = 0;
let id = '';
const page = (p: ApiPush): void => {
  if (p.type !== 'batch' || p.session !== id) return;
  if (p.seq !== seq) repeats++;
  seq = p.seq + p.events.byteLength / 64;
  if (!paused) void host.handle({ id: 0, name: 'ack', args: [id, seq] }, { push: page });
};
host.onPush(page);
const st = (await host.request('launch', [{ cmd: writer, args: ['4000000000'] }], { push: page })) as { id: string };
id = st.id;
await host.request('subscribe', [id, 0], { push: page });

const samples: { t: number; events: number; rss: number; heap: number }[] = [];
const t0 = Date.now();
const sessionEvents = async () =>
  ((await host.request('sessions', [])) as { id: string; events: number }[]).find((s) => s.id === id)!.events;
for (let s = 1; s <= seconds; s++) {
  await new Promise((r) => setTimeout(r, 1000));
  if (slowFor && s === Math.floor(seconds / 2)) paused = true;
  if (slowFor && paused && s === Math.floor(seconds / 2) + slowFor) {
    paused = false;
    void host.handle({ id: 0, name: 'ack', args: [id, seq] }, { push: page });
  }
  gc();
  const m = process.memoryUsage();
  const x = {
    t: (Date.now() - t0) / 1000,
    events: await sessionEvents(),
    rss: m.rss,
    heap: m.heapUsed + m.external + m.arrayBuffers,
    page: seq,
  };
  samples.push(x);
  console.log(JSON.stringify(x));
}
await host.request('kill', [id, 'SIGKILL']);
for (let i = 0; i < 100 && seq < (await sessionEvents()); i++) await new Promise((r) => setTimeout(r, 100));

/** Least-squares slope of y on x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length,
    mx = xs.reduce((a, b) => a + b, 0) / n,
    my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0,
    den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}
const warm = samples.slice(Math.min(10, Math.floor(samples.length / 3))); // after warm-up
const ev = warm.map((s) => s.events),
  t = warm.map((s) => s.t);
const total = await sessionEvents();
console.log(
  JSON.stringify({
    seconds,
    events: total,
    eventsPerSecond: Math.round(total / seconds),
    rssBytesPerEvent: +slope(
      ev,
      warm.map((s) => s.rss),
    ).toFixed(3),
    heapBytesPerEvent: +slope(
      ev,
      warm.map((s) => s.heap),
    ).toFixed(3),
    rssMBPerMin: +(
      (slope(
        t,
        warm.map((s) => s.rss),
      ) *
        60) /
      2 ** 20
    ).toFixed(2),
    heapMBPerMin: +(
      (slope(
        t,
        warm.map((s) => s.heap),
      ) *
        60) /
      2 ** 20
    ).toFixed(2),
    rssFirstMB: Math.round(samples[0].rss / 2 ** 20),
    rssLastMB: Math.round(samples.at(-1)!.rss / 2 ** 20),
    pageEvents: seq,
    pageCaughtUp: seq === total,
    repeats,
  }),
);
await host.close();
rmSync(dir, { recursive: true, force: true });
