/** The Coroutines table's filter (pure): an id ("12", "#12", "co#12"), a state, or part of a name. */
import type { CoroutineInfo } from '@core/derive/derived.js';

const STATES = ['new', 'ready', 'running', 'suspended', 'done'];

export function coroutineMatcher(filter: string): (c: Pick<CoroutineInfo, 'co' | 'name' | 'state'>) => boolean {
  const f = filter.trim().toLowerCase();
  if (!f) return () => true;
  const id = /^(?:co)?#?(\d+)$/.exec(f);
  const state = STATES.includes(f) ? f : null;
  return (c) => (id !== null && c.co === Number(id[1])) || c.state === state || c.name.toLowerCase().includes(f);
}
