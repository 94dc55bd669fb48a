/**
 * The exporters' bytes, pinned: the Perfetto and Chrome JSON output of the
 * demo history and of a synthetic trace (overlapping batches, thousands of
 * coroutines, names past the intern cap) hash to the values they had when
 * this test was written. Speed work on the timeline or the encoders must
 * leave every byte where it was; a deliberate format change updates the
 * hashes here, and says why in its commit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { exportPerfetto } from './perfetto.js';
import { exportChromeJson } from './chromeJson.js';
import { CollectSink, ReturningSink } from '../testing/sinks.js';
import { asAsync, demoHistory, syntheticBatches } from '../testing/fixtures.js';
import type { Batches, ByteSink, ExportOptions } from './output.js';

type Exporter = (b: Batches, out: ByteSink, o?: ExportOptions) => Promise<unknown>;

async function sha256(exporter: Exporter, batches: Batches): Promise<string> {
  const out = new CollectSink();
  await exporter(batches, out);
  return createHash('sha256').update(out.bytes()).digest('hex');
}

const synthetic = (): Batches => syntheticBatches(120_000, { live: 16, overlapNs: 10_000 });

test('Perfetto output of the demo history is byte-for-byte what it was', async () => {
  assert.equal(
    await sha256(exportPerfetto, asAsync(demoHistory([7, 20]))),
    '8b79524a9cdbf4ea6448faeaad1c6ecc58b7ef7cbec689235e2686f23c325a35',
  );
});

test('Perfetto output of a 120 k-event synthetic trace is byte-for-byte what it was', async () => {
  assert.equal(
    await sha256(exportPerfetto, synthetic()),
    '82e527c715624ceb100faa58365518fbddd0e2cb405543bb4cf3651a8cc22a8e',
  );
});

test('Chrome JSON output of the demo history is byte-for-byte what it was', async () => {
  assert.equal(
    await sha256(exportChromeJson, asAsync(demoHistory([7, 20]))),
    'bb6588cd61e302cf254b38744dec21b4de94192327bb56db8007141e3a21b711',
  );
});

test('Chrome JSON output of a 120 k-event synthetic trace is byte-for-byte what it was', async () => {
  assert.equal(
    await sha256(exportChromeJson, synthetic()),
    '2e7888be5fc75e5e374b8822c666e6b0422d06ee36ba6ff5134fd4bab1ba648d',
  );
});

test('Perfetto output written through a sink that hands its chunks back is the same bytes, in reused memory', async () => {
  const kept = new CollectSink();
  await exportPerfetto(syntheticBatches(400_000, { overlapNs: 2_000 }), kept);
  const returned = new ReturningSink();
  await exportPerfetto(syntheticBatches(400_000, { overlapNs: 2_000 }), returned);
  const chunks = Math.ceil(returned.bytes().byteLength / (1 << 20));
  assert.ok(chunks >= 10, `${chunks} chunks`);
  assert.ok(returned.buffers < chunks / 2, `${returned.buffers} buffers for ${chunks} chunks`);
  assert.ok(Buffer.from(returned.bytes()).equals(Buffer.from(kept.bytes())));
});
