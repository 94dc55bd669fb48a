/**
 * bench/core_ingest.ts — the Node core's rows (9-11, bench/README.md), run by
 * bench/run.mjs as `node --import tsx bench/core_ingest.ts MODE ...`; prints
 * one line of JSON on stdout (progress on stderr).
 *
 *   ingest EXE COROUTINES MS [RECORD_PATH]
 *       Session.launch(EXE COROUTINES MS) (bench/c/event_producer.c) with
 *       record: false, or recording to RECORD_PATH; waits for the end.
 *       Events that reached session.store.count per wall second (launch to
 *       end, and first to last batch), drops (status().drops and the link's
 *       own count), bytes per stored event.
 *   store N
 *       benchStoreIngest(N) (core/store/bench.ts): the synthetic mix.
 *   record EXE PATH [ARGS...]
 *       Session.launch(EXE ARGS) recording to PATH (for the export rows).
 *   export ROUNDS (trace PATH | synthetic N)
 *       exportToFile to perfetto, chrome-json, calls-csv (formats interleaved,
 *       ROUNDS rounds, output under a temporary directory, removed at the
 *       end): events/s per format and round. A trace is read through
 *       TraceReader inside the timing (what exporting a recording costs); the
 *       synthetic batches (core/testing/fixtures.ts syntheticBatches) are
 *       generated into memory first, outside the timing.
 *
 * Everything runs with a private XDG_RUNTIME_DIR under a temporary directory.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from '../main/session/session.js';
import { TraceReader } from '../main/session/traceReader.js';
import { benchStoreIngest } from '../core/store/bench.js';
import { exportToFile, type ExportFormat } from '../main/export/file.js';
import { syntheticBatches } from '../core/testing/fixtures.js';
import type { EventBatch } from '../core/model/timeline.js';
import type { LinkStats } from '../main/engine/addon.js';

const tmp = mkdtempSync(join(tmpdir(), 'coroscope-bench-core-'));
mkdirSync(join(tmp, 'run'), { mode: 0o700 });
process.env.XDG_RUNTIME_DIR = join(tmp, 'run');
const cleanup = () => rmSync(tmp, { recursive: true, force: true });

const log = (...a: unknown[]) => console.error(...a);

async function ingest(exe: string, coroutines: string, ms: string, recordPath?: string) {
  const t0 = performance.now();
  let first = 0;
  let last = 0;
  let batches = 0;
  let link: LinkStats | undefined; // the link's own counts, sampled at each batch (they are gone after the end)
  const s = Session.launch({ cmd: exe, args: [coroutines, ms], record: recordPath ?? false });
  s.on('batch', () => {
    last = performance.now();
    if (!batches++) first = last;
    link = s.target?.stats();
  });
  await s.whenEnded();
  const t1 = performance.now();
  const st = s.status();
  const count = s.store.count;
  let producer: unknown = null;
  try {
    producer = JSON.parse(s.output.text(1).trim().split('\n').at(-1) ?? '');
  } catch {
    /* reported as null */
  }
  return {
    events: count,
    wall_s: (t1 - t0) / 1000,
    events_per_s: count / ((t1 - t0) / 1000),
    events_per_s_batches: last > first ? count / ((last - first) / 1000) : null,
    batches,
    drops: st.drops,
    link_dropped: link?.dropped ?? null,
    link_events: link?.events ?? null,
    store_bytes: s.store.bytesUsed(),
    bytes_per_event: count ? s.store.bytesUsed() / count : null,
    derived_bytes_per_event: count ? s.derived.bytesUsed() / count : null,
    exit: st.exit ?? null,
    state: st.state,
    problems: st.problems,
    recording_error: st.recordingError ?? null,
    record_bytes: recordPath ? statSync(recordPath).size : null,
    producer,
  };
}

async function record(exe: string, path: string, args: string[]) {
  const s = Session.launch({ cmd: exe, args, record: path });
  await s.whenEnded();
  const st = s.status();
  return {
    events: s.store.count,
    drops: st.drops,
    exit: st.exit ?? null,
    problems: st.problems,
    record_bytes: statSync(path).size,
  };
}

const FORMATS: ExportFormat[] = ['perfetto', 'chrome-json', 'calls-csv'];

async function exportRounds(rounds: number, source: 'trace' | 'synthetic', arg: string) {
  let mem: EventBatch[] | null = null;
  if (source === 'synthetic') {
    mem = [];
    for await (const b of syntheticBatches(Number(arg))) mem.push(b);
  }
  const batches = (): { it: Iterable<EventBatch>; close(): void; pid?: number } => {
    if (mem) return { it: mem, close() {} };
    const r = new TraceReader(arg);
    return { it: r.batches(), close: () => r.close(), pid: r.info.pid };
  };
  const out: Record<string, { events_per_s: number[]; events: number; bytes: number }> = {};
  for (let round = 0; round < rounds; round++) {
    for (const f of FORMATS) {
      const path = join(tmp, `out.${f}`);
      const src = batches();
      const t0 = performance.now();
      let events = 0;
      try {
        await exportToFile(f, src.it, path, { pid: src.pid, onProgress: (n) => (events = n) });
      } finally {
        src.close();
      }
      const dt = (performance.now() - t0) / 1000;
      const o = (out[f] ??= { events_per_s: [], events, bytes: 0 });
      o.events_per_s.push(events / dt);
      o.events = events;
      o.bytes = statSync(path).size;
      rmSync(path, { force: true });
      log(
        `  export ${source} ${f} round ${round + 1}: ${events} events in ${dt.toFixed(3)} s = ${(events / dt / 1e6).toFixed(2)} M/s`,
      );
    }
  }
  return { source, formats: out };
}

async function main() {
  const [mode, ...a] = process.argv.slice(2);
  let result: unknown;
  if (mode === 'ingest') result = await ingest(a[0], a[1], a[2], a[3]);
  else if (mode === 'store') result = benchStoreIngest(Number(a[0]));
  else if (mode === 'record') result = await record(a[0], a[1], a.slice(2));
  else if (mode === 'export') result = await exportRounds(Number(a[0]), a[1] as 'trace' | 'synthetic', a[2]);
  else throw new Error(`core_ingest.ts: unknown mode ${mode} (ingest, store, record, export)`);
  console.log(JSON.stringify(result));
}

main()
  .catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exitCode = 1;
  })
  .finally(cleanup);
