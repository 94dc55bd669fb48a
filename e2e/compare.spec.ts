// Compare mode in the browser (serve mode): cpu_hog run twice through the
// "run twice" form, once with preemption and once without, shown on one time
// axis, with the summary numbers side by side.
import { test, expect } from '@playwright/test';
import { join } from 'node:path';
import { artifacts, servedForFile } from './serveHarness.js';

const served = servedForFile();

test('cpu_hog with preemption on and off: aligned timelines, preemptions only in the first, a long run only in the second', async ({
  page,
}) => {
  await page.goto(served().url);
  await expect(page.getByTestId('start-view')).toBeVisible();
  await page.getByTestId('view-tab-compare').click();
  const view = page.getByTestId('compare-view');
  await expect(view).toBeVisible();
  const form = view.getByTestId('compare-run');
  await form.getByTestId('compare-run-demo').selectOption('cpu_hog');
  await form.getByTestId('compare-run-vary').selectOption('preempt');
  await form.getByTestId('compare-run-submit').click();
  await expect(form.getByTestId('compare-run-status')).toContainText('done', { timeout: 45_000 });
  await expect(form.getByTestId('compare-run-error')).toHaveCount(0);

  // Both selected: A with preemption, B without.
  await expect(view.getByTestId('compare-a').locator('option:checked')).toContainText('preempt on');
  await expect(view.getByTestId('compare-b').locator('option:checked')).toContainText('preempt off');
  const ca = view.getByTestId('compare-canvas-a');
  const cb = view.getByTestId('compare-canvas-b');
  await expect(ca).toBeVisible();
  await expect(cb).toBeVisible();
  // One time axis: both start at their own first event with the same span.
  expect(await ca.getAttribute('data-rel-t0')).toBe('0');
  expect(await cb.getAttribute('data-rel-t0')).toBe('0');
  const span = Number(await ca.getAttribute('data-span'));
  expect(span).toBeGreaterThan(0.9e9); // cpu_hog runs about a second
  expect(await cb.getAttribute('data-span')).toBe(String(span));
  const [ba, bb] = [await ca.boundingBox(), await cb.boundingBox()];
  expect(ba!.x).toBe(bb!.x);
  expect(ba!.width).toBe(bb!.width);

  const summary = view.getByTestId('compare-summary');
  await expect(summary).toBeVisible();
  const value = async (id: string) => Number(await summary.getByTestId(id).getAttribute('data-value'));
  await expect.poll(() => value('compare-preemptions-a'), { timeout: 10_000 }).toBeGreaterThan(0);
  expect(await value('compare-preemptions-b')).toBe(0);
  await expect(summary.getByTestId('compare-row-preemptions')).toHaveAttribute('data-diff', '2');
  for (const k of ['wall', 'events', 'coroutines', 'switches', 'calls', 'p99', 'drops', 'insights'])
    await expect(summary.getByTestId(`compare-row-${k}`)).toBeVisible();
  await expect(summary.getByTestId('compare-kinds-b')).toContainText('long-run');
  await expect(summary.getByTestId('compare-kinds-a')).not.toContainText('long-run');

  // Zooming one zooms both.
  await ca.hover();
  await page.mouse.wheel(0, -400);
  await expect.poll(async () => Number(await ca.getAttribute('data-span'))).toBeLessThan(span);
  expect(await cb.getAttribute('data-span')).toBe(await ca.getAttribute('data-span'));
  expect(await cb.getAttribute('data-rel-t0')).toBe(await ca.getAttribute('data-rel-t0'));
  await view.getByTestId('compare-fit').click();
  await expect(ca).toHaveAttribute('data-span', String(span));
  await page.screenshot({ path: join(artifacts, 'compare.png'), fullPage: true });
});
