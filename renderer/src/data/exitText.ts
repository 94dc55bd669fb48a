/** How a session ended, in words: "exited with code 3", "killed by SIGKILL (9)" (Linux signal numbers). */
import type { SessionStatus } from '../../../preload/api.js';
import { signalText } from '@core/events/signals.js';

export { signalText };

/** The status bar's state: running, loaded, detached, or how it exited. */
export function stateText(s: Pick<SessionStatus, 'state' | 'exit'>): string {
  if (s.state === 'exited' && s.exit) {
    if (s.exit.signal !== null && s.exit.signal !== undefined) return `killed by ${signalText(s.exit.signal)}`;
    return `exited with code ${s.exit.code}`;
  }
  return s.state;
}
