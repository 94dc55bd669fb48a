// The same flows in the Electron shell. Electron's binary cannot be
// downloaded on the build machines; these run where ELECTRON_OVERRIDE_DIST_PATH
// points at an Electron build, and say so when they skip.
import { test, expect, _electron as electron } from '@playwright/test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, root } from './serveHarness.js';

const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH;
const binary = dist ? join(dist, 'electron') : '';

test.skip(
  !dist || !existsSync(binary),
  'no Electron binary: set ELECTRON_OVERRIDE_DIST_PATH to a folder with an electron executable to run the Electron specs',
);

test('the desktop app starts with the demos, runs sleep_forever and shows the suspended sleeper', async () => {
  const app = await electron.launch({
    executablePath: binary,
    args: [join(root, 'out', 'main', 'index.js'), '--no-sandbox'],
    cwd: root,
  });
  const page = await app.firstWindow();
  await expect(page.getByTestId('start-view')).toBeVisible();
  expect(await page.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined'); // no Node in the page
  await page.getByTestId('demo-sleep_forever').click();
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'exited', { timeout: 15_000 });
  await page.getByTestId('view-tab-coroutines').click();
  await expect(page.getByTestId('coroutine-table').locator('tr', { hasText: 'sleeper' })).toHaveAttribute(
    'data-state',
    'suspended',
  );
  await page.screenshot({ path: join(artifacts, 'electron-coroutines.png') });
  await app.close();
});
