// bench/core_rows.mjs — the Node core's rows of bench/run.mjs (see
// bench/README.md, rows 9-11). run.mjs owns the command line, building and
// the table; it hands its helpers in and gets one runner per benchmark back.
// The measurements themselves are TypeScript (bench/core_ingest.ts, run with
// `node --import tsx`, one process per measurement, JSON on stdout):
//
//   core_ingest  c/event_producer.c (coroutines yielding in a tight loop)
//                launched through Session.launch, record: false and recording
//                to a temporary file: events that reached session.store per
//                wall second, drops, bytes per stored event. Targets:
//                >= 10 M events/s, <= 16 B/event.
//   core_store   benchStoreIngest (core/store/bench.ts) on the synthetic
//                mix: store+derived events/s and bytes/event (store only in
//                the notes). Same targets.
//   core_export  exportToFile to perfetto, chrome-json, calls-csv of a real
//                recording (event_producer recorded through Session.launch)
//                and of syntheticBatches(2 M) (core/testing/fixtures.ts):
//                events/s per format, median of 3 rounds. No target.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const TARGET_MEPS = 10; // M events/s into the store
const TARGET_BYTES = 16; // bytes per stored event
const PRODUCER_COROUTINES = 4;
const PRODUCER_MS = 1000;
const STORE_EVENTS = 1_000_000;
const EXPORT_ROUNDS = 3;
const RECORD_MS = 400; // the recording exported by core_export (about 0.5-1 M events)
const FORMATS = ['perfetto', 'chrome-json', 'calls-csv'];

// h: { opts, log, mustRun, lastJson, median, row, errorRow, round4, cleanEnv,
//      needNative, cc, linkEngine, bench: dir, root: dir, nativeBuild: () => dir, lib: () => path }
export function coreBenchmarks(h) {
  const { opts, log, mustRun, lastJson, median, row, errorRow, round4, cleanEnv, needNative, cc, linkEngine } = h;
  const script = join(h.bench, 'core_ingest.ts');
  const env = () => cleanEnv(opts.nativeDir ? { COROSCOPE_NATIVE_DIR: h.nativeBuild() } : {});
  const ts = async (what, args, timeout = 120_000) =>
    lastJson(
      what,
      (
        await mustRun(what, process.execPath, ['--import', 'tsx', script, ...args], {
          env: env(),
          cwd: h.root,
          timeout,
        })
      ).stdout,
    );
  const needCore = () => needNative(h.lib(), join(h.nativeBuild(), 'coroscope.node'));
  const producer = () => cc('event_producer', 'c/event_producer.c', linkEngine());
  const M = (x) => x / 1e6;
  const fmtM = (x) => `${M(x).toFixed(2)} M/s`;

  async function benchCoreIngest() {
    const liveMeta = {
      name: 'core_ingest',
      title: 'core: target -> Session store (record off)',
      unit: 'M events/s',
      better: 'higher',
      target: `>= ${TARGET_MEPS} M/s`,
      peer: `target ${TARGET_MEPS} M/s`,
    };
    const recMeta = {
      name: 'core_ingest_record',
      title: 'core: target -> Session store (recording)',
      unit: 'M events/s',
      better: 'higher',
      target: `>= ${TARGET_MEPS} M/s`,
      peer: `target ${TARGET_MEPS} M/s`,
    };
    const bytesMeta = {
      name: 'core_bytes_real',
      title: 'core: bytes per stored event (real run)',
      unit: 'B/event',
      better: 'lower',
      target: `<= ${TARGET_BYTES} B`,
      peer: `target ${TARGET_BYTES} B`,
    };
    const metas = [liveMeta, recMeta, bytesMeta];
    const dir = mkdtempSync(join(os.tmpdir(), 'coroscope-bench-rec-'));
    try {
      await needCore();
      const exe = await producer();
      const args = [exe, String(PRODUCER_COROUTINES), String(PRODUCER_MS)];
      const live = [];
      const rec = [];
      for (let i = 0; i < opts.reps; i++) {
        const order = i & 1 ? ['rec', 'live'] : ['live', 'rec'];
        for (const w of order) {
          if (w === 'live') live.push(await ts('core_ingest', ['ingest', ...args]));
          else {
            const path = join(dir, `rec${i}.cstrace`);
            rec.push(await ts('core_ingest (recording)', ['ingest', ...args, path]));
            rmSync(path, { force: true });
          }
        }
        const a = live.at(-1);
        const b = rec.at(-1);
        log(
          `  core_ingest rep ${i + 1}: off ${fmtM(a.events_per_s)} (${a.events} stored, ${a.drops} dropped, ${a.bytes_per_event.toFixed(2)} B/event), ` +
            `recording ${fmtM(b.events_per_s)} (${b.events} stored, ${b.drops} dropped)`,
        );
      }
      for (const r of [...live, ...rec]) {
        if (!r.exit || r.exit.code !== 0)
          throw new Error(`event_producer did not exit 0: ${JSON.stringify(r.exit)} ${r.problems.join('; ')}`);
      }
      const summary = (runs) => {
        const eps = median(runs.map((r) => r.events_per_s));
        const drops = median(runs.map((r) => r.drops));
        const events = median(runs.map((r) => r.events));
        const yields = median(runs.map((r) => r.producer?.yields ?? NaN));
        return { eps, drops, events, yields, batchEps: median(runs.map((r) => r.events_per_s_batches)) };
      };
      const notesFor = (s, runs, extra = []) => [
        `median per run (${PRODUCER_MS} ms producer, ${PRODUCER_COROUTINES} yielding coroutines, default workers): ${Math.round(s.events).toLocaleString('en-US')} events stored, ` +
          `${Math.round(s.drops).toLocaleString('en-US')} dropped (status().drops) = ${((100 * s.drops) / (s.drops + s.events)).toFixed(1)} % of what the target emitted; ` +
          `producer ${Math.round(s.yields).toLocaleString('en-US')} yields (~2 events each); ${fmtM(s.batchEps)} first to last batch`,
        ...extra,
        ...(runs.some((r) => r.problems.length)
          ? [`problems: ${[...new Set(runs.flatMap((r) => r.problems))].join('; ')}`]
          : []),
      ];
      const sl = summary(live);
      const sr = summary(rec);
      const recMB = median(rec.map((r) => r.record_bytes / 1e6));
      const recErr = rec.map((r) => r.recording_error).filter(Boolean);
      const bytes = median(live.map((r) => r.bytes_per_event));
      const bytesRec = median(rec.map((r) => r.bytes_per_event));
      const detailOf = (runs) =>
        runs.map((r) => ({
          ...r,
          events_per_s: round4(r.events_per_s),
          events_per_s_batches: round4(r.events_per_s_batches),
          bytes_per_event: round4(r.bytes_per_event),
        }));
      return [
        row({
          ...liveMeta,
          value: round4(M(sl.eps)),
          peer_value: TARGET_MEPS,
          meets_target: M(sl.eps) >= TARGET_MEPS,
          notes: notesFor(sl, live),
          detail: {
            runs: detailOf(live),
            method: 'store.count / (launch to end) wall seconds, bench/core_ingest.ts ingest',
          },
        }),
        row({
          ...recMeta,
          value: round4(M(sr.eps)),
          peer_value: TARGET_MEPS,
          meets_target: M(sr.eps) >= TARGET_MEPS,
          notes: notesFor(sr, rec, [
            `recording ${recMB.toFixed(1)} MB per run${recErr.length ? `; recording errors: ${[...new Set(recErr)].join('; ')}` : ''}`,
          ]),
          detail: { runs: detailOf(rec) },
        }),
        row({
          ...bytesMeta,
          value: round4(bytes),
          peer_value: TARGET_BYTES,
          meets_target: bytes <= TARGET_BYTES,
          notes: [
            `store.bytesUsed() / store.count of the record-off runs (yield-only workload: CO_YIELD/CO_RUN); recording runs ${bytesRec.toFixed(2)} B/event; derived tables add ${median(live.map((r) => r.derived_bytes_per_event)).toFixed(3)} B/event`,
          ],
          detail: {
            reps: live.map((r) => round4(r.bytes_per_event)),
            reps_recording: rec.map((r) => round4(r.bytes_per_event)),
          },
        }),
      ];
    } catch (e) {
      return metas.map((m) => errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async function benchCoreStore() {
    const ingMeta = {
      name: 'core_store_ingest',
      title: `core: store+derived ingest, synthetic mix (${STORE_EVENTS / 1e6} M)`,
      unit: 'M events/s',
      better: 'higher',
      target: `>= ${TARGET_MEPS} M/s`,
      peer: `target ${TARGET_MEPS} M/s`,
    };
    const bytesMeta = {
      name: 'core_store_bytes',
      title: 'core: bytes per stored event (synthetic mix)',
      unit: 'B/event',
      better: 'lower',
      target: `<= ${TARGET_BYTES} B`,
      peer: `target ${TARGET_BYTES} B`,
    };
    try {
      const runs = [];
      for (let i = 0; i < opts.reps; i++) {
        runs.push(await ts('core_store', ['store', String(STORE_EVENTS)]));
        const r = runs.at(-1);
        log(
          `  core_store rep ${i + 1}: store ${fmtM(r.store.eventsPerSec)} ${r.store.bytesPerEvent.toFixed(2)} B/event, ` +
            `store+derived ${fmtM(r.storeAndDerived.eventsPerSec)} ${r.storeAndDerived.bytesPerEvent.toFixed(2)} B/event`,
        );
      }
      const med = (f) => median(runs.map(f));
      const pair = med((r) => r.storeAndDerived.eventsPerSec);
      const store = med((r) => r.store.eventsPerSec);
      const bytes = med((r) => r.store.bytesPerEvent);
      const bytesPair = med((r) => r.storeAndDerived.bytesPerEvent);
      return [
        row({
          ...ingMeta,
          value: round4(M(pair)),
          peer_value: TARGET_MEPS,
          meets_target: M(pair) >= TARGET_MEPS,
          notes: [
            `store alone: ${fmtM(store)}; benchStoreIngest(${STORE_EVENTS}) (median of 5 in-process runs, batches of 4096), median over ${opts.reps} processes`,
          ],
          detail: { reps: runs },
        }),
        row({
          ...bytesMeta,
          value: round4(bytes),
          peer_value: TARGET_BYTES,
          meets_target: bytes <= TARGET_BYTES,
          notes: [`store + derived tables: ${bytesPair.toFixed(2)} B/event`],
          detail: { see: 'core_store_ingest' },
        }),
      ];
    } catch (e) {
      return [ingMeta, bytesMeta].map((m) => errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
    }
  }

  async function benchCoreExport() {
    const n = opts.coreExportEvents;
    const metas = [];
    for (const src of ['trace', 'synthetic'])
      for (const f of FORMATS)
        metas.push({
          name: `core_export_${f.replace('-', '_')}_${src}`,
          title: `core: export ${f}, ${src === 'trace' ? 'recorded event_producer' : `synthetic ${(n / 1e6).toFixed(1)} M`}`,
          unit: 'M events/s',
          better: 'higher',
          target: '— (reported)',
          peer: '—',
          src,
          f,
        });
    const dir = mkdtempSync(join(os.tmpdir(), 'coroscope-bench-export-'));
    try {
      await needCore();
      const exe = await producer();
      const trace = join(dir, 'producer.cstrace');
      const rec = await ts('core_export (recording)', [
        'record',
        exe,
        trace,
        String(PRODUCER_COROUTINES),
        String(RECORD_MS),
      ]);
      log(
        `  core_export: recorded ${rec.events} events (${(rec.record_bytes / 1e6).toFixed(1)} MB, ${rec.drops} dropped) from event_producer ${PRODUCER_COROUTINES} ${RECORD_MS}`,
      );
      const results = {
        trace: await ts('core_export (trace)', ['export', String(EXPORT_ROUNDS), 'trace', trace], 300_000),
        synthetic: await ts(
          'core_export (synthetic)',
          ['export', String(EXPORT_ROUNDS), 'synthetic', String(n)],
          600_000,
        ),
      };
      return metas.map(({ src, f, ...m }) => {
        const r = results[src].formats[f];
        const v = M(median(r.events_per_s));
        return row({
          ...m,
          value: round4(v),
          peer_value: null,
          meets_target: true,
          notes: [
            `${r.events.toLocaleString('en-US')} events -> ${r.bytes >= 1e5 ? `${(r.bytes / 1e6).toFixed(1)} MB` : `${r.bytes} B`}; median of ${EXPORT_ROUNDS} rounds (formats interleaved, one process)${src === 'trace' ? '; includes reading the trace file (TraceReader)' : '; batches generated in memory first, not timed'}`,
          ],
          detail: {
            rounds_meps: r.events_per_s.map((x) => round4(M(x))),
            events: r.events,
            bytes: r.bytes,
            ...(src === 'trace' ? { recording: rec } : {}),
          },
        });
      });
    } catch (e) {
      return metas.map((m) => errorRow(m.name, m.title, m.unit, m.better, m.target, m.peer, e));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  return { core_ingest: benchCoreIngest, core_store: benchCoreStore, core_export: benchCoreExport };
}
