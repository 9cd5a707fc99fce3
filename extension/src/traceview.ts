/**
 * One logged call in full (`GET traces/<id>`): prompt, retrieved passages with their scores and text, output,
 * timing, tokens, error and tags. Long texts keep their line breaks (pre-wrap); every string is a text node.
 */
import { el } from './dom';
import { formatDuration, formatJson, formatNumber, formatTime, MISSING } from './format';
import { normalizeTrace } from './monitordata';
import { TracePayload } from './types';

const MODE_NOTE: Record<string, string> = {
  redacted: "texts were logged redacted (log_text='redacted')",
  none: "texts were not logged (log_text='none')"
};

function block(name: string, cls: string, value: string | null, asRepr: boolean): HTMLElement {
  const missing = value === null ? '(not logged)' : value === '' ? '(empty)' : null;
  return el(
    'section',
    { class: 'llmops-section' },
    el('h3', { class: 'llmops-section-title' }, name),
    missing !== null
      ? el('div', { class: `llmops-muted ${cls}` }, missing)
      : el('div', { class: `llmops-longtext llmops-trace-text ${cls}` }, value),
    asRepr ? el('div', { class: 'llmops-muted' }, `the ${name.toLowerCase()} was not text: its repr() was logged`) : null
  );
}

function passagesElement(t: TracePayload): HTMLElement | null {
  if (!t.passages.length) {
    return t.note ? el('div', { class: 'llmops-muted llmops-trace-note' }, t.note) : null;
  }
  return el(
    'section',
    { class: 'llmops-section' },
    el('h3', { class: 'llmops-section-title' }, `Retrieved passages (${t.passages.length})`),
    el(
      'ol',
      { class: 'llmops-passages' },
      ...t.passages.map(p =>
        el(
          'li',
          { class: 'llmops-passage', 'data-id': String(p.id) },
          el(
            'div',
            { class: 'llmops-hit-head' },
            el('span', { class: 'llmops-hit-id' }, String(p.id)),
            el('span', { class: 'llmops-hit-score', title: 'score' }, formatNumber(p.score))
          ),
          p.text === null
            ? el('div', { class: 'llmops-muted llmops-passage-text' }, '(text not found)')
            : el('div', { class: 'llmops-longtext llmops-passage-text' }, p.text)
        )
      )
    ),
    t.note ? el('div', { class: 'llmops-muted llmops-trace-note' }, t.note) : null
  );
}

function factsTable(t: TracePayload): HTMLElement {
  const rows: [string, string][] = [
    ['time', formatTime(t.ts)],
    ['latency', formatDuration(t.latency_s)],
    ['tokens in → out', `${formatNumber(t.tokens_in)} → ${formatNumber(t.tokens_out)}`],
    ['source', t.source || MISSING],
    ['run', t.run_id || MISSING],
    ['text logged', t.text_mode],
    ['cached', t.cached ? 'yes' : 'no']
  ];
  for (const [k, v] of Object.entries(t.tags)) {
    rows.push([`tag ${k}`, formatJson(v, 500)]);
  }
  return el(
    'table',
    { class: 'llmops-table llmops-kv llmops-trace-facts' },
    el(
      'tbody',
      {},
      ...rows.map(([k, v]) => el('tr', { 'data-key': k }, el('td', { class: 'llmops-text' }, k), el('td', { class: 'llmops-wrap' }, v)))
    )
  );
}

/** The trace view of one call (tolerant of missing keys). */
export function traceElement(raw: unknown): HTMLElement {
  const t = normalizeTrace(raw);
  return el(
    'div',
    { class: 'llmops-trace', 'data-trace-id': String(t.id) },
    el('div', { class: 'llmops-title' }, `call ${t.id} · ${t.model || MISSING}`),
    el(
      'div',
      { class: 'llmops-muted llmops-trace-head' },
      [formatTime(t.ts), formatDuration(t.latency_s), `${formatNumber(t.tokens_in)} → ${formatNumber(t.tokens_out)} tokens`].join(' · ')
    ),
    t.error ? el('div', { class: 'llmops-error llmops-trace-error', role: 'alert' }, `error: ${t.error}`) : null,
    MODE_NOTE[t.text_mode] ? el('div', { class: 'llmops-muted' }, MODE_NOTE[t.text_mode]) : null,
    block('Prompt', 'llmops-trace-prompt', t.prompt, t.as_repr.includes('prompt')),
    passagesElement(t),
    block('Output', 'llmops-trace-output', t.output, t.as_repr.includes('output')),
    el('section', { class: 'llmops-section' }, el('h3', { class: 'llmops-section-title' }, 'Details'), factsTable(t))
  );
}
