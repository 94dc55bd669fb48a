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
/**
 * An axis label: t (ns from the trace's start) in the largest unit it reaches, with as many
 * decimals as the tick step needs to tell neighbours apart — "1.694000 s" at a 1 µs step deep in
 * a trace, not "1694000 µs"; "2.5 ms" at 500 µs; 0 in the step's own unit.
 */
export function fmtTick(t: number, step: number): string {
  const units: [number, string][] = [
    [1e9, 's'],
    [1e6, 'ms'],
    [1e3, 'µs'],
    [1, 'ns'],
  ];
  const mag = Math.abs(t) >= step ? Math.abs(t) : step;
  const [div, name] = units.find(([d]) => mag >= d) ?? units[3];
  const decimals = Math.max(0, Math.min(9, Math.ceil(Math.log10(div / step) - 1e-9)));
  return `${(t / div).toFixed(decimals)} ${name}`;
}

/** A stable colour per coroutine id (golden-ratio hue walk). */
export function coColour(co: number, light = 55): string {
  const hue = (((co * 137.508) % 360) + 360) % 360;
  return `hsl(${hue.toFixed(0)} 60% ${light}%)`;
}
