/**
 * Engine settings that can change while the target runs (time slice, preemption, hooks): where
 * the UI's idea of their current values comes from, and the checks around a change (pure,
 * testable; the Engine panel is views/session/EnginePanel.tsx).
 *
 * Sources, oldest to newest: the session's CONFIG event (the engine emits it when an inspector
 * subscribes and after each `set`), the engine's `hello` reply (asked when the panel opens),
 * and the reply to each `set` (the whole configuration after the change). A reply wins: it is
 * the engine's answer to this panel, and the CONFIG event of a change arrives just after it.
 */
import type { EngineRuntimeConfig, SetReply } from '../../../preload/api.js';
import type { ProcessSummary } from '@core/derive/process.js';

export interface EngineSettings {
  timeSliceNs: number;
  preempt: boolean;
  hooks: boolean;
}

export type SettingsSource = 'config-event' | 'hello' | 'acknowledged';

export interface KnownSettings extends EngineSettings {
  source: SettingsSource;
  /** When the UI learned it (ms since the epoch); 0 for the CONFIG event. */
  at: number;
}

/** The engine allows 100us..60s (README "Configuration"); the host checks the same range. */
export const SLICE_MIN_NS = 100_000;
export const SLICE_MAX_NS = 60_000_000_000;

export function fromRuntimeConfig(c: EngineRuntimeConfig): EngineSettings {
  return { timeSliceNs: c.time_slice_ns, preempt: c.preempt === 1, hooks: c.hooks === 1 };
}

export function fromEventConfig(c: ProcessSummary['config']): EngineSettings | undefined {
  return c ? { timeSliceNs: c.timeSlice, preempt: c.preempt, hooks: c.hooks } : undefined;
}

/** The newest of the CONFIG event and what the engine replied (hello, set). */
export function currentSettings(
  event: EngineSettings | undefined,
  replied: KnownSettings | undefined,
): KnownSettings | undefined {
  if (replied) return replied;
  return event ? { ...event, source: 'config-event', at: 0 } : undefined;
}

/** Keeps the newer of two replies (replies can arrive out of the order they were asked in). */
export function newer(a: KnownSettings | undefined, b: KnownSettings): KnownSettings {
  return !a || b.at >= a.at ? b : a;
}

/**
 * What the user typed for a time slice: a number of milliseconds ("10", "2.5") or a duration with
 * its unit ("500us", "10ms", "1s"). The value sent is the duration with a unit; the engine's range
 * is checked here too so the message comes before a round trip.
 */
export function parseSliceInput(text: string): { value: string; ns: number } | { error: string } {
  const t = text.trim().replace(/\s+/g, '').replace('µs', 'us');
  const m = /^(\d{1,9}(?:\.\d{1,6})?)(ns|us|ms|s)?$/.exec(t);
  if (!m) return { error: 'Time slice: a number of milliseconds (e.g. 10 or 2.5) or a duration such as 500us.' };
  const unit = m[2] ?? 'ms';
  const ns = Math.round(Number(m[1]) * { ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[unit]!);
  if (ns < SLICE_MIN_NS || ns > SLICE_MAX_NS)
    return { error: `Time slice: ${m[1]} ${unit} is outside what the engine allows (100 µs to 60 s).` };
  return { value: `${m[1]}${unit}`, ns };
}

export type SettingChange =
  { key: 'slice'; ns: number } | { key: 'preempt'; on: boolean } | { key: 'hooks'; on: boolean };

/**
 * The engine's reply to a change as settings, or an error sentence when the reply does not show
 * the change (a reply without a configuration, or one that kept another value).
 */
export function acknowledged(
  change: SettingChange,
  reply: SetReply,
  now: number,
): { settings: KnownSettings } | { error: string } {
  const cfg = reply.config;
  if (!cfg || typeof cfg.time_slice_ns !== 'number')
    return { error: 'The engine answered without its configuration: the change is not confirmed.' };
  const s = fromRuntimeConfig(cfg);
  const settings: KnownSettings = { ...s, source: 'acknowledged', at: now };
  if (change.key === 'slice' && s.timeSliceNs !== change.ns)
    return { error: `The engine kept a time slice of ${s.timeSliceNs} ns instead of ${change.ns} ns.` };
  if (change.key === 'preempt' && s.preempt !== change.on)
    return { error: `The engine kept preemption ${s.preempt ? 'on' : 'off'}.` };
  if (change.key === 'hooks' && s.hooks !== change.on)
    return { error: `The engine kept its hooks ${s.hooks ? 'on' : 'off'}.` };
  return { settings };
}

/** One line saying what was changed, for the panel. */
export function changeText(change: SettingChange, fmtNs: (ns: number) => string): string {
  switch (change.key) {
    case 'slice':
      return `time slice ${fmtNs(change.ns)}`;
    case 'preempt':
      return `preemption ${change.on ? 'on' : 'off'}`;
    case 'hooks':
      return `hooks ${change.on ? 'on' : 'off'}`;
  }
}

export function sourceText(s: KnownSettings, time: (ms: number) => string): string {
  switch (s.source) {
    case 'config-event':
      return "from the engine's latest CONFIG event";
    case 'hello':
      return `from the engine (hello) at ${time(s.at)}`;
    case 'acknowledged':
      return `acknowledged by the engine at ${time(s.at)}`;
  }
}
