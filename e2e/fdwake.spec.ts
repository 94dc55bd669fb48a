// What each fd is and who woke whom, in the browser (serve mode): a recording
// of native/test/progs/fd_wake.c opened in the app. The coroutine parked on a
// TCP connection at the end says so with both endpoints, and a coroutine of a
// socketpair ping-pong lists its wakes, each naming the other coroutine.
import { test, expect } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, root, servedForFile } from './serveHarness.js';

const served = servedForFile();

test('fd_wake: the detail names the TCP connection a coroutine waits on, and who woke the ping-pong players', async ({
  page,
}) => {
  const dir = served().dir;
  const exe = join(dir, 'fd_wake');
  const cc = spawnSync(
    'cc',
    [
      '-O1',
      '-I',
      join(root, 'native', 'engine', 'include'),
      join(root, 'native', 'test', 'progs', 'fd_wake.c'),
      '-o',
      exe,
      '-L',
      join(root, 'native', 'build'),
      '-lcoroscope',
      `-Wl,-rpath,${join(root, 'native', 'build')}`,
    ],
    { encoding: 'utf8' },
  );
  expect(cc.status, cc.stderr).toBe(0);
  const data = join(dir, 'data.txt');
  writeFileSync(data, 'some bytes\n');
  const rec = join(dir, 'fdwake.cstrace');
  const r = spawnSync(
    process.execPath,
    [join(root, 'out', 'cli', 'coroscope.mjs'), 'record', '-o', rec, '--workers', '2', '--', exe, data, '--park'],
    { env: served().env, encoding: 'utf8', cwd: root },
  );
  expect(r.status, r.stderr).toBe(0);

  await page.goto(served().url);
  await page.getByTestId('open-trace-path').fill(rec);
  await page.getByTestId('open-trace-submit').click();
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'loaded', { timeout: 15_000 });
  await page.getByTestId('view-tab-coroutines').click();
  await page.getByTestId('coroutine-show-done').check();
  const table = page.getByTestId('coroutine-table');

  // The waiter, parked in read at the end: on which connection, both ends.
  await table.locator('tr', { hasText: 'waiter' }).click();
  await expect(page.getByTestId('coroutine-detail-wait')).toContainText(
    /read on TCP 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ \(fd \d+\)/,
  );
  // Its calls name the fd too (connect and read, as the call log does).
  await expect(page.getByTestId('coroutine-detail-calls')).toContainText(/TCP 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+/);

  // pong: every wake but its spawn came from ping writing to the other end of its socketpair.
  const pingRow = await table.locator('tr', { hasText: 'ping' }).getAttribute('data-testid');
  const ping = /coroutine-row-(\d+)/.exec(pingRow ?? '')?.[1];
  expect(ping).toBeTruthy();
  await table.locator('tr', { hasText: 'pong' }).click();
  const wakes = page.getByTestId('coroutine-detail-wakes');
  await expect(wakes.locator('tr').first()).toBeVisible();
  await expect(wakes).toContainText(
    /woken by co#\d+ "ping" writing to the other end of fd \d+ \(Unix stream \(other end fd \d+\)\) after/,
  );
  await expect(wakes.locator(`tr[data-waker="${ping}"]`).first()).toBeVisible();
  await page.screenshot({ path: join(artifacts, 'fdwake-detail.png') });
});
