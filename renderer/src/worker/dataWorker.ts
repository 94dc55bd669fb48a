/**
 * The data worker's entry (bundled by Vite from `new Worker(new URL('./dataWorker.ts',
 * import.meta.url), { type: 'module' })` in worker/client.ts): wires a DataHandler to the
 * worker's messages. Version notices go out on the worker's animation frames where it has them
 * (Chromium's dedicated workers do), else every 16 ms.
 */
import { DataHandler, type Scheduler } from './handler.js';
import type { FromWorker, ToWorker } from './protocol.js';

const scope = self as unknown as {
  postMessage(msg: FromWorker, transfer: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  requestAnimationFrame?: (cb: () => void) => number;
};

const tick = new MessageChannel();
const soonQueue: (() => void)[] = [];
tick.port1.onmessage = () => soonQueue.shift()?.();

const scheduler: Scheduler = {
  soon: (fn) => {
    soonQueue.push(fn);
    tick.port2.postMessage(0);
  },
  frame: (fn) => {
    // Whichever comes first: the worker's next animation frame, or a timer (no frames in a hidden tab).
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      fn();
    };
    if (typeof scope.requestAnimationFrame === 'function') {
      scope.requestAnimationFrame(once);
      setTimeout(once, 100);
    } else setTimeout(once, 16);
  },
};

const handler = new DataHandler((msg, transfer) => scope.postMessage(msg, transfer ?? []), scheduler);
scope.onmessage = (e) => handler.onMessage(e.data);
