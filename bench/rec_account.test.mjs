// The recording rows' pure logic: decoding a Go trace's event count and the
// made / kept / lost accounting. node --test bench/ (no timings here).
import assert from 'node:assert/strict';
import test from 'node:test';
import { countGoTrace, GO_EV } from './go_trace.mjs';
import {
  accountCoroutines,
  accountGo,
  accountWrites,
  cliTakesPolicy,
  engineTakesPolicy,
  rotation,
} from './rec_account.mjs';

// ---- a Go trace, written by the rules of Go's internal/trace -------------

const uvarint = (v) => {
  const out = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
};
const header = (ver = '1.19') => [...Buffer.from(`go ${ver} trace`.padEnd(16, '\0'), 'latin1')];
// An event with 1..3 inline arguments, or with a byte length before more.
const ev = (typ, args) => {
  if (args.length <= 3) return [typ | ((args.length - 1) << 6), ...args.flatMap(uvarint)];
  const body = args.flatMap(uvarint);
  return [typ | (3 << 6), ...uvarint(body.length), ...body];
};
const str = (id, s) => [GO_EV.String, ...uvarint(id), ...uvarint(s.length), ...Buffer.from(s)];

function sampleTrace() {
  return Uint8Array.from([
    ...header(),
    ...ev(GO_EV.Batch, [0, 1000]),
    ...ev(GO_EV.Frequency, [15625000]),
    ...str(1, 'main.leader'),
    ...ev(GO_EV.Stack, [1, 1, 0x401000, 1, 2, 42]), // 6 arguments: length form
    ...ev(GO_EV.GoCreate, [5, 7, 1, 1]), // 4 arguments: length form
    ...ev(GO_EV.GoSched, [300, 1]),
    ...ev(GO_EV.GoSched, [1 << 20, 1]), // a multi-byte varint
    ...ev(GO_EV.GoSleep, [2, 1]),
    ...ev(GO_EV.UserLog, [3, 0, 1, 1]), // followed by a value string
    ...uvarint(5),
    ...Buffer.from('hello'),
    ...ev(GO_EV.TimerGoroutine, [9]),
    ...ev(GO_EV.GoEnd, [4]),
  ]);
}

test('a Go trace: every event is counted, dictionaries and batch framing are not', () => {
  const r = countGoTrace(sampleTrace());
  assert.equal(r.version, 1019);
  assert.equal(r.records, 11);
  assert.equal(r.events, 6); // GoCreate, 2 GoSched, GoSleep, UserLog, GoEnd
  assert.equal(r.byType[GO_EV.GoSched], 2);
  assert.equal(r.byType[GO_EV.GoSleep], 1);
  assert.equal(r.byType[GO_EV.UserLog], 1);
  assert.equal(r.strings, 1);
});

test('a Go trace that does not decode to its exact end is refused with the offset', () => {
  const t = sampleTrace();
  assert.throws(() => countGoTrace(t.subarray(0, t.length - 1)), /offset/);
  const bad = Uint8Array.from([...header(), ...ev(GO_EV.GoSched, [1, 1]), 63]);
  assert.throws(() => countGoTrace(bad), /unknown event type 63 at offset 19/);
  const wrongLen = Uint8Array.from([...header(), GO_EV.Stack | (3 << 6), 3, 1, 1]); // says 3 bytes, has 2
  assert.throws(() => countGoTrace(wrongLen), /runs past the end|truncated/);
});

test('only the Go trace formats 1.7 to 1.21 are decoded', () => {
  assert.throws(() => countGoTrace(Uint8Array.from(header('1.22'))), /1\.22/);
  assert.throws(() => countGoTrace(Uint8Array.from(Buffer.from('CSTRACE\0........'))), /not a Go trace/);
  assert.equal(countGoTrace(Uint8Array.from(header('1.21'))).events, 0);
});

// ---- our files ---------------------------------------------------------

const kinds = (o) => ({ PROCESS: 1, CONFIG: 1, THREAD: 1, CLOCK: 1, ...o });

test('write1m: made = writes + metadata; lost = made - kept; what DROP did not count is the rest', () => {
  const p = { writes: 1000 };
  const whole = accountWrites(p, { events: 1004, kinds: kinds({ CALL: 1000 }), calls: { write: 1000 }, drop_lost: 0 });
  assert.deepEqual(
    [whole.made_known, whole.kept, whole.lost_known, whole.uncounted_min, whole.rule_broken],
    [1004, 1004, 0, 0, []],
  );

  const counted = accountWrites(p, {
    events: 705,
    kinds: kinds({ CALL: 700, DROP: 1 }),
    calls: { write: 700 },
    drop_lost: 300,
  });
  assert.equal(counted.kept, 704); // the DROP record is not an event of the program
  assert.equal(counted.lost_known, 300);
  assert.equal(counted.uncounted_min, 0);
  assert.equal(counted.lost_known_pct, 30000 / 1004);

  const silent = accountWrites(p, {
    events: 705,
    kinds: kinds({ CALL: 700, DROP: 1 }),
    calls: { write: 700 },
    drop_lost: 250,
  });
  assert.equal(silent.uncounted_min, 50);
});

test('write1m: calls the program cannot have made break the rule instead of hiding a loss', () => {
  const a = accountWrites(
    { writes: 10 },
    { events: 16, kinds: kinds({ CALL: 12 }), calls: { write: 11, close: 1 }, drop_lost: 0 },
  );
  assert.equal(a.rule_broken.length, 2);
  assert.match(a.rule_broken.join('; '), /CALL write: the file kept 11, the program made 10/);
  assert.match(a.rule_broken.join('; '), /close 1/);
});

test('write1m: the open of /dev/null the program reports is one more CALL made, not a broken rule', () => {
  const p = { writes: 1000, opens: 1 };
  const a = accountWrites(p, {
    events: 1005,
    kinds: kinds({ CALL: 1001 }),
    calls: { write: 1000, open: 1 },
    drop_lost: 0,
  });
  assert.deepEqual([a.made_known, a.kept, a.lost_known, a.uncounted_min, a.rule_broken], [1005, 1005, 0, 0, []]);
  const lostOpen = accountWrites(p, {
    events: 1004,
    kinds: kinds({ CALL: 1000 }),
    calls: { write: 1000 },
    drop_lost: 0,
  });
  assert.equal(lostOpen.lost_known, 1); // a loss like any other (the rule breaks only on more kept than made)
  assert.deepEqual(lostOpen.rule_broken, []);
});

test('write1m: records other than CALL and DROP count as metadata, made and kept alike', () => {
  const a = accountWrites(
    { writes: 10 },
    { events: 17, kinds: kinds({ CALL: 10, 'kind 7': 2, DROP: 1 }), calls: { write: 10 }, drop_lost: 0 },
  );
  assert.equal(a.metadata, 6);
  assert.deepEqual([a.made_known, a.kept, a.lost_known, a.rule_broken], [16, 16, 0, []]);
});

test('coroutine workload: exact loss on the known kinds, a lower bound on what went uncounted', () => {
  const p = { coroutines: 4, yields: 120, usleeps: 28, writes: 60, reads: 60, socketpairs: 2, closes: 4 };
  const made = 4 + 4 + 120 + 28 + 60 + 60 + 2 + 4;
  const all = { CO_CREATE: 4, CO_FINISH: 4, CO_YIELD: 120, CO_RUN: 300, CALL: 154 };
  const kept = accountCoroutines(p, {
    events: 586,
    kinds: all,
    calls: { socketpair: 2, write: 60, read: 60, usleep: 28, close: 4 },
    yields: 120,
    drop_lost: 0,
  });
  assert.deepEqual(
    [kept.made_known, kept.kept_known, kept.lost_known, kept.uncounted_min, kept.made_min],
    [made, made, 0, 0, 586],
  );

  // 2 finishes and 10 reads gone, 5 events counted by DROP: at least 7 were never counted.
  const lossy = accountCoroutines(p, {
    events: 500,
    kinds: { ...all, CO_FINISH: 2, DROP: 1 },
    calls: { socketpair: 2, write: 60, read: 50, usleep: 28, close: 4 },
    yields: 120,
    drop_lost: 5,
  });
  assert.equal(lossy.lost_known, 12);
  assert.equal(lossy.counted_lost, 5);
  assert.equal(lossy.uncounted_min, 7);
  assert.equal(lossy.kept, 499);
  assert.equal(lossy.made_min, 499 + 5 + 7);
  assert.equal(lossy.per_kind['CALL read'].kept, 50);

  const preemptedAreNotYields = accountCoroutines(p, {
    events: 586,
    kinds: all,
    calls: { socketpair: 2, write: 60, read: 60, usleep: 28, close: 4 },
    yields: 118,
    drop_lost: 0,
  });
  assert.equal(preemptedAreNotYields.lost_known, 2);
});

test('Go: only a shortfall counts (the runtime adds its own GoSched and GoEnd)', () => {
  const p = { goroutines: 4, yields: 120, usleeps: 28 };
  assert.equal(accountGo(p, { events: 999, byType: { 15: 6, 17: 125, 19: 28 } }).lost_known, 0);
  assert.equal(accountGo(p, { events: 999, byType: { 15: 4, 17: 125, 19: 25 } }).lost_known, 3);
});

test('policy support is read from the record help and the engine library', () => {
  assert.equal(cliTakesPolicy('Options:\n  -o, --output FILE  the trace file (required)\n  --seconds N'), false);
  assert.equal(cliTakesPolicy('Options:\n  --policy lossless|drop  what a full ring does'), true);
  assert.equal(cliTakesPolicy('  --policy=lossless'), true);
  assert.equal(cliTakesPolicy('  --policyx'), false);
  assert.equal(engineTakesPolicy(Buffer.from('\0COROSCOPE_TRACE\0COROSCOPE_FLIGHT\0')), false);
  assert.equal(engineTakesPolicy(Buffer.from('\0COROSCOPE_TRACE\0COROSCOPE_TRACE_POLICY\0')), true);
});

test('variants run in a different order each repetition', () => {
  assert.deepEqual(rotation(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(rotation(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(rotation(['a', 'b', 'c'], 5), ['c', 'a', 'b']);
});
