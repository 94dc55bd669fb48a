// Stacks in the browser (serve mode): the coroutine detail shows where a coroutine is parked,
// symbolised by the host with libdw from the session's recorded mappings, and the timeline's
// hover names the top frames of a parked span.
import { test, expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, servedForFile } from './serveHarness.js';

const served = servedForFile();
const sleepLine =
  readFileSync(join(import.meta.dirname, '..', 'native', 'examples', 'sleep_forever.c'), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('nanosleep(&forever, NULL);')) + 1;

async function runSleepForever(page: Page): Promise<void> {
  await page.goto(served().url);
  await expect(page.getByTestId('start-view')).toBeVisible();
  await page.getByTestId('demo-sleep_forever').click();
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 15_000 });
}

test('sleep_forever: the detail of the sleeper shows the stack where it is parked, down to sleep_forever.c', async ({
  page,
}) => {
  await runSleepForever(page);
  await page.getByTestId('view-tab-coroutines').click();
  const table = page.getByTestId('coroutine-table');
  await table.locator('tr', { hasText: 'sleeper' }).click();
  await expect(page.getByTestId('coroutine-detail-wait')).toContainText('nanosleep');
  const stack = page.getByTestId('coroutine-detail-stack');
  await expect(stack).toBeVisible({ timeout: 10_000 });
  await expect(stack.locator('li').first()).toHaveText(`sleeper (sleep_forever.c:${sleepLine})`);
  await expect(page.getByTestId('coroutine-detail-stack-when')).toContainText('where it is parked');
  await page.getByTestId('coroutine-detail').screenshot({ path: join(artifacts, 'coroutine-stack.png') });
});
