/**
 * Text formatting for the CLI: durations, sizes, tables, the one-line-per-
 * event rendering of `coroscope dump` (wording after native/reader/dump.c),
 * the summary tables of `stats`, and the live view of `run` / `attach`.
 */
import type { RawEvents } from '../../core/events/rawEvents.js';
import type { StringTable } from '../../core/events/strings.js';
import {
  CallFlag,
  ENGINE_VERSION,
  Kind,
  NO_WORKER,
  exitName,
  hookName,
  kindName,
  readyWhyName,
  summaryKind,
  hookHasFd,
  hookId,
  deferWhyName,
  stackWhyName,
} from '../../core/events/schema.js';
import { syscallName } from '../../core/events/syscalls.js';
import { signalName } from '../../core/events/signals.js';
import { describeFdEvent, DumpFds } from './fdFormat.js';

export { DumpFds } from './fdFormat.js';
import type { Session } from '../session/session.js';
import { exitText } from '../../core/derive/process.js';

export function dur(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  if (ns < 1000) return `${Math.round(ns)}ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)}us`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(3)}ms`;
  return `${(ns / 1e9).toFixed(3)}s`;
}

/** SIGURG, or "signal N" when Linux does not name it. */
const sigName = signalName;

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function count(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/** Columns padded to the widest cell; numbers (and cells starting with a digit) right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string {
  // Widths and alignment in one pass over the rows (a loop: stats --all of a long trace has 10^5+
  // rows, too many for Math.max(...)); cells become strings again as the lines are built, so no
  // second copy of every cell is held.
  const w = head.map((h) => h.length);
  const right = head.map(() => rows.length > 0);
  for (const r of rows) {
    for (let c = 0; c < head.length; c++) {
      const s = r[c] === undefined ? '' : String(r[c]);
      if (s.length > w[c]) w[c] = s.length;
      if (right[c] && !/^[-+\d.]/.test(s) && r[c] !== '-' && r[c] !== '—') right[c] = false;
    }
  }
  const line = (r: readonly (string | number)[]) =>
    r
      .map((v, c) => (right[c] ? String(v).padStart(w[c]) : String(v).padEnd(w[c])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

const worker = (w: number): string => (w === NO_WORKER || w === 0xffffffff || w >= 0xffff ? 'thread' : `w${w}`);
const quoted = (strings: StringTable, id: number): string =>
  id ? JSON.stringify(strings.get(id) || `str#${id}`) : '""';
const evs = (e: number): string => (e === 1 ? 'r' : e === 2 ? 'w' : e === 3 ? 'rw' : `events=${e}`);

function readyWhy(why: number, detail: number, ev: number): string {
  switch (why) {
    case 1:
      return detail ? `spawned by co#${detail}` : 'spawned by a thread';
    case 3:
      return `fd ${detail} ${evs(ev)}`;
    case 4:
      return `co#${detail} finished`;
    case 7: {
      const name = sigName(detail); // "SIGURG", or "signal 99" unnamed
      return name.startsWith('signal ') ? name : `signal ${name}`;
    }
    case 8:
      return `fd ${detail} closed`;
    case 9:
      return `stolen from ${worker(detail)}`;
    default:
      return readyWhyName(why);
  }
}

/**
 * One event as readable text (without the ts / thread prefix). With `fds` (fed every event in
 * order: DumpFds.see), waits and calls on an fd say what the fd is.
 */
export function describeEvent(raw: RawEvents, i: number, strings: StringTable, fds?: DumpFds): string {
  const a = (k: number) => raw.a(i, k);
  const kind = raw.kind(i);
  const fdIs = (fd: number): string => {
    const d = fds?.at(raw, i, fd, strings);
    return d ? ` ${d.text}` : '';
  };
  switch (kind) {
    case Kind.PROCESS:
      return `process pid=${a(0)} exe=${quoted(strings, a(1))} cmdline=${quoted(strings, a(2))} engine=${ENGINE_VERSION(a(3))}`;
    case Kind.CONFIG: {
      const f = a(3);
      return `config workers=${a(0)} stack=${a(1)} slice=${dur(a(2))} hooks=${f & 1 ? 'on' : 'off'} preempt=${f & 2 ? 'on' : 'off'} migrate=${f & 4 ? 'on' : 'off'} signal=${sigName(a(4))}${f & 8 ? ' lossless' : ''}`;
    }
    case Kind.THREAD:
      return `thread tid=${a(0)} ${quoted(strings, a(1))} ${worker(a(2))}`;
    case Kind.CLOCK:
      return `clock monotonic=${a(0)} realtime=${a(1)}`;
    case Kind.CO_CREATE:
      return `created by ${a(0) ? `co#${a(0)}` : 'a thread'} entry=${a(2) ? quoted(strings, a(2)) : '?'} stack=${a(3)}${a(1) ? ` name=${quoted(strings, a(1))}` : ''}`;
    case Kind.CO_READY:
      return `ready (${readyWhy(a(0), a(1), 0)}) depth=${a(3)}`;
    case Kind.CO_RUN:
      return `run (switch #${a(0)})`;
    case Kind.CO_SUSPEND: {
      const why = a(0);
      const dl = a(4) ? `, deadline +${dur(Math.max(0, a(4) - raw.ts(i)))}` : '';
      if (why === 2) return `parked joining co#${a(2)}`;
      if (why === 3) return `parked sleeping in ${hookName(a(1))}${dl}`;
      const fd = raw.signed(i, 2);
      if (fd < 0) return `parked in ${hookName(a(1))}${dl}`;
      const on = fdIs(fd);
      return `parked in ${hookName(a(1))}${on ? ` on${on}` : ''} (fd ${fd} ${evs(a(3))}${dl})`;
    }
    case Kind.CO_YIELD:
      return a(0) ? 'yield (preempted)' : 'yield';
    case Kind.CO_FINISH:
      return `finished (${exitName(a(0))}${a(1) ? `, stack used ${a(1)} bytes` : ''})`;
    case Kind.CO_MIGRATE:
      return `migrated ${worker(a(0))} -> ${worker(a(1))}`;
    case Kind.CO_INFO: {
      const lo = raw.lo(i, 3);
      const st = ['not started', 'ready', 'running', 'suspended'][lo & 0xff] ?? '?';
      const w = raw.hi(i, 3) & 0xffff;
      const fd = raw.signed(i, 4);
      const wait = (lo & 0xff) === 3 ? ` (in ${hookName(lo >>> 16) || 'a wait'}${fd >= 0 ? `, fd ${fd}` : ''})` : '';
      return `exists: ${st}${wait}${w !== 0xffff ? ` on ${worker(w)}` : ''}`;
    }
    case Kind.WAKE:
      return `woke (${readyWhy(a(0), a(1), a(2))})${a(3) ? ` by co#${a(3)} on ${worker(a(4))}` : ''}`;
    case Kind.CALL: {
      const a0 = raw.lo(i, 0);
      const h = a0 & 0xffff;
      const parts: string[] = [];
      if (hookHasFd(h))
        parts.push(
          `fd=${raw.signed(i, 1)}${h !== hookId('close') && h !== hookId('close_range') ? fdIs(raw.signed(i, 1)) : ''}`,
        );
      const summary = raw.hi(i, 3);
      switch (summaryKind(h)) {
        case 'bytes':
          parts.push(String(summary));
          break;
        case 'timeout_ms':
          parts.push(summary === 0xffffffff ? 'timeout=none' : `timeout=${summary}ms`);
          break;
        case 'sleep_ms':
          parts.push(`${summary}ms`);
          break;
        case 'flags':
          parts.push(`flags=0x${summary.toString(16)}`);
          break;
        case 'cmd':
          parts.push(`cmd=0x${summary.toString(16)}`);
          break;
      }
      const errno = raw.lo(i, 3);
      const res = errno ? `-1 errno ${errno}` : String(raw.signed(i, 2));
      const flags = [
        a0 & CallFlag.IN_CO ? '' : ' (thread)',
        a0 & CallFlag.PARKED ? ' parked' : '',
        a0 & CallFlag.BLOCKED ? ' blocked' : '',
      ].join('');
      return `${hookName(h)}(${parts.join(', ')}) = ${res} <${dur(a(4))}>${flags}`;
    }
    case Kind.CALL_ENTER: {
      // "read(fd=9, 4096, timeout=none) ..." when the call parks; its CALL closes it.
      const h = raw.lo(i, 0) & 0xffff;
      const parts: string[] = [];
      if (raw.signed(i, 1) >= 0) parts.push(`fd=${raw.signed(i, 1)}`);
      const k = summaryKind(h);
      if (k === 'bytes') parts.push(String(a(2)));
      else if (k === 'flags') parts.push(`flags=0x${a(2).toString(16)}`);
      else if (a(2)) parts.push(`arg=${a(2)}`);
      parts.push(`timeout=${a(3) ? dur(a(3)) : 'none'}`);
      return `${hookName(h)}(${parts.join(', ')}) ...`;
    }
    case Kind.CALL_ADDR:
      return `  address ${quoted(strings, a(0))}`;
    case Kind.PREEMPT_SENT:
      return `preempt signal sent to ${worker(a(1))} (co#${a(0)})`;
    case Kind.PREEMPTED:
      return `preempted after ${dur(a(1))}${a(2) === 1 ? ' at a safe point' : ''}`;
    case Kind.PREEMPT_DEFERRED:
      return `preemption deferred: ${deferWhyName(a(0))}`;
    case Kind.WORKER_IDLE:
      return 'worker idle';
    case Kind.WORKER_BUSY:
      return 'worker busy';
    case Kind.QUEUES:
      return `queues run=${a(0)} spawn=${a(1)} injection=${a(2)} timers=${a(3)} parked=${a(4)}`;
    case Kind.DROP:
      return `DROPPED ${a(0)} events (${dur(Math.max(0, a(2) - a(1)))})`;
    case Kind.OFFCPU:
      return `off CPU ${dur(a(1))} from ${((a(0) - raw.ts(i)) / 1e6).toFixed(3)} ms (${a(2) === 1 ? 'taken by the OS: CPU contention' : 'slept in the kernel'})`;
    case Kind.STALL: {
      const fd = raw.signed(i, 2);
      return `STALL w${a(0)} in ${syscallName(raw.lo(i, 1))}()${fd >= 0 ? ` fd=${fd}` : ''}${a(3) ? ` ${quoted(strings, a(3))}` : ''} (run began ${((a(4) - raw.ts(i)) / 1e6).toFixed(3)} ms)`;
    }
    case Kind.STALL_END: {
      const fd = raw.signed(i, 2);
      return `stall ended: w${a(0)} ${syscallName(raw.lo(i, 1))}()${fd >= 0 ? ` fd=${fd}` : ''} after ${dur(a(3))}`;
    }
    case Kind.CO_STACK:
      return `stack (${stackWhyName(a(1))}, ${a(2)} frames, ${a(3) === 2 ? 'unwinder' : 'frame pointers'})`;
    case Kind.MAPPING:
      return `mapping 0x${a(0).toString(16)}-0x${a(1).toString(16)} bias 0x${a(2).toString(16)} ${quoted(strings, a(3))}${a(4) ? ` build id ${strings.get(a(4))}` : ''}`;
    case Kind.FD_DESC:
    case Kind.FD_CLOSE:
    case Kind.WAKER:
      return describeFdEvent(raw, i, strings)!;
    default:
      return `${kindName(kind) ?? `kind ${kind}`} ${[0, 1, 2, 3, 4].map(a).join(' ')}`;
  }
}

/** A whole dump line: time since the first event, thread, worker, coroutine, text. */
export function dumpLine(raw: RawEvents, i: number, strings: StringTable, t0: number, fds?: DumpFds): string {
  const t = ((raw.ts(i) - t0) / 1e9).toFixed(6).padStart(12);
  const co = raw.co(i) ? `co#${raw.co(i)}` : '-';
  fds?.see(raw, i);
  return `${t} tid=${raw.tid(i)} ${worker(raw.worker(i)).padEnd(6)} ${co.padEnd(7)} ${describeEvent(raw, i, strings, fds)}`;
}

// ---- summaries -------------------------------------------------------------------

/** "read on TCP 127.0.0.1:41234 → 127.0.0.1:5432 (fd 7)" for a suspended coroutine; '-' otherwise. */
function waitText(
  s: Session,
  c: { co: number; since: number; wait?: { why: number; hookName: string; whyName: string; fd: number } },
): string {
  const w = c.wait;
  if (!w) return '-';
  const what = w.hookName || w.whyName;
  if (w.why === 2) return `join co#${w.fd}`;
  if (w.why !== 1 || w.fd < 0) return what;
  const d = s.derived.fds.at(Math.floor(c.co / 2 ** 32), w.fd, c.since, s.strings);
  return d ? `${what} on ${d.text} (fd ${w.fd})` : `${what} fd ${w.fd}`;
}

/** The fds open at the end of the session, per process, as described (FD_DESC); '' when none was. */
function openFds(s: Session, limit = 40): string {
  const rows: (string | number)[][] = [];
  const serials = s.derived.fds.serials();
  for (const serial of serials)
    for (const d of s.derived.fds.openAt(serial, Infinity, s.strings))
      rows.push(serials.length > 1 ? [serial, d.fd, d.text] : [d.fd, d.text]);
  if (!rows.length) return '';
  const head = serials.length > 1 ? ['process', 'fd', 'what'] : ['fd', 'what'];
  const more = rows.length > limit ? `, showing ${limit}` : '';
  return `Open file descriptors (${rows.length}${more})\n${table(head, rows.slice(0, limit))}`;
}

/** The `stats` report of a session (replayed or live). */
export function statsReport(s: Session, o: { allCoroutines?: boolean; limit?: number } = {}): string {
  const d = s.derived;
  const out: string[] = [];
  const p = d.process.summary(s.strings);
  out.push('Process');
  out.push(
    table(
      ['pid', 'exe', 'cmdline', 'engine', 'events'],
      [[p.pid || s.pid, p.exe || '-', p.cmdline || '-', p.engineVersion || '-', d.count]],
    ),
  );
  const procs = processLines(s);
  if (procs) out.push('', procs);
  if (p.config) {
    const c = p.config;
    out.push('', 'Config');
    out.push(
      table(
        ['workers', 'stack', 'slice', 'hooks', 'preempt', 'migrate', 'signal'],
        [
          [
            c.workers,
            bytes(c.stackSize),
            dur(c.timeSlice),
            c.hooks ? 'on' : 'off',
            c.preempt ? 'on' : 'off',
            c.migrate ? 'on' : 'off',
            sigName(c.signal),
          ],
        ],
      ),
    );
  }
  // Workers, one line each; in a session of several processes each process's own (they are numbered per process).
  const ws = d.workers().filter((w) => w.state !== 'unknown' || w.switches > 0);
  if (ws.length) {
    const multi = new Set(ws.map((w) => w.serial)).size > 1;
    out.push('', 'Workers');
    out.push(
      table(
        [...(multi ? ['pid'] : []), 'worker', 'busy', 'run', 'scheduling', 'idle', 'switches', 'run queue max'],
        ws.map((w) => [
          ...(multi ? [w.pid || '?'] : []),
          w.worker,
          Number.isNaN(w.utilisation) ? '-' : `${(w.utilisation * 100).toFixed(1)}%`,
          dur(w.runTime),
          dur(w.schedulingTime),
          dur(w.idleTime),
          w.switches,
          w.runQueueMax,
        ]),
      ),
    );
  }
  const cos = d.coroutines(true);
  const limit = o.limit ?? 30;
  out.push('', `Coroutines (${cos.length}${cos.length > limit ? `, showing ${limit} by run time` : ''})`);
  const shown = cos.length > limit ? [...cos].sort((a, b) => b.runTime - a.runTime).slice(0, limit) : cos;
  out.push(
    table(
      ['co', 'name', 'state', 'run', 'ready', 'suspended', 'switches', 'preempt', 'calls', 'exit', 'waiting in'],
      shown.map((c) => [
        c.co,
        c.name || '-',
        c.state,
        dur(c.runTime),
        dur(c.readyTime),
        dur(c.suspendedTime),
        c.switches,
        c.preemptions,
        c.calls,
        c.exit?.name ?? '-',
        waitText(s, c),
      ]),
    ),
  );
  const fdLines = openFds(s);
  if (fdLines) out.push('', fdLines);
  out.push('', callsTable(s));
  const pr = d.preemption.summary();
  out.push('', 'Preemption');
  out.push(
    table(
      ['sent', 'preempted', 'at safe point', 'after deferral', 'latency p50', 'p99', 'max'],
      [
        [
          pr.sent,
          pr.preempted,
          pr.atSafePoint,
          pr.afterDeferral,
          dur(pr.latency.p50),
          dur(pr.latency.p99),
          dur(pr.latency.max),
        ],
      ],
    ),
  );
  if (pr.deferred.some((x) => x.count)) {
    out.push(
      table(
        ['deferred because', 'count'],
        pr.deferred.filter((x) => x.count).map((x) => [x.name, x.count]),
      ),
    );
  }
  const dr = d.drops.summary();
  out.push('', 'Drops');
  if (!dr.lost) out.push('no events lost');
  else
    out.push(
      table(
        ['tid', 'lost', 'span'],
        dr.perThread.map((t) => [t.tid, t.lost, dur(t.last - t.first)]),
      ),
      `total lost: ${dr.lost} in ${dr.records} records`,
    );
  return out.join('\n');
}

/**
 * The processes of a session that followed children (README "Children"): one line each — pid,
 * parent, how it began, its exit, its coroutines and threads, its command line — and one line
 * per child that is not traced, with the reason. '' for a stream of one process.
 */
export function processLines(s: Session): string {
  const list = s.processes.processes(s.strings);
  const untraced = s.processes.untraced(s.strings, s.ended);
  if (list.length <= 1 && !untraced.length) return '';
  const cos = new Map<number, number>();
  try {
    for (const c of s.derived.coroutines(true)) {
      const serial = Math.floor(c.co / 4294967296); // a followed process's ids are serial * 2^32 + k
      cos.set(serial, (cos.get(serial) ?? 0) + 1);
    }
  } catch {
    // no derived tables kept: no coroutine counts
  }
  const exitOf = (p: (typeof list)[number]): string => {
    const said = exitText(p); // the process's own exit, or what its parent or launcher saw (a signal included)
    if (said) return said;
    if (p.execd) return "exec'd";
    if (p.serial === 0 && s.exit)
      return s.exit.signal ? `killed by ${signalName(s.exit.signal)}` : `code ${s.exit.code}`;
    return s.ended ? 'no exit seen (its parent did not reap it while recorded)' : 'running';
  };
  const rows = list.map((p) => [
    p.pid,
    p.ppid ?? '-',
    p.how,
    exitOf(p),
    cos.get(p.serial) ?? 0,
    p.tids.length,
    p.cmdline || p.exe || '-',
  ]);
  const lines = [
    `Processes (${list.length})`,
    table(['pid', 'parent', 'began', 'exit', 'coroutines', 'threads', 'cmdline'], rows),
  ];
  for (const u of untraced)
    lines.push(
      `${u.problem ? 'child' : 'not followed: child'} pid ${u.pid || '?'} (${u.cmdline || u.path || `forked from pid ${u.parentPid}`})${u.problem ? ' is not traced' : ''}: ${u.reason}`,
    );
  return lines.join('\n');
}

/** One hooked call's line of the call table (all processes, all coroutines). */
export interface CallRow {
  name: string;
  count: number;
  errors: number;
  parked: number;
  blocked: number;
  total: number;
  p50: number;
  p99: number;
  max: number;
  inCo: number;
}

/** Per-call statistics, like strace -c. */
export function callsTable(s: Session, top?: number): string {
  const rows = s.derived.calls.rows();
  const byHook = new Map<number, CallRow>();
  for (const r of rows) {
    const all = s.derived.calls.summary(r.hook, 'all');
    const e = byHook.get(r.hook) ?? {
      name: r.name,
      count: all.count,
      errors: all.errors,
      parked: all.parked,
      blocked: all.blocked,
      total: all.mean * all.count,
      p50: all.p50,
      p99: all.p99,
      max: all.max,
      inCo: 0,
    };
    if (r.inCo === true) e.inCo = r.count;
    byHook.set(r.hook, e);
  }
  let list = [...byHook.values()].sort((a, b) => b.total - a.total || b.count - a.count);
  if (top) list = list.slice(0, top);
  const title = top ? 'Busiest hooked calls' : 'Hooked calls';
  if (!list.length) return `${title}\nno hooked calls`;
  return `${title}\n${callRows(
    list,
    [...byHook.values()].reduce((n, r) => n + r.total, 0),
  )}`;
}

/** The call table's lines; `sum` is the total time that "% time" divides (default: these rows'). */
export function callRows(list: CallRow[], sum = list.reduce((n, r) => n + r.total, 0)): string {
  const of = sum || 1;
  return table(
    ['% time', 'seconds', 'usecs/call', 'calls', 'errors', 'in co', 'parked', 'blocked', 'p50', 'p99', 'max', 'call'],
    list.map((r) => {
      // A call the engine records without a duration (every one took "0 ns") is untimed: a dash, not 0ns.
      const timed = r.max > 0;
      const t = (v: string): string => (timed ? v : '—');
      return [
        t(((100 * r.total) / of).toFixed(2)),
        t((r.total / 1e9).toFixed(6)),
        t(String(Math.round(r.total / r.count / 1000))),
        r.count,
        r.errors,
        r.inCo,
        r.parked,
        r.blocked,
        t(dur(r.p50)),
        t(dur(r.p99)),
        t(dur(r.max)),
        r.name,
      ];
    }),
  );
}

/** The live view (run / attach): a screenful describing the session now. */
export function liveView(s: Session, columns = 100, rows = 30, final = false): string {
  const st = s.status();
  const d = s.derived;
  const pr = d.preemption.summary();
  const lines: string[] = [];
  const secs = (Date.now() - st.startedAt) / 1000;
  const elapsed = secs.toFixed(1);
  // Live: the last second's rate; at the end, the whole session's (a quiet last second says nothing).
  const rate = final ? `${count(Math.round(st.events / Math.max(secs, 1e-3)))}/s average` : `${count(st.rate)}/s`;
  const nproc = s.processes.processes(s.strings).length;
  lines.push(
    `coroscope  ${st.name} (pid ${st.pid}${nproc > 1 ? `, ${nproc} processes followed` : ''})  ${st.state}  ${elapsed}s  events ${count(st.events)}  ${rate}  drops ${st.drops}  preemptions ${pr.preempted}/${pr.sent}${st.recordPath ? `  -> ${st.recordPath}` : ''}`,
  );
  const ws = d.workers();
  if (ws.length)
    lines.push('workers  ' + ws.map((w) => `w${w.worker}:${w.state}${w.co ? `(co#${w.co})` : ''}`).join(' '));
  const cos = d.coroutines(final);
  const byState = new Map<string, number>();
  for (const c of cos) byState.set(c.state, (byState.get(c.state) ?? 0) + 1);
  lines.push(
    `coroutines ${cos.length}${final ? '' : ' live'}: ` + [...byState].map(([k, v]) => `${v} ${k}`).join(', '),
  );
  const room = Math.max(3, Math.floor((rows - 12) / 2));
  const top = [...cos].sort((a, b) => b.runTime - a.runTime).slice(0, room);
  if (top.length) {
    lines.push(
      table(
        ['co', 'name', 'state', 'worker', 'waiting in', 'run', 'switches', 'preempt'],
        top.map((c) => [
          c.co,
          (c.name || '-').slice(0, 24),
          c.state,
          c.worker ?? '-',
          c.wait
            ? `${c.wait.hookName || c.wait.whyName}${c.wait.fd >= 0 && c.wait.why === 1 ? ` fd ${c.wait.fd}` : ''}`
            : '-',
          dur(c.runTime),
          c.switches,
          c.preemptions,
        ]),
      ),
    );
  }
  lines.push(callsTable(s, Math.min(room, 8)));
  return lines
    .map((l) =>
      l
        .split('\n')
        .map((x) => x.slice(0, columns))
        .join('\n'),
    )
    .join('\n');
}
