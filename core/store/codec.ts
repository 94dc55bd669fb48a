/**
 * The argument codec of the event store: how the five u64 arguments of one
 * event become a few varint bytes, and back, without losing a bit.
 *
 * Every kind has one field codec per argument (FIELDS below):
 *   ZERO    the schema leaves the field 0: not written. An event whose ZERO
 *           field is not 0 (a newer engine gave it a meaning) is stored with
 *           the escape codec instead, so nothing is lost.
 *   U       unsigned LEB128 of the u64.
 *   S       zigzag of the i64, then LEB128 (fds, results: -1 takes one byte).
 *   T       a point in time: zigzag of (value - event ts), with the values 0
 *           ("none") and ts swapped so that 0 takes one byte. A bijection.
 *   HOOK    CALL a0: hook id | flags<<16 with the 3 flag bits moved below the
 *           hook id (a bit permutation of the low word), so a call takes 1-2
 *           bytes instead of 3.
 *   SWAP    the words swapped, the high one + 1 mod 2^32, as one u64 (CALL a3:
 *           low word errno, high word the argument summary): without an error
 *           it is a small number, and a summary of 0xffffffff ("none")
 *           becomes 0.
 *   WORKER  a worker index: the low 16 bits + 1 mod 2^16 (0xffff "no worker"
 *           becomes 0).
 *   DETAIL  WAKE / CO_READY a1, whose meaning depends on a0 (why): T for a
 *           timer deadline, S for an fd, U otherwise.
 * A kind the store does not know uses U for all five; kinds >= 255 and known
 * kinds with a non-zero ZERO field use the escape (kind byte ESCAPE): the kind
 * as a varint, then five U fields. Every codec is a bijection on u64, so
 * decode(encode(x)) = x.
 */
import { Kind, ReadyWhy } from '../events/schema.js';
import { putVarint, signedOf, unsignedOf, unzigzagHi, unzigzagLo, VarintReader, zigzagHi, zigzagLo } from './varint.js';

const enum F {
  ZERO = 0,
  U = 1,
  S = 2,
  T = 3,
  HOOK = 4,
  SWAP = 5,
  WORKER = 6,
  DETAIL = 7,
}

/** Kind byte of an escaped event (its kind follows in the stream). */
export const ESCAPE = 255;
/** Upper bound of the bytes one event can take in the stream (lane overflow + escape + 5 × 10). */
export const MAX_EVENT_BYTES = 5 + 3 + 3 + 5 * 10;

const FIELDS: Record<number, readonly F[]> = {
  [Kind.PROCESS]: [F.U, F.U, F.U, F.U, F.U],
  [Kind.CONFIG]: [F.U, F.U, F.U, F.U, F.U],
  [Kind.THREAD]: [F.U, F.U, F.WORKER, F.ZERO, F.ZERO],
  [Kind.CLOCK]: [F.T, F.U, F.ZERO, F.ZERO, F.ZERO],
  [Kind.CO_CREATE]: [F.U, F.U, F.U, F.U, F.ZERO],
  [Kind.CO_READY]: [F.U, F.DETAIL, F.U, F.U, F.ZERO],
  [Kind.CO_RUN]: [F.U, F.ZERO, F.ZERO, F.ZERO, F.ZERO],
  [Kind.CO_SUSPEND]: [F.U, F.U, F.S, F.U, F.T],
  [Kind.CO_YIELD]: [F.U, F.ZERO, F.ZERO, F.ZERO, F.ZERO],
  [Kind.CO_FINISH]: [F.U, F.U, F.ZERO, F.ZERO, F.ZERO],
  [Kind.CO_MIGRATE]: [F.WORKER, F.WORKER, F.ZERO, F.ZERO, F.ZERO],
  [Kind.WAKE]: [F.U, F.DETAIL, F.U, F.U, F.WORKER],
  [Kind.CALL]: [F.HOOK, F.S, F.S, F.SWAP, F.U],
  [Kind.CALL_ENTER]: [F.HOOK, F.S, F.U, F.U, F.ZERO],
  [Kind.CALL_ADDR]: [F.U, F.ZERO, F.ZERO, F.ZERO, F.ZERO],
  [Kind.PREEMPT_SENT]: [F.U, F.WORKER, F.ZERO, F.ZERO, F.ZERO],
  [Kind.PREEMPTED]: [F.U, F.U, F.U, F.ZERO, F.ZERO],
  [Kind.PREEMPT_DEFERRED]: [F.U, F.U, F.ZERO, F.ZERO, F.ZERO],
  [Kind.WORKER_IDLE]: [F.T, F.U, F.ZERO, F.ZERO, F.ZERO],
  [Kind.WORKER_BUSY]: [F.U, F.ZERO, F.ZERO, F.ZERO, F.ZERO],
  [Kind.QUEUES]: [F.U, F.U, F.U, F.U, F.U],
  [Kind.DROP]: [F.U, F.T, F.T, F.ZERO, F.ZERO],
  [Kind.OFFCPU]: [F.T, F.U, F.U, F.ZERO, F.ZERO],
  [Kind.STALL]: [F.U, F.U, F.S, F.U, F.T],
  [Kind.STALL_END]: [F.U, F.U, F.S, F.U, F.T],
  [Kind.CO_STACK]: [F.U, F.U, F.U, F.U, F.ZERO],
  [Kind.MAPPING]: [F.U, F.U, F.U, F.U, F.U],
  [Kind.FD_DESC]: [F.S, F.U, F.U, F.U, F.S],
  [Kind.FD_CLOSE]: [F.S, F.ZERO, F.ZERO, F.ZERO, F.ZERO],
  [Kind.WAKER]: [F.U, F.U, F.S, F.T, F.S],
};

/** codecs[kind * 5 + k]: the field codec of argument k, for kind bytes 0..255. */
const codecs = new Uint8Array(256 * 5).fill(F.U);
/** varints[kind]: how many varints the arguments of kind take (for skipping). */
const varints = new Uint8Array(256).fill(5);
for (const [kind, fields] of Object.entries(FIELDS)) {
  const kb = Number(kind);
  fields.forEach((f, k) => (codecs[kb * 5 + k] = f));
  varints[kb] = fields.filter((f) => f !== F.ZERO).length;
}
/**
 * oneU[kind] = 1 for the kinds whose arguments are [U, ZERO, ZERO, ZERO, ZERO]
 * (CO_RUN, CO_YIELD, CALL_ADDR, WORKER_BUSY): the store writes those inline.
 */
export const oneU = new Uint8Array(256);
for (let kb = 0; kb < ESCAPE; kb++) {
  let ok = codecs[kb * 5] === F.U;
  for (let k = 1; k < 5; k++) if (codecs[kb * 5 + k] !== F.ZERO) ok = false;
  oneU[kb] = ok ? 1 : 0;
}
/** lastField[kind]: one past the last field that is not ZERO (the rest are checked to be 0 in one loop). */
const lastField = new Uint8Array(256).fill(5);
for (let kb = 0; kb < 256; kb++) {
  let n = 5;
  while (n > 0 && codecs[kb * 5 + n - 1] === F.ZERO) n--;
  lastField[kb] = n;
}

/** Varints taken by the arguments of an event with this kind byte (ESCAPE included: kind + 5). */
export function argVarints(kindByte: number): number {
  return kindByte === ESCAPE ? 6 : varints[kindByte];
}

/** Words (uint32) per raw 64-byte record; argument k of the record at word o is at o + 6 + 2k (lo), o + 7 + 2k (hi). */
export const RECORD_WORDS = 16;

/** The codec of a DETAIL field given the event's why (a0). */
function detailCodec(why: number): F {
  if (why === ReadyWhy.TIMER) return F.T;
  if (why === ReadyWhy.FD || why === ReadyWhy.CLOSED) return F.S;
  return F.U;
}

/**
 * Writes the arguments of the raw record at word o of u (RawEvents layout)
 * in the compact form of `kind` (< ESCAPE) at buf[pos..]; ts is the
 * record's ts. Returns the new position, or -1 when a ZERO field is not 0
 * (then use encodeEscaped). Each field is first turned into the (lo, hi)
 * its codec writes, so that there is one putVarint call site to inline.
 */
export function encodeArgs(buf: Uint8Array, pos: number, kind: number, u: Uint32Array, o: number, ts: number): number {
  const base = kind * 5;
  const last = lastField[kind];
  for (let k = 0; k < last; k++) {
    let f = codecs[base + k];
    let lo = u[o + 6 + 2 * k];
    let hi = u[o + 7 + 2 * k];
    if (f === F.U) {
      if (hi === 0 && lo < 0x80) buf[pos++] = lo;
      else pos = putVarint(buf, pos, lo, hi);
      continue;
    }
    if (f === F.ZERO) {
      if ((lo | hi) !== 0) return -1;
      continue;
    }
    if (f === F.DETAIL) f = detailCodec(u[o + 7] === 0 ? u[o + 6] : 0);
    if (f === F.S) {
      const z = zigzagLo(lo, hi);
      hi = zigzagHi(lo, hi);
      lo = z;
    } else if (f === F.T) {
      if ((lo | hi) !== 0) {
        timeDelta(lo, hi, ts);
        lo = deltaLo;
        hi = deltaHi;
      }
    } else if (f === F.HOOK) {
      lo = (((lo >>> 16) & 7) | ((lo & 0xffff) << 3) | ((lo >>> 19) << 19)) >>> 0;
    } else if (f === F.SWAP) {
      const x = lo;
      lo = (hi + 1) >>> 0;
      hi = x;
    } else if (f === F.WORKER) {
      lo = ((lo & 0xffff0000) | ((lo + 1) & 0xffff)) >>> 0;
    }
    pos = putVarint(buf, pos, lo, hi);
  }
  // The trailing ZERO fields: all of them must be 0.
  for (let w = o + 6 + 2 * last, end = o + RECORD_WORDS; w < end; w++) if (u[w] !== 0) return -1;
  return pos;
}

/** Writes the escaped form: the kind, then the five arguments as U. Returns the new position. */
export function encodeEscaped(buf: Uint8Array, pos: number, kind: number, u: Uint32Array, o: number): number {
  pos = putVarint(buf, pos, kind, 0);
  for (let k = 0; k < 5; k++) pos = putVarint(buf, pos, u[o + 6 + 2 * k], u[o + 7 + 2 * k]);
  return pos;
}

let deltaLo = 0;
let deltaHi = 0;
/**
 * T codec of a non-zero value v = (lo, hi) at ts: zigzag(v' - ts) into
 * deltaLo / deltaHi, where v' is v, or 0 if v = ts (0 itself encodes as 0).
 */
function timeDelta(lo: number, hi: number, ts: number): void {
  const thi = Math.floor(ts / 4294967296);
  const tlo = ts - thi * 4294967296;
  if (lo === tlo && hi === thi) {
    lo = 0;
    hi = 0;
  }
  const dlo = (lo - tlo) >>> 0;
  const dhi = (hi - thi - (lo < tlo ? 1 : 0)) >>> 0;
  deltaLo = zigzagLo(dlo, dhi);
  deltaHi = zigzagHi(dlo, dhi);
}

/**
 * Decoded arguments of one event: exact halves plus a[k] as a number —
 * signed (like RawEvents.signed) for the fields stored as signed (S, and a
 * DETAIL that is an fd), unsigned (like RawEvents.a) otherwise.
 */
export class ArgDecoder {
  readonly r = new VarintReader();
  readonly lo = new Uint32Array(5);
  readonly hi = new Uint32Array(5);
  readonly a = new Float64Array(5);
  /** The kind read from the stream by the last decode of an escaped event. */
  kind = 0;

  /** Decodes the arguments at the reader's position; returns the event's kind. */
  decode(kindByte: number, ts: number): number {
    const r = this.r;
    if (kindByte === ESCAPE) {
      r.next();
      this.kind = unsignedOf(r.lo, r.hi);
      for (let k = 0; k < 5; k++) this.unsigned(k);
      return this.kind;
    }
    const base = kindByte * 5;
    for (let k = 0; k < 5; k++) {
      let f = codecs[base + k];
      if (f === F.DETAIL) f = detailCodec(this.hi[0] === 0 ? this.lo[0] : 0);
      this.field(k, f, ts);
    }
    return kindByte;
  }

  private field(k: number, f: F, ts: number): void {
    const r = this.r;
    switch (f) {
      case F.ZERO:
        this.lo[k] = 0;
        this.hi[k] = 0;
        this.a[k] = 0;
        return;
      case F.U:
        this.unsigned(k);
        return;
      case F.S: {
        r.next();
        const lo = unzigzagLo(r.lo, r.hi);
        const hi = unzigzagHi(r.lo, r.hi);
        this.lo[k] = lo;
        this.hi[k] = hi;
        this.a[k] = signedOf(lo, hi);
        return;
      }
      case F.T:
        this.time(k, ts);
        return;
      case F.HOOK: {
        r.next();
        const x = r.lo;
        this.put(k, (((x >>> 3) & 0xffff) | ((x & 7) << 16) | ((x >>> 19) << 19)) >>> 0, r.hi);
        return;
      }
      case F.SWAP:
        r.next();
        this.put(k, r.hi, (r.lo - 1) >>> 0);
        return;
      case F.WORKER:
        r.next();
        this.put(k, ((r.lo & 0xffff0000) | ((r.lo - 1) & 0xffff)) >>> 0, r.hi);
        return;
    }
  }

  private unsigned(k: number): void {
    this.r.next();
    this.put(k, this.r.lo, this.r.hi);
  }

  private put(k: number, lo: number, hi: number): void {
    this.lo[k] = lo;
    this.hi[k] = hi;
    this.a[k] = unsignedOf(lo, hi);
  }

  private time(k: number, ts: number): void {
    const thi = Math.floor(ts / 4294967296);
    const tlo = ts - thi * 4294967296;
    const r = this.r;
    r.next();
    const dlo = unzigzagLo(r.lo, r.hi);
    const dhi = unzigzagHi(r.lo, r.hi);
    const sum = dlo + tlo;
    let lo = sum >>> 0;
    let hi = (dhi + thi + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    if (lo === tlo && hi === thi) {
      lo = 0;
      hi = 0;
    } else if (lo === 0 && hi === 0) {
      lo = tlo;
      hi = thi;
    }
    this.put(k, lo, hi);
  }
}
