/**
 * draw.ts paints the data worker's frame answer: an answer made for an older viewport (the next
 * one is on its way during a pan or zoom) lands where its times are in the viewport shown now.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TimelineFrame } from '../../worker/protocol.js';
import { draw } from './draw.js';
import { layout } from './geometry.js';

/** A 2D context that records the plot's filled rectangles in canvas coordinates (translate and scale only). */
function recorder() {
  let m = { a: 1, e: 0, d: 1, f: 0 };
  const stack: (typeof m)[] = [];
  const fills: { x: number; y: number; w: number; h: number; colour: string }[] = [];
  const ctx = {
    fillStyle: '',
    save: () => stack.push({ ...m }),
    restore: () => {
      m = stack.pop()!;
    },
    setTransform: (a: number, _b: number, _c: number, d: number, e: number, f: number) => {
      m = { a, e, d, f };
    },
    translate: (x: number, y: number) => {
      m = { ...m, e: m.e + m.a * x, f: m.f + m.d * y };
    },
    scale: (x: number, y: number) => {
      m = { ...m, a: m.a * x, d: m.d * y };
    },
    fillRect(x: number, y: number, w: number, h: number) {
      fills.push({ x: m.a * x + m.e, y: m.d * y + m.f, w: m.a * w, h: m.d * h, colour: String(this.fillStyle) });
    },
  };
  const proxy = new Proxy(ctx as Record<string, unknown>, {
    get: (t, k) => (k in t ? t[k as string] : () => undefined),
    set: (t, k, v) => {
      t[k as string] = v;
      return true;
    },
  });
  return { ctx: proxy as unknown as CanvasRenderingContext2D, fills };
}

function frame(t0: number, span: number, rects: number[]): TimelineFrame {
  return {
    t0,
    span,
    left: 150,
    width: 1150,
    colours: ['#abcdef'],
    rects: Float32Array.from(rects),
    rectColour: new Uint16Array(rects.length / 4),
    outlines: new Float32Array(0),
    markers: new Float32Array(0),
    markerColour: new Uint16Array(0),
    labels: [],
    labelXY: new Float32Array(0),
    labelColour: new Uint16Array(0),
    flows: new Float32Array(0),
    oldest: 0,
    newest: 10_000,
    droppedBefore: 0,
    events: 100,
    tracksVersion: 1,
    source: 'full',
  };
}

const lay = layout({ version: 1, threads: [{ id: 1, kind: 'thread', name: 'w0', worker: 0 }], coroutines: [] }, {});
const painted = (fills: ReturnType<typeof recorder>['fills']) => fills.filter((f) => f.colour === '#abcdef');

test('an answer for the viewport shown is painted where the worker put it', () => {
  const { ctx, fills } = recorder();
  // 1 ns per pixel: the rectangle covers t = 1050..1100.
  const done = draw(
    ctx,
    1150,
    300,
    frame(1000, 1000, [200, 2, 50, 19]),
    { t0: 1000, span: 1000, scrollY: 0, selectedCo: null },
    lay,
  );
  const [r] = painted(fills);
  assert.deepEqual([r.x, r.w], [200, 50]);
  assert.equal(r.y, 24 + 2); // below the axis
  assert.equal(done.rects, 1);
});

test('an older answer is moved by a pan and stretched by a zoom onto the viewport shown', () => {
  const panned = recorder();
  draw(
    panned.ctx,
    1150,
    300,
    frame(1000, 1000, [200, 2, 50, 19]),
    { t0: 1010, span: 1000, scrollY: 0, selectedCo: null },
    lay,
  );
  const [p] = painted(panned.fills);
  assert.deepEqual([p.x, p.w], [190, 50]); // t = 1050 is now 40 px from the plot's left edge
  const zoomed = recorder();
  draw(
    zoomed.ctx,
    1150,
    300,
    frame(1000, 1000, [200, 2, 50, 19]),
    { t0: 1000, span: 500, scrollY: 0, selectedCo: null },
    lay,
  );
  const [z] = painted(zoomed.fills);
  assert.deepEqual([z.x, z.w], [250, 100]); // twice the pixels per ns
  const scrolled = recorder();
  draw(
    scrolled.ctx,
    1150,
    300,
    frame(1000, 1000, [200, 2, 50, 19]),
    { t0: 1000, span: 1000, scrollY: 10, selectedCo: null },
    lay,
  );
  assert.equal(painted(scrolled.fills)[0].y, 24 + 2 - 10);
});

test('no answer yet, or a session without events: nothing of the plot is painted', () => {
  const { ctx, fills } = recorder();
  const done = draw(ctx, 1150, 300, null, { t0: 0, span: 1000, scrollY: 0, selectedCo: null }, lay);
  assert.equal(painted(fills).length, 0);
  assert.equal(done.rects, 0);
});

/** A 2D context that records each fill of a path: its colour and the rectangles and lines in it. */
function pathRecorder() {
  const fills: { colour: string; rects: number[][]; lines: number }[] = [];
  let rects: number[][] = [];
  let lines = 0;
  const ctx = {
    fillStyle: '',
    beginPath() {
      rects = [];
      lines = 0;
    },
    rect: (x: number, y: number, w: number, h: number) => rects.push([x, y, w, h]),
    lineTo: () => lines++,
    fill() {
      fills.push({ colour: String(this.fillStyle), rects, lines });
    },
  };
  return { ctx: ctx as unknown as CanvasRenderingContext2D, fills };
}

test('markers are one path per colour of whole-pixel rectangles, placed on the viewport shown', async () => {
  const { markerPaths } = await import('./draw.js');
  const { ctx, fills } = pathRecorder();
  const f = {
    colours: ['#ff5a5a', '#ffb86b'],
    // x y of each marker's tip top, in the answer's pixels.
    markers: Float32Array.from([200.4, 2, 300, 2, 250.6, 26]),
    markerColour: Uint16Array.from([0, 0, 1]),
  };
  markerPaths(ctx, f, (x) => x - 10, 24); // the answer panned 10 px left
  assert.deepEqual(
    fills.map((p) => [p.colour, p.rects.length, p.lines]),
    [
      ['#ff5a5a', 6, 0],
      ['#ffb86b', 3, 0],
    ],
  );
  for (const p of fills) for (const r of p.rects) assert.ok(r.every(Number.isInteger), `${r} is on whole pixels`);
  // The first marker's top row is centred on its x (190.4 -> 190), 9 px wide, at the plot's y.
  assert.deepEqual(fills[0].rects[0], [186, 26, 9, 2]);
  assert.deepEqual(fills[1].rects[0], [237, 50, 9, 2]);
});
