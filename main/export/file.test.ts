import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportToFile } from './file.js';
import { readPerfetto } from '../../core/export/protoDecode.js';
import { asAsync, demoHistory } from '../../core/testing/fixtures.js';
import type { EventBatch } from '../../core/model/timeline.js';

const dir = mkdtempSync(join(tmpdir(), 'coroscope-export-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('each format to a file', async () => {
  const pf = join(dir, 't.pftrace');
  const s = await exportToFile('perfetto', asAsync(demoHistory()), pf);
  const bytes = readFileSync(pf);
  assert.equal(bytes.length, s.bytes);
  assert.equal(readPerfetto(bytes).packets, s.packets);

  const js = join(dir, 't.json');
  const c = await exportToFile('chrome-json', asAsync(demoHistory()), js);
  assert.equal(JSON.parse(readFileSync(js, 'utf8')).traceEvents.length, c.records);

  const csv = join(dir, 't.csv');
  const k = await exportToFile('calls-csv', asAsync(demoHistory()), csv);
  assert.equal(readFileSync(csv, 'utf8').trim().split('\n').length, k.rows.length + 1);
});

test('a failed export leaves no file behind', async () => {
  await assert.rejects(exportToFile('perfetto', asAsync(demoHistory()), join(dir, 'missing', 'x.pftrace')), /ENOENT/);
  const path = join(dir, 'broken.pftrace');
  async function* failing(): AsyncIterable<EventBatch> {
    yield* demoHistory();
    throw new Error('the trace reader failed');
  }
  await assert.rejects(exportToFile('perfetto', failing(), path), /the trace reader failed/);
  assert.equal(existsSync(path), false);
});
