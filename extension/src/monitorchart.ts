/** Geometry of the monitor's two pictures (pure): a drift statistic against its permutation null, and calls and
 * median latency over time. The SVG is drawn in monitorview.ts. */
import { ChartBox } from './chart';
import { TimelinePoint } from './types';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export const HIST_BOX: ChartBox = { width: 320, height: 110, padding: [8, 8, 8, 18] };
export const TIMELINE_BOX: ChartBox = { width: 320, height: 110, padding: [30, 30, 8, 18] };

export interface HistogramGeometry {
  width: number;
  height: number;
  bars: (Rect & { low: number; high: number; count: number })[];
  /** x of the observed statistic, null when it is missing */
  statX: number | null;
  lo: number;
  hi: number;
  maxCount: number;
}

/**
 * The null's bins as bars and the observed statistic as an x position, on one axis spanning both. Bins with a
 * missing edge or count are skipped; with no usable bin and no statistic, no bars and statX null.
 */
export function histogramGeometry(
  bins: { low: number | null; high: number | null; count: number | null }[],
  statistic: number | null,
  box: ChartBox = HIST_BOX
): HistogramGeometry {
  const [pl, pr, pt, pb] = box.padding;
  const w = box.width - pl - pr;
  const h = box.height - pt - pb;
  const ok = bins.filter(
    b => typeof b.low === 'number' && typeof b.high === 'number' && typeof b.count === 'number' && isFinite(b.low) && isFinite(b.high)
  ) as { low: number; high: number; count: number }[];
  const edges = ok.flatMap(b => [b.low, b.high]);
  if (statistic !== null && isFinite(statistic)) {
    edges.push(statistic);
  }
  const empty = { width: box.width, height: box.height, bars: [], statX: null, lo: 0, hi: 0, maxCount: 0 };
  if (!edges.length) {
    return empty;
  }
  const lo = Math.min(...edges);
  const hi = Math.max(...edges);
  const span = hi > lo ? hi - lo : 1;
  const xOf = (v: number) => (hi > lo ? pl + ((v - lo) / span) * w : pl + w / 2);
  const maxCount = Math.max(0, ...ok.map(b => b.count));
  const bars = ok.map(b => {
    const bh = maxCount > 0 ? (Math.max(0, b.count) / maxCount) * h : 0;
    const x0 = xOf(b.low);
    return { x: round(x0), y: round(pt + h - bh), w: round(Math.max(xOf(b.high) - x0 - 1, 1)), h: round(bh), ...b };
  });
  const statX = statistic !== null && isFinite(statistic) ? round(xOf(statistic)) : null;
  return { width: box.width, height: box.height, bars, statX, lo, hi, maxCount };
}

export interface TimelineGeometry {
  width: number;
  height: number;
  bars: (Rect & { t: number | null; calls: number })[];
  /** the median latency as an SVG path through the buckets that have one (`M x y L ...`), empty if none */
  path: string;
  dots: { x: number; y: number; latency: number }[];
  maxCalls: number;
  maxLatency: number;
  start: number | null;
  end: number | null;
}

/** One bar per time bucket (calls, missing as 0) and a line of the median latency (buckets without one skipped). */
export function timelineGeometry(points: TimelinePoint[], box: ChartBox = TIMELINE_BOX): TimelineGeometry {
  const [pl, pr, pt, pb] = box.padding;
  const w = box.width - pl - pr;
  const h = box.height - pt - pb;
  const n = points.length;
  const calls = points.map(p => (typeof p.calls === 'number' && isFinite(p.calls) ? Math.max(0, p.calls) : 0));
  const maxCalls = Math.max(0, ...calls);
  const lats = points.map(p => (typeof p.latency_p50 === 'number' && isFinite(p.latency_p50) ? p.latency_p50 : null));
  const maxLatency = Math.max(0, ...lats.map(v => (v === null ? 0 : v)));
  const bw = n ? w / n : 0;
  const bars = points.map((p, i) => {
    const bh = maxCalls > 0 ? (calls[i] / maxCalls) * h : 0;
    return { x: round(pl + i * bw), y: round(pt + h - bh), w: round(Math.max(bw - 1, 1)), h: round(bh), t: p.t, calls: calls[i] };
  });
  const dots: { x: number; y: number; latency: number }[] = [];
  lats.forEach((v, i) => {
    if (v !== null) {
      const y = maxLatency > 0 ? pt + h - (v / maxLatency) * h : pt + h / 2;
      dots.push({ x: round(pl + (i + 0.5) * bw), y: round(y), latency: v });
    }
  });
  const path = dots.map((d, i) => `${i ? 'L' : 'M'}${d.x} ${d.y}`).join(' ');
  const times = points.map(p => p.t).filter((t): t is number => typeof t === 'number' && isFinite(t));
  return {
    width: box.width,
    height: box.height,
    bars,
    path,
    dots,
    maxCalls,
    maxLatency,
    start: times.length ? Math.min(...times) : null,
    end: times.length ? Math.max(...times) : null
  };
}
