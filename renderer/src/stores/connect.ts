/** Wires the transport to the stores: pushes in, the initial session list, replays on (re)connect. */
import { getApi, isWsApi } from '../api/index.js';
import { ingest, resetSessionData } from './data.js';
import { useSessions } from './sessions.js';

let started = false;

export function startConnection(): void {
  if (started) return;
  started = true;
  const api = getApi();
  api.onPush((p) => {
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
        api.replay(s.id).catch((e) => console.warn('coroscope: replay failed', e));
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
