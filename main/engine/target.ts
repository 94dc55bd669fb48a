/**
 * EngineTarget: one engine process we are connected to — launched by us or
 * attached to — with its event stream, its output, its end, and the control
 * channel as promises.
 *
 * The engine answers every command with exactly one JSON line, in order, so
 * replies are matched to commands first-in first-out. Lines are never
 * unsolicited (ring announcements are consumed by the addon).
 *
 * Events: 'events' (RawEvents, new strings), 'output' (stream, bytes),
 * 'exit' (code, signal), 'problem' (message: something went wrong but the
 * link goes on), 'end' (nothing follows; pending commands are rejected).
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { RawEvents } from '../../core/events/rawEvents.js';
import type { LinkMessage, LinkStats, NativeTarget } from './addon.js';
import type { HelloReply, PauseReply, SetReply, SnapshotReply, StepReply } from '../../core/engine/controlReplies.js';
import type { ExitInfo } from '../../core/session/status.js';

export type { EngineConfig } from '../../core/engine/engineConfig.js';
export type {
  HelloReply,
  PauseReply,
  SetReply,
  SnapshotCoroutine,
  SnapshotReply,
  StepReply,
} from '../../core/engine/controlReplies.js';
export type { ExitInfo };

export class ControlError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(`${command}: ${message}`);
    this.name = 'ControlError';
  }
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export interface EngineTargetEvents {
  events: [raw: RawEvents, strings: [number, string][]];
  output: [stream: 1 | 2, data: Uint8Array];
  exit: [info: ExitInfo];
  problem: [message: string];
  end: [];
}

export class EngineTarget extends EventEmitter<EngineTargetEvents> {
  readonly pid: number;
  exit: ExitInfo | undefined;
  ended = false;
  private readonly pending: Pending[] = [];

  /** native is created by launch()/attach(); expectReplies: commands the addon sent itself. */
  constructor(
    private readonly native: NativeTarget,
    readonly kind: 'launched' | 'attached',
    readonly recordPath: string | undefined,
    expectReplies: string[] = [],
  ) {
    super();
    this.pid = native.pid;
    for (const c of expectReplies) this.pending.push({ command: c, resolve: () => {}, reject: () => {} });
  }

  /** The addon's callback: wired by launch()/attach(). */
  handle(m: LinkMessage): void {
    switch (m.type) {
      case 'events':
        this.emit('events', new RawEvents(m.events), m.strings);
        break;
      case 'output':
        this.emit('output', m.stream, m.data);
        break;
      case 'line':
        this.reply(m.line);
        break;
      case 'error':
        this.emit('problem', m.message);
        break;
      case 'exit':
        this.exit = { code: m.code, signal: m.signal };
        this.emit('exit', this.exit);
        break;
      case 'end':
        this.ended = true;
        for (const p of this.pending.splice(0)) p.reject(new ControlError(p.command, 'the target is gone'));
        this.emit('end');
        break;
    }
  }

  private reply(line: string): void {
    const p = this.pending.shift();
    let v: { ok?: unknown; error?: unknown } | null;
    try {
      v = JSON.parse(line);
    } catch {
      p?.reject(new ControlError(p.command, `unreadable reply: ${line.slice(0, 200)}`));
      return;
    }
    if (!p) return;
    if (v && v.ok === true) p.resolve(v);
    else p.reject(new ControlError(p.command, String(v?.error ?? 'the engine refused')));
  }

  /** Any control-channel command; resolves with the engine's JSON reply. */
  control<T = Record<string, unknown>>(command: string): Promise<T> {
    if (this.ended) return Promise.reject(new ControlError(command, 'the target is gone'));
    return new Promise<T>((resolve, reject) => {
      try {
        this.native.send(command);
        // The reply is the engine's JSON: what T says it holds is the engine's protocol's word.
        this.pending.push({ command, resolve: (v) => resolve(v as T), reject });
      } catch (e) {
        reject(new ControlError(command, (e as Error).message));
      }
    });
  }

  hello(): Promise<HelloReply> {
    return this.control<HelloReply>('hello');
  }
  snapshot(): Promise<SnapshotReply> {
    return this.control<SnapshotReply>('snapshot');
  }
  pause(): Promise<PauseReply> {
    return this.control<PauseReply>('pause');
  }
  resume(): Promise<PauseReply> {
    return this.control<PauseReply>('resume');
  }
  step(n = 1): Promise<StepReply> {
    return this.control<StepReply>(`step ${Math.max(1, Math.floor(n))}`);
  }
  /** slice like "10ms"; preempt/hooks 0 or 1; delay (slow motion) like "250ms", "0ms" off. */
  set(key: 'slice' | 'preempt' | 'hooks' | 'delay', value: string | number | boolean): Promise<SetReply> {
    const v = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    return this.control<SetReply>(`set ${key}=${v}`);
  }

  /** Leave the target running unpaused and stop reading. */
  async detach(): Promise<void> {
    if (!this.ended && this.exit === undefined) {
      try {
        await this.control('detach');
      } catch {
        /* gone already: nothing to detach from */
      }
    }
    this.native.stop();
  }

  /** Signal a launched target (default SIGTERM). False if it had already ended. */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const n = typeof signal === 'number' ? signal : signalNumber(signal);
    return this.native.kill(n);
  }

  /** Stop reading now (final drain; the recording is closed). */
  stop(): void {
    this.native.stop();
  }

  stats(): LinkStats {
    return this.native.stats();
  }
}

function signalNumber(name: NodeJS.Signals): number {
  const n = (constants.signals as Record<string, number>)[name];
  if (!n) throw new Error(`unknown signal ${name}`);
  return n;
}
