// The inspector in a browser (serve mode), driven like a user: run the
// demos, watch the tables and the timeline, open a recording, export, and
// read plain errors. Screenshots of each main view go to test-results/.
import { test, expect, type Page } from '@playwright/test';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { artifacts, servedForFile } from './serveHarness.js';
import { readPerfetto } from '../core/export/protoDecode.js';

const served = servedForFile();

async function open(page: Page): Promise<void> {
  await page.goto(served().url);
  await expect(page.getByTestId('start-view')).toBeVisible();
}

test('sleep_forever: the sleeper stays suspended in nanosleep while the printer runs, and the program ends', async ({
  page,
}) => {
  await open(page);
  await page.screenshot({ path: join(artifacts, 'start.png') });
  await page.getByTestId('demo-sleep_forever').click();
  await expect(page.getByTestId('status-bar')).toContainText('sleep_forever', { timeout: 15_000 });
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 15_000 });
  await expect(page.getByTestId('status-state')).toContainText('code 0');
  await page.getByTestId('view-tab-coroutines').click();
  const table = page.getByTestId('coroutine-table');
  await expect(table).toContainText('sleeper');
  await expect(table).toContainText('printer');
  const sleeperRow = table.locator('tr', { hasText: 'sleeper' });
  await expect(sleeperRow).toHaveAttribute('data-state', 'suspended');
  await expect(table.locator('tr', { hasText: 'printer' })).toHaveAttribute('data-state', 'done');
  await sleeperRow.click();
  await expect(page.getByTestId('coroutine-detail-wait')).toContainText('nanosleep');
  await page.screenshot({ path: join(artifacts, 'coroutines.png') });
  await page.getByTestId('view-tab-timeline').click();
  await expect(page.getByTestId('timeline-canvas')).toBeVisible();
  await page.screenshot({ path: join(artifacts, 'timeline.png') });
  await page.getByTestId('view-tab-output').click();
  await expect(page.getByTestId('output')).toContainText('printer: hello while the sleeper sleeps');
});

test('the echo demo with many connections fills the coroutine table and the call statistics', async ({ page }) => {
  await open(page);
  await page.getByTestId('demo-echo_server').click();
  await expect(page.getByTestId('status-bar')).toContainText('echo_server', { timeout: 15_000 });
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 50_000 });
  await page.getByTestId('view-tab-coroutines').click();
  await expect(page.getByTestId('coroutine-show-done')).toBeVisible();
  await page.getByTestId('coroutine-show-done').check();
  const count = Number((await page.getByTestId('coroutine-count').innerText()).match(/\d+/)?.[0] ?? 0);
  expect(count).toBeGreaterThanOrEqual(100);
  await page.getByTestId('view-tab-calls').click();
  const stats = page.getByTestId('calls-stats');
  await expect(stats).toContainText(/recv|read/);
  await expect(stats).toContainText(/send|write/);
  await page.screenshot({ path: join(artifacts, 'calls.png') });
  await page.getByTestId('view-tab-preemptions').click();
  await expect(page.getByTestId('preemptions-view')).toBeVisible();
  await page.screenshot({ path: join(artifacts, 'preemptions.png') });
});

test('a recorded trace opens with its timeline and tables, and exports a Perfetto file that decodes', async ({
  page,
}) => {
  // Record with the CLI, then open the file in the UI.
  const rec = join(served().dir, 'steal.cstrace');
  const r = spawnSync(
    process.execPath,
    [
      join(served().env.PWD ?? process.cwd(), 'out', 'cli', 'coroscope.mjs'),
      'record',
      '-o',
      rec,
      '--workers',
      '2',
      '--',
      join('native', 'build', 'examples', 'steal_imbalance'),
    ],
    { env: served().env, encoding: 'utf8', cwd: join(served().env.PWD ?? process.cwd()) },
  );
  expect(r.status, r.stderr).toBe(0);
  await open(page);
  await page.getByTestId('open-trace-path').fill(rec);
  await page.getByTestId('open-trace-submit').click();
  await expect(page.getByTestId('status-bar')).toContainText('steal.cstrace', { timeout: 15_000 });
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'loaded', { timeout: 15_000 });
  await page.getByTestId('view-tab-coroutines').click();
  await page.getByTestId('coroutine-show-done').check();
  await expect(page.getByTestId('coroutine-table').locator('tr[data-state]')).not.toHaveCount(0);
  await page.getByTestId('view-tab-timeline').click();
  await expect(page.getByTestId('timeline-canvas')).toBeVisible();
  await page.getByTestId('export-perfetto').click();
  const link = page.getByTestId('export-result').locator('a');
  await expect(link).toBeVisible({ timeout: 15_000 });
  const href = await link.getAttribute('href');
  const res = await page.request.get(new URL(href!, served().url).toString());
  expect(res.status()).toBe(200);
  const trace = readPerfetto(await res.body());
  const names = [...trace.tracks.values()].map((t) => t.name);
  expect(names).toContain('Coroutines');
  expect(trace.events.length).toBeGreaterThan(0);
});

test('bad input gets a clear message: a missing program, a static binary, a corrupt trace', async ({ page }) => {
  await open(page);
  await page.getByTestId('launch-cmd').fill('/nonexistent/program');
  await page.getByTestId('launch-submit').click();
  await expect(page.getByTestId('launch-error')).toContainText('no such file');
  const src = join(served().dir, 's.c');
  writeFileSync(src, 'int main(void){return 0;}\n');
  const bin = join(served().dir, 'static-prog');
  expect(spawnSync('cc', ['-static', src, '-o', bin]).status).toBe(0);
  chmodSync(bin, 0o755);
  await page.getByTestId('launch-cmd').fill(bin);
  await page.getByTestId('launch-submit').click();
  await expect(page.getByTestId('launch-error')).toContainText('statically linked');
  const bad = join(served().dir, 'bad.cstrace');
  writeFileSync(bad, 'not a trace at all');
  await page.getByTestId('open-trace-path').fill(bad);
  await page.getByTestId('open-trace-submit').click();
  await expect(page.getByTestId('open-trace-error')).toContainText('bad.cstrace');
  await page.screenshot({ path: join(artifacts, 'errors.png') });
  expect(readFileSync(bad, 'utf8')).toBe('not a trace at all'); // never touched
});

test('without the token nothing is served', async ({ request }) => {
  const u = new URL(served().url);
  const res = await request.get(`${u.origin}/`);
  expect(res.status()).toBe(403);
});

test('the page signs in once with the token, then works from its session cookie under a CSP without inline styles', async ({
  page,
  context,
}) => {
  const violations: string[] = [];
  await page.exposeFunction('cspViolation', (v: string) => violations.push(v));
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { cspViolation(v: string): void }).cspViolation(
        `${e.violatedDirective} ${e.blockedURI} ${e.sample}`,
      ),
    ),
  );
  await open(page);
  const u = new URL(served().url);
  const cookies = await context.cookies(u.origin);
  expect(cookies.map((c) => c.name)).toEqual([`coroscope-127-0-0-1-${u.port}`]);
  expect(cookies[0].value).not.toContain(u.searchParams.get('token')!);
  expect(cookies[0].httpOnly).toBe(true);
  expect(cookies[0].sameSite).toBe('Strict');
  expect(await page.evaluate(() => document.cookie)).toBe(''); // no script reads it
  // without the token in the URL: the cookie opens the page and the API (the demos are listed)
  await page.goto(`${u.origin}/`);
  await expect(page.getByTestId('start-view')).toBeVisible();
  await page.getByTestId('demo-sleep_forever').click();
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 15_000 });
  for (const v of ['coroutines', 'timeline', 'scheduler', 'output']) {
    const tab = page.getByTestId(`view-tab-${v}`);
    if (await tab.count()) await tab.click();
  }
  expect(await page.evaluate(() => document.querySelectorAll('[style]').length)).toBeGreaterThan(0); // React style props, set through the CSSOM
  expect(violations).toEqual([]);
});
