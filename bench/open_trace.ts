// Time from openTrace to the first batch (issue 13): the app's host opens a
// trace file (header, index, chunk headers: not the events) and a page
// subscribes from 0 and acks every batch. Prints per file: events, the
// openTrace reply, the first batch after subscribe, the whole stream, and
// the host's RSS at the end.
//
//   node --import tsx bench/open_trace.ts FILE...
import type { ApiPush } from '../preload/api.js';
import { AppHost } from '../main/app/host.js';

const host = new AppHost();
for (const file of process.argv.slice(2)) {
  let id = '';
  let seq = 0;
  let first = 0;
  let done: () => void = () => {};
  const ended = new Promise<void>((r) => (done = r));
  const page = (p: ApiPush): void => {
    if (p.type === 'batch' && p.session === id) {
      if (!first) first = performance.now();
      seq = p.seq + p.events.byteLength / 64;
      void host.handle({ id: 0, name: 'ack', args: [id, seq] }, { push: page });
    }
    if (p.type === 'end' && p.session === id) done();
  };
  const off = host.onPush(page);
  const t0 = performance.now();
  const st = (await host.request('openTrace', [file])) as { id: string; events: number };
  const tOpen = performance.now();
  id = st.id;
  await host.request('subscribe', [id, 0], { push: page });
  await ended;
  const tEnd = performance.now();
  console.log(
    JSON.stringify({
      file,
      events: st.events,
      openReplyMs: +(tOpen - t0).toFixed(1),
      firstBatchMs: +(first - t0).toFixed(1),
      wholeStreamMs: Math.round(tEnd - t0),
      eventsPerSecond: Math.round(seq / ((tEnd - t0) / 1000)),
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      streamed: seq,
    }),
  );
  off();
  await host.request('closeSession', [id]);
}
await host.close();
