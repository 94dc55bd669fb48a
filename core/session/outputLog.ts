/**
 * The target's stdout and stderr as they arrived, interleaved in order,
 * bounded (the oldest text is dropped past `limit` bytes, and counted).
 */
export interface OutputChunk {
  stream: 1 | 2;
  text: string;
  at: number; // ms since the epoch, when received
}

const utf8 = new TextDecoder();

export class OutputLog {
  private chunks: OutputChunk[] = [];
  private bytes = 0;
  droppedBytes = 0;
  constructor(private readonly limit = 4 << 20) {}

  push(stream: 1 | 2, data: Uint8Array): OutputChunk {
    const c = { stream, text: utf8.decode(data), at: Date.now() };
    this.chunks.push(c);
    this.bytes += data.byteLength;
    while (this.bytes > this.limit && this.chunks.length > 1) {
      const old = this.chunks.shift()!;
      this.bytes -= old.text.length;
      this.droppedBytes += old.text.length;
    }
    return c;
  }

  all(): readonly OutputChunk[] {
    return this.chunks;
  }

  text(stream?: 1 | 2): string {
    return this.chunks
      .filter((c) => !stream || c.stream === stream)
      .map((c) => c.text)
      .join('');
  }
}
