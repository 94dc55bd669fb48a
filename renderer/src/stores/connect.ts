/** Wires the transport to the stores: pushes in, the initial session list, replays on (re)connect. */
import { getApi, isWsApi } from '../api/index.js';
import { ingest, resetSessionData } from './data.js';
import { useSessions } from './sessions.js';

let started = false;

export function startConnection(): void {
  if (started) return;
  started = true;
  const api = getApi();
  // Sessions being replayed: their live batches are dropped until the replay
  // reply (the replay, sent in order before that reply, already holds them).
  const replaying = new Set<string>();
  api.onPush((p) => {
    if (p.type === 'batch' && !p.replay && replaying.has(p.session)) return;
    if (p.type === 'status') {
      const st = useSessions.getState();
      st.upsert(p.status);
      if (!st.activeId) st.setActive(p.status.id);
    } else ingest(p);
  });
  const load = async () => {
    try {
      const list = await api.sessions();
      useSessions.getState().setAll(list);
      // The host sends every batch again from the start: forget what we had first.
      for (const s of list) {
        resetSessionData(s.id);
        replaying.add(s.id);
        api.replay(s.id)
          .catch((e) => console.warn('coroscope: replay failed', e))
          .finally(() => replaying.delete(s.id));
      }
    } catch (e) {
      console.warn('coroscope: sessions() failed', e);
    }
  };
  if (isWsApi(api)) {
    api.onConnection((c, reconnected) => {
      useSessions.getState().setConnection(c);
      if (c === 'open' && reconnected) void load();
    });
  }
  void load();
}
