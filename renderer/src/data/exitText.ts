/** How a session ended, in words: "exited with code 3", "killed by SIGKILL (9)" (Linux signal numbers). */
import type { SessionStatus } from '../../../preload/api.js';

const SIGNALS = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
];

/** "SIGKILL (9)", "SIGRTMIN+2 (36)", "signal 99" for what Linux does not name. */
export function signalText(n: number): string {
  if (Number.isInteger(n) && n > 0 && n < SIGNALS.length) return `${SIGNALS[n]} (${n})`;
  if (Number.isInteger(n) && n >= 34 && n <= 64) return `${n === 34 ? 'SIGRTMIN' : `SIGRTMIN+${n - 34}`} (${n})`;
  return `signal ${n}`;
}

/** The status bar's state: running, loaded, detached, or how it exited. */
export function stateText(s: Pick<SessionStatus, 'state' | 'exit'>): string {
  if (s.state === 'exited' && s.exit) {
    if (s.exit.signal !== null && s.exit.signal !== undefined) return `killed by ${signalText(s.exit.signal)}`;
    return `exited with code ${s.exit.code}`;
  }
  return s.state;
}
