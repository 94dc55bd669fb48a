/**
 * What the exporters share: their options, the batch loop, and writing to a
 * Node stream with backpressure.
 *
 * Invariant: an exporter holds at most one batch's worth of output (plus the
 * chunk being filled) before it waits for the stream to drain, so memory is
 * bounded by the batch size whatever the length of the trace.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { EventBatch } from '../model/timeline.js';

export interface ExportOptions {
  /** Called after each batch with the number of events consumed so far. */
  onProgress?: (eventsDone: number) => void;
  /** pid of the traced process when it is known before its PROCESS event (trace file header). */
  pid?: number;
}

export type Batches = AsyncIterable<EventBatch> | Iterable<EventBatch>;

/** Bytes (or text) waiting to be written; written out in chunks of about `chunkSize`. */
export class StreamWriter {
  private pending: Array<Uint8Array | string> = [];
  private pendingSize = 0;
  bytes = 0;

  constructor(private readonly out: Writable, private readonly chunkSize = 1 << 20) {}

  /** Queues data; hands full chunks to the stream without waiting. */
  put(data: Uint8Array | string): void {
    this.pending.push(data);
    this.pendingSize += data.length;
    if (this.pendingSize >= this.chunkSize) this.flush();
  }

  /** Writes what is queued, then waits until the stream can take more. */
  async drain(): Promise<void> {
    this.flush();
    if (this.out.writableNeedDrain) await once(this.out, 'drain');
    if (this.out.errored) throw this.out.errored;
  }

  private flush(): void {
    if (this.out.errored) throw this.out.errored;
    if (!this.pending.length) return;
    const parts: Buffer[] = [];
    let text: string[] = [];
    for (const p of this.pending) {
      if (typeof p === 'string') {
        text.push(p);
        continue;
      }
      if (text.length) parts.push(Buffer.from(text.join(''), 'utf8'));
      text = [];
      parts.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    }
    if (text.length) parts.push(Buffer.from(text.join(''), 'utf8'));
    const chunk = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    this.pending = [];
    this.pendingSize = 0;
    this.bytes += chunk.length;
    this.out.write(chunk);
  }
}

/** Feeds every batch to `push`, draining the writer and reporting progress after each; returns the event count. */
export async function eachBatch(batches: Batches, push: (b: EventBatch) => void, writer: StreamWriter,
  opts: ExportOptions): Promise<number> {
  let events = 0;
  for await (const b of batches) {
    push(b);
    events += b.raw.length;
    await writer.drain();
    opts.onProgress?.(events);
  }
  return events;
}
