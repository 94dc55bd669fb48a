/** Sessions: the host's list, the active one, the connection, and the calls that change them. */
import { create } from 'zustand';
import type { SessionStatus } from '../../../preload/api.js';

export type Connection = 'connecting' | 'open' | 'closed';

interface SessionsState {
  list: SessionStatus[];
  activeId: string | null;
  connection: Connection;
  upsert(s: SessionStatus): void;
  setAll(list: SessionStatus[]): void;
  remove(id: string): void;
  setActive(id: string | null): void;
  setConnection(c: Connection): void;
}

export const useSessions = create<SessionsState>((set) => ({
  list: [],
  activeId: null,
  connection: 'open',
  upsert: (s) =>
    set((st) => {
      const i = st.list.findIndex((x) => x.id === s.id);
      const list = i < 0 ? [...st.list, s] : st.list.map((x, k) => (k === i ? s : x));
      return { list };
    }),
  setAll: (list) => set((st) => ({ list, activeId: st.activeId ?? list[list.length - 1]?.id ?? null })),
  remove: (id) =>
    set((st) => ({ list: st.list.filter((x) => x.id !== id), activeId: st.activeId === id ? null : st.activeId })),
  setActive: (activeId) => set({ activeId }),
  setConnection: (connection) => set({ connection }),
}));

export const selectActiveId = (s: SessionsState) => s.activeId;
export const selectActive = (s: SessionsState) => s.list.find((x) => x.id === s.activeId) ?? null;
export const selectList = (s: SessionsState) => s.list;
