/**
 * RawEvents: a read-only view over raw 64-byte event records (the engine's
 * coroscope_event, little-endian) as they come from the addon (live rings or
 * a trace file) — the one place that knows the byte layout on the JS side.
 *
 * 64-bit fields become JS numbers: exact below 2^53, which holds for
 * timestamps (ns since boot), ids, sizes and durations. Fields that can be
 * negative (fd, result) are read with `signed`, which takes the high word's
 * sign, so -1 stored as 0xffff_ffff_ffff_ffff reads as -1.
 */
import { EVENT_SIZE } from './schema.js';

const WORDS = EVENT_SIZE / 4;

export class RawEvents {
  readonly length: number;
  /** The records (a 4-byte-aligned copy when the input was not aligned). */
  readonly bytes: Uint8Array;
  private readonly u: Uint32Array;
  private readonly s: Int32Array;
  private readonly h: Uint16Array;

  /** bytes: whole records; a trailing partial record is ignored. */
  constructor(bytes: Uint8Array) {
    if (bytes.byteOffset % 4) bytes = bytes.slice();
    this.bytes = bytes;
    this.length = Math.floor(bytes.byteLength / EVENT_SIZE);
    this.u = new Uint32Array(bytes.buffer, bytes.byteOffset, this.length * WORDS);
    this.s = new Int32Array(bytes.buffer, bytes.byteOffset, this.length * WORDS);
    this.h = new Uint16Array(bytes.buffer, bytes.byteOffset, this.length * WORDS * 2);
  }

  ts(i: number): number {
    const o = i * WORDS;
    return this.u[o + 1] * 4294967296 + this.u[o];
  }
  kind(i: number): number {
    return this.h[i * WORDS * 2 + 4];
  }
  worker(i: number): number {
    return this.h[i * WORDS * 2 + 5];
  }
  tid(i: number): number {
    return this.u[i * WORDS + 3];
  }
  co(i: number): number {
    const o = i * WORDS + 4;
    return this.u[o + 1] * 4294967296 + this.u[o];
  }
  /** Argument k (0..4) as an unsigned number. */
  a(i: number, k: number): number {
    const o = i * WORDS + 6 + k * 2;
    return this.u[o + 1] * 4294967296 + this.u[o];
  }
  /** Argument k as a signed 64-bit number (exact within ±2^53). */
  signed(i: number, k: number): number {
    const o = i * WORDS + 6 + k * 2;
    return this.s[o + 1] * 4294967296 + this.u[o];
  }
  /** Low / high 32 bits of argument k. */
  lo(i: number, k: number): number {
    return this.u[i * WORDS + 6 + k * 2];
  }
  hi(i: number, k: number): number {
    return this.u[i * WORDS + 7 + k * 2];
  }
}

/** Builds raw records (tests, synthetic traces): the inverse of RawEvents. */
export class RawEventWriter {
  private buf: Uint8Array;
  private dv: DataView;
  length = 0;
  constructor(capacity = 1024) {
    this.buf = new Uint8Array(capacity * EVENT_SIZE);
    this.dv = new DataView(this.buf.buffer);
  }
  push(ev: { ts: number; kind: number; worker?: number; tid?: number; co?: number; a?: readonly number[] }): this {
    if ((this.length + 1) * EVENT_SIZE > this.buf.byteLength) {
      const n = new Uint8Array(this.buf.byteLength * 2);
      n.set(this.buf);
      this.buf = n;
      this.dv = new DataView(n.buffer);
    }
    const o = this.length * EVENT_SIZE;
    const put64 = (off: number, v: number) => this.dv.setBigInt64(o + off, BigInt(Math.trunc(v)), true);
    put64(0, ev.ts);
    this.dv.setUint16(o + 8, ev.kind, true);
    this.dv.setUint16(o + 10, ev.worker ?? 0xffff, true);
    this.dv.setUint32(o + 12, ev.tid ?? 0, true);
    put64(16, ev.co ?? 0);
    for (let k = 0; k < 5; k++) put64(24 + k * 8, ev.a?.[k] ?? 0);
    this.length++;
    return this;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length * EVENT_SIZE);
  }
}
