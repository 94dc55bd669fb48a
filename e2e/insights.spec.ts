// Insights in the browser (serve mode): the problems InsightFinder finds in a
// session's events, listed with what to change; a click opens the Timeline
// on the moment with the coroutine selected. A clean program says so.
import { test, expect } from '@playwright/test';
import { join } from 'node:path';
import { artifacts, example, servedForFile } from './serveHarness.js';

const served = servedForFile();

test('blocking_file on one worker: a blocked-worker insight names the reader, and a click shows that moment in the Timeline', async ({
  page,
}) => {
  await page.goto(served().url);
  await page.getByTestId('launch-cmd').fill(example('blocking_file'));
  await page.getByTestId('launch-workers').fill('1');
  await page.getByTestId('launch-submit').click();
  await expect(page.getByTestId('status-bar')).toContainText('blocking_file', { timeout: 15_000 });
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 30_000 });
  await page.getByTestId('view-tab-insights').click();
  const view = page.getByTestId('insights-view');
  await expect(view).toBeVisible();
  const row = view.getByTestId('insight-blocked-worker').first();
  await expect(row).toBeVisible({ timeout: 10_000 });
  await expect(row.getByTestId('insight-co')).toContainText('reader');
  await expect(row.getByTestId('insight-title')).toContainText('worker 0');
  await expect(row.getByTestId('insight-advice')).not.toBeEmpty();
  await expect(view.getByTestId('insights-none')).toHaveCount(0);
  await page.screenshot({ path: join(artifacts, 'insights.png') });

  const co = Number(await row.getAttribute('data-co'));
  expect(co).toBeGreaterThan(0);
  const dur = Number(await row.getAttribute('data-duration'));
  expect(dur).toBeGreaterThan(100e6);
  await row.getByTestId('insight-jump').click();
  await expect(page.getByTestId('timeline-canvas')).toBeVisible();
  await expect(page.getByTestId('view-tab-timeline')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('timeline-clear-selection')).toBeVisible();
  await expect(page.locator('.timeline-bar')).toContainText(`selected #${co}`);
  // The session has ended: nothing to follow, so no "follow live" to offer.
  await expect(page.getByTestId('timeline-follow')).toHaveCount(0);
  // The viewport is the blocked run with as much room again around it (not the whole session fitted).
  const want = Math.max(2 * dur, 2e6);
  await expect(page.getByTestId('timeline-span')).toHaveText(
    want >= 1e9 ? `${(want / 1e9).toPrecision(4)} s shown` : `${(want / 1e6).toPrecision(3)} ms shown`,
  );
  await page.screenshot({ path: join(artifacts, 'insights-jump.png') });
});

test('sleep_forever: no problems found once the session ended', async ({ page }) => {
  await page.goto(served().url);
  await page.getByTestId('demo-sleep_forever').click();
  await expect(page.getByTestId('status-bar')).toContainText('sleep_forever', { timeout: 15_000 });
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 15_000 });
  await page.getByTestId('view-tab-insights').click();
  await expect(page.getByTestId('insights-none')).toBeVisible({ timeout: 10_000 });
  await expect(page.locator('[data-testid^="insight-"][data-co]')).toHaveCount(0);
});
