import { describe, expect, it } from 'vitest';
import { MIME, staticView } from '../src/mime';
import { histogramGeometry, timelineGeometry } from '../src/monitorchart';
import { driftReason, figureRows, formatP, formatShare, normalizeMonitor, normalizeTrace, normalizeTraceRows, verdictKind } from '../src/monitordata';
import { renderMonitor } from '../src/monitorview';
import { traceElement } from '../src/traceview';

const XSS = '<img src=x onerror="window.__pwned=1">\n  second line';

function side(label: string, volume: number | null) {
  return { kind: 'window', label, start: 1, end: null, run: null, volume, models: ['m'], sampled: volume, without_text: 0 };
}

function figs(over: Record<string, number | null> = {}) {
  return { volume: 61, latency_p50: 0.0027, latency_p95: 0.0076, error_rate: 0.05, empty_share: 0, output_chars_p5: 45,
    output_chars_p50: 51, output_chars_p95: 54, output_chars_mean: 49.8, tokens_out_mean: 0, with_context: 0.016,
    groundedness: null, grounded_n: 0, ...over };
}

function drift(kind: string, flagged: boolean) {
  return {
    kind, status: 'ok', method: 'nn', statistic: 0.92, p_value: 0.001996, alpha: 0.01, flagged,
    verdict: flagged ? 'DRIFT (p = 0.002)' : 'no drift (p = 0.41)', n_current: 61, n_reference: 60, reason: null,
    null: [{ low: 0.2, high: 0.3, count: 100 }, { low: 0.3, high: 0.4, count: 400 }, { low: 0.4, high: 0.92, count: 0 }],
    examples: [{ index: 8, text: XSS, distance: 0.93614, nearest: '<script>alert(1)</script>' }]
  };
}

function report(over: Record<string, unknown> = {}) {
  return {
    version: 1, model: 'support-bot', status: 'ok', verdict: 'drift in prompt', flagged: true,
    current_side: side('2026-11-30 14:00:32 → now', 61), reference_side: side('the window of equal length before', 60),
    current: figs(), reference: figs({ error_rate: 0, volume: 60 }),
    drift: { prompt: drift('prompt', true), output: drift('output', false) },
    notes: ['a <b>note</b>'],
    timeline: [{ t: 100, calls: 2, latency_p50: 0.002 }, { t: 101, calls: 0, latency_p50: null }, { t: 102, calls: 4, latency_p50: 0.004 }],
    created_at: 1796047261.9, elapsed_s: 3.1, ...over
  };
}

describe('monitor data', () => {
  it('normalizes a payload with missing keys, NaN and non-string text', () => {
    const m = normalizeMonitor({ status: 'ok', drift: { prompt: { statistic: NaN, examples: [{ text: 5 }] } }, notes: [null, 'x'], timeline: 'no' });
    expect(m.model).toBeNull();
    expect(m.verdict).toBe('ok');
    expect(m.current_side.label).toBe('?');
    expect(m.drift.prompt.kind).toBe('prompt');
    expect(m.drift.prompt.statistic).toBeNull();
    expect(m.drift.prompt.status).toBe('not available');
    expect(m.drift.prompt.examples[0].text).toBe('5');
    expect(m.notes).toEqual(['', 'x']);
    expect(m.timeline).toEqual([]);
    expect(normalizeMonitor(null).drift).toEqual({});
  });
  it('formats p-values, shares and the operations rows; both-null figures are left out', () => {
    expect(formatP(0.001996)).toBe('0.002');
    expect(formatP(0.41)).toBe('0.41');
    expect(formatP(0.0002)).toBe('2.0e-4');
    expect(formatP(null)).toBe('–');
    expect(formatShare(0.05)).toBe('5%');
    expect(formatShare(0.0164)).toBe('1.6%');
    const rows = figureRows(normalizeMonitor(report()));
    expect(rows.map(r => r.key)).not.toContain('groundedness');
    expect(rows.find(r => r.key === 'latency_p50')).toMatchObject({ current: '3 ms', reference: '3 ms' });
    expect(rows.find(r => r.key === 'error_rate')).toMatchObject({ current: '5%', reference: '0%' });
  });
  it("says why an untested drift row has no verdict", () => {
    const m = normalizeMonitor({ drift: {
      output: { status: 'not available', verdict: 'not available: the reference has no outputs (prompts only)', reason: null },
      prompt: { status: 'ok', verdict: 'no drift (p = 0.4)', reason: null }
    } });
    expect(driftReason(m.drift.output)).toBe('not available: the reference has no outputs (prompts only)');
    expect(driftReason(m.drift.prompt)).toBeNull();
    expect(driftReason(normalizeMonitor({ drift: { x: { status: 'insufficient data' } } }).drift.x)).toBeNull();
  });
  it('names verdict kinds', () => {
    expect(verdictKind('drift')).toBe('drift');
    expect(verdictKind('drift in prompt and output')).toBe('drift');
    expect(verdictKind('no drift detected')).toBe('no-drift');
    expect(verdictKind('insufficient data')).toBe('insufficient');
    expect(verdictKind('no data')).toBe('no-data');
    expect(verdictKind(null)).toBe('unchecked');
  });
  it('reads trace rows and a trace', () => {
    const rows = normalizeTraceRows({ rows: [{ id: 3, prompt: null, context: [['a', 0.5], ['b']] }] });
    expect(rows[0]).toMatchObject({ id: 3, prompt: null, output: null, context: [['a', 0.5], ['b', null]], tags: {} });
    const t = normalizeTrace({ id: 7, passages: [{ id: 'p', score: 'x' }] });
    expect(t.passages).toEqual([{ id: 'p', score: null, text: null }]);
    expect(t.as_repr).toEqual([]);
    expect(normalizeTraceRows(undefined)).toEqual([]);
  });
});

describe('monitor charts', () => {
  it('puts the observed statistic on the axis of the null bins', () => {
    const g = histogramGeometry([{ low: 0, high: 1, count: 2 }, { low: 1, high: 2, count: 4 }, { low: null, high: 3, count: 1 }], 4);
    expect(g.bars.length).toBe(2);
    expect(g.lo).toBe(0);
    expect(g.hi).toBe(4);
    expect(g.statX).toBe(312);
    expect(g.bars[1].h).toBeGreaterThan(g.bars[0].h);
    expect(histogramGeometry([], null)).toMatchObject({ bars: [], statX: null });
    expect(histogramGeometry([], 0.5).statX).toBe(160);
  });
  it('draws a bar per bucket and skips missing latencies in the line', () => {
    const g = timelineGeometry([{ t: 1, calls: 2, latency_p50: 0.1 }, { t: 2, calls: null, latency_p50: null }, { t: 3, calls: 4, latency_p50: 0.2 }]);
    expect(g.bars.map(b => b.calls)).toEqual([2, 0, 4]);
    expect(g.dots.length).toBe(2);
    expect(g.path.startsWith('M')).toBe(true);
    expect(g.path.split('L').length).toBe(2);
    expect([g.start, g.end, g.maxCalls, g.maxLatency]).toEqual([1, 3, 4, 0.2]);
    expect(timelineGeometry([])).toMatchObject({ bars: [], path: '', start: null });
  });
});

describe('the monitor view', () => {
  it('shows title, flagged verdict, notes, tables, charts and examples, with markup as text', () => {
    const v = renderMonitor(report());
    document.body.appendChild(v);
    expect(v.classList.contains('llmops-mime-monitor')).toBe(true);
    expect(v.querySelector('.llmops-title')!.textContent).toBe(
      'monitor support-bot: 2026-11-30 14:00:32 → now (61 calls) vs the window of equal length before (60)'
    );
    const verdict = v.querySelector('.llmops-monitor-verdict')!;
    expect(verdict.classList.contains('llmops-flagged')).toBe(true);
    expect(verdict.textContent).toContain('verdict: drift in prompt');
    expect(v.querySelector('.llmops-monitor-note')!.textContent).toBe('a <b>note</b>');
    expect(v.querySelector('.llmops-monitor-figures tr[data-figure="volume"]')!.textContent).toBe('calls6160');
    expect(v.querySelector('tr.llmops-drift-row[data-kind="prompt"]')!.classList.contains('llmops-flagged')).toBe(true);
    expect(v.querySelector('tr.llmops-drift-row[data-kind="output"]')!.classList.contains('llmops-flagged')).toBe(false);
    expect(Array.from(v.querySelectorAll('tr.llmops-drift-row td.llmops-wrap')).map(td => td.textContent)).toEqual(['⚠ drift', 'no drift']);
    expect(v.querySelectorAll('svg.llmops-histogram').length).toBe(2);
    expect(v.querySelector('svg.llmops-histogram[data-kind="prompt"] line.llmops-observed.llmops-flagged')).not.toBeNull();
    expect(v.querySelector('.llmops-monitor-null[data-kind="prompt"] .llmops-observed-line')!.textContent).toBe(
      'observed 0.92 · null: 500 re-splits from 0.2 to 0.92 · p = 0.002 (threshold 0.01)'
    );
    expect(v.querySelectorAll('svg.llmops-timeline rect.llmops-timeline-bar').length).toBe(3);
    expect(v.querySelector('svg.llmops-timeline path.llmops-latency-line')).not.toBeNull();
    const ex = v.querySelector('table.llmops-monitor-examples[data-kind="prompt"]')!;
    expect(ex.querySelector('td.llmops-longtext')!.textContent).toBe(XSS);
    expect(ex.querySelector('td.llmops-num')!.textContent).toBe('0.9361');
    expect(v.querySelector('img, script, b')).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    v.remove();
  });
  it('orders the drift rows prompt, output, then others, whatever the payload order', () => {
    const v = renderMonitor(report({ drift: { zeta: drift('zeta', false), output: drift('output', false), prompt: drift('prompt', true) } }));
    expect(Array.from(v.querySelectorAll('tr.llmops-drift-row')).map(r => r.getAttribute('data-kind'))).toEqual(['prompt', 'output', 'zeta']);
  });
  it('"no data": title, verdict and notes only', () => {
    const v = renderMonitor(report({ status: 'no data', verdict: 'no data', flagged: false, drift: {}, timeline: [], notes: ['no calls of m were logged'] }));
    expect(v.getAttribute('data-status')).toBe('no data');
    expect(v.querySelector('.llmops-monitor-verdict')!.getAttribute('data-verdict')).toBe('no-data');
    expect(v.querySelector('table')).toBeNull();
    expect(v.textContent).toContain('no calls of m were logged');
  });
  it('"insufficient data": reasons in the drift table, no charts, null numbers as dashes', () => {
    const insufficient = (kind: string) => ({ kind, status: 'insufficient data', method: 'nn', statistic: null, p_value: null, alpha: 0.01,
      flagged: false, verdict: 'insufficient data: 10 current and 9 reference prompts with text', n_current: 10, n_reference: 9,
      reason: '10 current…', null: [], examples: [] });
    const v = renderMonitor(report({ status: 'insufficient data', verdict: 'insufficient data', flagged: false,
      drift: { prompt: insufficient('prompt'), output: insufficient('output') }, timeline: [],
      current: figs({ latency_p50: null, error_rate: null }), reference: { volume: null } }));
    expect(v.querySelector('.llmops-monitor-verdict')!.getAttribute('data-verdict')).toBe('insufficient');
    const row = v.querySelector('tr.llmops-drift-row[data-kind="prompt"]')!;
    expect(row.querySelector('td.llmops-wrap')!.textContent).toBe('insufficient data');
    expect(v.querySelector('.llmops-drift-reason[data-kind="prompt"]')!.textContent).toBe('prompt: 10 current…');
    expect(row.querySelectorAll('td.llmops-num')[1].textContent).toBe('–');
    expect(v.querySelector('svg')).toBeNull();
    expect(v.querySelector('.llmops-monitor-figures tr[data-figure="latency_p50"]')).toBeNull();
    expect(v.querySelector('.llmops-monitor-figures tr[data-figure="volume"]')!.textContent).toBe('calls61–');
  });
  it('the MIME renderer draws it; an empty payload is an error line', () => {
    expect(staticView(MIME.monitor, report()).classList.contains('llmops-mime-monitor')).toBe(true);
    expect(staticView(MIME.monitor, {}).querySelector('.llmops-title')!.textContent).toBe('monitor all models: ? (– calls) vs ? (–)');
    expect(staticView(MIME.monitor, null).classList.contains('llmops-error')).toBe(true);
  });
});

describe('the trace view', () => {
  it('shows prompt, passages, output, error and tags as text with line breaks', () => {
    const t = traceElement({
      id: 121, ts: 1796047232.8, source: 'trace', model: 'bot', prompt: XSS, output: '<b>out</b>', latency_s: 0.25,
      tokens_in: 12, tokens_out: 40, error: 'ValueError: <img src=x>', run_id: null, tags: { index: '<i>docs</i>' },
      text_mode: 'full', as_repr: ['output'], cached: false, note: 'a note',
      passages: [{ id: 'rec-1', score: 0.91234, text: XSS }, { id: 'gone', score: null, text: null }]
    });
    expect(t.getAttribute('data-trace-id')).toBe('121');
    expect(t.querySelector('.llmops-trace-prompt')!.textContent).toBe(XSS);
    expect(t.querySelector('.llmops-trace-output')!.textContent).toBe('<b>out</b>');
    expect(t.querySelector('.llmops-trace-error')!.textContent).toBe('error: ValueError: <img src=x>');
    expect(t.querySelector('li.llmops-passage[data-id="rec-1"] .llmops-hit-score')!.textContent).toBe('0.9123');
    expect(t.querySelector('li.llmops-passage[data-id="gone"] .llmops-passage-text')!.textContent).toBe('(text not found)');
    expect(t.querySelector('.llmops-trace-facts tr[data-key="tag index"]')!.textContent).toContain('<i>docs</i>');
    expect(t.textContent).toContain('its repr() was logged');
    expect(t.querySelector('.llmops-trace-head')!.textContent).toContain('250 ms · 12 → 40 tokens');
    expect(t.querySelector('img, b, i')).toBeNull();
  });
  it('a call with no text logged and missing numbers', () => {
    const t = traceElement({ id: 5, prompt: null, output: '', text_mode: 'none' });
    expect(t.querySelector('.llmops-trace-prompt')!.textContent).toBe('(not logged)');
    expect(t.querySelector('.llmops-trace-output')!.textContent).toBe('(empty)');
    expect(t.textContent).toContain("texts were not logged (log_text='none')");
    expect(t.querySelector('.llmops-trace-head')!.textContent).toBe('– · – · – → – tokens');
  });
});
