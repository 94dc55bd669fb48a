/**
 * Unsigned LEB128 varints of full 64-bit values, handled as two unsigned
 * 32-bit halves (lo, hi) so that nothing above 2^53 is rounded: a JS number
 * cannot hold every u64, two uint32 can.
 *
 * Invariants: putVarint writes 1..10 bytes and returns the position after
 * them; VarintReader.next() reads exactly what putVarint wrote and leaves the
 * halves in `lo` / `hi` (both in [0, 2^32)). Helpers for zigzag (signed) and
 * 64-bit add/subtract work on halves too.
 */

/** Writes (lo, hi) at buf[pos..]; returns the new position. */
export function putVarint(buf: Uint8Array, pos: number, lo: number, hi: number): number {
  if (hi === 0) {
    while (lo >= 0x80) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    return pos;
  }
  for (let k = 0; k < 4; k++) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  let x = lo | ((hi & 7) << 4);
  hi >>>= 3;
  while (hi !== 0) {
    buf[pos++] = x | 0x80;
    x = hi & 0x7f;
    hi >>>= 7;
  }
  buf[pos++] = x;
  return pos;
}

/** Sequential reader: next() decodes one varint into lo / hi. */
export class VarintReader {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  lo = 0;
  hi = 0;

  reset(buf: Uint8Array, pos: number): void {
    this.buf = buf;
    this.pos = pos;
  }

  next(): void {
    const buf = this.buf;
    let pos = this.pos;
    let b = buf[pos++];
    if (b < 0x80) {
      this.lo = b;
      this.hi = 0;
      this.pos = pos;
      return;
    }
    let lo = b & 0x7f;
    let hi = 0;
    // Bytes 2-4 fill bits 7..27 of lo.
    for (let shift = 7; shift < 28; shift += 7) {
      b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo;
        this.hi = 0;
        this.pos = pos;
        return;
      }
    }
    // Byte 5: 4 bits of lo, 3 of hi; bytes 6-10: the rest of hi.
    b = buf[pos++];
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x70) >>> 4;
    for (let shift = 3; b >= 0x80; shift += 7) {
      b = buf[pos++];
      hi |= (b & 0x7f) << shift;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.pos = pos;
  }

  /** Skips n varints. */
  skip(n: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (n > 0) if (buf[pos++] < 0x80) n--;
    this.pos = pos;
  }
}

/** Zigzag of the signed 64-bit value (lo, hi): low half / high half. */
export function zigzagLo(lo: number, hi: number): number {
  return ((lo << 1) ^ (hi >> 31)) >>> 0;
}
export function zigzagHi(lo: number, hi: number): number {
  return (((hi << 1) | (lo >>> 31)) ^ (hi >> 31)) >>> 0;
}
/** Inverse of zigzag. */
export function unzigzagLo(zlo: number, zhi: number): number {
  return (((zlo >>> 1) | (zhi << 31)) ^ -(zlo & 1)) >>> 0;
}
export function unzigzagHi(zlo: number, zhi: number): number {
  return ((zhi >>> 1) ^ -(zlo & 1)) >>> 0;
}

/** The signed 64-bit value (lo, hi) as a number (exact within ±2^53). */
export function signedOf(lo: number, hi: number): number {
  return (hi | 0) * 4294967296 + lo;
}
/** The unsigned 64-bit value (lo, hi) as a number (exact below 2^53). */
export function unsignedOf(lo: number, hi: number): number {
  return hi * 4294967296 + lo;
}

const TWO_32 = 4294967296;
const TWO_64 = 18446744073709551616;

/**
 * Writes ts as the zigzag varint of (ts - prev) mod 2^64, where ts and prev
 * are u64 timestamps as RawEvents gives them (integers in [0, 2^64), exact
 * below 2^53). Computed on numbers while both are exact, on halves otherwise.
 */
export function putTsDelta(buf: Uint8Array, pos: number, ts: number, prev: number): number {
  const d = ts - prev;
  if (d >= 0 && d < 0x80000000 && ts <= Number.MAX_SAFE_INTEGER) return putVarint(buf, pos, d * 2, 0);
  const thi = Math.floor(ts / TWO_32);
  const phi = Math.floor(prev / TWO_32);
  const tlo = ts - thi * TWO_32;
  const plo = prev - phi * TWO_32;
  const dlo = (tlo - plo) >>> 0;
  const dhi = (thi - phi - (tlo < plo ? 1 : 0)) >>> 0;
  return putVarint(buf, pos, zigzagLo(dlo, dhi), zigzagHi(dlo, dhi));
}

/** Reads what putTsDelta wrote, given the same prev. */
export function nextTs(r: VarintReader, prev: number): number {
  r.next();
  if (r.hi === 0 && prev <= Number.MAX_SAFE_INTEGER) {
    const v = prev + ((r.lo >>> 1) ^ -(r.lo & 1));
    return v < 0 ? v + TWO_64 : v;
  }
  const dlo = unzigzagLo(r.lo, r.hi);
  const dhi = unzigzagHi(r.lo, r.hi);
  const phi = Math.floor(prev / TWO_32);
  const sum = prev - phi * TWO_32 + dlo;
  return ((phi + dhi + (sum >= TWO_32 ? 1 : 0)) >>> 0) * TWO_32 + (sum >>> 0);
}
