/**
 * The one contract between the Coroscope UI and its host: the Electron main
 * process (through the preload, `window.coroscope`) or the serve mode
 * (through a WebSocket). Every end derives its side from this file: the
 * preload bridge and the page's WebSocket client (apiCalls), the host's
 * handlers (RequestHandlers, AppHost), the host's argument checks
 * (checkArgs), the transports' envelopes (RequestEnvelope, ReplyEnvelope)
 * and the pushes (ApiPush).
 *
 * Two kinds of traffic:
 *  - requests (REQUESTS): name -> checked arguments -> result; one reply
 *    each, errors as ApiError (a code a program can test, a message a
 *    person can read);
 *  - pushes (ApiPushes): name -> payload, session data flowing to the UI
 *    on their own channel ("coroscope:push"), event batches as raw 64-byte
 *    records.
 *
 * Event batches flow only to a page that subscribed to the session
 * (subscribe(id, fromSeq)), from that position, with flow control: every
 * batch carries `seq` (the number of the session's events before its
 * first), the page acks what it has applied (ack(id, seq)), and the host
 * sends at most a window of unacked events; a page that falls behind is fed
 * from the session's trace file as it acks (never disconnected for being
 * slow), and a page that reconnects subscribes from the seq it has.
 *
 * Adding a request is one line in REQUESTS (its name, argument tuple,
 * result type and a check per argument); the compiler then asks for
 * its handler in AppHost, and every transport and client carries it
 * without a change.
 *
 * Invariants: no Node, no DOM, no Electron (main/, preload/ and renderer/
 * all compile and bundle this file; its only runtime import is check.ts);
 * a handler never runs on arguments its request's check did not return;
 * results are typed here and nowhere else (no `unknown` crosses).
 */

// ---- shared shapes ------------------------------------------------------------------------------
// Types the core already defines are taken from it (type-only imports: no
// runtime dependency for any side).

import {
  args,
  chunkIndex,
  demoName,
  engineOptions,
  engineSetting,
  exportFormat,
  launchRequest,
  pid,
  sessionId,
  seq as seqCheck,
  stackRequest,
  signal,
  stepCount,
  tracePath,
  windowRequest,
  type AllowedSignal,
  type EXPORT_FORMATS,
} from './check.js';

import type { EngineOptions } from '../core/engine/options.js';
import type { SummaryColumns } from '../core/overview/summaries.js';
import type { StackFrame } from '../core/derive/stacks.js';
import type { EngineConfig } from '../core/engine/engineConfig.js';
import type { SessionKind, SessionState, SessionStatus as CoreSessionStatus } from '../core/session/status.js';
import type {
  HelloReply,
  PauseReply,
  SetReply,
  SnapshotCoroutine,
  SnapshotReply,
  StepReply,
} from '../core/engine/controlReplies.js';
export type { SummaryColumns };
export type {
  EngineOptions,
  SessionKind,
  SessionState,
  HelloReply,
  PauseReply,
  SetReply,
  SnapshotCoroutine,
  StepReply,
};

export interface LaunchRequest {
  cmd: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
  engine?: EngineOptions;
  /** false: do not record (default: recorded to the recordings folder) */
  record?: boolean;
}

export interface Demo {
  name: string;
  title: string;
  /** One sentence: what it shows. */
  description: string;
  cmd: string;
  args: string[];
  engine?: EngineOptions;
  /** A program to run beside it (the echo demo's clients), if any. */
  companion?: { cmd: string; args: string[]; delayMs: number };
  /** A short lesson (main/app/lessons.ts): what to look at, the question it answers, what to try. */
  lesson?: DemoLesson;
}

export interface DemoLesson {
  look: string;
  question: string;
  tryThis: string[];
}

export interface EngineProcessInfo {
  pid: number;
  exe: string;
  cmdline: string[];
  startedAt: number;
}

export interface RecordingInfo {
  path: string;
  name: string;
  bytes: number;
  modified: number;
}

/** A session's status as the UI sees it: the core's, with the host's session id. */
export interface SessionStatus extends CoreSessionStatus {
  id: string;
}

/** What a live target can be changed at run time (control `set`); durations like '10ms', '250ms' ('0ms': slow motion off). */
export type EngineSetting =
  | { key: 'slice'; value: string }
  /** slow motion: the scheduler waits that long before each decision */
  | { key: 'delay'; value: string }
  | { key: 'preempt' | 'hooks'; value: boolean };

/** The engine's run-time configuration as its control channel reports it (`hello`'s config, `set`'s reply). */
export type EngineRuntimeConfig = EngineConfig;

/** The engine's own picture of its coroutines and workers (`snapshot`), with source lines where symbols allow. */
export type EngineSnapshot = SnapshotReply;

export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type { AllowedSignal };

export interface ExportResult {
  /** Electron: the file written; serve mode: a URL (with the token) to download it. */
  path?: string;
  url?: string;
  bytes: number;
}

/** A stack to symbolise: CO_STACK's a0 (its string id) and a1 (where it was taken: 1 park, 2 preemption, 3 deferred). */
export interface StackRequest {
  stack: number;
  why: number;
}

/** One frame of a symbolised stack, innermost first (core/derive/stacks.ts). */
export type { StackFrame };

/** A time window of a session to read (readWindow): events with ts in [t0, t1], at most max of them. */
export interface WindowRequest {
  /** The page's name for this read: its 'window' pushes carry it. */
  tag: number;
  t0: number;
  t1: number;
  max: number;
}

/** readWindow's answer, once every 'window' push of it is sent. */
export interface WindowResult {
  tag: number;
  /** Events sent (in 'window' pushes tagged `tag`). */
  events: number;
  /** true: the window holds more than max events; those sent are its first max (from t0 on). */
  cut: boolean;
  /** false: a newer readWindow of this page for this session replaced it before it was all sent. */
  complete: boolean;
}

/** Codes the UI can act on. */
export type ApiErrorCode =
  | 'not-found'
  | 'not-executable'
  | 'not-a-program'
  | 'static'
  | 'wrong-arch'
  | 'is-directory'
  | 'no-engine'
  | 'busy'
  | 'bad-trace'
  | 'no-session'
  | 'bad-request'
  | 'control'
  | 'internal';

export interface ApiError {
  code: ApiErrorCode;
  message: string;
}

// ---- requests ---------------------------------------------------------------------------------------

/** One request: the check of its (untrusted) arguments and, as a type only, its result. */
export interface Request<A extends unknown[], R> {
  /** The argument list as it arrived -> typed and normalised; throws BadRequest (check.ts). */
  readonly check: (raw: unknown) => A;
  /** Never set: carries the result's type. */
  readonly result?: R;
}

/** One check per argument of A, optional ones included (a check sees undefined for a missing argument). */
type ArgChecks<A extends unknown[]> = { [I in keyof A]-?: (v: unknown) => A[I] };

/**
 * request<[arguments], result>(a check per argument): one entry of REQUESTS. The list may be
 * shorter than the checks (trailing arguments missing: their checks see undefined and refuse
 * it unless the argument is optional), never longer.
 */
function request<A extends unknown[], R>(...checks: ArgChecks<A>): Request<A, R> {
  const each = checks as readonly ((v: unknown) => unknown)[];
  return {
    check(raw) {
      const list = args(raw, each.length);
      return each.map((c, i) => c(list[i])) as A;
    },
  };
}

/**
 * Every request: name -> request<[its arguments], its result>(the check of each argument).
 * pause, resume, step, setEngine, snapshot and hello are the engine's control channel (README);
 * their results are the engine's replies.
 */
export const REQUESTS = {
  listDemos: request<[], Demo[]>(),
  listProcesses: request<[], EngineProcessInfo[]>(),
  listRecordings: request<[], RecordingInfo[]>(),
  launch: request<[req: LaunchRequest], SessionStatus>(launchRequest),
  runDemo: request<[name: string, engine?: EngineOptions], SessionStatus>(demoName, engineOptions),
  attach: request<[pid: number], SessionStatus>(pid),
  openTrace: request<[path: string], SessionStatus>(tracePath),
  sessions: request<[], SessionStatus[]>(),
  /** Detach from / stop reading a session; a launched target keeps running unless killed. */
  closeSession: request<[id: string], void>(sessionId),
  /** Signal a launched target (default SIGTERM). */
  kill: request<[id: string, signal?: AllowedSignal], void>(sessionId, signal),
  pause: request<[id: string], PauseReply>(sessionId),
  resume: request<[id: string], PauseReply>(sessionId),
  /** Let n scheduling decisions through (paused targets only). */
  step: request<[id: string, n: number], StepReply>(sessionId, stepCount),
  setEngine: request<[id: string, setting: EngineSetting], SetReply>(sessionId, engineSetting),
  snapshot: request<[id: string], EngineSnapshot>(sessionId),
  hello: request<[id: string], HelloReply>(sessionId),
  exportSession: request<[id: string, format: ExportFormat], ExportResult>(sessionId, exportFormat),
  /**
   * Stream the session's batches to this page from event fromSeq (0: the start; a reconnecting
   * page: the seq it has): from the trace file while behind, then live. Replaces this page's
   * earlier subscription to it. `from`: where the stream starts (fromSeq, or the session's event
   * count if that is smaller); `events`: events the session has now.
   */
  subscribe: request<[id: string, fromSeq: number], { from: number; events: number }>(sessionId, seqCheck),
  /** This page has applied every event of the session before seq (flow control: it opens the window). */
  ack: request<[id: string, seq: number], void>(sessionId, seqCheck),
  /**
   * The session's chunk summaries from chunk fromChunk on, as columns (core/overview/summaries.ts;
   * read from the file's chunk headers, not its events): a timeline overview at any size. A live
   * recording grows: ask again from `from + chunkFirstTs.length`.
   */
  chunkSummaries: request<[id: string, fromChunk: number], SummaryColumns>(sessionId, chunkIndex),
  /**
   * Read the events with ts in [t0, t1] from the session's trace file (the detail of a time window;
   * at most max, from t0 on): they come to this page as 'window' pushes tagged `tag` (binary frames
   * on the WebSocket), and this answers once the last is sent. A newer readWindow of this page for
   * the session stops this one (navigation replaces the window).
   */
  readWindow: request<[id: string, window: WindowRequest], WindowResult>(sessionId, windowRequest),
  /**
   * The frames of a coroutine's stack recorded in the session (a CO_STACK record: where it parked or
   * was preempted), symbolised by the host with libdw from the recorded mappings: function, file,
   * line, inlined frames, innermost first ([] when the stack is not in the session yet).
   */
  stackFrames: request<[id: string, stack: StackRequest], StackFrame[]>(sessionId, stackRequest),
};

type Requests = typeof REQUESTS;
export type RequestName = keyof Requests;
export type RequestArgs<K extends RequestName> = Requests[K] extends Request<infer A, unknown> ? A : never;
export type RequestResult<K extends RequestName> = Requests[K] extends Request<unknown[], infer R> ? R : never;

/** Every request name, in the map's order. */
export const REQUEST_NAMES = Object.keys(REQUESTS) as readonly RequestName[];

/** Is v the name of a request (an own key of REQUESTS: never "toString" or "__proto__")? */
export function isRequestName(v: unknown): v is RequestName {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(REQUESTS, v);
}

/** The map as one type per name, so that indexing it with a name K keeps K's types. */
const byName: { readonly [K in RequestName]: Request<RequestArgs<K>, RequestResult<K>> } = REQUESTS;

/** A request's arguments as they arrived -> typed and normalised, or throws BadRequest. */
export function checkArgs<K extends RequestName>(name: K, raw: unknown): RequestArgs<K> {
  return byName[name].check(raw);
}

// ---- pushes -----------------------------------------------------------------------------------------

/** Every push: name (its `type`) -> payload. */
export interface ApiPushes {
  /** Events seq .. seq+n-1 of a subscribed session (n = events.byteLength / 64), in order, each
   *  once; strings defined by them (after a subscribe from the middle: every string before). */
  batch: { session: string; seq: number; events: Uint8Array; strings: [number, string][] };
  output: { session: string; stream: 1 | 2; text: string };
  status: { status: SessionStatus };
  problem: { session: string; message: string };
  /**
   * Part of a readWindow's answer: events seq .. seq+n-1 (in order, ts in [t0, t1]), strings defined
   * up to them (the first part: every string defined before it); `last` on the final part.
   */
  window: { session: string; tag: number; seq: number; events: Uint8Array; strings: [number, string][]; last: boolean };
  /** The session ended and this page has every event of it (per subscription). */
  end: { session: string };
  /** The transport is about to close this connection, and why (a client that never read its pushes). */
  closing: { reason: string };
}

export type PushName = keyof ApiPushes;
/** A push as it travels: `{type: name, ...payload}`. */
export type ApiPush<T extends PushName = PushName> = { [K in T]: { type: K } & ApiPushes[K] }[T];

// ---- the two ends -----------------------------------------------------------------------------------

/** What the page calls: every request as a function of its arguments to a promise of its result. */
export type ApiCalls = { readonly [K in RequestName]: (...args: RequestArgs<K>) => Promise<RequestResult<K>> };

/** One request sent by a transport; it resolves with the reply's result (or rejects with its ApiError). */
export type SendRequest = <K extends RequestName>(name: K, args: RequestArgs<K>) => Promise<RequestResult<K>>;

/** Every request as a method, over one transport's send (the preload's and the WebSocket client's). */
export function apiCalls(send: SendRequest): ApiCalls {
  const call =
    <K extends RequestName>(name: K) =>
    (...a: RequestArgs<K>) =>
      send(name, a);
  const calls: Partial<Record<RequestName, unknown>> = {};
  for (const name of REQUEST_NAMES) calls[name] = call(name);
  return calls as ApiCalls;
}

/** window.coroscope in Electron; the WebSocket client in serve mode. */
export interface CoroscopeApi extends ApiCalls {
  /** Pushes; returns the unsubscribe function. */
  onPush(listener: (p: ApiPush) => void): () => void;
  /** 'electron' or 'serve': what the UI runs in (e.g. how exports are delivered). */
  readonly transport: 'electron' | 'serve';
}

/**
 * What the host implements: every request's handler, given its checked arguments and the
 * transport's context (Ctx), returning its result. A missing, misnamed or mistyped handler is
 * a compile error where the host declares them.
 */
export type RequestHandlers<Ctx> = {
  readonly [K in RequestName]: (args: RequestArgs<K>, ctx: Ctx) => RequestResult<K> | Promise<RequestResult<K>>;
};

// ---- envelopes and channels -------------------------------------------------------------------------

export const IPC_REQUEST = 'coroscope:request';
export const IPC_PUSH = 'coroscope:push';

/** The envelope of one request K on either transport (by default: of any request). */
export type RequestEnvelope<K extends RequestName = RequestName> = {
  [P in K]: { id: number; name: P; args: RequestArgs<P> };
}[K];

/** The reply to a request K (by default: to any request). */
export type ReplyEnvelope<K extends RequestName = RequestName> =
  { id: number; ok: true; result: RequestResult<K> } | { id: number; ok: false; error: ApiError };
