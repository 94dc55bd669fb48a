/**
 * bench/export_cpu.ts — the Perfetto exporter's own cost on a real recording,
 * without the file system: the first N events of FILE are decoded into memory
 * (not timed), then `exportPerfetto` runs REPS times into a sink that only
 * counts bytes (and hashes the first run's output, so that a speed change can
 * be shown to leave every byte where it was). Prints the process CPU time
 * (user + system) of each run, their median and minimum, the bytes per event
 * and the output's SHA-256 prefix. CPU time rather than wall time: the
 * machine is shared. Run as
 *
 *   node --import tsx bench/export_cpu.ts FILE [N=4000000] [REPS=5]
 *
 * and compare two trees by running it from each, interleaved.
 */
import { createHash } from 'node:crypto';
import { TraceReader } from '../main/session/traceReader.js';
import type { EventBatch } from '../core/model/timeline.js';
import { exportPerfetto } from '../core/export/perfetto.js';

const [file, maxArg, repsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node --import tsx bench/export_cpu.ts FILE [N] [REPS]');
  process.exit(2);
}
const max = Number(maxArg ?? 4e6);
const reps = Number(repsArg ?? 5);
const r = new TraceReader(file);
const batches: EventBatch[] = [];
let events = 0;
for (const b of r.batches(65536)) {
  batches.push(b);
  events += b.raw.length;
  if (events >= max) break;
}
const cpu: number[] = [];
let hash = '';
let bytes = 0;
for (let rep = 0; rep < reps; rep++) {
  const h = createHash('sha256');
  bytes = 0;
  const sink = {
    write(chunk: Uint8Array, written?: () => void): boolean {
      bytes += chunk.byteLength;
      if (rep === 0) h.update(chunk);
      written?.();
      return true;
    },
    async ready(): Promise<void> {},
  };
  const c0 = process.cpuUsage();
  await exportPerfetto(batches, sink, { pid: r.info.pid });
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  if (rep === 0) hash = h.digest('hex').slice(0, 16);
}
const sorted = [...cpu].sort((a, b) => a - b);
const median = sorted[sorted.length >> 1];
console.log(
  `${events} events: CPU ms ${cpu.map((t) => t.toFixed(0)).join(' ')}; median ${median.toFixed(0)} min ${sorted[0].toFixed(0)} ` +
    `(${(events / median / 1e3).toFixed(2)} M events per CPU second); ${(bytes / events).toFixed(1)} B/event; sha256 ${hash}`,
);
