/**
 * The grounding part of a comparison payload (Python's `Comparison.grounding().to_dict()`): hallucination per
 * variant with paired tests, and per RAG variant the gap split into retrieval misses and hits, citations and
 * abstentions; then the findings in words. Text nodes only; colours from the theme's CSS.
 */
import { el } from './dom';
import { formatNumber, MISSING } from './format';
import { GroundingPayload } from './types';

function num(x: unknown): number | null {
  return typeof x === 'number' && isFinite(x) ? x : null;
}

/** "+0.012" / "−0.034"; a dash when missing. */
export function signed(x: unknown): string {
  const v = num(x);
  if (v === null) {
    return MISSING;
  }
  return (v < 0 ? '−' : '+') + Math.abs(v).toFixed(3);
}

/** "0.001" or "< 0.001". */
export function pText(x: unknown): string {
  const v = num(x);
  return v === null ? MISSING : v < 0.001 ? '< 0.001' : v.toFixed(3);
}

function meanCi(m: { mean?: number | null; ci?: (number | null)[] } | undefined): string {
  const mean = num(m && m.mean);
  if (mean === null) {
    return MISSING;
  }
  const ci = m && Array.isArray(m.ci) ? m.ci : [];
  return num(ci[0]) === null ? mean.toFixed(3) : `${mean.toFixed(3)} [${num(ci[0])!.toFixed(3)}, ${num(ci[1])!.toFixed(3)}]`;
}

/** A table whose first column and the columns in `text` are text (left), the rest numbers (right). */
function table(cols: string[], rows: string[][], caption: string, cls: string, text: number[] = []): HTMLElement {
  const kind = (i: number) => (i === 0 || text.includes(i) ? 'llmops-text' : 'llmops-num');
  return el(
    'div',
    { class: cls },
    el('div', { class: 'llmops-muted llmops-bars-caption' }, caption),
    el(
      'table',
      { class: 'llmops-table' },
      el('thead', {}, el('tr', {}, ...cols.map((c, i) => el('th', { class: kind(i), scope: 'col' }, c)))),
      el('tbody', {}, ...rows.map(r => el('tr', {}, ...r.map((v, i) => el('td', { class: kind(i) }, v)))))
    )
  );
}

/** Rows of the hallucination table: one per test (the variant named on its first row only). */
export function hallucinationRows(g: GroundingPayload): string[][] {
  const rows: string[][] = [];
  for (const [variant, m] of Object.entries(g.hallucination || {})) {
    const tests = (g.tests || []).filter(t => t.variant === variant);
    if (!tests.length) {
      rows.push([variant, meanCi(m), '', '', '']);
    }
    tests.forEach((t, i) =>
      rows.push([i ? '' : variant, i ? '' : meanCi(m), `${t.against} (${t.role})`, signed(t.diff), t.n ? pText(t.p) : MISSING])
    );
  }
  return rows;
}

export function ragRows(g: GroundingPayload): string[][] {
  return (g.rag || []).map(r => [
    r.variant,
    r.n ? `${r.hits}/${r.n}` : MISSING,
    signed(r.gap),
    signed(r.from_misses),
    signed(r.from_hits),
    `${r.citing}/${r.answers}`,
    `${r.citing_gold}/${r.citing_on_hits}`,
    `${r.abstain_hits}/${r.hits} · ${r.abstain_misses}/${r.misses}`
  ]);
}

export function groundingElement(g: GroundingPayload): HTMLElement {
  const alpha = formatNumber(g.alpha ?? 0.05);
  const parts: (HTMLElement | null)[] = [
    table(
      ['variant', 'hallucination (95% CI)', 'vs', 'diff', 'p'],
      hallucinationRows(g),
      `hallucination: share of answer sentences the gold source does not support (lower is better); paired p, significant below ${alpha}`,
      'llmops-grounding-tests',
      [2]
    )
  ];
  if (g.rag && g.rag.length) {
    parts.push(
      table(
        ['variant', 'source retrieved', `${g.metric} gap vs twin`, 'from misses', 'from hits', 'cites [n]', 'cites gold', 'abstains hits · misses'],
        ragRows(g),
        'retrieval: twin = the same model without retrieval; the gap splits exactly into misses + hits',
        'llmops-grounding-rag'
      )
    );
  }
  const findings = (g.findings || []).map(f => el('li', {}, f));
  parts.push(findings.length ? el('ul', { class: 'llmops-findings' }, ...findings) : null);
  parts.push(...(g.notes || []).map(n => el('div', { class: 'llmops-muted llmops-note' }, n)));
  return el('div', { class: 'llmops-grounding' }, ...parts);
}
