/** The Engine panel: whether it is open, and per session the newest settings the engine replied with. */
import { create } from 'zustand';
import { newer, type KnownSettings } from '../data/engineSettings.js';

interface EngineSettingsState {
  open: boolean;
  /** session id -> the newest hello / set reply */
  replied: Record<string, KnownSettings>;
  setOpen(open: boolean): void;
  learn(session: string, s: KnownSettings): void;
}

export const useEngineSettings = create<EngineSettingsState>((set) => ({
  open: false,
  replied: {},
  setOpen: (open) => set({ open }),
  learn: (session, s) => set((st) => ({ replied: { ...st.replied, [session]: newer(st.replied[session], s) } })),
}));
