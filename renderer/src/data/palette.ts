/**
 * The timeline's colours and what each means: one table that the frame producer paints with
 * (worker/timelineFrame.ts) and the legend explains (views/timeline/Legend.tsx), so the two can
 * never disagree.
 */
export const COLOURS = {
  idle: '#2a2e38',
  ready: '#c9a227',
  suspended: '#34496a',
  other: '#555',
  callThread: '#e0e0e0',
  callCo: '#8fb3e0',
  preempted: '#ff5a5a',
  deferred: '#ffb86b',
  drop: '#ff00ff',
  /** Worker-lane columns too dense to tell coroutines apart: idle blended with this by the time busy. */
  busy: '#c8ccd6',
} as const;

export interface LegendEntry {
  /** A colour, or 'coroutine' for the per-coroutine hues. */
  colour: string;
  shape: 'span' | 'call' | 'marker';
  label: string;
}

/** What the legend lists, in the order the eye meets it on the canvas. */
export const LEGEND: readonly LegendEntry[] = [
  {
    colour: 'coroutine',
    shape: 'span',
    label: 'running: each coroutine has its own hue, on its row and on the worker lane running it',
  },
  { colour: COLOURS.ready, shape: 'span', label: 'ready: in a run queue, waiting for a worker' },
  { colour: COLOURS.suspended, shape: 'span', label: 'suspended: parked in a call, a sleep, a join or a lock' },
  { colour: COLOURS.idle, shape: 'span', label: 'idle worker (no coroutine to run)' },
  {
    colour: COLOURS.busy,
    shape: 'span',
    label: 'busy worker, zoomed out past telling coroutines apart (brighter: busier)',
  },
  { colour: COLOURS.callCo, shape: 'call', label: 'a hooked call made in a coroutine' },
  { colour: COLOURS.callThread, shape: 'call', label: 'a hooked call made by a plain thread' },
  {
    colour: COLOURS.preempted,
    shape: 'marker',
    label: 'preempted: the time slice ran out and the coroutine was switched out',
  },
  {
    colour: COLOURS.deferred,
    shape: 'marker',
    label: 'preemption deferred: the signal came where switching is not safe',
  },
  { colour: COLOURS.drop, shape: 'marker', label: 'events lost here while recording (drops)' },
  { colour: COLOURS.other, shape: 'span', label: 'another state (named in the hover)' },
];
