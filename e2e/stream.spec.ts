// Streaming with flow control, in Chromium against `coroscope serve`
// (issue 13): a ~10 M-event recording opens and pans; a page that stops
// reading for 10 s during a live session catches up without losing the
// session or its connection; a page whose connection drops resumes from its
// seq (the subscribe after the reconnect asks from where it was, not 0).
import { expect, test, type Page } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root, servedForFile } from './serveHarness.js';

const served = servedForFile();
test.describe.configure({ mode: 'serial' });

const build = (out: string, src: string, link: string[] = []): string => {
  const exe = join(served().dir, out);
  execFileSync('cc', ['-O2', '-D_GNU_SOURCE', '-pthread', join(root, 'bench', 'c', src), '-o', exe, ...link]);
  return exe;
};
const engine = () => [
  '-I',
  join(root, 'native', 'engine', 'include'),
  '-L',
  join(root, 'native', 'build'),
  '-Wl,--no-as-needed',
  '-lcoroscope',
  '-Wl,--as-needed',
  `-Wl,-rpath,${join(root, 'native', 'build')}`,
];

async function open(page: Page): Promise<void> {
  await page.goto(served().url);
  await expect(page.getByTestId('launch-form')).toBeVisible();
}

/** The page has applied every event the host has (no "behind" in the status bar) and the status says `state`. */
async function caughtUp(page: Page, state: string, timeout: number): Promise<void> {
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', state, { timeout });
  await expect(page.getByTestId('status-behind')).toHaveCount(0, { timeout });
}

test('a recording of about 10 M events opens, loads and pans', async ({ page }) => {
  test.setTimeout(240_000);
  // Setup: write1m (one CALL per write) recorded by the CLI: ~10 M events in about 20 s here.
  const writer = build('write1m', 'write1m.c');
  const rec = join(served().dir, 'big.cstrace');
  const r = spawnSync(
    process.execPath,
    [join(root, 'out', 'cli', 'coroscope.mjs'), 'record', '-o', rec, '--', writer, '50000000'],
    { env: served().env, encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  const events = Number(/recorded (\d+) events/.exec(r.stderr)?.[1]);
  expect(events).toBeGreaterThan(5_000_000);
  await open(page);
  await page.getByTestId('open-trace-path').fill(rec);
  await page.getByTestId('open-trace-submit').click();
  await expect(page.getByTestId('status-bar')).toContainText('big.cstrace', { timeout: 15_000 });
  await page.getByTestId('view-tab-timeline').click();
  const canvas = page.getByTestId('timeline-canvas');
  await expect(canvas).toBeVisible();
  await caughtUp(page, 'loaded', 180_000);
  // pan: drag the timeline and zoom with the wheel; the page stays responsive and connected
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -600);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 4, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.mouse.wheel(0, 600);
  await expect(page.getByTestId('connection')).toHaveCount(0);
  await expect(page.getByTestId('status-events')).not.toHaveText('0');
});

test('a page that stops reading for 10 s during a live session catches up, connected', async ({ page }) => {
  test.setTimeout(120_000);
  const producer = build('paced_producer', 'paced_producer.c', engine());
  await open(page);
  await page.getByTestId('launch-cmd').fill(producer);
  await page.getByTestId('launch-args').fill('4 40000 30');
  await page.getByTestId('launch-submit').click();
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'running', { timeout: 15_000 });
  await expect(page.getByTestId('status-events')).not.toHaveText('0', { timeout: 15_000 });
  // The page's thread is busy for 10 s: it reads nothing, applies nothing, acks nothing.
  await page.evaluate(() => {
    const t = Date.now();
    while (Date.now() - t < 10_000) {
      /* stop reading */
    }
  });
  // It is behind, then it catches up while the program still runs, and the connection never dropped.
  await expect(page.getByTestId('status-behind')).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'running');
  await expect(page.getByTestId('connection')).toHaveCount(0);
  await caughtUp(page, 'exited', 60_000);
  const problems = page.getByTestId('problems');
  expect(await problems.count(), (await problems.count()) ? await problems.textContent() : '').toBe(0);
});

test('a page whose connection drops resumes from its seq', async ({ page }) => {
  test.setTimeout(120_000);
  const subscribes: { id: string; from: number }[] = [];
  const acks: { id: string; seq: number }[] = [];
  let sockets = 0;
  let drop: (() => void) | undefined;
  await page.routeWebSocket(/\/api/, (ws) => {
    sockets++;
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      const msg = JSON.parse(String(m)) as { name?: string; args?: unknown[] };
      if (msg.name === 'subscribe') subscribes.push({ id: String(msg.args![0]), from: Number(msg.args![1]) });
      if (msg.name === 'ack') acks.push({ id: String(msg.args![0]), seq: Number(msg.args![1]) });
      server.send(m);
    });
    server.onMessage((m) => ws.send(m));
    drop = () => ws.close({ code: 1012, reason: 'test: connection dropped' });
  });
  const producer = build('paced_producer', 'paced_producer.c', engine());
  await open(page);
  await page.getByTestId('launch-cmd').fill(producer);
  await page.getByTestId('launch-args').fill('2 20000 8');
  await page.getByTestId('launch-submit').click();
  await expect(page.getByTestId('status-state')).toHaveAttribute('data-state', 'running', { timeout: 15_000 });
  // Drop the connection once the page has applied (and acked) some of the launched session's events.
  const launched = subscribes[subscribes.length - 1].id;
  await expect.poll(() => acks.some((a) => a.id === launched && a.seq > 0), { timeout: 30_000 }).toBe(true);
  const before = subscribes.length;
  expect(before).toBeGreaterThan(0);
  drop!();
  await expect.poll(() => sockets, { timeout: 20_000 }).toBeGreaterThan(1);
  await expect.poll(() => subscribes.length, { timeout: 20_000 }).toBeGreaterThan(before);
  const again = subscribes.slice(before);
  expect(
    again.some((s) => s.from > 0),
    JSON.stringify(subscribes),
  ).toBe(true);
  await caughtUp(page, 'exited', 60_000);
  const problems = page.getByTestId('problems');
  expect(await problems.count(), (await problems.count()) ? await problems.textContent() : '').toBe(0);
});
