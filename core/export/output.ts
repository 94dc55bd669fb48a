/**
 * What the exporters share: their options, the batch loop, and writing to a
 * byte sink with backpressure.
 *
 * Invariant: an exporter holds at most one batch's worth of output (plus the
 * chunk being filled) before it waits for the sink to be ready, so memory is
 * bounded by the batch size whatever the length of the trace. No Node API is
 * used: the host adapts a Node stream (main/export/nodeSink.ts), a page worker
 * can collect into a Blob.
 */
import type { EventBatch } from '../model/timeline.js';

export interface ExportOptions {
  /** Called after each batch with the number of events consumed so far. */
  onProgress?: (eventsDone: number) => void;
  /** pid of the traced process when it is known before its PROCESS event (trace file header). */
  pid?: number;
}

export type Batches = AsyncIterable<EventBatch> | Iterable<EventBatch>;

/** Where an exporter's bytes go. */
export interface ByteSink {
  /**
   * Takes a chunk; false when it wants the writer to await `ready()`. Without `written` the writer never
   * touches the chunk again; with it, the sink calls `written()` once it is done with the chunk (if it
   * ever is), and from then on the writer may reuse its memory.
   */
  write(chunk: Uint8Array, written?: () => void): boolean;
  /** Resolves once the sink can take more; rejects with the sink's error if it failed. */
  ready(): Promise<void>;
  /** The sink's error, if writing failed (checked before each write). */
  readonly error?: Error | null;
}

const utf8 = new TextEncoder();

/** Bytes (or text) waiting to be written; written out in chunks of about `chunkSize`. */
export class StreamWriter {
  private pending: Array<Uint8Array | string> = [];
  private pendingSize = 0;
  private wantsWait = false;
  bytes = 0;

  constructor(
    private readonly out: ByteSink,
    private readonly chunkSize = 1 << 20,
  ) {}

  /**
   * Hands `chunk` to the sink at once, after what is queued, and calls `release(chunk)` once the sink is
   * done with it (never, for a sink that does not say): the caller can then reuse its memory.
   */
  putOwned(chunk: Uint8Array, release: (chunk: Uint8Array) => void): void {
    this.flush();
    if (this.out.error) throw this.out.error;
    this.bytes += chunk.byteLength;
    if (!this.out.write(chunk, () => release(chunk))) this.wantsWait = true;
  }

  /** Queues data; hands full chunks to the sink without waiting. */
  put(data: Uint8Array | string): void {
    this.pending.push(data);
    this.pendingSize += data.length;
    if (this.pendingSize >= this.chunkSize) this.flush();
  }

  /** Writes what is queued, then waits until the sink can take more. */
  async drain(): Promise<void> {
    this.flush();
    if (this.wantsWait) {
      this.wantsWait = false;
      await this.out.ready();
    }
    if (this.out.error) throw this.out.error;
  }

  private flush(): void {
    if (this.out.error) throw this.out.error;
    if (!this.pending.length) return;
    const parts: Uint8Array[] = [];
    let text: string[] = [];
    let size = 0;
    const take = (b: Uint8Array): void => {
      parts.push(b);
      size += b.byteLength;
    };
    for (const p of this.pending) {
      if (typeof p === 'string') {
        text.push(p);
        continue;
      }
      if (text.length) take(utf8.encode(text.join('')));
      text = [];
      take(p);
    }
    if (text.length) take(utf8.encode(text.join('')));
    let chunk = parts[0];
    if (parts.length > 1) {
      chunk = new Uint8Array(size);
      let o = 0;
      for (const b of parts) {
        chunk.set(b, o);
        o += b.byteLength;
      }
    }
    this.pending = [];
    this.pendingSize = 0;
    this.bytes += chunk.byteLength;
    if (!this.out.write(chunk)) this.wantsWait = true;
  }
}

/** Feeds every batch to `push`, draining the writer and reporting progress after each; returns the event count. */
export async function eachBatch(
  batches: Batches,
  push: (b: EventBatch) => void,
  writer: StreamWriter,
  opts: ExportOptions,
): Promise<number> {
  let events = 0;
  for await (const b of batches) {
    push(b);
    events += b.raw.length;
    await writer.drain();
    opts.onProgress?.(events);
  }
  return events;
}
