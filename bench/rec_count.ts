/**
 * bench/rec_count.ts — counts what a trace file kept, for the recording rows
 * (bench/rec_rows.mjs, bench/README.md row 13). Run as
 * `node --import tsx bench/rec_count.ts FILE`; prints one line of JSON.
 *
 * It reads the file with the project's own reader (TraceReader: the addon's C
 * reader, which every CLI command uses, for whatever format versions it
 * supports), so what it counts is what a user of the file gets:
 *
 *   events        every record handed out except the string definitions
 *                 (the reader resolves STRING/STRING_MORE into its table; they
 *                 are not events), DROP records included
 *   kinds         events per kind name ("kind N" for a kind this reader does
 *                 not name)
 *   calls         CALL records per hook name
 *   yields        CO_YIELD records with a0 = 0 (the coroutine yielded; a0 = 1
 *                 is a preemption)
 *   drop_records, drop_lost   the DROP records and the sum of their a0 (the
 *                 events their rings counted as lost)
 *   drop_by_tid   drop_lost per producing thread
 *   problem       null when the file was read to its clean end, else the
 *                 reader's message (what came before it is still counted)
 */
import { statSync } from 'node:fs';
import { TraceReader } from '../main/session/traceReader.js';
import { Kind, hookName, kindName } from '../core/events/schema.js';

const path = process.argv[2];
if (!path) {
  console.error('usage: node --import tsx bench/rec_count.ts FILE');
  process.exit(2);
}

const t0 = performance.now();
const r = new TraceReader(path);
const byKind = new Float64Array(65536);
const byHook = new Float64Array(65536);
let events = 0;
let yields = 0;
let dropRecords = 0;
let dropLost = 0;
const dropByTid: Record<string, number> = {};
try {
  for (const b of r.batches()) {
    const raw = b.raw;
    const n = raw.length;
    events += n;
    for (let i = 0; i < n; i++) {
      const k = raw.kind(i);
      byKind[k]++;
      if (k === Kind.CALL) byHook[raw.lo(i, 0) & 0xffff]++;
      else if (k === Kind.CO_YIELD) {
        if (raw.a(i, 0) === 0) yields++;
      } else if (k === Kind.DROP) {
        dropRecords++;
        const lost = raw.a(i, 0);
        dropLost += lost;
        const tid = String(raw.tid(i));
        dropByTid[tid] = (dropByTid[tid] ?? 0) + lost;
      }
    }
  }
} finally {
  r.close();
}
const kinds: Record<string, number> = {};
for (let k = 0; k < byKind.length; k++) if (byKind[k]) kinds[kindName(k) ?? `kind ${k}`] = byKind[k];
const calls: Record<string, number> = {};
for (let h = 0; h < byHook.length; h++) if (byHook[h]) calls[hookName(h)] = byHook[h];
const problem = r.problem();
console.log(
  JSON.stringify({
    file: path,
    file_bytes: statSync(path).size,
    format: r.info.version,
    complete: r.info.complete,
    events,
    kinds,
    calls,
    yields,
    drop_records: dropRecords,
    drop_lost: dropLost,
    drop_by_tid: dropByTid,
    problem: problem ? problem.message : null,
    read_s: (performance.now() - t0) / 1000,
  }),
);
