/**
 * A trace file as the per-event history of a Derived kept without a store
 * (core/derive/derived.ts TransitionHistory): when a coroutine's totals must
 * be recounted, the file is read again from its start, one batch at a time,
 * through a reader of its own (the reader that fed the Derived may still be
 * open, or closed). Only the events the Derived saw are visited: reading
 * stops where the first pass stopped (`events`, the Derived's count), so a
 * file still being written, or read up to damage, gives the same numbering.
 */
import { rereadHistory, type TransitionHistory } from '../../core/derive/derived.js';
import { RawEvents } from '../../core/events/rawEvents.js';
import { EVENT_SIZE } from '../../core/events/schema.js';
import { TraceReader } from './traceReader.js';

/** count(): how many events the Derived has seen (read again up to there, no further). */
export function fileHistory(path: string, count: () => number): TransitionHistory {
  return rereadHistory(function* (): Generator<RawEvents> {
    const r = new TraceReader(path);
    try {
      let left = count();
      for (const b of r.batches(65536, { reuse: true })) {
        if (left <= 0) return;
        // A batch holds only events (no STRING records): cut the one that crosses the limit.
        if (b.raw.length > left) {
          yield new RawEvents(b.raw.bytes.subarray(0, left * EVENT_SIZE));
          return;
        }
        left -= b.raw.length;
        yield b.raw;
      }
    } finally {
      r.close();
    }
  });
}
