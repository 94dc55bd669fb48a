/** Number formatting for people. */

/** A duration in ns as "850 ns", "12.3 µs", "4.56 ms", "1.23 s"; '—' for NaN. */
export function fmtDur(ns: number): string {
  if (!Number.isFinite(ns)) return '—';
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (a < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(4)} s`;
}

export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n < 1e4) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  return `${(n / 1e6).toFixed(2)}M`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** Axis ticks: a "nice" step (1, 2, 5 × 10^k ns) giving about `target` ticks over span. */
export function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** A tick label relative to the trace start, in the unit the step calls for. */
export function fmtTick(t: number, step: number): string {
  if (step < 1e3) return `${Math.round(t)} ns`;
  if (step < 1e6) return `${+(t / 1e3).toFixed(step < 1e4 ? 1 : 0)} µs`;
  if (step < 1e9) return `${+(t / 1e6).toFixed(step < 1e7 ? 1 : 0)} ms`;
  return `${+(t / 1e9).toFixed(step < 1e10 ? 1 : 0)} s`;
}

/** A stable colour per coroutine id (golden-ratio hue walk). */
export function coColour(co: number, light = 55): string {
  const hue = (((co * 137.508) % 360) + 360) % 360;
  return `hsl(${hue.toFixed(0)} 60% ${light}%)`;
}
