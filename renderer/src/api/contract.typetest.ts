/**
 * Type-level tests of the contract at the page end, checked by `npm run typecheck` (tsc -p
 * renderer): each `@ts-expect-error` line must be an error, or the build fails ("unused
 * directive"). Nothing here runs, and nothing imports it (it is in no bundle).
 */
import type { Demo, SessionStatus } from '../../../preload/api.js';
import { getApi } from './index.js';

export async function pageEnd(): Promise<void> {
  const api = getApi();

  // a wrong request name
  // prettier-ignore
  // @ts-expect-error the request is listDemos, there is no listDemo
  await api.listDemo();
  // prettier-ignore
  // @ts-expect-error control(id, cmd) is pause, resume, step, setEngine, snapshot and hello
  await api.control('s1', { op: 'pause' });

  // wrong arguments
  // prettier-ignore
  // @ts-expect-error attach takes a pid (a number)
  await api.attach('1234');
  // prettier-ignore
  // @ts-expect-error step takes the session and a count
  await api.step('s1');
  // prettier-ignore
  // @ts-expect-error setEngine: the engine has no run-time setting named workers
  await api.setEngine('s1', { key: 'workers', value: 3 });
  // prettier-ignore
  // @ts-expect-error kill: SIGSEGV is not a signal the host sends
  await api.kill('s1', 'SIGSEGV');

  // a result used as the wrong type
  // prettier-ignore
  // @ts-expect-error listDemos answers Demo[], not a SessionStatus
  const s: SessionStatus = await api.listDemos();
  const snap = await api.snapshot('s1');
  // prettier-ignore
  // @ts-expect-error a snapshot's coroutines have a name, no nam
  void snap.coroutines[0].nam;
  // prettier-ignore
  // @ts-expect-error pause answers {ok, paused}, not a snapshot
  void (await api.pause('s1')).coroutines;
  // prettier-ignore
  // @ts-expect-error closeSession answers nothing to read
  void (await api.closeSession('s1')).id;

  // pushes: payloads by name
  api.onPush((p) => {
    if (p.type === 'batch') {
      const events: Uint8Array = p.events;
      void events;
    }
    // prettier-ignore
    // @ts-expect-error an end push carries no text
    if (p.type === 'end') void p.text;
  });

  // and what is right compiles
  const names: string[] = (await api.listDemos()).map((d: Demo) => d.name);
  const slice: number | undefined = (await api.setEngine('s1', { key: 'slice', value: '10ms' })).config?.time_slice_ns;
  void [s, names, slice, snap.workers[0].running];
}
