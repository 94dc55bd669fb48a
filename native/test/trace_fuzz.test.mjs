// coroscope-dump against valid, random and mutated trace files.
//
// The trace files are written here in JavaScript from docs/trace-format.md
// (an independent implementation of the format: the C reader must accept
// them), then mutated with a fixed-seed generator so every failure
// reproduces. Each run must end by itself (no signal, no hang) with either
// exit 0 and no message, or exit 1 and one clear "coroscope-dump: FILE: ..."
// message on stderr.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import test from 'node:test';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const buildDir = process.env.COROSCOPE_TEST_BUILD_DIR || join(here, '..', 'build');
const dump = join(buildDir, 'coroscope-dump');
const CASES = Number(process.env.COROSCOPE_FUZZ_CASES || 1500);

// ---- the format (docs/trace-format.md) ----------------------------------------

const CRC_TABLE = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf, crc = 0) {
  crc = ~crc;
  for (const b of buf) crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

const EV = { STRING: 4, STRING_MORE: 5, CO_CREATE: 16, CO_RUN: 18, CALL: 48, WAKE: 32, DROP: 96 };

function record({ ts, kind, worker = 0, tid = 1, co = 0n, a = [] }) {
  const b = Buffer.alloc(64);
  b.writeBigUInt64LE(BigInt(ts), 0);
  b.writeUInt16LE(kind, 8);
  b.writeUInt16LE(worker, 10);
  b.writeUInt32LE(tid, 12);
  b.writeBigUInt64LE(BigInt(co), 16);
  for (let i = 0; i < 5; i++) b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a[i] ?? 0)), 24 + 8 * i);
  return b;
}

function stringRecords(id, text, ts) {
  const bytes = Buffer.from(text);
  const out = [];
  let off = 0;
  do {
    const r = record({ ts, kind: off ? EV.STRING_MORE : EV.STRING, a: [id, off ? off : bytes.length] });
    bytes.copy(r, 40, off, Math.min(off + 24, bytes.length));
    out.push(r);
    off += 24;
  } while (off < bytes.length);
  return out;
}

// header + chunks of `perChunk` records + (if closed) index + footer
function traceFile(records, { perChunk = 16, closed = true } = {}) {
  const h = Buffer.alloc(64);
  h.write('CSTRACE\0', 0, 'latin1');
  h.writeUInt16LE(1, 8); // major
  h.writeUInt16LE(0, 10); // minor
  h.writeUInt16LE(64, 12); // header size
  h.writeUInt16LE(64, 14); // record size
  h.writeUInt32LE(1, 16); // events version
  h.writeUInt32LE(777, 20); // pid
  h.writeBigUInt64LE(1n, 24);
  h.writeBigUInt64LE(2n, 32);
  h.writeUInt32LE(crc32(h.subarray(0, 60)), 60);
  const parts = [h];
  const index = [];
  let offset = 64;
  for (let i = 0; i < records.length; i += perChunk) {
    const recs = records.slice(i, i + perChunk);
    const payload = Buffer.concat(recs);
    const tss = recs.map((r) => r.readBigUInt64LE(0));
    const first = tss.reduce((a, b) => (b < a ? b : a));
    const last = tss.reduce((a, b) => (b > a ? b : a));
    const ch = Buffer.alloc(32);
    ch.writeUInt32LE(0x4b435343, 0);
    ch.writeUInt32LE(recs.length, 4);
    ch.writeBigUInt64LE(first, 8);
    ch.writeBigUInt64LE(last, 16);
    ch.writeUInt32LE(crc32(payload), 24);
    ch.writeUInt32LE(crc32(ch.subarray(0, 28)), 28);
    const strings = recs.some((r) => [EV.STRING, EV.STRING_MORE].includes(r.readUInt16LE(8)));
    index.push({ offset, first, last, n: recs.length, flags: strings ? 1 : 0 });
    parts.push(ch, payload);
    offset += 32 + payload.length;
  }
  if (closed) {
    const ix = Buffer.alloc(8 + 32 * index.length);
    ix.writeUInt32LE(0x58495343, 0);
    ix.writeUInt32LE(index.length, 4);
    index.forEach((e, i) => {
      ix.writeBigUInt64LE(BigInt(e.offset), 8 + 32 * i);
      ix.writeBigUInt64LE(e.first, 16 + 32 * i);
      ix.writeBigUInt64LE(e.last, 24 + 32 * i);
      ix.writeUInt32LE(e.n, 32 + 32 * i);
      ix.writeUInt32LE(e.flags, 36 + 32 * i);
    });
    const f = Buffer.alloc(32);
    f.write('CSTREND\0', 0, 'latin1');
    f.writeBigUInt64LE(BigInt(offset), 8);
    f.writeBigUInt64LE(BigInt(records.length), 16);
    f.writeUInt32LE(index.length, 24);
    f.writeUInt32LE(crc32(f.subarray(0, 28), crc32(ix)), 28);
    parts.push(ix, f);
  }
  return Buffer.concat(parts);
}

function sampleRecords(n) {
  const recs = [...stringRecords(1, 'a coroutine with a long name that takes several records', 1000)];
  recs.push(record({ ts: 1000, kind: EV.CO_CREATE, worker: 1, co: 5n, a: [0, 1, 0, 65536] }));
  for (let i = 0; i < n; i++) {
    const ts = 2000 + i * 1000;
    if (i % 3 === 0) recs.push(record({ ts, kind: EV.CO_RUN, worker: 1, co: 5n, a: [i] }));
    else if (i % 3 === 1) recs.push(record({ ts, kind: EV.CALL, worker: 1, co: 5n, a: [14 | (3 << 16), 9, 512, 4096n << 32n, 1500] }));
    else recs.push(record({ ts, kind: 300 + i, worker: 1, co: 5n })); // unknown kinds
  }
  return recs;
}

// xorshift64, fixed seed
let state = 0x1234_5678_9abc_def1n;
function rnd(n) {
  state ^= (state << 13n) & 0xffff_ffff_ffff_ffffn;
  state ^= state >> 7n;
  state ^= (state << 17n) & 0xffff_ffff_ffff_ffffn;
  return Number(state % BigInt(n));
}

function runDump(path) {
  return spawnSync(dump, [path], { encoding: 'utf8', timeout: 5000, killSignal: 'SIGKILL' });
}

test('the JavaScript CRC-32 is the zlib one', { skip: typeof zlib.crc32 !== 'function' && 'this Node has no zlib.crc32 to compare with' }, () => {
  const b = Buffer.from('coroscope trace chunk payload');
  assert.equal(crc32(b), zlib.crc32(b));
});

test('coroscope-dump reads a trace written from docs/trace-format.md', () => {
  assert.ok(existsSync(dump), `${dump} missing: run make -C native first`);
  const dir = mkdtempSync(join(tmpdir(), 'cs-fuzz-'));
  try {
    const path = join(dir, 'ok.cstrace');
    writeFileSync(path, traceFile(sampleRecords(30)));
    const r = runDump(path);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^# coroscope trace: pid 777, format 1\.0, events v1, closed cleanly$/);
    assert.equal(lines.length, 1 + 1 + 20); // header, CO_CREATE, 10 runs + 10 calls; unknown kinds skipped
    assert.equal(lines[1], '0.000000 w1 co#5 "a coroutine with a long name that takes several records" created by a thread entry=? stack=65536');
    assert.equal(lines[3], '0.000002 w1 co#5 "a coroutine with a long name that takes several records" read(fd=9, 4096) = 512 <1.5us> parked');
    writeFileSync(path, traceFile(sampleRecords(30), { closed: false }));
    const r2 = runDump(path);
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stdout, /no index \(the writer did not close it\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`coroscope-dump survives ${CASES} random and mutated files (fixed seed)`, { timeout: 120000 }, () => {
  assert.ok(existsSync(dump), `${dump} missing: run make -C native first`);
  const dir = mkdtempSync(join(tmpdir(), 'cs-fuzz-'));
  const base = traceFile(sampleRecords(200));
  const outcomes = new Map();
  try {
    const path = join(dir, 'case.cstrace');
    for (let i = 0; i < CASES; i++) {
      let buf = Buffer.from(base);
      switch (i % 5) {
        case 0: // random bytes, half of them behind a valid header
          buf = Buffer.alloc(rnd(3000)).map(() => rnd(256));
          if (i % 2 && buf.length >= 64) base.copy(buf, 0, 0, 64);
          break;
        case 1: // bit flips
          for (let k = 1 + rnd(8); k > 0; k--) buf[rnd(buf.length)] ^= 1 << rnd(8);
          break;
        case 2: // truncation
          buf = buf.subarray(0, rnd(buf.length));
          break;
        case 3: // a random run
          for (let at = rnd(buf.length), k = 1 + rnd(64); k > 0 && at < buf.length; k--, at++) buf[at] = rnd(256);
          break;
        case 4: // chunks duplicated / spliced
          buf = Buffer.concat([buf.subarray(0, rnd(buf.length)), buf.subarray(rnd(buf.length))]);
          break;
      }
      writeFileSync(path, buf);
      const r = runDump(path);
      const where = `case ${i} (${buf.length} bytes, mutation ${i % 5})`;
      assert.equal(r.error, undefined, `${where}: ${r.error}`);
      assert.equal(r.signal, null, `${where}: killed by ${r.signal}`);
      assert.ok(r.status === 0 || r.status === 1, `${where}: exit ${r.status}`);
      if (r.status === 0) assert.equal(r.stderr, '', `${where}: message with exit 0`);
      else assert.match(r.stderr, /^coroscope-dump: .+: .+\n$/, `${where}: unclear error`);
      const kind = r.status === 0 ? 'ok' : r.stderr.replace(/.*?\.cstrace: /, '').replace(/[0-9]+/g, 'N').slice(0, 40);
      outcomes.set(kind, (outcomes.get(kind) || 0) + 1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // the mutations reach the interesting outcomes
  const keys = [...outcomes.keys()].join('\n');
  for (const want of ['ok', 'not a Coroscope trace', 'corrupt chunk at offset', 'corrupt chunk header', 'truncated chunk'])
    assert.ok(keys.includes(want), `no case ended with "${want}":\n${keys}`);
});
