/**
 * The one API contract between the Coroscope UI and its host: the Electron
 * main process (through the preload, `window.coroscope`) or the serve mode
 * (through a WebSocket). main/, preload/ and renderer/ all import this file;
 * it has no runtime dependencies so every side can.
 *
 * Two kinds of traffic:
 *  - requests (`ApiRequests`): name -> (args) => result; one reply each,
 *    errors as ApiError (a code a program can test, a message a person can
 *    read);
 *  - pushes (`ApiPushes`): session data flowing to the UI on their own
 *    channel ("coroscope:push"), event batches as raw 64-byte records.
 */

// ---- shared shapes ------------------------------------------------------------------------------
// Types the core already defines are taken from it (type-only imports: no
// runtime dependency for any side).

import type { EngineOptions } from '../main/core/engine/options.js';
import type { EngineConfig } from '../main/core/engine/engineConfig.js';
import type { SessionKind, SessionState, SessionStatus as CoreSessionStatus } from '../main/core/session/status.js';
export type { EngineOptions, SessionKind, SessionState };

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

export type ControlCommand =
  | { op: 'pause' }
  | { op: 'resume' }
  | { op: 'step'; n: number }
  /** delay: slow motion, the scheduler waits that long before each decision (e.g. '250ms'; '0ms' off) */
  | { op: 'set'; key: 'slice' | 'preempt' | 'hooks' | 'delay'; value: string | number | boolean }
  | { op: 'snapshot' }
  | { op: 'hello' };

/** The engine's run-time configuration as its control channel reports it (`hello`'s config, `set`'s reply). */
export type EngineRuntimeConfig = EngineConfig;

/**
 * What control(id, {op: 'set'}) resolves with: the engine's whole configuration after the change
 * (slice, preempt, hooks), or the slow-motion delay now in force (delay). The engine emits no new
 * CONFIG event for a change: this reply (or a later `hello`) is where it shows.
 */
export interface SetReply {
  ok: true;
  config?: EngineRuntimeConfig;
  delay_ns?: number;
}

export type ExportFormat = 'perfetto' | 'chrome-json' | 'calls-csv' | 'native';

export interface ExportResult {
  /** Electron: the file written; serve mode: a URL (with the token) to download it. */
  path?: string;
  url?: string;
  bytes: number;
}

/** Codes the UI can act on. */
export type ApiErrorCode =
  | 'not-found' | 'not-executable' | 'not-a-program' | 'static' | 'wrong-arch' | 'is-directory'
  | 'no-engine' | 'busy' | 'bad-trace' | 'no-session' | 'bad-request' | 'control' | 'internal';

export interface ApiError {
  code: ApiErrorCode;
  message: string;
}

// ---- requests ---------------------------------------------------------------------------------------

export interface ApiRequests {
  listDemos(): Demo[];
  listProcesses(): EngineProcessInfo[];
  listRecordings(): RecordingInfo[];
  launch(req: LaunchRequest): SessionStatus;
  runDemo(name: string, engine?: EngineOptions): SessionStatus;
  attach(pid: number): SessionStatus;
  openTrace(path: string): SessionStatus;
  sessions(): SessionStatus[];
  /** Detach from / stop reading a session; a launched target keeps running unless killed. */
  closeSession(id: string): void;
  kill(id: string, signal?: string): void;
  control(id: string, cmd: ControlCommand): unknown;
  exportSession(id: string, format: ExportFormat): ExportResult;
  /** Ask the host to send every batch of a session again from the start (a UI that (re)connects). */
  replay(id: string): void;
}

export type RequestName = keyof ApiRequests;
export type RequestArgs<K extends RequestName> = Parameters<ApiRequests[K]>;
export type RequestResult<K extends RequestName> = ReturnType<ApiRequests[K]>;

/** Every request name, for hosts that validate what arrives. */
export const REQUEST_NAMES: readonly RequestName[] = [
  'listDemos', 'listProcesses', 'listRecordings', 'launch', 'runDemo', 'attach', 'openTrace', 'sessions',
  'closeSession', 'kill', 'control', 'exportSession', 'replay',
];

// ---- pushes -----------------------------------------------------------------------------------------

export type ApiPush =
  /** replay: re-sent on request (replay()); a UI replaying a session drops unmarked batches
   *  of it until the replay() reply, since the replay already holds them. */
  | { type: 'batch'; session: string; events: Uint8Array; strings: [number, string][]; replay?: boolean }
  | { type: 'output'; session: string; stream: 1 | 2; text: string }
  | { type: 'status'; status: SessionStatus }
  | { type: 'problem'; session: string; message: string }
  | { type: 'end'; session: string };

// ---- what the UI calls ------------------------------------------------------------------------------

type Promised<T> = { [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<R> : never };

/** window.coroscope in Electron; the WebSocket client in serve mode. */
export interface CoroscopeApi extends Promised<ApiRequests> {
  /** Pushes; returns the unsubscribe function. */
  onPush(listener: (p: ApiPush) => void): () => void;
  /** 'electron' or 'serve': what the UI runs in (e.g. how exports are delivered). */
  readonly transport: 'electron' | 'serve';
}

// ---- channel names (Electron IPC) -------------------------------------------------------------------

export const IPC_REQUEST = 'coroscope:request';
export const IPC_PUSH = 'coroscope:push';

/** The envelope of one request on either transport. */
export interface RequestEnvelope<K extends RequestName = RequestName> {
  id: number;
  name: K;
  args: RequestArgs<K>;
}
export type ReplyEnvelope = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: ApiError };
