// The host streams sessions from their trace files, with flow control
// (entry.ts): a subscriber from 0 or from the middle of a multi-chunk file
// gets exactly the file's events from there; a subscriber that stops acking
// during a live session falls behind, is fed from the file when it acks
// again and ends with every event once, in order, without being dropped; a
// new subscriber (a reconnect) resumes from its seq; record: false records
// to a private file removed at close; the host keeps no events in memory.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ApiPush, RequestArgs, RequestName, RequestResult } from '../../preload/api.js';
import { addon } from '../engine/addon.js';
import { packageRoot } from '../engine/paths.js';
import { TraceReader } from '../session/traceReader.js';
import { scratch } from '../testing/helpers.js';
import { WINDOW_EVENTS } from './entry.js';
import { AppHost } from './host.js';

let tmp: ReturnType<typeof scratch>;
let host: AppHost;
let writer: string;

before(() => {
  tmp = scratch('stream');
  process.env.COROSCOPE_RECORDINGS = join(tmp.dir, 'rec');
  host = new AppHost();
  // bench/c/write1m.c: n write(2) calls, one CALL event each: a steady, fast producer.
  writer = join(tmp.dir, 'write1m');
  execFileSync('cc', ['-O2', '-std=gnu11', join(packageRoot(), 'bench', 'c', 'write1m.c'), '-o', writer]);
});
after(async () => {
  await host.close();
  delete process.env.COROSCOPE_RECORDINGS;
  tmp.cleanup();
});

const ask = async <K extends RequestName>(
  name: K,
  args: RequestArgs<K>,
  push?: (p: ApiPush) => void,
): Promise<RequestResult<K>> => {
  const r = await host.handle({ id: 1, name, args }, { push });
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as RequestResult<K>;
};

/** A page's end of one session: what it received (checked in order), acking unless paused. */
class Listener {
  readonly parts: Buffer[] = [];
  seq: number;
  ended = false;
  paused = false;
  problems: string[] = [];
  maxUnacked = 0;
  private acked: number;
  readonly push = (p: ApiPush): void => {
    if (p.type === 'batch' && p.session === this.id) {
      assert.equal(p.seq, this.seq, 'each batch starts where the last one ended: no gap, no repeat');
      if (this.keep) this.parts.push(Buffer.from(p.events));
      this.seq += p.events.byteLength / 64;
      this.maxUnacked = Math.max(this.maxUnacked, this.seq - this.acked);
      if (!this.paused) this.ack();
    }
    if (p.type === 'end' && p.session === this.id) this.ended = true;
    if (p.type === 'problem' && p.session === this.id) this.problems.push(p.message);
  };
  constructor(
    readonly id: string,
    from = 0,
    private readonly keep = true,
  ) {
    this.seq = this.acked = from;
  }
  ack(): void {
    this.acked = this.seq;
    void host.handle({ id: 0, name: 'ack', args: [this.id, this.seq] }, { push: this.push });
  }
  resume(): void {
    this.paused = false;
    this.ack();
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
  async subscribe(): Promise<RequestResult<'subscribe'>> {
    return ask('subscribe', [this.id, this.seq], this.push);
  }
  async whenEnded(ms = 60000): Promise<void> {
    for (const t0 = Date.now(); !this.ended;) {
      if (Date.now() - t0 > ms) throw new Error(`${this.id}: no end after ${ms} ms (at seq ${this.seq})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Every event of a trace file, as TraceReader gives them. */
function fileEvents(path: string): Buffer {
  const r = new TraceReader(path);
  try {
    return Buffer.concat([...r.batches()].map((b) => Buffer.from(b.raw.bytes)));
  } finally {
    r.close();
  }
}

let recorded = '';

test('a live subscriber that stops acking falls behind, catches up from the file, and gets every event once', async () => {
  const st = await ask('launch', [{ cmd: writer, args: ['3000000'] }]);
  const fast = new Listener(st.id);
  const slow = new Listener(st.id);
  const offs = [host.onPush(fast.push), host.onPush(slow.push)];
  await fast.subscribe();
  await slow.subscribe();
  slow.paused = true;
  // Stop reading for a while (well past one window) while the program runs.
  for (let i = 0; i < 400 && fast.seq < 3 * WINDOW_EVENTS && !fast.ended; i++)
    await new Promise((r) => setTimeout(r, 25));
  assert.ok(slow.seq <= WINDOW_EVENTS + 65536, `a paused page gets about one window (${slow.seq})`);
  slow.resume();
  await fast.whenEnded();
  await slow.whenEnded();
  offs.forEach((f) => f());
  recorded = st.recordPath!;
  const all = fileEvents(recorded);
  assert.ok(all.length / 64 > 2 * WINDOW_EVENTS, `enough events to overflow the window (${all.length / 64})`);
  assert.ok(fast.bytes().equals(all), 'the up-to-date page got exactly the recording');
  assert.ok(slow.bytes().equals(all), 'the page that stopped reading got exactly the recording too');
  assert.deepEqual(slow.problems, []);
  const status = (await ask('sessions', [])).find((s) => s.id === st.id)!;
  assert.equal(status.events, all.length / 64, 'the host counted every event without keeping them');
});

test('subscribing from 0 and from the middle of an opened multi-chunk trace gives exactly its events from there', async () => {
  assert.ok(recorded, 'needs the recording of the test before');
  const all = fileEvents(recorded);
  const n = all.length / 64;
  // openTrace answers from the header and the chunk headers: no record is read before a page subscribes
  const a = addon();
  const Original = a.TraceFile;
  let reads = 0;
  a.TraceFile = class extends Original {
    override read(max?: number) {
      reads++;
      return super.read(max);
    }
  };
  let st;
  try {
    st = await ask('openTrace', [recorded]);
  } finally {
    a.TraceFile = Original;
  }
  assert.equal(reads, 0, 'no events read to answer openTrace');
  assert.equal(st.events, n, 'openTrace counts the events from the chunk headers');
  const r = new TraceReader(recorded);
  assert.ok(r.summaries().chunks.length > 4, 'several chunks');
  r.close();
  for (const from of [0, 1, Math.floor(n / 3), n - 5, n]) {
    const l = new Listener(st.id, from);
    const res = await l.subscribe();
    assert.deepEqual(res, { from, events: n });
    await l.whenEnded();
    assert.ok(l.bytes().equals(all.subarray(from * 64)), `from ${from}: exactly the events from there`);
    assert.ok(l.maxUnacked <= WINDOW_EVENTS, 'never more than a window unacked');
  }
  // a page asking past the end starts at the end
  const past = new Listener(st.id, n + 100);
  assert.deepEqual(await ask('subscribe', [st.id, n + 100], past.push), { from: n, events: n });
  await ask('closeSession', [st.id]);
});

test('a reconnecting page resumes from its seq: the new subscription picks up where the old one stopped', async () => {
  const st = await ask('openTrace', [recorded]);
  const first = new Listener(st.id);
  first.paused = true;
  await first.subscribe();
  for (let i = 0; i < 200 && first.seq < WINDOW_EVENTS; i++) await new Promise((r) => setTimeout(r, 10));
  const had = first.seq;
  assert.ok(had > 0 && had <= WINDOW_EVENTS, `a window's worth before the connection drops (${had})`);
  // the connection drops (the old listener goes away) and a new one subscribes from its seq
  host.onPush(first.push)();
  const again = new Listener(st.id, had);
  await again.subscribe();
  await again.whenEnded();
  assert.ok(Buffer.concat([first.bytes(), again.bytes()]).equals(fileEvents(recorded)), 'nothing lost, nothing twice');
  await ask('closeSession', [st.id]);
});

test('record: false records to a private temporary file (0600 in a 0700 directory), removed when the session closes', async () => {
  const st = await ask('launch', [{ cmd: writer, args: ['20000'], record: false }]);
  assert.equal(st.recordPath, undefined, 'a private file is not shown as a recording');
  const l = new Listener(st.id);
  const off = host.onPush(l.push);
  await l.subscribe();
  await l.whenEnded();
  off();
  // its file is where the host streams from: find it through a late subscriber's events
  const late = new Listener(st.id);
  await late.subscribe();
  await late.whenEnded();
  assert.ok(late.bytes().equals(l.bytes()) && l.bytes().length > 0, 'a late page reads the private file');
  const privateFiles = execFileSync('sh', [
    '-c',
    `ls -d ${join(process.env.TMPDIR ?? '/tmp', 'coroscope-session-')}*/session.cstrace 2>/dev/null || true`,
  ])
    .toString()
    .trim()
    .split('\n')
    .filter(Boolean);
  const mine = privateFiles.filter((f) => statSync(f).size > 0 && fileEvents(f).equals(l.bytes()));
  assert.equal(mine.length, 1, privateFiles.join(', '));
  assert.equal(statSync(mine[0]).mode & 0o777, 0o600);
  assert.equal(statSync(dirname(mine[0])).mode & 0o777, 0o700);
  await ask('closeSession', [st.id]);
  assert.equal(existsSync(dirname(mine[0])), false, 'removed at close');
});

test('a long live session does not grow the host: its heap stays flat per event (no history, no store)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const used = async () => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      gc();
      const m = process.memoryUsage();
      best = Math.min(best, m.heapUsed + m.external + m.arrayBuffers);
      await new Promise((r) => setTimeout(r, 100));
    }
    return best;
  };
  const st = await ask('launch', [{ cmd: writer, args: ['4000000000'] }]);
  const l = new Listener(st.id, 0, false); // keeps nothing: only the host is measured
  const off = host.onPush(l.push);
  await l.subscribe();
  const events = async () => (await ask('sessions', [])).find((s) => s.id === st.id)!.events;
  for (let i = 0; i < 100 && (await events()) < 300_000; i++) await new Promise((r) => setTimeout(r, 50));
  const usedBefore = await used();
  const e0 = l.seq;
  for (let i = 0; i < 300 && (await events()) < e0 + 3_000_000; i++) await new Promise((r) => setTimeout(r, 50));
  await ask('kill', [st.id, 'SIGKILL']);
  await l.whenEnded();
  off();
  const grown = (await used()) - usedBefore;
  const n = l.seq - e0;
  assert.ok(n > 1_000_000, `enough events to see a per-event cost (${n})`);
  assert.ok(grown / n < 2, `the host grew ${grown} bytes over ${n} events (${(grown / n).toFixed(2)} B/event)`);
  await ask('closeSession', [st.id]);
});
