/**
 * A short lesson for each built-in demo (main/app/demos.ts): what to look at, the question the
 * demo answers, and what to try next (turn the hooks or preemption off, change the number of
 * workers or the time slice: the Launch form's fields and checkboxes, with the program path
 * native/build/examples/<name>). Each is faithful to the top comment of native/examples/<name>.c.
 */
import type { DemoLesson } from '../../preload/api.js';

export const LESSONS: Record<string, DemoLesson> = {
  sleep_forever: {
    look: 'The Scheduler tab: the sleeper goes to the timer heap with a deadline that never comes, while the printer takes a worker and prints.',
    question:
      'Why does a program whose coroutine sleeps forever still end at once? Because the hooked nanosleep parks the coroutine instead of the worker thread.',
    tryThis: [
      'Launch it with hooks off and 1 worker (COROSCOPE_HOOK=0 COROSCOPE_WORKERS=1): the only worker is stuck in the real nanosleep, the printer never runs and the program never ends (kill it).',
      'With hooks off and 2 workers: the printer gets the other worker, but a worker thread is lost to the sleeper.',
      'Pause and step: the printer naps (usleep) until the sleeper has started, and each nap is a trip through the timer heap.',
    ],
  },
  echo_server: {
    look: "The fd waits box: each conn-<n> coroutine parks on its socket in read(), the acceptor on the listening socket in accept(); wakes bring them back to their worker's run queue.",
    question:
      'How can plain blocking code serve hundreds of connections on a few threads? Every blocked accept/read parks the coroutine on the netpoller and frees the worker.',
    tryThis: [
      'Launch echo_server with 1 worker: one worker still serves all the connections.',
      'Launch it with hooks off (COROSCOPE_HOOK=0) and W workers: every blocked accept or read pins a worker thread, so at most W-1 connections are served at a time and the next client hangs.',
      'Pause and step N while the clients run: follow one connection between its worker, the fd waits and the run queue.',
    ],
  },
  blocking_file: {
    look: "The timeline lane of cs-worker-0 and the ticker's printed times: during the reader's raw nanosleep syscall and its large pread the worker is busy in the kernel and the ticker, whose 50 ms are up, cannot run.",
    question:
      'What can the engine not park? A raw system call (it bypasses the hooked libc wrapper) and I/O on a regular file (always "ready" for epoll): they stall the whole worker.',
    tryThis: [
      'Run it as is (1 worker): the ticks jump by ~500 ms around the raw nanosleep; the last line gives the longest gap.',
      'Launch it with 2 or more workers: when the ticker starts on another worker the gap stays near 50 ms; when both share a worker the stall is the same, since a started coroutine never leaves its worker.',
    ],
  },
  steal_imbalance: {
    look: 'The Scheduler tab: the spawner fills its worker\'s queue with work-<i> coroutines; idle workers wake up and steal half of that queue, and the explanations say "worker N stole co#… from worker M".',
    question:
      "How does work spawned on one worker spread over the others? An idle worker steals half of another worker's queue of unstarted coroutines.",
    tryThis: [
      'Pause right after it starts, then step 1 and step N: watch the spawn queue drain and the steals.',
      'Launch it with 1 worker: nothing to steal from, cs-worker-0 runs all N coroutines and the wall time is about N ms.',
      'Turn on slow motion to see each decision as it happens.',
    ],
  },
  cpu_hog: {
    look: 'The Preemptions tab and the Scheduler explanations: every time slice the monitor sends SIGURG, the hog goes to the back of the run queue and the ticker runs.',
    question:
      'How does a coroutine that never calls anything let others run? Preemption: after a whole time slice (10 ms) the monitor signals the worker and the hog is switched out at its current instruction.',
    tryThis: [
      'Launch it with preemption off (COROSCOPE_PREEMPT=0), 1 worker: the hog keeps the only worker and the ticker stalls until the hog is done (see the lateness summary).',
      "Launch it with a longer or shorter time slice (e.g. 50ms, 2ms): the ticker's lateness follows the slice.",
      'Launch it with 2 workers: the ticker gets its own worker and preemption barely matters.',
    ],
  },
  hello: {
    look: 'The Scheduler tab: "hello" is spawned by the main thread into the injection queue, taken by a worker, then parks on the timer heap for one second.',
    question:
      'What does the smallest program using the API look like to the scheduler? One spawn, one parked sleep (not blocking its worker), one finish, and main blocked in join.',
    tryThis: [
      "Pause during the second and look at the engine's snapshot beside the boxes: the coroutine sleeps with a deadline.",
      'Launch it with hooks off: the sleep blocks the worker thread instead; the program still ends after one second, but the worker can do nothing else meanwhile.',
    ],
  },
};

export function lessonFor(name: string): DemoLesson | undefined {
  return LESSONS[name];
}
