/**
 * DOM views of the contract's shapes, shared by the MIME renderers and the side panel. Plain DOM built
 * with `el`/`svg` (text nodes only), colours from `--jp-*` variables in style/base.css.
 */
import { bars, funnel, lineGeometry } from './chart';
import { el, svg } from './dom';
import { formatCell, formatNumber, MISSING } from './format';
import { groundingElement } from './grounding';
import { shapeLeaderboard } from './leaderboard';
import { normalizeSearch } from './normalize';
import {
  ComparisonPayload,
  CurationPayload,
  HistoryPoint,
  Json,
  ReviewPayload,
  SearchPayload,
  TableColumn,
  TablePayload
} from './types';

const CELL_CLASS: Record<string, string> = {
  text: 'llmops-text',
  longtext: 'llmops-longtext',
  number: 'llmops-num',
  time: 'llmops-time',
  json: 'llmops-json'
};

/** The CSS class of a column type's cells (text left, numbers right; unknown types as text). */
export function cellClass(type: string): string {
  return CELL_CLASS[type] || 'llmops-text';
}

/** The root of an output view: `.llmops-mime.llmops-mime-<kind>`. */
export function root(kind: string, ...children: (Node | null)[]): HTMLElement {
  return el('div', { class: `llmops-mime llmops-mime-${kind}` }, ...children);
}

export function title(text: string): HTMLElement {
  return el('div', { class: 'llmops-title' }, text);
}

export function muted(text: string, cls = ''): HTMLElement {
  return el('div', { class: `llmops-muted ${cls}`.trim() }, text);
}

/** A typed table: `columns` [{name, type}] and rows of JSON values. */
export function tableElement(columns: TableColumn[], rows: Record<string, Json>[], cls = ''): HTMLTableElement {
  const head = el('tr', {}, ...columns.map(c => el('th', { class: cellClass(c.type), scope: 'col' }, c.name)));
  const body = el(
    'tbody',
    {},
    ...rows.map(r =>
      el('tr', {}, ...columns.map(c => el('td', { class: cellClass(c.type) }, formatCell(r[c.name], c.type))))
    )
  );
  return el('table', { class: `llmops-table ${cls}`.trim() }, el('thead', {}, head), body);
}

/** `application/vnd.llmops.table+json` */
export function renderTable(t: TablePayload): HTMLElement {
  const rows = Array.isArray(t.rows) ? t.rows : [];
  const cols = Array.isArray(t.columns) ? t.columns : [];
  const total = typeof t.total === 'number' ? t.total : rows.length;
  return root(
    'table',
    t.title ? title(t.title) : null,
    rows.length ? tableElement(cols, rows) : muted('(no rows)'),
    total > rows.length ? muted(`showing ${formatNumber(rows.length)} of ${formatNumber(total)} rows`) : null
  );
}

/** The hits of a search, rank · score · id, text with its line breaks. */
export function hitsElement(s: SearchPayload): HTMLElement {
  const hits = normalizeSearch(s).hits;
  if (!hits.length) {
    return muted('no hits', 'llmops-nohits');
  }
  return el(
    'ol',
    { class: 'llmops-hits' },
    ...hits.map(h =>
      el(
        'li',
        { class: 'llmops-hit', 'data-id': h.id },
        el(
          'div',
          { class: 'llmops-hit-head' },
          el('span', { class: 'llmops-hit-rank' }, `#${h.rank}`),
          el('span', { class: 'llmops-hit-score', title: 'score' }, formatNumber(h.score)),
          el('span', { class: 'llmops-hit-id' }, h.chunk ? `${h.id} · chunk ${h.chunk}` : h.id),
          h.metadata && Object.keys(h.metadata).length
            ? el('span', { class: 'llmops-hit-meta llmops-muted' }, formatCell(h.metadata, 'json'))
            : null
        ),
        el('div', { class: 'llmops-hit-text llmops-longtext' }, h.text ?? '')
      )
    )
  );
}

/** `application/vnd.llmops.search+json` */
export function renderSearch(payload: SearchPayload): HTMLElement {
  const s = normalizeSearch(payload);
  const bits = [`${s.index}`, `“${s.query}”`, `k=${s.k}`];
  if (s.where) {
    bits.push(`where ${s.where}`);
  }
  if (typeof s.elapsed_ms === 'number') {
    bits.push(`${formatNumber(s.elapsed_ms)} ms`);
  }
  if (s.method) {
    bits.push(s.method);
  }
  return root(
    'search',
    title(`search · ${bits.join(' · ')}`),
    s.error ? el('div', { class: 'llmops-error', role: 'alert' }, s.error) : null,
    s.note ? muted(s.note) : null,
    s.error && !s.hits.length ? null : hitsElement(s)
  );
}

function ciText(ci: [number | null, number | null] | null | undefined): string {
  if (!ci || ci[0] === null || ci[1] === null) {
    return '';
  }
  return ` [${formatNumber(ci[0])}, ${formatNumber(ci[1])}]`;
}

/** The leaderboard table, a bar chart of the primary metric, the warnings and the hint. */
export function leaderboardElement(c: ComparisonPayload, options: { compact?: boolean } = {}): HTMLElement {
  const lb = shapeLeaderboard(c);
  // compact (the side panel): the primary metric only
  const others = options.compact ? [] : lb.metrics.filter(m => m !== lb.metric);
  const head = el(
    'tr',
    {},
    el('th', { class: 'llmops-text', scope: 'col' }, 'variant'),
    el('th', { class: 'llmops-num', scope: 'col' }, `${lb.metric} (95% CI)`),
    ...others.map(m => el('th', { class: 'llmops-num', scope: 'col' }, m)),
    el('th', { class: 'llmops-num', scope: 'col' }, 'W/T/L vs base'),
    el('th', { class: 'llmops-num', scope: 'col' }, 'p')
  );
  const body = el(
    'tbody',
    {},
    ...lb.rows.map(r =>
      el(
        'tr',
        { class: `llmops-leader-row${r.best ? ' llmops-best' : ''}`, 'data-variant': r.variant },
        el(
          'td',
          { class: 'llmops-text' },
          r.variant,
          r.baseline ? el('span', { class: 'llmops-badge' }, 'baseline') : null,
          r.best ? el('span', { class: 'llmops-badge llmops-badge-best' }, 'best') : null
        ),
        el('td', { class: 'llmops-num' }, formatNumber(r.score) + ciText(r.ci)),
        ...others.map(m => el('td', { class: 'llmops-num' }, formatNumber(r.cells[m] ? r.cells[m]!.mean : null))),
        el('td', { class: 'llmops-num' }, r.wtl),
        el('td', { class: 'llmops-num' }, r.p === null ? '' : formatNumber(r.p))
      )
    )
  );
  const chart = barChartElement(
    lb.rows.map(r => ({ label: r.variant, value: r.score, highlight: r.best, muted: r.baseline })),
    `${lb.metric} by variant`
  );
  const warnings = (c.warnings || []).map(w => el('div', { class: 'llmops-warning', role: 'note' }, `⚠ ${w}`));
  const verdict = lb.tie
    ? muted(`tie on ${lb.metric}: no variant is best`, 'llmops-verdict')
    : lb.best
      ? muted(`best by ${lb.metric}: ${lb.best}`, 'llmops-verdict')
      : null;
  return el(
    'div',
    { class: 'llmops-leaderboard' },
    ...warnings,
    el('table', { class: 'llmops-table llmops-leaderboard-table' }, el('thead', {}, head), body),
    verdict,
    chart,
    c.hint ? muted(c.hint, 'llmops-hint') : null
  );
}

/** `application/vnd.llmops.comparison+json` */
export function renderComparison(c: ComparisonPayload): HTMLElement {
  const bits = ['comparison'];
  if (c.leaderboard) {
    bits.push(`${c.leaderboard.length} variants`);
  }
  if (typeof c.n_examples === 'number') {
    bits.push(`${formatNumber(c.n_examples)} examples${c.eval_set ? ` of ${c.eval_set}` : ''}`);
  }
  if (c.run_id) {
    bits.push(`run ${c.run_id}`);
  }
  const notes = (c.notes || []).map(n => muted(n, 'llmops-note'));
  return root(
    'comparison',
    title(bits.join(' · ')),
    leaderboardElement(c),
    ...notes,
    c.grounding && !c.view ? groundingElement(c.grounding) : null,
    c.view ? exampleElement(c.view) : null
  );
}

/** The comparison widget's example on screen: question, reference, each variant's answer (line breaks kept). */
export function exampleElement(view: NonNullable<ComparisonPayload['view']>): HTMLElement | null {
  const ex = view.example;
  if (!ex) {
    return null;
  }
  const answers = Array.isArray(ex.answers) ? ex.answers : [];
  return el(
    'div',
    { class: 'llmops-example' },
    el(
      'div',
      { class: 'llmops-title' },
      `example ${view.position + 1} of ${view.count}` + (view.order ? ` (${view.order})` : '') + (ex.example ? `: ${ex.example}` : '')
    ),
    ex.question !== undefined ? el('div', { class: 'llmops-example-q llmops-longtext' }, `Q: ${ex.question}`) : null,
    ex.reference !== undefined ? el('div', { class: 'llmops-example-ref llmops-longtext llmops-muted' }, `reference: ${ex.reference}`) : null,
    ...answers.map(a =>
      el(
        'div',
        { class: 'llmops-answer', 'data-variant': a.variant },
        el(
          'div',
          { class: 'llmops-answer-head' },
          a.variant,
          typeof a.score === 'number' ? el('span', { class: 'llmops-muted' }, ` · ${formatNumber(a.score)}`) : null
        ),
        el('div', { class: 'llmops-longtext' }, a.output === '' ? '(empty answer)' : a.output ?? '')
      )
    )
  );
}

/** Horizontal bars (div-based, so they follow the theme and scale with the page). */
export function barChartElement(
  items: { label: string; value: number | null; highlight?: boolean; muted?: boolean }[],
  caption: string
): HTMLElement {
  const geo = bars(items, 100);
  return el(
    'div',
    { class: 'llmops-bars', role: 'group', 'aria-label': caption },
    el('div', { class: 'llmops-muted llmops-bars-caption' }, caption),
    ...geo.map((b, i) =>
      el(
        'div',
        { class: 'llmops-bar-row' },
        el('span', { class: 'llmops-bar-label', title: b.label }, b.label),
        el(
          'span',
          { class: 'llmops-bar-track' },
          el('span', {
            class: `llmops-bar${items[i].highlight ? ' llmops-bar-best' : ''}${items[i].muted ? ' llmops-bar-muted' : ''}`,
            style: `width:${b.length}%`
          })
        ),
        el('span', { class: 'llmops-bar-value' }, b.value === null ? MISSING : formatNumber(b.value))
      )
    )
  );
}

/** `application/vnd.llmops.curation+json`: the funnel, one bar per step with its in → out counts. */
export function renderCuration(c: CurationPayload): HTMLElement {
  const steps = Array.isArray(c.steps) ? c.steps : [];
  const geo = funnel(steps);
  const rows = geo.map((f, i) => {
    const s = steps[i];
    const flagged = typeof s.flagged === 'number' && s.flagged ? ` · ${formatNumber(s.flagged)} flagged` : '';
    return el(
      'div',
      { class: 'llmops-funnel-row', 'data-step': f.step },
      el('span', { class: 'llmops-bar-label', title: f.step }, f.step),
      el(
        'span',
        { class: 'llmops-bar-track' },
        el('span', { class: 'llmops-bar', style: `width:${Math.round(f.fraction * 1000) / 10}%` })
      ),
      el(
        'span',
        { class: 'llmops-funnel-counts' },
        `${formatNumber(f.in)} → ${formatNumber(f.out)}` +
          (f.removed ? ` (−${formatNumber(f.removed)})` : '') +
          flagged
      )
    );
  });
  const removed = Array.isArray(c.removed_examples) ? c.removed_examples.length : 0;
  return root(
    'curation',
    title(`curation · ${c.source} → ${c.result}`),
    el('div', { class: 'llmops-funnel', role: 'group', 'aria-label': 'records kept after each step' }, ...rows),
    removed ? muted('every removed record with its reason: result.removed (a DataFrame)') : null
  );
}

const DECISIONS = ['accepted', 'rejected', 'edited', 'pending'] as const;

/** `application/vnd.llmops.review+json`: summary counts and the first items with their decisions. */
export function renderReview(r: ReviewPayload, maxItems = 20): HTMLElement {
  const s = r.summary || ({} as ReviewPayload['summary']);
  const extra: [string, number | undefined][] = [
    ['kept', s.kept],
    ['removed by curation', s.removed_by_curation],
    ['rejected by review', s.rejected_by_review],
    ['flagged', s.flagged]
  ];
  const chips = el(
    'div',
    { class: 'llmops-review-summary' },
    el('span', { class: 'llmops-chip' }, `${formatNumber(s.total)} total`),
    ...DECISIONS.map(d => el('span', { class: `llmops-chip llmops-decision-${d}` }, `${formatNumber(s[d])} ${d}`)),
    ...extra
      .filter(([, n]) => typeof n === 'number' && n > 0)
      .map(([label, n]) => el('span', { class: 'llmops-chip llmops-muted' }, `${formatNumber(n)} ${label}`))
  );
  const items = Array.isArray(r.items) ? r.items : [];
  const shown = items.slice(0, maxItems);
  const table = el(
    'table',
    { class: 'llmops-table llmops-review-items' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { class: 'llmops-text', scope: 'col' }, 'id'),
        el('th', { class: 'llmops-text', scope: 'col' }, 'decision'),
        el('th', { class: 'llmops-text', scope: 'col' }, 'text')
      )
    ),
    el(
      'tbody',
      {},
      ...shown.map(it =>
        el(
          'tr',
          { 'data-id': it.id },
          el('td', { class: 'llmops-text' }, it.id, it.status ? el('div', { class: 'llmops-muted' }, it.status) : null),
          el(
            'td',
            { class: `llmops-text llmops-decision-${it.decision || 'pending'}` },
            it.decision || 'pending'
          ),
          el('td', { class: 'llmops-longtext' }, (it.edited_text || it.text || '') + (it.truncated ? ' …' : ''))
        )
      )
    )
  );
  return root(
    'review',
    title(r.heading || `review · ${r.dataset}${r.committed ? ` → committed as ${r.committed}` : ''}`),
    r.status ? muted(r.status) : null,
    chips,
    shown.length ? table : muted('(no items)'),
    items.length > shown.length ? muted(`first ${shown.length} of ${formatNumber(items.length)} items`) : null,
    typeof r.pages === 'number' && typeof r.page === 'number'
      ? muted(
          `page ${r.page + 1} of ${r.pages}` +
            (typeof r.matching === 'number' ? ` · ${formatNumber(r.matching)} records` : '') +
            (r.filter ? ` · filter ${r.filter}` : '')
        )
      : null
  );
}

/** A stepped metric's history as a small SVG line chart with its value and step ranges. */
export function lineChartElement(metric: string, history: HistoryPoint[]): SVGElement {
  const g = lineGeometry(history);
  const [pl, , pt] = [40, 8, 8];
  const children: SVGElement[] = [
    svg('title', {}, `${metric} by step`),
    svg('line', { class: 'llmops-axis', x1: pl, x2: pl, y1: pt, y2: g.height - 18 }),
    svg('line', { class: 'llmops-axis', x1: pl, x2: g.width - 8, y1: g.height - 18, y2: g.height - 18 })
  ];
  if (g.points.length) {
    children.push(
      svg('text', { class: 'llmops-axis-label', x: pl - 4, y: pt + 8, 'text-anchor': 'end' }, formatNumber(g.maxValue)),
      svg('text', { class: 'llmops-axis-label', x: pl - 4, y: g.height - 20, 'text-anchor': 'end' }, formatNumber(g.minValue)),
      svg('text', { class: 'llmops-axis-label', x: pl, y: g.height - 4 }, `step ${g.minStep}`),
      svg('text', { class: 'llmops-axis-label', x: g.width - 8, y: g.height - 4, 'text-anchor': 'end' }, `${g.maxStep}`),
      svg('path', { class: 'llmops-line', d: g.path, fill: 'none' }),
      ...g.points.map(p =>
        svg('circle', { class: 'llmops-dot', cx: p.x, cy: p.y, r: 2 }, svg('title', {}, `step ${p.step}: ${formatNumber(p.value)}`))
      )
    );
  }
  return svg(
    'svg',
    {
      class: 'llmops-linechart',
      'data-metric': metric,
      width: g.width,
      height: g.height,
      viewBox: `0 0 ${g.width} ${g.height}`,
      role: 'img',
      'aria-label': `${metric} by step`
    },
    ...children
  );
}
