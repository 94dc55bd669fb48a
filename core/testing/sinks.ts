/**
 * ByteSinks for tests of the exporters: one that keeps every chunk (small
 * traces) and one that only counts and answers "wait" now and then, so the
 * writer's backpressure path runs (large traces).
 */
import type { ByteSink } from '../export/output.js';

export class CollectSink implements ByteSink {
  private chunks: Uint8Array[] = [];
  write(chunk: Uint8Array): boolean {
    this.chunks.push(chunk.slice());
    return true;
  }
  async ready(): Promise<void> {}
  bytes(): Uint8Array {
    const all = new Uint8Array(this.chunks.reduce((n, c) => n + c.byteLength, 0));
    let o = 0;
    for (const c of this.chunks) {
      all.set(c, o);
      o += c.byteLength;
    }
    return all;
  }
  text(): string {
    return new TextDecoder().decode(this.bytes());
  }
}

export class CountSink implements ByteSink {
  n = 0;
  waits = 0;
  private writes = 0;
  write(chunk: Uint8Array): boolean {
    this.n += chunk.byteLength;
    return ++this.writes % 2 !== 0; // every other chunk asks the writer to wait
  }
  async ready(): Promise<void> {
    this.waits++;
    await new Promise<void>((r) => setTimeout(() => r(), 0));
  }
}

/**
 * Keeps a copy of every chunk like CollectSink, and hands each chunk back (`written`) a moment after
 * taking it, as a file stream does once the bytes are on their way: the writer may then reuse its memory.
 * `buffers` counts the distinct ArrayBuffers it was given.
 */
export class ReturningSink extends CollectSink {
  private readonly seen = new Set<ArrayBufferLike>();
  override write(chunk: Uint8Array, written?: () => void): boolean {
    super.write(chunk);
    this.seen.add(chunk.buffer);
    if (written) void Promise.resolve().then(written);
    return true;
  }
  get buffers(): number {
    return this.seen.size;
  }
}
