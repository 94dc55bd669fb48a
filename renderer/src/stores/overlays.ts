/** What is laid over the views: the keyboard shortcuts (`?`) and the timeline's legend (`L`). */
import { create } from 'zustand';

interface OverlaysState {
  help: boolean;
  legend: boolean;
  setHelp(open: boolean): void;
  setLegend(open: boolean): void;
}

export const useOverlays = create<OverlaysState>((set) => ({
  help: false,
  legend: false,
  setHelp: (help) => set({ help }),
  setLegend: (legend) => set({ legend }),
}));
