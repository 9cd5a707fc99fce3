/** Geometry of the small charts (pure functions; the SVG itself is drawn in charts-dom.ts). */
import { HistoryPoint } from './types';

export interface LinePoint {
  x: number;
  y: number;
  step: number;
  value: number;
}

export interface LineGeometry {
  width: number;
  height: number;
  points: LinePoint[];
  /** an SVG path `M x y L x y ...`, empty with no points */
  path: string;
  minStep: number;
  maxStep: number;
  minValue: number;
  maxValue: number;
}

export interface ChartBox {
  width: number;
  height: number;
  /** padding left, right, top, bottom (room for labels) */
  padding: [number, number, number, number];
}

export const LINE_BOX: ChartBox = { width: 260, height: 90, padding: [40, 8, 8, 18] };

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * The points of a stepped metric's history scaled into the box: steps left to right, values bottom to
 * top. Missing or non-finite values are skipped; one point sits in the middle; a flat series on the
 * middle line.
 */
export function lineGeometry(history: HistoryPoint[], box: ChartBox = LINE_BOX): LineGeometry {
  const [pl, pr, pt, pb] = box.padding;
  const w = box.width - pl - pr;
  const h = box.height - pt - pb;
  const pts = history
    .filter(p => Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number' && isFinite(p[1]))
    .map(p => ({ step: p[0] as number, value: p[1] as number }))
    .sort((a, b) => a.step - b.step);
  if (!pts.length) {
    return { width: box.width, height: box.height, points: [], path: '', minStep: 0, maxStep: 0, minValue: 0, maxValue: 0 };
  }
  const minStep = Math.min(...pts.map(p => p.step));
  const maxStep = Math.max(...pts.map(p => p.step));
  const minValue = Math.min(...pts.map(p => p.value));
  const maxValue = Math.max(...pts.map(p => p.value));
  const sx = (s: number) => (maxStep === minStep ? pl + w / 2 : pl + ((s - minStep) / (maxStep - minStep)) * w);
  const sy = (v: number) => (maxValue === minValue ? pt + h / 2 : pt + h - ((v - minValue) / (maxValue - minValue)) * h);
  const points = pts.map(p => ({ x: round(sx(p.step)), y: round(sy(p.value)), step: p.step, value: p.value }));
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${p.x} ${p.y}`).join(' ');
  return { width: box.width, height: box.height, points, path, minStep, maxStep, minValue, maxValue };
}

export interface Bar {
  label: string;
  value: number | null;
  /** the bar's length in pixels (0 for a missing value) */
  length: number;
  /** value / max, 0..1 */
  fraction: number;
}

/** Horizontal bars scaled so the largest value fills `maxLength`; negatives and missing values are 0. */
export function bars(items: { label: string; value: number | null | undefined }[], maxLength: number): Bar[] {
  const vals = items.map(i => (typeof i.value === 'number' && isFinite(i.value) ? i.value : null));
  const top = Math.max(0, ...vals.map(v => (v === null ? 0 : v)));
  return items.map((it, i) => {
    const v = vals[i];
    const fraction = v === null || top <= 0 ? 0 : Math.max(0, v) / top;
    return { label: it.label, value: v, fraction, length: round(fraction * maxLength) };
  });
}

export interface FunnelBar {
  step: string;
  in: number | null;
  out: number | null;
  removed: number | null;
  /** out / the first step's in, 0..1 */
  fraction: number;
  /** in / the first step's in, 0..1 */
  inFraction: number;
}

/** The curation funnel: each step's kept share of the source (the first step's input). */
export function funnel(steps: { step: string; in: number | null; out: number | null }[]): FunnelBar[] {
  const first = steps.find(s => typeof s.in === 'number');
  const base = first && typeof first.in === 'number' && first.in > 0 ? first.in : 0;
  const frac = (v: number | null) => (base > 0 && typeof v === 'number' ? Math.min(1, Math.max(0, v / base)) : 0);
  return steps.map(s => ({
    step: s.step,
    in: typeof s.in === 'number' ? s.in : null,
    out: typeof s.out === 'number' ? s.out : null,
    removed: typeof s.in === 'number' && typeof s.out === 'number' ? s.in - s.out : null,
    fraction: frac(s.out),
    inFraction: frac(s.in)
  }));
}
