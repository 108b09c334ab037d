// The in-flight table (src/server/inflight.ts) against a Map: ids in sequence, requests ending
// mostly in order, some long ones that outlive a thousand newer ids (moved aside), ids past 2^32.

import { describe, expect, it } from 'vitest';

import { InFlightTable } from '../src/server/inflight.js';

interface Entry {
  id: number;
}

/** A fixed pseudo-random sequence, so a failure repeats. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

function check(t: InFlightTable<Entry>, m: Map<number, Entry>): void {
  expect(t.size).toBe(m.size);
  for (const [k, v] of m) {
    expect(t.get(k)).toBe(v);
    expect(t.has(k)).toBe(true);
  }
  expect(t.entries().map(([k, v]) => [k, v.id])).toEqual([...m.keys()].sort((a, b) => a - b).map((k) => [k, k]));
}

describe('InFlightTable', () => {
  for (const start of [0, 2 ** 32 - 700, 2 ** 40]) {
    it(`matches a Map over 20k requests, some outliving thousands of newer ones (ids from ${start})`, () => {
      const rnd = lcg(7);
      const t = new InFlightTable<Entry>();
      const m = new Map<number, Entry>();
      let id = start;
      for (let step = 0; step < 40_000; step++) {
        if (rnd() < 0.5 || m.size === 0) {
          id += rnd() < 0.01 ? 1500 : 1;
          const v = { id };
          t.set(id, v);
          m.set(id, v);
        } else {
          // Mostly the oldest ends first; now and then any, so some stay long.
          const keys = [...m.keys()];
          const k = rnd() < 0.9 ? keys[0]! : keys[Math.floor(rnd() * keys.length)]!;
          if (!t.delete(k) || t.delete(k) || t.get(k) !== undefined) throw new Error(`delete(${k}) went wrong`);
          m.delete(k);
        }
        if (step % 4000 === 0) check(t, m);
        if (t.get(id + 1) !== undefined || t.get(id - 1024) !== m.get(id - 1024)) throw new Error(`get() near ${id} went wrong`);
      }
      check(t, m);
    });
  }

  it('keeps a long request while 100k newer ones come and go, and grows past 1024 in flight', () => {
    const t = new InFlightTable<Entry>();
    const long = { id: 5 };
    t.set(long.id, long);
    for (let i = 6; i < 100_006; i++) {
      const v = { id: i };
      t.set(i, v);
      if (t.get(i) !== v || !t.delete(i)) throw new Error(`request ${i} went wrong`);
    }
    expect(t.get(5)).toBe(long);
    const many = Array.from({ length: 5000 }, (_, i) => ({ id: 200_000 + i }));
    for (const v of many) t.set(v.id, v);
    expect(t.size).toBe(5001);
    for (const v of many) expect(t.get(v.id)).toBe(v);
    expect(t.entries()[0]![1]).toBe(long);
    expect(t.delete(5)).toBe(true);
    for (const v of many) expect(t.delete(v.id)).toBe(true);
    expect(t.size).toBe(0);
    expect(t.entries()).toEqual([]);
  });
});
