/** UI state: current view, timeline viewport, selection, filters. */
import { create } from 'zustand';

export type ViewName =
  'start' | 'timeline' | 'scheduler' | 'coroutines' | 'calls' | 'preemptions' | 'output' | 'insights' | 'compare';
export const VIEWS: { name: ViewName; title: string }[] = [
  { name: 'start', title: 'Start' },
  { name: 'timeline', title: 'Timeline' },
  { name: 'scheduler', title: 'Scheduler' },
  { name: 'coroutines', title: 'Coroutines' },
  { name: 'calls', title: 'Hooked calls' },
  { name: 'preemptions', title: 'Preemptions' },
  { name: 'output', title: 'Output' },
  { name: 'insights', title: 'Insights' },
  { name: 'compare', title: 'Compare' },
];

export interface CallFilter {
  call: string;
  fd: string;
  co: string;
  errorsOnly: boolean;
  slowerUs: string;
}

export interface Viewport {
  /** Left edge (ns, CLOCK_MONOTONIC) and width (ns). */
  t0: number;
  span: number;
}

interface UiState {
  view: ViewName;
  viewport: Viewport;
  followLive: boolean;
  /** While following live and the user has not zoomed: the view grows to show the whole (young) session. */
  autoSpan: boolean;
  selectedCo: number | null;
  /** Set by jumpTo: the timeline keeps this viewport instead of fitting the session when it opens. */
  viewportPinned: boolean;
  expanded: Record<number, true>;
  coFilter: string;
  coShowDone: boolean;
  coSort: { key: string; desc: boolean };
  callFilter: CallFilter;
  setView(v: ViewName): void;
  setViewport(v: Viewport, follow?: boolean): void;
  /** A zoom by the user: ends autoSpan. */
  zoomTo(v: Viewport, follow?: boolean): void;
  setFollowLive(f: boolean): void;
  select(co: number | null): void;
  /** Opens the timeline on a moment: the viewport, the coroutine selected, follow-live off. */
  jumpTo(v: Viewport, co: number | null): void;
  unpinViewport(): void;
  toggleExpanded(co: number): void;
  setCoFilter(f: string): void;
  setCoShowDone(b: boolean): void;
  setCoSort(key: string): void;
  setCallFilter(f: Partial<CallFilter>): void;
}

export const useUi = create<UiState>((set) => ({
  view: 'start',
  viewport: { t0: 0, span: 1e9 },
  followLive: true,
  autoSpan: true,
  selectedCo: null,
  viewportPinned: false,
  expanded: {},
  coFilter: '',
  coShowDone: true,
  coSort: { key: 'co', desc: false },
  callFilter: { call: '', fd: '', co: '', errorsOnly: false, slowerUs: '' },
  setView: (view) => set({ view }),
  setViewport: (viewport, follow) => set(follow === undefined ? { viewport } : { viewport, followLive: follow }),
  zoomTo: (viewport, follow) =>
    set(follow === undefined ? { viewport, autoSpan: false } : { viewport, autoSpan: false, followLive: follow }),
  setFollowLive: (followLive) => set({ followLive }),
  select: (selectedCo) => set({ selectedCo }),
  jumpTo: (viewport, selectedCo) =>
    set({ viewport, selectedCo, followLive: false, autoSpan: false, viewportPinned: true, view: 'timeline' }),
  unpinViewport: () => set({ viewportPinned: false }),
  toggleExpanded: (co) =>
    set((s) => {
      const expanded = { ...s.expanded };
      if (expanded[co]) delete expanded[co];
      else expanded[co] = true;
      return { expanded };
    }),
  setCoFilter: (coFilter) => set({ coFilter }),
  setCoShowDone: (coShowDone) => set({ coShowDone }),
  setCoSort: (key) =>
    set((s) => ({ coSort: { key, desc: s.coSort.key === key ? !s.coSort.desc : key !== 'co' && key !== 'name' } })),
  setCallFilter: (f) => set((s) => ({ callFilter: { ...s.callFilter, ...f } })),
}));
