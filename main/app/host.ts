/**
 * AppHost: everything the UI can ask for (REQUESTS in preload/api.ts),
 * over the Node core, with no Electron in sight — the Electron main process
 * and the serve mode are two thin transports around one AppHost.
 *
 * Invariants:
 *  - every request's arguments are checked by its entry in the contract
 *    (preload/api.ts REQUESTS, checkArgs) before its handler runs: requests
 *    are untrusted; one handler per request (handlers);
 *  - every failure leaves as an ApiError {code, message} (errors.ts);
 *  - sessions are known by an id of the form "s<n>", never reused;
 *  - the host keeps no event history nor store: every session is backed by
 *    its trace file (a private temporary one, 0600 in a 0700 directory,
 *    removed at close, for a launch with record: false; an opened trace is
 *    its file, answered after its header and chunk headers are checked);
 *  - event batches go only to the listener that subscribed (subscribe(),
 *    with flow control: entry.ts), and a window's events (readWindow) only
 *    to the listener that asked; status, output and problems go to every
 *    listener (onPush); a listener that goes away (its onPush off) loses
 *    its subscriptions;
 *  - close() ends every session: launched programs still running are
 *    killed (SIGTERM), attached ones are detached and keep running.
 */
import { withSourceLines } from '../engine/symbols.js';
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkArgs,
  isRequestName,
  type ApiPush,
  type EngineOptions,
  type ExportResult,
  type LaunchRequest,
  type ReplyEnvelope,
  type RequestHandlers,
  type RequestName,
  type RequestResult,
  type SessionStatus,
} from '../../preload/api.js';
import type { EngineTarget } from '../engine/target.js';
import { listEngineProcesses } from '../engine/discover.js';
import { listRecordings, recordingsDir } from '../session/recordings.js';
import { Session } from '../session/session.js';
import { findDemo, listDemos, startCompanion } from './demos.js';
import { SessionEntry, type Push } from './entry.js';
import { HostError, toApiError } from './errors.js';
import { exportEntry } from './exports.js';
import { SessionStacks } from './stacks.js';

export interface HostOptions {
  /** Where exports are written (default: <recordings>/exports). */
  exportDir?: string;
  /** Serve mode: turn a written export into what the UI gets (a download URL). */
  deliverExport?: (path: string, bytes: number) => ExportResult;
}

/** Who asked: subscribe() and ack() act for this listener (the transport's push function). */
export interface RequestContext {
  push?: Push;
  /** Bytes queued to this listener and not yet taken by it (serve: the WebSocket's bufferedAmount). */
  backlog?: () => number;
}

export class AppHost {
  private readonly entries = new Map<string, SessionEntry>();
  /** Opened trace files (device, inode, size, mtime) -> their session id. */
  private readonly openFiles = new Map<string, string>();
  private readonly listeners = new Set<Push>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: HostOptions = {}) {}

  onPush(listener: Push): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      for (const e of this.entries.values()) e.unsubscribe(listener);
    };
  }

  /** A listener's page went away but the listener stays (an Electron window reloading): end its streams. */
  dropSubscriptions(listener: Push): void {
    for (const e of this.entries.values()) e.unsubscribe(listener);
  }

  private readonly broadcast = (p: ApiPush): void => {
    for (const l of this.listeners) {
      try {
        l(p);
      } catch {
        /* a listener's failure is its transport's business */
      }
    }
  };

  /** One request envelope (untrusted) -> its reply; never throws. */
  async handle(envelope: unknown, ctx: RequestContext = {}): Promise<ReplyEnvelope> {
    const e = envelope as { id?: unknown; name?: unknown; args?: unknown } | null;
    const id = e && typeof e.id === 'number' && Number.isSafeInteger(e.id) ? e.id : -1;
    try {
      if (!e || typeof e !== 'object' || id < 0) throw new HostError('bad-request', 'expected {id, name, args}');
      return { id, ok: true, result: await this.request(e.name, e.args === undefined ? [] : e.args, ctx) }; // null is not a list
    } catch (err) {
      return { id, ok: false, error: toApiError(err) };
    }
  }

  /** One request by name (untrusted name and arguments); throws HostError, BadRequest or a core error toApiError maps. */
  async request(name: unknown, args: unknown, ctx: RequestContext = {}): Promise<RequestResult<RequestName>> {
    if (this.closed) throw new HostError('internal', 'the host is shutting down');
    if (!isRequestName(name))
      throw new HostError('bad-request', `unknown request ${JSON.stringify(String(name).slice(0, 64))}`);
    return this.dispatch(name, args, ctx);
  }

  /** The request's arguments checked by its entry in the contract, then its handler. */
  private async dispatch<K extends RequestName>(
    name: K,
    args: unknown,
    ctx: RequestContext,
  ): Promise<RequestResult<K>> {
    return this.handlers[name](checkArgs(name, args), ctx);
  }

  /**
   * Every request of the contract (preload/api.ts REQUESTS), given its checked arguments. The
   * compiler holds this map to the contract: a request without a handler, a handler for no
   * request, or one taking other arguments or returning another result does not build.
   */
  readonly handlers: RequestHandlers<RequestContext> = {
    listDemos: () => listDemos(),
    listProcesses: () =>
      listEngineProcesses().map(({ pid, exe, cmdline, startedAt }) => ({ pid, exe, cmdline, startedAt })),
    listRecordings: () => listRecordings().map(({ path, name, bytes, modified }) => ({ path, name, bytes, modified })),
    launch: ([req]) => this.launch(req).status(),
    runDemo: ([name, engine]) => this.runDemo(name, engine),
    attach: ([pid]) => this.attach(pid),
    openTrace: ([path]) => this.openTrace(path),
    sessions: () => [...this.entries.values()].map((e) => e.status()),
    closeSession: ([id]) => this.closeSession(id),
    kill: ([id, signal]) => {
      const e = this.entry(id);
      if (!e.session.target) throw new HostError('bad-request', 'a loaded trace has no program to signal');
      e.session.kill(signal);
    },
    pause: ([id]) => this.target(id).pause(),
    resume: ([id]) => this.target(id).resume(),
    step: ([id, n]) => this.target(id).step(n),
    setEngine: ([id, { key, value }]) => this.target(id).set(key, value),
    snapshot: async ([id]) => {
      const t = this.target(id);
      return withSourceLines(await t.snapshot(), t.pid);
    },
    hello: ([id]) => this.target(id).hello(),
    exportSession: async ([id, format]) => {
      const e = this.entry(id);
      const { path, bytes } = await exportEntry(e, format, this.opts.exportDir ?? join(recordingsDir(), 'exports'));
      return this.opts.deliverExport ? this.opts.deliverExport(path, bytes) : { path, bytes };
    },
    subscribe: ([id, fromSeq], ctx) => {
      const e = this.entry(id);
      if (!ctx.push) throw new HostError('bad-request', 'subscribe needs a transport that can push to its caller');
      return e.subscribe(ctx.push, fromSeq);
    },
    ack: ([id, seq], ctx) => {
      if (ctx.push) this.entry(id).ack(ctx.push, seq);
    },
    chunkSummaries: ([id, from]) => this.entry(id).chunkSummaries(from),
    readWindow: ([id, w], ctx) => {
      const e = this.entry(id);
      if (!ctx.push) throw new HostError('bad-request', 'readWindow needs a transport that can push to its caller');
      return e.readWindow(ctx.push, w, ctx.backlog);
    },
    stackFrames: ([id, { stack, why }]) => {
      const e = this.entry(id);
      let st = this.stacks.get(e);
      if (!st) this.stacks.set(e, (st = new SessionStacks(e.session, () => e.file)));
      return st.frames(stack, why);
    },
  };

  /** Each session's symbolised stacks (stackFrames), kept while the session is. */
  private readonly stacks = new WeakMap<SessionEntry, SessionStacks>();

  /** A live session's engine (its control channel); a loaded trace has none. */
  private target(id: string): EngineTarget {
    const t = this.entry(id).session.target;
    if (!t) throw new HostError('bad-request', 'a loaded trace has no program to control');
    return t;
  }

  private entry(id: string): SessionEntry {
    const e = this.entries.get(id);
    if (!e) throw new HostError('no-session', `no session ${id}`);
    return e;
  }

  private register(session: Session, name: string, privateDir?: string): SessionEntry {
    const e = new SessionEntry(`s${this.nextId++}`, session, name, this.broadcast, !!privateDir);
    if (privateDir) e.onClose.push(() => rmSync(privateDir, { recursive: true, force: true }));
    this.entries.set(e.id, e);
    e.statusNow();
    return e;
  }

  private launch(req: LaunchRequest, name = req.cmd): SessionEntry {
    // record: false still records, to a private file removed at close: late joins, reconnects and
    // pages that fall behind read it (the host keeps no events in memory).
    const dir = req.record === false ? mkdtempSync(join(tmpdir(), 'coroscope-session-')) : undefined;
    let record: string | undefined;
    if (dir) {
      record = join(dir, 'session.cstrace');
      closeSync(openSync(record, 'wx', 0o600));
    }
    let s: Session;
    try {
      s = Session.launch({
        cmd: req.cmd,
        args: req.args,
        cwd: req.cwd,
        env: req.env,
        engine: req.engine,
        record,
        store: false,
      });
    } catch (err) {
      if (dir) rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const e = this.register(s, name, dir);
    e.wireLive();
    return e;
  }

  private runDemo(name: string, engine: EngineOptions | undefined): SessionStatus {
    const d = findDemo(name);
    if (!d)
      throw new HostError(
        'bad-request',
        `no demo ${name} (the demos: ${listDemos()
          .map((x) => x.name)
          .join(', ')})`,
      );
    const e = this.launch({ cmd: d.cmd, args: d.args, engine: { ...d.engine, ...engine } }, d.name);
    if (d.companion) e.onClose.push(startCompanion(e.session, d.companion));
    return e.status();
  }

  private attach(pid: number): SessionStatus {
    const e = this.register(Session.attach(pid, { store: false }), `pid ${pid}`);
    e.wireLive();
    return e.status();
  }

  private openTrace(path: string): SessionStatus {
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new HostError('not-found', `${path}: no such file`);
    }
    if (st.isDirectory()) throw new HostError('is-directory', `${path} is a directory, not a trace file`);
    // The same file, unchanged, opened again is the session already open (the page selects it).
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const open = this.openFiles.get(key);
    if (open && this.entries.has(open)) return this.entry(open).status();
    let s: Session;
    try {
      s = Session.file(path); // header, index and chunk headers: not the events
    } catch (err) {
      throw new HostError('bad-trace', (err as Error).message);
    }
    const e = this.register(s, path);
    this.openFiles.set(key, e.id);
    e.onClose.push(() => this.openFiles.delete(key));
    return e.status();
  }

  private async closeSession(id: string): Promise<void> {
    const e = this.entry(id);
    this.entries.delete(id);
    e.dispose();
    await e.session.detach();
    e.finish();
    e.cleanup();
  }

  /** End every session (see the invariants); the host answers nothing afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      all.map(async (e) => {
        e.dispose();
        if (e.session.kind === 'launched' && !e.session.ended) {
          e.session.kill('SIGTERM');
          await Promise.race([e.session.whenEnded(), new Promise((r) => setTimeout(r, 2000))]);
        }
        await e.session.detach();
        e.finish();
        e.cleanup();
      }),
    );
    this.listeners.clear();
  }
}
