/**
 * Reading a Coroscope trace file as batches of raw events (the exporters'
 * and the replay's input), through the addon's C reader. Streaming: one
 * batch in memory at a time (batchesAhead: two, the next one decoded on a
 * pool thread meanwhile; the file refuses other calls while it is). A corrupt or truncated file yields everything
 * before the damage, then `problem()` says what was lost and where; a file
 * its writer never closed yields its complete chunks, then
 * `notClosedCleanly()` says so.
 */
import { addon, type TraceChunkSummary, type TraceFileInfo, type TraceFileStatus } from '../engine/addon.js';
import { RawEvents } from '../../core/events/rawEvents.js';
import { EVENT_SIZE } from '../../core/events/schema.js';
import { StringTable } from '../../core/events/strings.js';
import type { EventBatch } from '../../core/model/timeline.js';

export class TraceReader {
  readonly strings = new StringTable();
  readonly info: TraceFileInfo;
  private readonly file;
  private status: TraceFileStatus | null = null;
  eventsRead = 0;

  /** Throws (message names the file and the reason) when the file is not a readable trace. */
  constructor(readonly path: string) {
    this.file = new (addon().TraceFile)(path);
    this.info = this.file.info();
  }

  /**
   * Batches until the end; the same StringTable object grows as they come.
   * reuse: every batch is decoded into the same buffer, so each one is valid
   * only until the next is asked for (for consumers that keep nothing of a
   * batch: stats, check, export; no allocation per batch).
   */
  *batches(size = 65536, o: { reuse?: boolean } = {}): Generator<EventBatch> {
    const into = o.reuse ? new Uint8Array(size * EVENT_SIZE) : undefined;
    for (;;) {
      const r = this.file.read(size, into);
      this.strings.add(r.strings);
      if (r.events.length) {
        const raw = new RawEvents(r.events);
        this.eventsRead += raw.length;
        yield { raw, strings: this.strings };
      }
      if (r.done) break;
    }
    this.status = this.file.status();
  }

  /**
   * Batches until the end, like batches(size, { reuse: true }), with the next batch decoded on a
   * pool thread while the consumer works on the current one (two buffers, used in turn): each
   * batch is valid only until the next is asked for. A consumer that stops early waits for the
   * read in flight when it leaves the loop (the file can be closed then).
   */
  async *batchesAhead(size = 65536): AsyncGenerator<EventBatch> {
    const bufs = [new Uint8Array(size * EVENT_SIZE), new Uint8Array(size * EVENT_SIZE)];
    let k = 0;
    let pending: ReturnType<typeof this.file.readAsync> | null = this.file.readAsync(size, bufs[k]);
    try {
      for (;;) {
        const r = await pending!;
        pending = null;
        this.strings.add(r.strings);
        // Into the other buffer: its batch was the one before this and its consumer asked for this one.
        if (!r.done) pending = this.file.readAsync(size, bufs[(k ^= 1)]);
        if (r.events.length) {
          const raw = new RawEvents(r.events);
          this.eventsRead += raw.length;
          yield { raw, strings: this.strings };
        }
        if (r.done) break;
      }
    } finally {
      if (pending) await pending.catch(() => undefined);
    }
    this.status = this.file.status();
  }

  /** After the batches ran out: null for a clean end, else what stopped reading. */
  problem(): TraceFileStatus | null {
    return this.status;
  }

  /**
   * After the batches ran out: when the file has no index (its writer never
   * closed it: killed, crashed, still recording) but nothing was damaged, the
   * one sentence every reader of it gives, saying what was kept; else null.
   */
  notClosedCleanly(): string | null {
    if (this.info.complete || this.status) return null;
    return (
      `${this.path} was not closed cleanly (the recorder stopped early): the ${this.eventsRead} events of its ` +
      'complete chunks were kept; whatever came after its last flushed chunk is lost'
    );
  }

  /**
   * The chunks' summaries (per lane: counts per kind, busy time, the coroutine
   * running at each chunk's start and end), for an overview of a long trace
   * without reading its events; problem says where a bad chunk ended the walk.
   */
  summaries(): { chunks: TraceChunkSummary[]; problem: { code: string; message: string; offset: number } | null } {
    return this.file.summaries();
  }

  close(): void {
    this.file.close();
  }
}
