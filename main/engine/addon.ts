/**
 * The native addon (native/addon, built to native/build/coroscope.node),
 * typed. Loaded once, lazily, with a clear error when it was not built.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { addonPath } from './paths.js';

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
  status(): TraceFileStatus | null;
  seekTime(t: number): boolean;
  /**
   * Position read() at event n (events as read() gives them; 0: the first) through the chunks'
   * summaries (format 2: headers only), then skipping within the chunk; returns the event
   * reached (fewer than n when the readable data holds fewer). The next read() lists every
   * string defined up to there.
   */
  seekEvent(n: number): number;
  /** Every chunk's summary (format 2 stores them; format 1's are computed from the records). */
  summaries(): { chunks: TraceChunkSummary[]; problem: { code: string; message: string; offset: number } | null };
  close(): void;
}

/** One lane (thread) of a chunk: what a timeline's overview needs without the records. */
export interface TraceLaneSummary {
  tid: number;
  /** Worker index, 0xffff off the workers. */
  worker: number;
  records: number;
  firstTs: number;
  lastTs: number;
  /** Time a coroutine ran on the lane (since the lane's previous record, which may be in an earlier chunk). */
  busyNs: number;
  /** Coroutine running before the lane's first record of the chunk / after its last (0: none). */
  coStart: number;
  coEnd: number;
  idleAtStart: boolean;
  idleAtEnd: boolean;
  /** Record count per event kind (kind number as the key). */
  kinds: Record<string, number>;
}

export interface TraceChunkSummary {
  offset: number;
  size: number;
  firstTs: number;
  lastTs: number;
  records: number;
  lanes: TraceLaneSummary[];
}

export interface Addon {
  launch(opts: NativeLaunchOptions, onMessage: (m: LinkMessage) => void): NativeTarget;
  attach(opts: { pid: number; record?: string; batchEvents?: number; periodMs?: number; policy?: RecordingPolicy },
    onMessage: (m: LinkMessage) => void): NativeTarget;
  socketPath(pid: number): string;
  TraceFile: new (path: string) => NativeTraceFile;
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
