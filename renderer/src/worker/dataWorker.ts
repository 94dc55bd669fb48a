/**
 * The data worker's entry (bundled by Vite from `new Worker(new URL('./dataWorker.ts',
 * import.meta.url), { type: 'module' })` in worker/client.ts): wires a DataHandler to the
 * worker's messages. Version notices go out at most every 16 ms (about once per display frame),
 * the first after a quiet spell at once.
 */
import { DataHandler, type Scheduler } from './handler.js';
import type { FromWorker, ToWorker } from './protocol.js';

const scope = self as unknown as {
  postMessage(msg: FromWorker, transfer: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};

const tick = new MessageChannel();
const soonQueue: (() => void)[] = [];
let lastFrame = -Infinity;
tick.port1.onmessage = () => soonQueue.shift()?.();

const scheduler: Scheduler = {
  soon: (fn) => {
    soonQueue.push(fn);
    tick.port2.postMessage(0);
  },
  frame: (fn) => {
    // At most one notice per ~frame (16 ms), and the first after a quiet spell at once: no
    // dependence on the worker having animation frames of its own.
    const wait = Math.max(0, lastFrame + 16 - performance.now());
    setTimeout(() => {
      lastFrame = performance.now();
      fn();
    }, wait);
  },
};

const handler = new DataHandler((msg, transfer) => scope.postMessage(msg, transfer ?? []), scheduler);
scope.onmessage = (e) => handler.onMessage(e.data);
