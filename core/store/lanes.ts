/**
 * Lanes: the threads of a stream, numbered in order of first sight. An event
 * stores its lane (one byte) instead of its tid and worker.
 *
 * Invariants: a lane is one (tid, worker) pair and never changes; lanes
 * 0..254 exist; when they are used up, further pairs get OVERFLOW_LANE and
 * the store keeps their tid and worker with the event. Lookups go through a
 * direct-mapped cache (hash of the pair -> lane) in front of a Map.
 */
export const OVERFLOW_LANE = 255;
const CACHE = 1024;

export interface ThreadLane {
  readonly tid: number;
  /** Worker index, or NO_WORKER (0xffff) for other threads. */
  readonly worker: number;
}

export class Lanes {
  readonly list: ThreadLane[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly tids = new Uint32Array(OVERFLOW_LANE);
  private readonly workers = new Uint16Array(OVERFLOW_LANE);
  /** cache[hash] = lane + 1, 0: empty. */
  private readonly cache = new Uint8Array(CACHE);

  /** The lane of (tid, worker), created if new; OVERFLOW_LANE once 255 lanes exist. */
  lane(tid: number, worker: number): number {
    const h = (Math.imul(tid, 0x9e3779b1) ^ worker) >>> 22;
    const c = this.cache[h] - 1;
    if (c >= 0 && this.tids[c] === tid && this.workers[c] === worker) return c;
    const lane = this.find(tid, worker);
    if (lane !== OVERFLOW_LANE) this.cache[h] = lane + 1;
    return lane;
  }

  private find(tid: number, worker: number): number {
    const key = `${tid}:${worker}`;
    let lane = this.byKey.get(key);
    if (lane === undefined) {
      if (this.list.length === OVERFLOW_LANE) return OVERFLOW_LANE;
      lane = this.list.length;
      this.list.push({ tid, worker });
      this.tids[lane] = tid;
      this.workers[lane] = worker;
      this.byKey.set(key, lane);
    }
    return lane;
  }

  /** The typed arrays, plus an estimate of 96 bytes per lane (its object and Map entry). */
  bytesUsed(): number {
    return this.tids.byteLength + this.workers.byteLength + this.cache.byteLength + this.list.length * 96;
  }
}
