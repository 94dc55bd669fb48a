/**
 * Linux signal names by number (the generic numbering, x86-64's and aarch64's alike), for
 * every place that shows a signal: exits, wake reasons, the engine's preemption signal.
 */

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

function known(n: number): string | null {
  if (Number.isInteger(n) && n > 0 && n < SIGNALS.length) return SIGNALS[n];
  if (Number.isInteger(n) && n >= 34 && n <= 64) return n === 34 ? 'SIGRTMIN' : `SIGRTMIN+${n - 34}`;
  return null;
}

/** "SIGKILL", "SIGRTMIN+2", or "signal 99" for a number Linux does not name. */
export function signalName(n: number): string {
  return known(n) ?? `signal ${n}`;
}

/** "SIGKILL (9)", "SIGRTMIN+2 (36)", "signal 99" for what Linux does not name. */
export function signalText(n: number): string {
  const name = known(n);
  return name ? `${name} (${n})` : `signal ${n}`;
}
