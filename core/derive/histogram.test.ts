import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogLinearHistogram } from './histogram.js';

/** The value of rank ceil(q × n) in sorted values. */
function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const distributions: Record<string, (r: () => number) => number> = {
  'uniform 0-1 ms': (r) => Math.floor(r() * 1e6),
  'log-normal around 50 µs': (r) => Math.round(Math.exp(Math.log(50_000) + 1.5 * (r() + r() + r() - 1.5))),
  'bimodal 2 µs / 10 ms': (r) => (r() < 0.9 ? 2_000 + Math.floor(r() * 500) : 10_000_000 + Math.floor(r() * 1e6)),
  'small values below 64': (r) => Math.floor(r() * 64),
  'huge values up to 2^60': (r) => Math.floor(r() * 2 ** 60),
};

describe('LogLinearHistogram', () => {
  for (const [name, draw] of Object.entries(distributions)) {
    it(`p50, p90, p99 and p99.9 are within 1 % of the exact value (${name})`, () => {
      const r = rng(name.length);
      const h = new LogLinearHistogram();
      const values: number[] = [];
      for (let k = 0; k < 50_000; k++) {
        const v = draw(r);
        values.push(v);
        h.add(v);
      }
      values.sort((a, b) => a - b);
      for (const q of [0.5, 0.9, 0.99, 0.999]) {
        const want = exact(values, q);
        const got = h.quantile(q);
        assert.ok(Math.abs(got - want) <= 0.01 * want + 0.5, `q${q}: ${got} vs exact ${want}`);
      }
      assert.equal(h.count, values.length);
      assert.equal(h.min, values[0]);
      assert.equal(h.max, values[values.length - 1]);
      assert.equal(h.quantile(1), values[values.length - 1]);
    });
  }

  it('is empty until a value is added', () => {
    const h = new LogLinearHistogram();
    assert.ok(Number.isNaN(h.quantile(0.5)));
    assert.ok(Number.isNaN(h.mean()));
  });

  it('gives a single value back exactly', () => {
    const h = new LogLinearHistogram();
    h.add(123_456_789);
    assert.equal(h.quantile(0.5), 123_456_789);
    assert.equal(h.quantile(0.99), 123_456_789);
  });

  it('merges to the same counts as adding everything to one', () => {
    const a = new LogLinearHistogram();
    const b = new LogLinearHistogram();
    const both = new LogLinearHistogram();
    for (let v = 1; v < 100_000; v += 7) {
      (v % 2 ? a : b).add(v);
      both.add(v);
    }
    a.merge(b);
    for (const q of [0.1, 0.5, 0.99]) assert.equal(a.quantile(q), both.quantile(q));
    assert.equal(a.sum, both.sum);
  });

  it('takes the largest u64 and negative garbage without breaking', () => {
    const h = new LogLinearHistogram();
    h.add(2 ** 64);
    h.add(-5);
    assert.equal(h.count, 2);
    assert.equal(h.quantile(0.5), 0);
    assert.ok(h.quantile(1) > 1.8e19);
  });
});

describe('LogLinearHistogram.log2Bins', () => {
  it('counts each value in its power-of-two range, trimmed to the non-empty span, gaps kept', () => {
    const h = new LogLinearHistogram();
    assert.deepEqual(h.log2Bins(), []);
    for (const v of [100, 127, 128, 255, 1000, 1023]) h.add(v);
    assert.deepEqual(h.log2Bins(), [
      { lo: 64, hi: 128, count: 2 },
      { lo: 128, hi: 256, count: 2 },
      { lo: 256, hi: 512, count: 0 },
      { lo: 512, hi: 1024, count: 2 },
    ]);
  });
  it('small values land in [0, 64); large ones (above 2^32) in their range; the counts add up', () => {
    const h = new LogLinearHistogram();
    const values = [0, 5, 63, 64, 2 ** 33 + 7, 2 ** 40];
    for (const v of values) h.add(v);
    const bins = h.log2Bins();
    assert.deepEqual(bins[0], { lo: 0, hi: 64, count: 3 });
    assert.deepEqual(bins[1], { lo: 64, hi: 128, count: 1 });
    assert.deepEqual(bins.at(-1), { lo: 2 ** 40, hi: 2 ** 41, count: 1 });
    assert.equal(bins.find((b) => b.lo === 2 ** 33)?.count, 1);
    assert.equal(
      bins.reduce((a, b) => a + b.count, 0),
      values.length,
    );
    for (const v of values)
      assert.ok(
        bins.some((b) => b.count > 0 && v >= b.lo && v < b.hi),
        String(v),
      );
  });
});
