/**
 * CoIds: coroutine id -> dense slot (0, 1, 2, …), shared by the event store
 * (its per-block dictionaries hold slots) and the derived tables (their
 * typed-array columns are indexed by slot).
 *
 * Invariants: slot 0 is coroutine id 0 ("no coroutine"); a slot, once given,
 * never changes; slots are handed out in order of first sight. Ids are the
 * numbers RawEvents.co gives (exact below 2^53). The engine's ids are a
 * counter, so they are looked up in a direct table while they stay dense;
 * sparse or huge ids go to a Map.
 */

const DIRECT_MAX = 1 << 22;

export class CoIds {
  private direct = new Int32Array(1024).fill(-1);
  private readonly sparse = new Map<number, number>();
  private ids = new Float64Array(1024);
  private n = 0;

  constructor() {
    this.slot(0);
  }

  /** Number of slots (including slot 0). */
  get count(): number {
    return this.n;
  }

  /** The slot of co, created if co was never seen. */
  slot(co: number): number {
    if (co < this.direct.length) {
      const s = this.direct[co];
      return s >= 0 ? s : this.add(co);
    }
    const s = this.sparse.get(co);
    return s === undefined ? this.add(co) : s;
  }

  /** The slot of co, or -1 if never seen. */
  find(co: number): number {
    if (co < this.direct.length) return this.direct[co];
    return this.sparse.get(co) ?? -1;
  }

  /** The coroutine id of a slot. */
  id(slot: number): number {
    return this.ids[slot];
  }

  /** Bytes held: the typed arrays, plus an estimate of 40 bytes per Map entry. */
  bytesUsed(): number {
    return this.direct.byteLength + this.ids.byteLength + this.sparse.size * 40;
  }

  private add(co: number): number {
    const s = this.n++;
    if (s === this.ids.length) {
      const ids = new Float64Array(s * 2);
      ids.set(this.ids);
      this.ids = ids;
    }
    this.ids[s] = co;
    if (co >= this.direct.length && Number.isInteger(co) && co < DIRECT_MAX && co < 4 * this.n + 65536) {
      this.growDirect(co);
    }
    if (co < this.direct.length) this.direct[co] = s;
    else this.sparse.set(co, s);
    return s;
  }

  private growDirect(co: number): void {
    let size = this.direct.length;
    while (size <= co) size *= 2;
    const d = new Int32Array(size).fill(-1);
    d.set(this.direct);
    for (const [id, s] of this.sparse) {
      if (id < size) {
        d[id] = s;
        this.sparse.delete(id);
      }
    }
    this.direct = d;
  }
}
