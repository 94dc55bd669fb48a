// Level of detail in Chromium against `coroscope serve` (issue 13 item 3): a
// recording of about 10 M events (more than the detail budget) opens and is
// painted from its chunk overview at once, says so, and draws the detail of
// the window in view once zoomed in far enough; panning keeps it drawn
// (detail re-read by window), and the whole-trace analysis completes beside it.
import { expect, test } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root, servedForFile } from './serveHarness.js';

const served = servedForFile();

test('a 10 M-event recording paints from its overview, then from the detail of the window in view, and pans', async ({
  page,
}) => {
  test.setTimeout(120_000);
  // Setup: bench/c/rec_workload.c (coroutine pairs ping-ponging over socketpairs) recorded by the CLI.
  const dir = served().dir;
  const exe = join(dir, 'rec_workload');
  const nb = join(root, 'native', 'build');
  execFileSync('cc', [
    '-O2',
    '-D_GNU_SOURCE',
    '-pthread',
    join(root, 'bench', 'c', 'rec_workload.c'),
    '-o',
    exe,
    '-I',
    join(root, 'native', 'engine', 'include'),
    '-L',
    nb,
    '-Wl,--no-as-needed',
    '-lcoroscope',
    '-Wl,--as-needed',
    `-Wl,-rpath,${nb}`,
  ]);
  const rec = join(dir, 'lod.cstrace');
  const r = spawnSync(
    process.execPath,
    [join(root, 'out', 'cli', 'coroscope.mjs'), 'record', '-o', rec, '--', exe, '32000', '30', '1000'],
    { env: served().env, encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  const events = Number(/recorded (\d+) events/.exec(r.stderr)?.[1]);
  expect(events).toBeGreaterThan(8_000_000);

  await page.goto(served().url);
  await page.getByTestId('open-trace-path').fill(rec);
  await page.getByTestId('open-trace-submit').click();
  await page.getByTestId('view-tab-timeline').click();
  const canvas = page.getByTestId('timeline-canvas');
  // Painted from the overview, with every event of the file behind it, and said so.
  await expect(canvas).toHaveAttribute('data-source', 'overview', { timeout: 15_000 });
  await expect(canvas).toHaveAttribute('data-events', String(events));
  await expect(page.getByTestId('timeline-lod')).toHaveText('overview — zoom in for detail');
  expect(Number(await canvas.getAttribute('data-rects'))).toBeGreaterThan(0);

  // Zoom in until the view holds few enough events for detail: it is read and drawn.
  for (let i = 0; i < 12 && (await canvas.getAttribute('data-source')) === 'overview'; i++) {
    await page.getByTestId('timeline-zoom-in').click();
    await page.waitForTimeout(100);
  }
  await expect(canvas).toHaveAttribute('data-source', 'detail', { timeout: 30_000 });
  await expect(page.getByTestId('timeline-lod')).toHaveText('');
  expect(Number(await canvas.getAttribute('data-rects'))).toBeGreaterThan(0);

  // Pan well past the loaded window (four views to the left): its detail is read again.
  const box = (await canvas.boundingBox())!;
  const y = box.y + 40;
  for (let k = 0; k < 4; k++) {
    await page.mouse.move(box.x + 200, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 10, y, { steps: 8 });
    await page.mouse.up();
  }
  await expect(canvas).toHaveAttribute('data-source', 'detail', { timeout: 30_000 });
  expect(Number(await canvas.getAttribute('data-rects'))).toBeGreaterThan(0);

  // The whole-trace analysis (every event through the derived tables) completes meanwhile.
  await expect(page.getByTestId('status-behind')).toHaveCount(0, { timeout: 90_000 });
  await expect(page.getByTestId('connection')).toHaveCount(0);
});
