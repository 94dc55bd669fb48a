/**
 * benchStoreIngest(n): ingest speed and memory of the event store, alone and
 * with the derived tables, on a synthetic mix (syntheticMix.ts) of about n
 * events in batches of 4096. Each figure is the median of 5 runs over the
 * same batches (generated once, not timed); bytes per event are the store's
 * bytesUsed() (and, for the pair, plus Derived.bytesUsed()) over the count.
 */
import { Derived } from '../derive/derived.js';
import { EventStore } from './eventStore.js';
import { syntheticMix } from './syntheticMix.js';

export interface IngestResult {
  events: number;
  store: { eventsPerSec: number; bytesPerEvent: number };
  storeAndDerived: { eventsPerSec: number; bytesPerEvent: number };
}

const RUNS = 5;

export function benchStoreIngest(n: number): IngestResult {
  const mix = syntheticMix({ events: n });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const storeRuns: number[] = [];
  const pairRuns: number[] = [];
  let storeBytes = 0;
  let derivedBytes = 0;
  for (let r = 0; r < RUNS; r++) {
    let store = new EventStore();
    let t = performance.now();
    for (const b of mix.batches) store.append(b);
    storeRuns.push(mix.count / ((performance.now() - t) / 1000));
    storeBytes = store.bytesUsed();

    store = new EventStore();
    const derived = new Derived(store, mix.strings);
    t = performance.now();
    for (const b of mix.batches) {
      store.append(b);
      derived.append(b);
    }
    pairRuns.push(mix.count / ((performance.now() - t) / 1000));
    derivedBytes = derived.bytesUsed();
  }
  return {
    events: mix.count,
    store: { eventsPerSec: median(storeRuns), bytesPerEvent: storeBytes / mix.count },
    storeAndDerived: { eventsPerSec: median(pairRuns), bytesPerEvent: (storeBytes + derivedBytes) / mix.count },
  };
}
