/**
 * A Node Writable as the exporters' ByteSink (core/export/output.ts): write()
 * passes the stream's backpressure on, ready() waits for 'drain' (or fails
 * with the stream's error).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ByteSink } from '../../core/export/output.js';

export function writableSink(out: Writable): ByteSink {
  return {
    // The stream calls back once the chunk was written (or failed: the error is reported by ready()).
    write: (chunk, written) => (written ? out.write(chunk, () => written()) : out.write(chunk)),
    async ready() {
      if (out.errored) throw out.errored;
      if (out.writableNeedDrain) await once(out, 'drain');
      if (out.errored) throw out.errored;
    },
    get error() {
      return out.errored;
    },
  };
}
