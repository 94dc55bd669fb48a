/** Compare mode's own state: the two sessions and the one zoom/pan both timelines share. */
import { create } from 'zustand';

export interface RelViewport {
  /** Left edge relative to each session's first event (ns) and width (ns). */
  r0: number;
  span: number;
}

interface CompareState {
  /** Chosen sessions (null: the default, the two most recent). */
  a: string | null;
  b: string | null;
  /** null: fit the longer of the two runs. */
  viewport: RelViewport | null;
  /** What a run-twice run was launched with, by session id. */
  labels: Record<string, string>;
  setLabel(id: string, label: string): void;
  setA(id: string | null): void;
  setB(id: string | null): void;
  setPair(a: string, b: string): void;
  setViewport(v: RelViewport | null): void;
}

export const useCompare = create<CompareState>((set) => ({
  a: null,
  b: null,
  viewport: null,
  labels: {},
  setLabel: (id, label) => set((s) => ({ labels: { ...s.labels, [id]: label } })),
  setA: (a) => set({ a }),
  setB: (b) => set({ b }),
  setPair: (a, b) => set({ a, b, viewport: null }),
  setViewport: (viewport) => set({ viewport }),
}));
