/** The comparison leaderboard: rows in order, the best variant or a tie (pure functions). */
import { ComparisonPayload, MetricSummary } from './types';

export interface LeaderRow {
  variant: string;
  baseline: boolean;
  best: boolean;
  /** the primary metric's mean (null when missing) */
  score: number | null;
  ci: [number | null, number | null] | null;
  cells: Record<string, MetricSummary | null>;
  /** wins/ties/losses vs the baseline on the primary metric, '' for the baseline itself */
  wtl: string;
  p: number | null;
}

export interface Leaderboard {
  metric: string;
  metrics: string[];
  rows: LeaderRow[];
  best: string | null;
  tie: boolean;
}

const EPS = 1e-12;

function mean(x: unknown): number | null {
  if (x && typeof x === 'object' && 'mean' in (x as object)) {
    const m = (x as MetricSummary).mean;
    return typeof m === 'number' && isFinite(m) ? m : null;
  }
  return typeof x === 'number' && isFinite(x) ? x : null;
}

/**
 * The best variant by the primary metric, or null when the top score is shared (a tie) or there is no
 * score at all. Higher is better.
 */
export function pickBest(scores: { variant: string; score: number | null }[]): { best: string | null; tie: boolean } {
  const valid = scores.filter(s => s.score !== null) as { variant: string; score: number }[];
  if (!valid.length) {
    return { best: null, tie: false };
  }
  const top = Math.max(...valid.map(s => s.score));
  const atTop = valid.filter(s => Math.abs(s.score - top) <= EPS * Math.max(1, Math.abs(top)));
  if (atTop.length > 1) {
    return { best: null, tie: true };
  }
  return { best: atTop[0].variant, tie: false };
}

/**
 * Rows sorted by the primary metric (highest first, missing last). The best is Python's `best` when the
 * payload states it (null means a tie or no winner), otherwise computed here; a tie is never "best".
 */
export function shapeLeaderboard(cmp: ComparisonPayload): Leaderboard {
  const metric = cmp.primary_metric;
  const metrics = Array.isArray(cmp.metrics) ? cmp.metrics : [];
  const computed = pickBest(
    (cmp.leaderboard || []).map(r => ({ variant: String(r.variant), score: mean(r[metric]) }))
  );
  let best: string | null;
  let tie: boolean;
  if ('best' in cmp) {
    best = computed.tie ? null : cmp.best ?? null;
    tie = computed.tie;
  } else {
    best = computed.best;
    tie = computed.tie;
  }
  const rows: LeaderRow[] = (cmp.leaderboard || []).map(r => {
    const v = String(r.variant);
    const prim = r[metric] as MetricSummary | undefined;
    const paired = cmp.paired && cmp.paired[v] ? cmp.paired[v][metric] : undefined;
    const cells: Record<string, MetricSummary | null> = {};
    for (const m of metrics) {
      const c = r[m];
      cells[m] = c && typeof c === 'object' ? (c as MetricSummary) : null;
    }
    return {
      variant: v,
      baseline: v === cmp.baseline,
      best: best !== null && v === best,
      score: mean(prim),
      ci: prim && typeof prim === 'object' && Array.isArray(prim.ci) ? prim.ci : null,
      cells,
      wtl: paired ? `${paired.wins}/${paired.ties}/${paired.losses}` : '',
      p: paired && typeof paired.p_bootstrap === 'number' ? paired.p_bootstrap : null
    };
  });
  const order = rows.map((r, i) => ({ r, i }));
  order.sort((a, b) => {
    if (a.r.score === null || b.r.score === null) {
      return a.r.score === b.r.score ? a.i - b.i : a.r.score === null ? 1 : -1;
    }
    return b.r.score - a.r.score || a.i - b.i;
  });
  return { metric, metrics, rows: order.map(x => x.r), best, tie };
}
