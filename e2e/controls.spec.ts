// The inspector's controls say only what is true of the session shown (issue 17): a recording
// offers no "follow live" and no "back to live"; an export's link belongs to its session;
// the same file opened twice is one session; a click on a coroutine selects it (Esc closes).
import { test, expect, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { example, root, servedForFile } from './serveHarness.js';

const served = servedForFile();

function record(name: string, program: string): string {
  const file = join(served().dir, `${name}.cstrace`);
  const r = spawnSync(
    process.execPath,
    [join(root, 'out', 'cli', 'coroscope.mjs'), 'record', '-o', file, '--workers', '2', '--', example(program)],
    { env: served().env, encoding: 'utf8', cwd: root },
  );
  expect(r.status, r.stderr).toBe(0);
  return file;
}

async function openFile(page: Page, file: string): Promise<void> {
  await page.getByTestId('view-tab-start').click();
  await page.getByTestId('open-trace-path').fill(file);
  await page.getByTestId('open-trace-submit').click();
  // This file's session is the one shown (another one loaded already says "loaded" too).
  await expect(page.getByTestId('status-bar')).toContainText(file, { timeout: 15_000 });
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'loaded', { timeout: 15_000 });
}

test('a recording: no follow-live, no back-to-live; export links stay with their session; a file opened twice is one session', async ({
  page,
}) => {
  const a = record('steal', 'steal_imbalance');
  const b = record('hello', 'hello');
  await page.goto(served().url);
  await openFile(page, a);
  await page.getByTestId('view-tab-timeline').click();
  await expect(page.getByTestId('timeline-canvas')).toBeVisible();
  await expect(page.getByTestId('timeline-follow')).toHaveCount(0);
  await page.getByTestId('view-tab-scheduler').click();
  await expect(page.getByTestId('sched-live')).toHaveText('to the last decision');

  await page.getByTestId('export-perfetto').click();
  await expect(page.getByTestId('export-result').locator('a')).toBeVisible({ timeout: 15_000 });
  await openFile(page, b);
  await expect(page.getByTestId('export-result'), "the first session's link is not offered on the second").toHaveCount(
    0,
  );

  const options = page.getByTestId('session-select').locator('option[value]:not([value=""])');
  const before = await options.count();
  await openFile(page, a);
  await expect(options).toHaveCount(before);
});

test('a click on the selected coroutine keeps it selected; Esc and the close button close the detail', async ({
  page,
}) => {
  const a = record('steal2', 'steal_imbalance');
  await page.goto(served().url);
  await openFile(page, a);
  await page.getByTestId('view-tab-coroutines').click();
  await page.getByTestId('coroutine-show-done').check();
  const row = page.getByTestId('coroutine-table').locator('tr[data-state]').first();
  await row.click();
  await expect(page.getByTestId('coroutine-detail')).toBeVisible();
  await row.click();
  await expect(page.getByTestId('coroutine-detail'), 'a second click does not deselect').toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('coroutine-detail')).toHaveCount(0);
  await row.click();
  await page.getByTestId('coroutine-detail-close').click();
  await expect(page.getByTestId('coroutine-detail')).toHaveCount(0);
});

test('? lists every shortcut; number keys switch views; the legend says what each colour means', async ({ page }) => {
  const a = record('steal3', 'steal_imbalance');
  await page.goto(served().url);
  await openFile(page, a);
  await page.locator('body').press('?');
  const help = page.getByTestId('shortcuts');
  await expect(help).toBeVisible();
  await expect(help).toContainText('go to Timeline');
  await expect(help).toContainText('show or hide the legend of colours');
  await page.keyboard.press('Escape');
  await expect(help).toHaveCount(0);
  await page.keyboard.press('4');
  await expect(page.getByTestId('view-tab-coroutines')).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('2');
  await expect(page.getByTestId('view-tab-timeline')).toHaveAttribute('aria-selected', 'true');
  // A key typed into a field is the field's.
  await page.getByTestId('view-tab-start').click();
  await page.getByTestId('open-trace-path').fill('');
  await page.getByTestId('open-trace-path').press('3');
  await expect(page.getByTestId('view-tab-start')).toHaveAttribute('aria-selected', 'true');
  await page.getByTestId('view-tab-timeline').click();
  await page.getByTestId('timeline-legend-toggle').click();
  const legend = page.getByTestId('timeline-legend');
  await expect(legend).toContainText('ready: in a run queue');
  await expect(legend).toContainText('preempted');
  await page.locator('body').press('l');
  await expect(legend).toHaveCount(0);
});

test('search finds a coroutine by name and a call by name, and a click shows it on the timeline, selected', async ({
  page,
}) => {
  const a = record('steal4', 'steal_imbalance');
  await page.goto(served().url);
  await openFile(page, a);
  const box = page.getByTestId('search-input');
  await box.fill('spawner');
  const hit = page.getByTestId('search-hit').first();
  await expect(hit).toHaveAttribute('data-kind', 'coroutine', { timeout: 10_000 });
  await expect(hit).toContainText('spawner');
  await hit.click();
  await expect(page.getByTestId('view-tab-timeline')).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('.timeline-bar')).toContainText(/selected #\d+/);
  await box.fill('fd=999');
  await expect(page.getByTestId('search-results')).toContainText('nothing found', { timeout: 10_000 });
  // The program flushes its output once, in a coroutine: that call is found by name.
  await box.fill('fflush');
  const call = page.locator('[data-testid="search-hit"][data-kind="call"]').first();
  await expect(call).toContainText('fflush', { timeout: 10_000 });
  await box.press('Enter');
  await expect(page.getByTestId('timeline-canvas')).toBeVisible();
});
