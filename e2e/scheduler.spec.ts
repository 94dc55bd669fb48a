// Teaching mode in a browser: step the real scheduler of steal_imbalance
// from its first decision, see the boxes and the explanation change in step
// with the engine's own snapshot, then walk back and forward through what
// was recorded. Each demo carries its lesson.
import { test, expect } from '@playwright/test';
import { join } from 'node:path';
import { artifacts, example, servedForFile } from './serveHarness.js';

const served = servedForFile();

test('every demo shows its lesson beside it', async ({ page }) => {
  await page.goto(served().url);
  for (const name of ['sleep_forever', 'echo_server', 'blocking_file', 'steal_imbalance', 'cpu_hog'])
    await expect(page.getByTestId(`lesson-${name}`)).toBeAttached();
});

test('stepping steal_imbalance from a paused start: explanations and boxes follow the engine, and history can be walked', async ({
  page,
}) => {
  await page.goto(served().url);
  await page.getByTestId('launch-cmd').fill(example('steal_imbalance'));
  await page.getByTestId('launch-workers').fill('2');
  await page.getByTestId('launch-start-paused').check();
  await page.getByTestId('launch-submit').click();
  await expect(page.getByTestId('status-bar')).toContainText('steal_imbalance', { timeout: 15_000 });
  await page.getByTestId('view-tab-scheduler').click();
  await expect(page.getByTestId('scheduler-view')).toBeVisible();
  await expect(page.getByTestId('sched-explain')).toContainText('No scheduling decision seen yet');

  const explanations: string[] = [];
  for (let i = 0; i < 4; i++) {
    const before = (await page.getByTestId('sched-explain').innerText()).trim();
    await page.getByTestId('control-step').click();
    await expect(page.getByTestId('sched-explain')).not.toHaveText(before, { timeout: 10_000 });
    explanations.push((await page.getByTestId('sched-explain').innerText()).trim());
    // Paused between steps: the engine's snapshot agrees with the boxes.
    await expect(page.getByTestId('sched-snapshot-check')).toHaveAttribute('data-agree', 'true', { timeout: 10_000 });
  }
  expect(new Set(explanations).size).toBe(4);
  for (const e of explanations) expect(e).toMatch(/worker \d/);
  // The coroutines are in the boxes (queues, waits, workers, done).
  await expect(page.locator('[data-testid^="sched-chip-"][data-box]')).not.toHaveCount(0);
  await page.screenshot({ path: join(artifacts, 'scheduler.png') });

  // Back through the recording, then forward again.
  await page.getByTestId('sched-back').click();
  await expect(page.getByTestId('sched-explain')).toHaveText(explanations[2]);
  await page.getByTestId('sched-back').click();
  await expect(page.getByTestId('sched-explain')).toHaveText(explanations[1]);
  await page.getByTestId('sched-forward').click();
  await expect(page.getByTestId('sched-explain')).toHaveText(explanations[2]);
  await page.getByTestId('sched-live').click();
  await expect(page.getByTestId('sched-explain')).toHaveText(explanations[3]);

  // One row of run controls: the scheduler view has no Pause/Run of its own, and it follows the
  // top bar's state (started paused).
  await expect(page.getByTestId('controls')).toHaveCount(1);
  await expect(page.locator('[data-testid="sched-pause"], [data-testid="sched-run"]')).toHaveCount(0);
  await expect(page.getByTestId('sched-state')).toHaveText('paused');
  await expect(page.getByTestId('control-resume')).toBeEnabled();
  // Run to the end.
  await page.getByTestId('control-resume').click();
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 30_000 });
});
