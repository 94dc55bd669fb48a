/**
 * ProtoWriter: a minimal protocol-buffers wire-format encoder (varints,
 * 64-bit fixed, length-delimited strings and sub-messages) writing into one
 * growable buffer that the caller drains with `take()`.
 *
 * Wire format as in https://protobuf.dev/programming-guides/encoding/ :
 * a tag is varint(field << 3 | wire type); wire type 0 varint, 1 fixed
 * 64-bit little-endian, 2 length-delimited (varint length, then bytes).
 *
 * Invariants: numbers are JS numbers, exact below 2^53 (timestamps in ns,
 * ids, sizes); a negative value given to `int` is written as the 10-byte
 * two's complement varint of int64. Sub-messages nest: `end(mark)` closes
 * the most recent `begin` not yet closed (the length is patched in place,
 * moving the body when the length needs more than the one byte reserved).
 */
export const Wire = { VARINT: 0, I64: 1, LEN: 2 } as const;

const TWO32 = 4294967296;
/** Buffers kept for reuse at most (the rest are left to the garbage collector). */
const MAX_SPARE = 16;
const encoder = new TextEncoder();

export class ProtoWriter {
  /**
   * The buffer and the write position, open to a hot-path encoder that writes bytes itself: after
   * `room(n)` it may store up to n bytes from `pos` on and then advance `pos` past them. Any other
   * method may replace `buf` (growing it), so it is re-read after each call.
   */
  buf: Uint8Array;
  pos = 0;
  /** Buffers given back (recycle), all of the initial size. */
  private readonly spare: Uint8Array[] = [];

  constructor(private readonly initial = 1 << 16) {
    this.buf = new Uint8Array(initial);
  }

  get length(): number {
    return this.pos;
  }

  /**
   * The bytes written so far; the writer starts over with a fresh buffer (one given back with `recycle`
   * if there is one).
   */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = this.spare.pop() ?? new Uint8Array(Math.max(this.initial, this.pos));
    this.pos = 0;
    return out;
  }

  /** Gives back what `take` returned, once its reader is done with it: a later `take` reuses its memory. */
  recycle(taken: Uint8Array): void {
    if (taken.buffer.byteLength >= this.initial && this.spare.length < MAX_SPARE)
      this.spare.push(new Uint8Array(taken.buffer, 0, this.initial));
  }

  /** A varint field (uint32/uint64/enum/bool, or int32/int64 holding a value ≥ 0). */
  uint(field: number, v: number): void {
    // Fast path: a one-byte key and a one-byte value (types, track ids, small counts).
    if (field < 16 && v >= 0 && v < 0x80) {
      this.ensure(2);
      this.buf[this.pos++] = field * 8;
      this.buf[this.pos++] = v;
      return;
    }
    this.key(field, Wire.VARINT);
    this.varint(v);
  }

  /** Guarantees n free bytes for the unchecked writers below (`key1`, `tag1`). */
  room(n: number): void {
    if (this.pos + n > this.buf.length) this.ensure(n);
  }

  /**
   * A varint field whose key fits one byte (field < 16) and whose value is ≥ 0, without a bounds check:
   * the caller reserved 11 bytes with `room`.
   */
  key1(field: number, v: number): void {
    const b = this.buf;
    let p = this.pos;
    b[p++] = field << 3;
    if (v < 0x80) b[p++] = v;
    else if (v < 0x80000000) {
      while (v >= 0x80) {
        b[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      b[p++] = v;
    } else {
      this.pos = p;
      this.varint64(v >>> 0, Math.floor(v / TWO32) >>> 0);
      return;
    }
    this.pos = p;
  }

  /** `begin` for a field < 16 without a bounds check (2 bytes reserved with `room`). */
  tag1(field: number): number {
    const b = this.buf;
    b[this.pos++] = (field << 3) | Wire.LEN;
    return this.pos++;
  }

  /** An int64/int32 field: negative values as two's complement. */
  int(field: number, v: number): void {
    this.key(field, Wire.VARINT);
    if (v >= 0) this.varint(v);
    else this.varint64(v >>> 0, Math.floor(v / TWO32) >>> 0);
  }

  /** A double field (fixed 64-bit IEEE 754). */
  double(field: number, v: number): void {
    this.key(field, Wire.I64);
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** A fixed64 field. */
  fixed64(field: number, v: number): void {
    this.key(field, Wire.I64);
    this.ensure(8);
    this.u32(v >>> 0);
    this.u32(Math.floor(v / TWO32) >>> 0);
  }

  string(field: number, s: string): void {
    this.key(field, Wire.LEN);
    const n = s.length;
    if (n < 0x80) {
      // One pass: copy as ASCII behind a one-byte length; start over with UTF-8 at the first other char.
      this.ensure(n + 1);
      const b = this.buf;
      const start = this.pos;
      let p = start + 1;
      let k = 0;
      for (; k < n; k++) {
        const c = s.charCodeAt(k);
        if (c > 0x7f) break;
        b[p++] = c;
      }
      if (k === n) {
        b[start] = n;
        this.pos = p;
        return;
      }
    } else if (isAscii(s)) {
      this.varint(n);
      this.ensure(n);
      for (let k = 0; k < n; k++) this.buf[this.pos++] = s.charCodeAt(k);
      return;
    }
    const bytes = encoder.encode(s);
    this.varint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Starts a length-delimited sub-message; returns the mark to give to `end`. */
  begin(field: number): number {
    this.key(field, Wire.LEN);
    this.ensure(1);
    return this.pos++;
  }

  end(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    this.ensure(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    this.pos += extra;
    const end = this.pos;
    this.pos = mark;
    this.varint(len);
    this.pos = end;
  }

  private key(field: number, wire: number): void {
    const k = field * 8 + wire;
    if (k < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = k;
      return;
    }
    this.varint(k);
  }

  private varint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    if (v < 0x80000000) {
      while (v >= 0x80) {
        b[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      b[this.pos++] = v;
      return;
    }
    this.varint64(v >>> 0, Math.floor(v / TWO32) >>> 0);
  }

  private varint64(lo: number, hi: number): void {
    this.ensure(10);
    const b = this.buf;
    while (hi > 0 || lo >= 0x80) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[this.pos++] = lo;
  }

  private u32(v: number): void {
    const b = this.buf;
    b[this.pos++] = v & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = v >>> 24;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }
}

/**
 * Writes varint(v) (0 <= v < 2^53) at b[p] without a bounds check (up to 10 bytes: reserve them with
 * `room`); returns the position after it.
 */
export function putVarint(b: Uint8Array, p: number, v: number): number {
  if (v < 0x80) {
    b[p] = v;
    return p + 1;
  }
  if (v < 0x80000000) {
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    return p;
  }
  let lo = v >>> 0;
  let hi = Math.floor(v / TWO32) >>> 0;
  while (hi > 0 || lo >= 0x80) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  b[p++] = lo;
  return p;
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function isAscii(s: string): boolean {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) > 0x7f) return false;
  return true;
}
