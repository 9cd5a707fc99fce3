/**
 * Tolerant readers and text of the monitor shapes (pure): a `Monitor` report, the `GET monitor` rows, `TraceRow`
 * and `Trace` (extension/CONTRACT.md). Missing keys get defaults, non-finite numbers become null, any non-string
 * text becomes a string, so the views never meet `undefined`.
 */
import { formatDuration, formatNumber, MISSING } from './format';
import {
  DriftEntry,
  DriftExample,
  Json,
  MonitoredModel,
  MonitorFigures,
  MonitorPayload,
  MonitorSide,
  TimelinePoint,
  TracePayload,
  TraceRow
} from './types';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A finite number, else null. */
export function num(v: unknown): number | null {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

/** Text of any value: null/undefined as `fallback`, other non-strings as JSON. */
export function text(v: unknown, fallback = ''): string {
  if (v === null || v === undefined) {
    return fallback;
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function textOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : text(v);
}

function side(v: unknown): MonitorSide {
  const s = obj(v);
  return {
    kind: text(s.kind),
    label: text(s.label, '?'),
    start: num(s.start),
    end: num(s.end),
    run: textOrNull(s.run),
    volume: num(s.volume),
    models: list(s.models).map(m => text(m)),
    sampled: num(s.sampled),
    without_text: num(s.without_text)
  };
}

function figures(v: unknown): MonitorFigures {
  const out: MonitorFigures = {};
  for (const [k, x] of Object.entries(obj(v))) {
    out[k] = num(x);
  }
  return out;
}

function example(v: unknown): DriftExample {
  const e = obj(v);
  return { index: num(e.index) ?? undefined, text: text(e.text), distance: num(e.distance), nearest: text(e.nearest) };
}

function drift(kind: string, v: unknown): DriftEntry {
  const d = obj(v);
  const status = text(d.status, 'not available');
  return {
    kind: text(d.kind, kind),
    status,
    method: textOrNull(d.method),
    statistic: num(d.statistic),
    p_value: num(d.p_value),
    alpha: num(d.alpha),
    flagged: d.flagged === true,
    verdict: text(d.verdict, status),
    n_current: num(d.n_current),
    n_reference: num(d.n_reference),
    reason: textOrNull(d.reason),
    null: list(d.null).map(b => {
      const o = obj(b);
      return { low: num(o.low), high: num(o.high), count: num(o.count) };
    }),
    examples: list(d.examples).map(example)
  };
}

/** A `Monitor` payload with every key present. */
export function normalizeMonitor(raw: unknown): MonitorPayload {
  const m = obj(raw);
  const status = text(m.status, 'ok');
  return {
    version: num(m.version) ?? 1,
    model: textOrNull(m.model),
    status,
    verdict: text(m.verdict, status),
    flagged: m.flagged === true,
    current_side: side(m.current_side),
    reference_side: side(m.reference_side),
    current: figures(m.current),
    reference: figures(m.reference),
    drift: Object.fromEntries(Object.entries(obj(m.drift)).map(([k, d]) => [k, drift(k, d)])),
    notes: list(m.notes).map(n => text(n)),
    timeline: list(m.timeline).map(p => {
      const o = obj(p);
      return { t: num(o.t), calls: num(o.calls), latency_p50: num(o.latency_p50) } as TimelinePoint;
    }),
    created_at: num(m.created_at),
    elapsed_s: num(m.elapsed_s)
  };
}

/** The rows of `GET monitor`. */
export function normalizeModels(raw: unknown): MonitoredModel[] {
  return list(obj(raw).models).map(r => {
    const o = obj(r);
    return {
      model: text(o.model),
      calls: num(o.calls),
      last_call: num(o.last_call),
      errors: num(o.errors),
      verdict: textOrNull(o.verdict),
      prompt_p: num(o.prompt_p),
      output_p: num(o.output_p),
      checked_at: num(o.checked_at)
    };
  });
}

function tags(v: unknown): Record<string, Json> {
  return obj(v) as Record<string, Json>;
}

function traceBase(o: Obj): Omit<TraceRow, 'context'> {
  return {
    id: typeof o.id === 'number' || typeof o.id === 'string' ? o.id : text(o.id),
    ts: num(o.ts),
    source: text(o.source),
    model: text(o.model),
    prompt: textOrNull(o.prompt),
    output: textOrNull(o.output),
    latency_s: num(o.latency_s),
    tokens_in: num(o.tokens_in),
    tokens_out: num(o.tokens_out),
    error: textOrNull(o.error),
    run_id: textOrNull(o.run_id),
    tags: tags(o.tags),
    text_mode: text(o.text_mode, 'full')
  };
}

/** The rows of `GET traces`. */
export function normalizeTraceRows(raw: unknown): TraceRow[] {
  return list(obj(raw).rows).map(r => {
    const o = obj(r);
    const context = Array.isArray(o.context)
      ? o.context.map(c => [text(list(c)[0]), num(list(c)[1])] as [string, number | null])
      : null;
    return { ...traceBase(o), context };
  });
}

/** `GET traces/<id>`. */
export function normalizeTrace(raw: unknown): TracePayload {
  const o = obj(raw);
  return {
    ...traceBase(o),
    as_repr: list(o.as_repr).map(x => text(x)),
    cached: o.cached === true,
    passages: list(o.passages).map(p => {
      const q = obj(p);
      return { id: typeof q.id === 'number' ? q.id : text(q.id), score: num(q.score), text: textOrNull(q.text) };
    }),
    note: text(o.note)
  };
}

// ---- text ----------------------------------------------------------------------------------------

/** A p-value to 2 significant digits (`0.002`, `0.41`); tiny ones in exponent form; missing as a dash. */
export function formatP(p: unknown): string {
  const v = num(p);
  if (v === null) {
    return MISSING;
  }
  return v !== 0 && v < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(2)));
}

/** A share 0..1 as a percentage (`5%`, `1.6%`). */
export function formatShare(v: unknown): string {
  const x = num(v);
  if (x === null) {
    return MISSING;
  }
  const pct = x * 100;
  return `${pct === 0 || pct >= 10 ? Math.round(pct) : Number(pct.toPrecision(2))}%`;
}

type FigureKind = 'count' | 'seconds' | 'share' | 'number';

/** The operational figures in display order (labels as in llmops_nb/monitor/figures.py). */
export const FIGURES: [string, string, FigureKind][] = [
  ['volume', 'calls', 'count'],
  ['latency_p50', 'latency p50', 'seconds'],
  ['latency_p95', 'latency p95', 'seconds'],
  ['error_rate', 'error rate', 'share'],
  ['empty_share', 'empty answers', 'share'],
  ['output_chars_p50', 'output chars p50', 'number'],
  ['output_chars_p95', 'output chars p95', 'number'],
  ['tokens_out_mean', 'tokens out (mean)', 'number'],
  ['with_context', 'calls with retrieved context', 'share'],
  ['groundedness', 'groundedness (sampled)', 'number']
];

function formatFigure(kind: FigureKind, v: number | null): string {
  if (v === null) {
    return MISSING;
  }
  return kind === 'seconds' ? formatDuration(v) : kind === 'share' ? formatShare(v) : formatNumber(v);
}

/** The operations table's rows: a figure with both sides as text; figures missing on both sides left out. */
export function figureRows(m: MonitorPayload): { key: string; figure: string; current: string; reference: string }[] {
  return FIGURES.filter(([k]) => num(m.current[k]) !== null || num(m.reference[k]) !== null).map(([k, label, kind]) => ({
    key: k,
    figure: label,
    current: formatFigure(kind, num(m.current[k])),
    reference: formatFigure(kind, num(m.reference[k]))
  }));
}

/** The report's title line, as the Python side writes it. */
export function monitorTitle(m: MonitorPayload): string {
  const volume = (s: MonitorSide) => (s.volume === null ? MISSING : formatNumber(s.volume));
  return (
    `monitor ${m.model || 'all models'}: ${m.current_side.label} (${volume(m.current_side)} calls) vs ` +
    `${m.reference_side.label} (${volume(m.reference_side)})`
  );
}

export type VerdictKind = 'drift' | 'no-drift' | 'insufficient' | 'no-data' | 'unchecked' | 'other';

/** The kind of a verdict (`GET monitor`'s `verdict`, or a report's status/verdict), for its CSS class. */
export function verdictKind(verdict: string | null | undefined, flagged = false): VerdictKind {
  if (verdict === null || verdict === undefined || verdict === '') {
    return 'unchecked';
  }
  const v = verdict.toLowerCase();
  if (flagged || v === 'drift' || v.startsWith('drift in')) {
    return 'drift';
  }
  if (v.startsWith('no drift')) {
    return 'no-drift';
  }
  if (v.startsWith('insufficient')) {
    return 'insufficient';
  }
  if (v === 'no data') {
    return 'no-data';
  }
  return 'other';
}

/** [`prompt p 0.002`, `output p 0.41`] for the models list (empty when never checked). */
export function pValues(r: MonitoredModel): string[] {
  const bits: string[] = [];
  if (r.prompt_p !== null) {
    bits.push(`prompt p ${formatP(r.prompt_p)}`);
  }
  if (r.output_p !== null) {
    bits.push(`output p ${formatP(r.output_p)}`);
  }
  return bits;
}

/** The drift entries, prompt then output then any other kind by name. */
export function orderedDrift(m: MonitorPayload): DriftEntry[] {
  const rank = (k: string) => (k === 'prompt' ? 0 : k === 'output' ? 1 : 2);
  return Object.values(m.drift).sort((a, b) => rank(a.kind) - rank(b.kind) || a.kind.localeCompare(b.kind));
}

/** A drift row's verdict, short (the p-value has its own column, an untested row's reason a line of its own):
 * `drift`, `no drift`, or the status. */
export function driftVerdictText(d: DriftEntry): string {
  if (d.status === 'ok') {
    return d.flagged ? 'drift' : 'no drift';
  }
  return d.status;
}

/** Why an untested drift row has no verdict: its reason, else its verdict when that says more than the status. */
export function driftReason(d: DriftEntry): string | null {
  if (d.status === 'ok') {
    return null;
  }
  return d.reason || (d.verdict !== d.status ? d.verdict : null);
}

/** One line of a long text for a list cell: whitespace folded, cut at `max` characters. */
export function oneLine(s: string | null, max = 120): string {
  if (s === null) {
    return '';
  }
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}
