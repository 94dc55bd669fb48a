/**
 * LogLinearHistogram: counts of non-negative integer values (nanoseconds)
 * in bounded memory, for quantiles with a small relative error.
 *
 * Buckets: values below 64 each have their own; from 2^e to 2^(e+1) (e = 6
 * … 63) there are 64 buckets of width 2^(e-6), i.e. 1/64 of the value. A
 * quantile reports its bucket's midpoint, so it is within 1/128 (< 0.8 %) of
 * a value of the right rank; clamped to the exact min / max. 59 rows of 64
 * counts: 30 KB per histogram, whatever it counts. min, max, count and sum
 * are exact.
 */
const SUB = 64;
const SUB_BITS = 6;
const ROWS = 64 - SUB_BITS + 1; // row 0: values < 64; row r >= 1: exponent r + 5
/** The largest double below 2^64 (a u64 read as a number can round up to 2^64). */
const MAX_VALUE = 2 ** 64 - 2048;

export class LogLinearHistogram {
  private readonly counts = new Float64Array(ROWS * SUB);
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  add(v: number): void {
    if (!(v > 0)) v = 0;
    else if (v > MAX_VALUE) v = MAX_VALUE;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.counts[bucket(v)]++;
  }

  /** Adds every value counted by other. */
  merge(other: LogLinearHistogram): void {
    if (other.count === 0) return;
    for (let k = 0; k < this.counts.length; k++) this.counts[k] += other.counts[k];
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /** The value of rank ceil(q × count) (q in [0, 1]), within 0.8 % (the first and last exactly); NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    if (rank === 1) return this.min;
    if (rank >= this.count) return this.max;
    let seen = 0;
    for (let k = 0; k < this.counts.length; k++) {
      seen += this.counts[k];
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, midpoint(k >> SUB_BITS, k & (SUB - 1))));
    }
    return this.max;
  }

  mean(): number {
    return this.count ? this.sum / this.count : NaN;
  }

  /**
   * Counts per power-of-two range, for drawing: [lo, hi) in ns with how many values fell in it —
   * [0, 64) first, then [64, 128), [128, 256), … From the first non-empty range to the last
   * (empty ranges between them included); [] when empty.
   */
  log2Bins(): { lo: number; hi: number; count: number }[] {
    const rows: number[] = [];
    for (let r = 0; r < ROWS; r++) {
      let n = 0;
      for (let k = r * SUB; k < (r + 1) * SUB; k++) n += this.counts[k];
      rows.push(n);
    }
    const first = rows.findIndex((n) => n > 0);
    if (first < 0) return [];
    let last = rows.length - 1;
    while (rows[last] === 0) last--;
    const out = [];
    for (let r = first; r <= last; r++)
      out.push({ lo: r === 0 ? 0 : 2 ** (r + SUB_BITS - 1), hi: 2 ** (r + SUB_BITS), count: rows[r] });
    return out;
  }

  bytesUsed(): number {
    return this.counts.byteLength;
  }
}

/** Index of v's bucket: row * SUB + sub. */
function bucket(v: number): number {
  if (v < SUB) return Math.floor(v);
  if (v < 4294967296) {
    const e = 31 - Math.clz32(v);
    return ((e - SUB_BITS + 1) << SUB_BITS) | ((v >>> (e - SUB_BITS)) & (SUB - 1));
  }
  const e = 63 - Math.clz32(Math.floor(v / 4294967296));
  return ((e - SUB_BITS + 1) << SUB_BITS) | (Math.floor(v / 2 ** (e - SUB_BITS)) & (SUB - 1));
}

function midpoint(row: number, sub: number): number {
  if (row === 0) return sub;
  const e = row + SUB_BITS - 1;
  const width = 2 ** (e - SUB_BITS);
  return 2 ** e + sub * width + (width - 1) / 2;
}
