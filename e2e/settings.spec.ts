// Engine settings at run time, driven like a user in the browser (serve mode): launch the cpu_hog
// demo's program for long enough, open the Engine panel from the session controls, turn
// preemption off and see the engine acknowledge it (and the preemptions stop), change the time
// slice, then see the panel say the target is gone once it exits, and reopen its recording from
// the Start view's recent recordings with one click. Screenshots go to test-results/screenshots.
import { test, expect, type Page } from '@playwright/test';
import { join } from 'node:path';
import { artifacts, example, servedForFile } from './serveHarness.js';

const served = servedForFile();

async function preemptions(page: Page): Promise<number> {
  return Number(await page.getByTestId('preempt-count').innerText());
}

test('the Engine panel turns preemption off on a live cpu_hog, the engine acknowledges it and the preemptions stop', async ({
  page,
}) => {
  await page.goto(served().url);
  await expect(page.getByTestId('start-view')).toBeVisible();
  // The cpu_hog demo's program, run for 8 s instead of 1 (time to change settings while it runs).
  await page.getByTestId('launch-cmd').fill(example('cpu_hog'));
  await page.getByTestId('launch-args').fill('8');
  await page.getByTestId('launch-workers').fill('1');
  await page.getByTestId('launch-submit').click();
  await expect(page.getByTestId('status-bar')).toContainText('cpu_hog', { timeout: 15_000 });
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'running');
  // Its recording is already among the recent ones, marked as still being written.
  await page.getByTestId('view-tab-start').click();
  await expect(
    page
      .getByTestId('recording-row')
      .filter({ hasText: /^cpu_hog-/ })
      .first()
      .getByTestId('recording-live'),
  ).toHaveText('recording…');

  // Preemption is on: the hog is preempted every time slice.
  await page.getByTestId('view-tab-preemptions').click();
  await expect.poll(() => preemptions(page), { timeout: 10_000 }).toBeGreaterThan(10);

  // The panel shows what the engine says (hello), then sends the change.
  await page.getByTestId('control-engine').click();
  const panel = page.getByTestId('engine-panel');
  await expect(panel).toBeVisible();
  await expect(page.getByTestId('engine-source')).toHaveAttribute('data-source', 'hello', { timeout: 5_000 });
  await expect(page.getByTestId('engine-current-preempt')).toHaveText('on');
  await expect(page.getByTestId('engine-current-slice')).toHaveText('10.0 ms');
  await expect(page.getByTestId('engine-current-hooks')).toHaveText('on');

  await page.getByTestId('engine-preempt').uncheck();
  await expect(page.getByTestId('engine-ack')).toHaveText('preemption off: acknowledged by the engine');
  await expect(page.getByTestId('engine-current-preempt')).toHaveText('off');
  await expect(page.getByTestId('engine-source')).toHaveAttribute('data-source', 'acknowledged');
  await expect(page.getByTestId('engine-error')).toHaveCount(0);

  // The change is real: with preemption off the monitor sends no more signals.
  await page.waitForTimeout(300); // events of preemptions before the change drain
  const before = await preemptions(page);
  await page.waitForTimeout(1_500);
  expect((await preemptions(page)) - before).toBeLessThanOrEqual(1);
  await page.screenshot({ path: join(artifacts, 'engine-settings.png') });

  // A time slice out of the engine's range is refused before it is sent; one inside is acknowledged.
  await page.getByTestId('engine-slice-input').fill('0.05');
  await page.getByTestId('engine-slice-apply').click();
  await expect(page.getByTestId('engine-error')).toContainText('outside what the engine allows');
  await expect(page.getByTestId('engine-current-slice')).toHaveText('10.0 ms');
  await page.getByTestId('engine-slice-input').fill('2.5');
  await page.getByTestId('engine-slice-apply').click();
  await expect(page.getByTestId('engine-ack')).toHaveText('time slice 2.50 ms: acknowledged by the engine');
  await expect(page.getByTestId('engine-current-slice')).toHaveText('2.50 ms');
  await expect(page.getByTestId('engine-current-preempt')).toHaveText('off');

  // Preemption back on: acknowledged, and the hog is preempted again (now every 2.5 ms).
  await page.getByTestId('engine-preempt').check();
  await expect(page.getByTestId('engine-ack')).toHaveText('preemption on: acknowledged by the engine');
  const off = await preemptions(page);
  await expect.poll(() => preemptions(page), { timeout: 5_000 }).toBeGreaterThan(off + 10);

  // Once the program ends, the panel says so and changes nothing.
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 20_000 });
  await expect(page.getByTestId('status-state')).toHaveText('exited with code 0');
  await expect(page.getByTestId('engine-not-live')).toContainText('The target exited with code 0');
  await expect(page.getByTestId('engine-preempt')).toBeDisabled();
  await expect(page.getByTestId('engine-slice-input')).toBeDisabled();
  await expect(page.getByTestId('preempt-latency-histogram')).toBeVisible();
  expect(await page.getByTestId('preempt-latency-bin').count()).toBeGreaterThan(0);
  await page.getByTestId('engine-close').click();
  await expect(panel).toHaveCount(0);

  // Recent recordings: the session's recording is listed, and one click opens it.
  await page.getByTestId('view-tab-start').click();
  const row = page
    .getByTestId('recording-row')
    .filter({ hasText: /^cpu_hog-/ })
    .first(); // newest first
  await expect(row).toBeVisible();
  await expect(row.getByTestId('recording-live')).toHaveCount(0); // written to the end: no longer "recording…"
  await row.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'loaded', { timeout: 15_000 });
  await page.getByTestId('view-tab-preemptions').click();
  await expect.poll(() => preemptions(page), { timeout: 10_000 }).toBeGreaterThan(10);
  expect(await page.getByTestId('preempt-latency-bin').count()).toBeGreaterThan(0);
  await page.screenshot({ path: join(artifacts, 'preemptions-histogram.png') });
  // A recording has no engine: the controls (and the Engine button) are gone.
  await expect(page.getByTestId('control-engine')).toHaveCount(0);
});
