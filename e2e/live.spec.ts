// A long live session in Chromium against `coroscope serve` (issue 13, "Live"): once the page
// holds LIVE_BUDGET events (2 M) it switches to the bounded path without a reset — its event
// store let go, the timeline drawn from the live overview (the recording's chunk summaries, polled)
// and a bounded tail of recent events — and the timeline keeps following the stream. What is
// asserted comes from the data worker's own counts (the info query, carried by the status bar's
// data attributes), never from timing.
import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { artifacts, root, servedForFile } from './serveHarness.js';

const served = servedForFile();

/** TAIL_ITEMS of renderer/src/worker/protocol.ts: the most items the tail's timeline model keeps. */
const TAIL_ITEMS = 1_000_000;
/** LIVE_BUDGET of renderer/src/worker/protocol.ts: events in the page's store before it switches. */
const LIVE_BUDGET = 1_000_000;

const producer = (): string => {
  const exe = join(served().dir, 'paced_producer');
  execFileSync('cc', [
    '-O2',
    '-D_GNU_SOURCE',
    '-pthread',
    join(root, 'bench', 'c', 'paced_producer.c'),
    '-o',
    exe,
    '-I',
    join(root, 'native', 'engine', 'include'),
    '-L',
    join(root, 'native', 'build'),
    '-Wl,--no-as-needed',
    '-lcoroscope',
    '-Wl,--as-needed',
    `-Wl,-rpath,${join(root, 'native', 'build')}`,
  ]);
  return exe;
};

const num = async (page: Page, attr: string): Promise<number> =>
  Number(await page.getByTestId('status-bar').getAttribute(attr));

test('a live session past the budget switches to the overview and a bounded tail, and the timeline keeps following', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const exe = producer();
  await page.goto(served().url);
  await expect(page.getByTestId('launch-form')).toBeVisible();
  await page.getByTestId('launch-cmd').fill(exe);
  // 8 coroutines, ~60 k yields/s (~130 k events/s) for 60 s: past LIVE_BUDGET events in ~10-20 s.
  await page.getByTestId('launch-args').fill('8 60000 60');
  await page.getByTestId('launch-submit').click();
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'running', { timeout: 15_000 });
  await page.getByTestId('view-tab-timeline').click();
  const canvas = page.getByTestId('timeline-canvas');
  await expect(canvas).toBeVisible();
  const bar = page.getByTestId('status-bar');
  await expect(bar).toHaveAttribute('data-mode', 'full', { timeout: 15_000 });

  // Past the budget: switched in place, the store let go.
  await expect(bar).toHaveAttribute('data-mode', 'live', { timeout: 120_000 });
  await expect(page.getByTestId('status-live-lod')).toBeVisible();
  const applied0 = await num(page, 'data-applied');
  expect(applied0).toBeGreaterThan(LIVE_BUDGET);
  expect(await num(page, 'data-stored-events')).toBe(0);
  expect(await num(page, 'data-overview-nodes')).toBeGreaterThan(0);

  // It keeps following: more events applied and drawn, the newest part from the tail, while the
  // store stays empty and the tail within its bound.
  const drawn0 = Number(await canvas.getAttribute('data-events'));
  const drawnTo0 = await num(page, 'data-drawn-to');
  await expect.poll(async () => num(page, 'data-applied'), { timeout: 60_000 }).toBeGreaterThan(applied0 + 1_000_000);
  await expect
    .poll(async () => Number(await canvas.getAttribute('data-events')), { timeout: 30_000 })
    .toBeGreaterThan(drawn0 + 1_000_000);
  await expect.poll(async () => num(page, 'data-drawn-to'), { timeout: 30_000 }).toBeGreaterThan(drawnTo0 + 5e9);
  await expect(canvas).toHaveAttribute('data-source', 'live');
  expect(Number(await canvas.getAttribute('data-rects'))).toBeGreaterThan(0);
  expect(await num(page, 'data-stored-events')).toBe(0);
  expect(await num(page, 'data-timeline-items')).toBeLessThanOrEqual(TAIL_ITEMS);
  await expect(page.getByTestId('connection')).toHaveCount(0);
  await page.screenshot({ path: join(artifacts, 'live-tail.png') });

  // The session ends and the page has every event (nothing behind), still with no store.
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 120_000 });
  await expect(page.getByTestId('status-behind')).toHaveCount(0, { timeout: 60_000 });
  expect(await num(page, 'data-applied')).toBeGreaterThan(applied0 + 1_000_000);
  expect(await num(page, 'data-stored-events')).toBe(0);
  const problems = page.getByTestId('problems');
  expect(await problems.count(), (await problems.count()) ? await problems.textContent() : '').toBe(0);
});
