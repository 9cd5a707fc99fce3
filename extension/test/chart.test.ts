import { describe, expect, it } from 'vitest';
import { bars, funnel, lineGeometry, LINE_BOX } from '../src/chart';

describe('lineGeometry', () => {
  it('scales steps left to right and values bottom to top', () => {
    const g = lineGeometry([
      [0, 1, null],
      [10, 3, null],
      [5, 2, null]
    ]);
    const [pl, pr, pt, pb] = LINE_BOX.padding;
    expect(g.points.map(p => p.step)).toEqual([0, 5, 10]);
    expect(g.points[0].x).toBe(pl);
    expect(g.points[2].x).toBe(LINE_BOX.width - pr);
    expect(g.points[0].y).toBe(LINE_BOX.height - pb); // lowest value at the bottom
    expect(g.points[2].y).toBe(pt); // highest at the top
    expect(g.points[1].y).toBeCloseTo((pt + LINE_BOX.height - pb) / 2, 0);
    expect(g.path.startsWith(`M${pl} `)).toBe(true);
    expect(g.path.split('L').length).toBe(3);
    expect([g.minValue, g.maxValue, g.minStep, g.maxStep]).toEqual([1, 3, 0, 10]);
  });
  it('skips missing values and handles one point or a flat series', () => {
    expect(lineGeometry([]).path).toBe('');
    expect(lineGeometry([[1, null, null]]).points).toEqual([]);
    const one = lineGeometry([[3, 0.5, null]]);
    expect(one.points.length).toBe(1);
    const [pl, pr, pt, pb] = LINE_BOX.padding;
    expect(one.points[0].x).toBe(Math.round((pl + (LINE_BOX.width - pl - pr) / 2) * 10) / 10);
    const flat = lineGeometry([
      [0, 2, null],
      [1, 2, null]
    ]);
    expect(flat.points[0].y).toBe(flat.points[1].y);
    expect(flat.points[0].y).toBe(Math.round((pt + (LINE_BOX.height - pt - pb) / 2) * 10) / 10);
  });
});

describe('bars', () => {
  it('scales to the largest value', () => {
    const b = bars(
      [
        { label: 'a', value: 0.5 },
        { label: 'b', value: 1 },
        { label: 'c', value: null },
        { label: 'd', value: -1 }
      ],
      100
    );
    expect(b.map(x => x.length)).toEqual([50, 100, 0, 0]);
    expect(b[2].value).toBeNull();
  });
  it('all zeros are empty bars, not NaN', () => {
    expect(bars([{ label: 'a', value: 0 }], 100)[0]).toMatchObject({ length: 0, fraction: 0 });
  });
});

describe('funnel', () => {
  it('gives each step its kept share of the source', () => {
    const f = funnel([
      { step: 'dedup', in: 200, out: 150 },
      { step: 'filter', in: 150, out: 100 },
      { step: 'sample', in: 100, out: null }
    ]);
    expect(f.map(s => s.fraction)).toEqual([0.75, 0.5, 0]);
    expect(f.map(s => s.inFraction)).toEqual([1, 0.75, 0.5]);
    expect(f.map(s => s.removed)).toEqual([50, 50, null]);
  });
  it('an empty source gives zero bars', () => {
    expect(funnel([{ step: 'load', in: 0, out: 0 }])[0].fraction).toBe(0);
    expect(funnel([])).toEqual([]);
  });
});
