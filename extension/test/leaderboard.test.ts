import { describe, expect, it } from 'vitest';
import { pickBest, shapeLeaderboard } from '../src/leaderboard';
import { ComparisonPayload } from '../src/types';

function cmp(scores: Record<string, number | null>, over: Partial<ComparisonPayload> = {}): ComparisonPayload {
  return {
    primary_metric: 'f1',
    metrics: ['f1', 'latency_s'],
    baseline: Object.keys(scores)[0],
    leaderboard: Object.entries(scores).map(([v, s]) => ({
      variant: v,
      f1: { mean: s, ci: [s === null ? null : s - 0.1, s === null ? null : s + 0.1] },
      latency_s: { mean: 1 }
    })) as ComparisonPayload['leaderboard'],
    paired: { b: { f1: { wins: 3, ties: 1, losses: 2, p_bootstrap: 0.04 } } },
    ...over
  };
}

describe('pickBest', () => {
  it('picks the single highest score', () => {
    expect(pickBest([{ variant: 'a', score: 0.1 }, { variant: 'b', score: 0.3 }])).toEqual({ best: 'b', tie: false });
  });
  it('a shared top score is a tie with no best', () => {
    expect(pickBest([{ variant: 'a', score: 0 }, { variant: 'b', score: 0 }])).toEqual({ best: null, tie: true });
    expect(pickBest([{ variant: 'a', score: 0.5 }, { variant: 'b', score: 0.5 }, { variant: 'c', score: 0.1 }])).toEqual({ best: null, tie: true });
  });
  it('no scores: no best, no tie', () => {
    expect(pickBest([{ variant: 'a', score: null }])).toEqual({ best: null, tie: false });
  });
});

describe('shapeLeaderboard', () => {
  it('orders rows by the primary metric, missing last', () => {
    const lb = shapeLeaderboard(cmp({ a: 0.2, b: 0.4, c: null, d: 0.3 }));
    expect(lb.rows.map(r => r.variant)).toEqual(['b', 'd', 'a', 'c']);
    expect(lb.best).toBe('b');
    expect(lb.rows[0]).toMatchObject({ best: true, wtl: '3/1/2', p: 0.04, ci: [0.30000000000000004, 0.5] });
    expect(lb.rows.find(r => r.variant === 'a')!.baseline).toBe(true);
  });
  it("never calls a tie best, even when the payload names one", () => {
    const lb = shapeLeaderboard(cmp({ a: 0, b: 0 }, { best: 'a' }));
    expect(lb.best).toBeNull();
    expect(lb.tie).toBe(true);
    expect(lb.rows.every(r => !r.best)).toBe(true);
  });
  it("follows the payload's best, null included", () => {
    expect(shapeLeaderboard(cmp({ a: 0.1, b: 0.2 }, { best: 'b' })).best).toBe('b');
    expect(shapeLeaderboard(cmp({ a: 0.1, b: 0.2 }, { best: null })).best).toBeNull();
  });
});
