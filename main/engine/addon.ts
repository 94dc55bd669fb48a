/**
 * The native addon (native/addon, built to native/build/coroscope.node),
 * typed. Loaded once, lazily, with a clear error when it was not built.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { addonPath } from './paths.js';
import type { TraceChunkSummary } from '../../core/overview/summaries.js';

export type LinkMessage =
  | { type: 'events'; events: Uint8Array; strings: [number, string][] }
  | { type: 'output'; stream: 1 | 2; data: Uint8Array }
  | { type: 'line'; line: string }
  | { type: 'error'; message: string }
  | { type: 'exit'; code: number | null; signal: number | null }
  | { type: 'end' };

export interface LinkStats {
  events: number;
  dropped: number;
  /** Events handed over (or counted, when the target hands none to JS): STRING records left out. */
  delivered: number;
  bytesRecorded: number;
  batches: number;
  rings: number;
  recordingError: string | null;
}

export interface NativeTarget {
  readonly pid: number;
  send(line: string): void;
  kill(signal?: number): boolean;
  stop(): void;
  stats(): LinkStats;
}

export interface NativeLaunchOptions {
  file: string;
  argv: string[];
  env: string[];
  cwd?: string;
  preload: string;
  stdinNull?: boolean;
  record?: string;
  batchEvents?: number;
  periodMs?: number;
  policy?: RecordingPolicy;
  /** false: children and exec'd programs are not followed (default true: native/addon/link.h). */
  follow?: boolean;
  /** false: no 'events' messages; the link records and counts them (stats().delivered). */
  events?: boolean;
}

/**
 * What the target's threads do when their event ring is full (native/wire/ring.h "Policy"):
 * 'drop' — never wait, count every loss (DROP events); 'lossless' — wait for the inspector to
 * drain, at most 1 s each time (then drop and count, as in drop mode).
 */
export type RecordingPolicy = 'lossless' | 'drop';

export interface TraceFileInfo {
  version: string;
  eventsVersion: number;
  pid: number;
  monoNs: number;
  realNs: number;
  fileSize: number;
  complete: boolean;
  chunks: number;
  records: number;
}

export interface TraceFileStatus {
  code: string;
  message: string;
  offset: number;
  recordsLost: number;
  bytesLost: number;
}

export interface NativeTraceFile {
  info(): TraceFileInfo;
  /** With into: records decoded into it (at most what fits), events a view of its start. */
  read(max?: number, into?: Uint8Array): { events: Uint8Array; strings: [number, string][]; done: boolean };
  /**
   * read(max, into) decoded on a thread of libuv's pool while JS runs on; until the promise settles every
   * other method of this file throws, and into must not be touched.
   */
  readAsync(max: number, into: Uint8Array): Promise<{ events: Uint8Array; strings: [number, string][]; done: boolean }>;
  status(): TraceFileStatus | null;
  seekTime(t: number): boolean;
  /**
   * Position read() at event n (events as read() gives them; 0: the first) through the chunks'
   * summaries (format 2: headers only), then skipping within the chunk; returns the event
   * reached (fewer than n when the readable data holds fewer). The next read() lists every
   * string defined up to there.
   */
  seekEvent(n: number): number;
  /**
   * The summary of every chunk (at most max) from file offset `from` on (absent or 0: the first; else a `next`
   * an earlier walk gave, so a growing live file is walked once); format 2 stores them, format
   * 1's are computed from the records. next: the offset after the last chunk given.
   */
  summaries(
    from?: number,
    max?: number,
  ): {
    chunks: TraceChunkSummary[];
    problem: { code: string; message: string; offset: number } | null;
    next: number;
  };
  close(): void;
}

/** A chunk's summary and its lanes': the shapes are the core's (the overview is built from them). */
export type { TraceChunkSummary, TraceLaneSummary } from '../../core/overview/summaries.js';
/** One frame as the addon's symbolize gives it. */
export interface NativeFrame {
  function: string;
  file: string;
  line: number;
  column: number;
  inlined: boolean;
}

export interface Addon {
  launch(opts: NativeLaunchOptions, onMessage: (m: LinkMessage) => void): NativeTarget;
  attach(
    opts: { pid: number; record?: string; batchEvents?: number; periodMs?: number; policy?: RecordingPolicy },
    onMessage: (m: LinkMessage) => void,
  ): NativeTarget;
  socketPath(pid: number): string;
  /** The directories engines put their control sockets in, in the engine's order (native/wire/control_path.h). */
  controlDirs(): string[];
  TraceFile: new (path: string) => NativeTraceFile;
  /**
   * libdw (native/addon/symbolize.h): the frames of each file address of the object at path
   * (innermost first, an inlined function its own frame; [] unknown), or null when the object
   * cannot be opened or its build id is not buildId ('' or null: not checked).
   */
  symbolize(path: string, buildId: string | null, addrs: number[]): NativeFrame[][] | null;
  eventSize: number;
  eventsVersion: number;
}

let loaded: Addon | undefined;

export function addon(): Addon {
  if (loaded) return loaded;
  const path = addonPath();
  if (!existsSync(path)) throw new Error(`the native addon is not built (${path} is missing): run npm run build`);
  loaded = createRequire(import.meta.url)(path) as Addon;
  return loaded;
}
