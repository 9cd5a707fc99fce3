/**
 * The view of a `Monitor` report (`application/vnd.llmops.monitor+json`, and the panel's Monitor tab): title,
 * verdict, notes, operations current vs reference, the drift table, each drift statistic against its null
 * histogram, calls and latency over time, and the current items farthest from the reference. Text nodes only.
 */
import { el, svg } from './dom';
import { formatDuration, formatNumber, formatShortTime, formatTime } from './format';
import { histogramGeometry, timelineGeometry } from './monitorchart';
import { driftReason, driftVerdictText, figureRows, formatP, monitorTitle, normalizeMonitor, orderedDrift, verdictKind } from './monitordata';
import { DriftEntry, MonitorPayload, TimelinePoint } from './types';
import { muted, root, tableElement, title } from './views';

function th(label: string, cls: string): HTMLElement {
  return el('th', { class: cls, scope: 'col' }, label);
}

/** The verdict line; a flagged report in the warning style. */
export function verdictElement(m: MonitorPayload): HTMLElement {
  const kind = verdictKind(m.status === 'ok' ? m.verdict : m.status, m.flagged);
  return el(
    'div',
    {
      class: `llmops-monitor-verdict llmops-verdict-${kind}${m.flagged ? ' llmops-flagged' : ''}`,
      role: 'status',
      'data-verdict': kind
    },
    m.flagged ? el('span', { class: 'llmops-warn-icon', 'aria-hidden': 'true' }, '⚠ ') : null,
    'verdict: ',
    el('strong', {}, m.verdict)
  );
}

function operationsTable(m: MonitorPayload): HTMLElement {
  const rows = figureRows(m);
  return el(
    'table',
    { class: 'llmops-table llmops-monitor-figures' },
    el('thead', {}, el('tr', {}, th('figure', 'llmops-text'), th('current', 'llmops-num'), th('reference', 'llmops-num'))),
    el(
      'tbody',
      {},
      ...rows.map(r =>
        el(
          'tr',
          { 'data-figure': r.key },
          el('td', { class: 'llmops-text' }, r.figure),
          el('td', { class: 'llmops-num' }, r.current),
          el('td', { class: 'llmops-num' }, r.reference)
        )
      )
    )
  );
}

function driftTable(entries: DriftEntry[]): HTMLElement {
  return el(
    'table',
    { class: 'llmops-table llmops-monitor-drift' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        th('text', 'llmops-text'),
        th('verdict', 'llmops-text'),
        th('statistic', 'llmops-num'),
        th('p', 'llmops-num'),
        el('th', { class: 'llmops-num', scope: 'col', title: 'the threshold: drift when p ≤ α' }, 'α'),
        el('th', { class: 'llmops-num', scope: 'col', title: 'texts tested: current / reference' }, 'n')
      )
    ),
    el(
      'tbody',
      {},
      ...entries.map(d =>
        el(
          'tr',
          { class: `llmops-drift-row${d.flagged ? ' llmops-flagged' : ''}`, 'data-kind': d.kind, 'data-status': d.status },
          el('td', { class: 'llmops-text' }, d.kind),
          el(
            'td',
            { class: 'llmops-wrap', title: d.verdict },
            d.flagged ? el('span', { class: 'llmops-warn-icon', 'aria-hidden': 'true' }, '⚠ ') : null,
            driftVerdictText(d)
          ),
          el('td', { class: 'llmops-num' }, formatNumber(d.statistic)),
          el('td', { class: 'llmops-num' }, formatP(d.p_value)),
          el('td', { class: 'llmops-num' }, formatNumber(d.alpha)),
          el('td', { class: 'llmops-num' }, `${formatNumber(d.n_current)} / ${formatNumber(d.n_reference)}`)
        )
      )
    )
  );
}

/** A drift statistic (a rule) against the histogram of its permutation null, with its line of numbers. */
export function histogramElement(d: DriftEntry): HTMLElement {
  const g = histogramGeometry(d.null, d.statistic);
  const base = g.height - 18;
  const label = `${d.kind} drift: observed statistic against its permutation null`;
  const parts: SVGElement[] = [
    svg('title', {}, label),
    svg('line', { class: 'llmops-axis', x1: 8, x2: g.width - 8, y1: base, y2: base }),
    ...g.bars.map(b =>
      svg(
        'rect',
        { class: 'llmops-hist-bar', x: b.x, y: b.y, width: b.w, height: b.h },
        svg('title', {}, `${formatNumber(b.low)}–${formatNumber(b.high)}: ${b.count} re-splits`)
      )
    )
  ];
  if (g.bars.length || g.statX !== null) {
    parts.push(
      svg('text', { class: 'llmops-axis-label', x: 8, y: g.height - 4 }, formatNumber(g.lo)),
      svg('text', { class: 'llmops-axis-label', x: g.width - 8, y: g.height - 4, 'text-anchor': 'end' }, formatNumber(g.hi))
    );
  }
  if (g.statX !== null) {
    const right = g.statX > g.width / 2;
    parts.push(
      svg(
        'line',
        { class: `llmops-observed${d.flagged ? ' llmops-flagged' : ''}`, x1: g.statX, x2: g.statX, y1: 6, y2: base },
        svg('title', {}, `observed ${formatNumber(d.statistic)}`)
      ),
      svg('text', { class: 'llmops-axis-label', x: right ? g.statX - 4 : g.statX + 4, y: 14, 'text-anchor': right ? 'end' : 'start' }, 'observed')
    );
  }
  const total = d.null.reduce((a, b) => a + (b.count ?? 0), 0);
  const line =
    `observed ${formatNumber(d.statistic)} · null: ${formatNumber(total)} re-splits` +
    (g.bars.length ? ` from ${formatNumber(g.lo)} to ${formatNumber(g.hi)}` : '') +
    ` · p = ${formatP(d.p_value)}` +
    (d.alpha !== null ? ` (threshold ${formatNumber(d.alpha)})` : '');
  return el(
    'figure',
    { class: 'llmops-chart llmops-monitor-null', 'data-kind': d.kind },
    el('figcaption', { class: 'llmops-muted' }, `${d.kind} drift statistic vs its null`),
    svg(
      'svg',
      {
        class: 'llmops-histogram',
        'data-kind': d.kind,
        width: g.width,
        height: g.height,
        viewBox: `0 0 ${g.width} ${g.height}`,
        role: 'img',
        'aria-label': label
      },
      ...parts
    ),
    el('div', { class: 'llmops-observed-line llmops-muted' }, line)
  );
}

/** Calls per time bucket (bars) and their median latency (a line). */
export function timelineElement(points: TimelinePoint[]): HTMLElement {
  const g = timelineGeometry(points);
  const [pl, pr] = [30, 30];
  const base = g.height - 18;
  const label = 'calls and median latency over time';
  const parts: SVGElement[] = [
    svg('title', {}, label),
    svg('line', { class: 'llmops-axis', x1: pl, x2: g.width - pr, y1: base, y2: base }),
    ...g.bars.map(b =>
      svg(
        'rect',
        { class: 'llmops-timeline-bar', x: b.x, y: b.y, width: b.w, height: b.h },
        svg('title', {}, `${formatTime(b.t)}: ${b.calls} calls`)
      )
    ),
    svg('text', { class: 'llmops-axis-label', x: pl - 4, y: 16, 'text-anchor': 'end' }, formatNumber(g.maxCalls)),
    svg('text', { class: 'llmops-axis-label', x: pl, y: g.height - 4 }, formatShortTime(g.start)),
    svg('text', { class: 'llmops-axis-label', x: g.width - pr, y: g.height - 4, 'text-anchor': 'end' }, formatShortTime(g.end))
  ];
  if (g.path) {
    parts.push(
      svg('path', { class: 'llmops-latency-line', d: g.path, fill: 'none' }),
      ...g.dots.map(p =>
        svg('circle', { class: 'llmops-latency-dot', cx: p.x, cy: p.y, r: 2 }, svg('title', {}, `median latency ${formatDuration(p.latency)}`))
      ),
      svg('text', { class: 'llmops-axis-label', x: g.width - pr + 4, y: 16 }, formatDuration(g.maxLatency))
    );
  }
  return el(
    'figure',
    { class: 'llmops-chart llmops-monitor-timeline' },
    el('figcaption', { class: 'llmops-muted' }, label),
    svg(
      'svg',
      { class: 'llmops-timeline', width: g.width, height: g.height, viewBox: `0 0 ${g.width} ${g.height}`, role: 'img', 'aria-label': label },
      ...parts
    ),
    el(
      'div',
      { class: 'llmops-muted llmops-timeline-legend' },
      el('span', { class: 'llmops-key llmops-key-bar', 'aria-hidden': 'true' }),
      ` calls per bucket (max ${formatNumber(g.maxCalls)}) `,
      el('span', { class: 'llmops-key llmops-key-line', 'aria-hidden': 'true' }),
      g.path ? ` median latency (max ${formatDuration(g.maxLatency)})` : ' no latency'
    )
  );
}

function examplesElement(d: DriftEntry): HTMLElement {
  const kind = d.kind;
  const table = tableElement(
    [
      { name: 'distance', type: 'number' },
      { name: kind, type: 'longtext' },
      { name: 'nearest in reference', type: 'longtext' }
    ],
    d.examples.map(e => ({ distance: e.distance === null ? null : Math.round(e.distance * 1e4) / 1e4, [kind]: e.text, 'nearest in reference': e.nearest })),
    'llmops-monitor-examples'
  );
  table.setAttribute('data-kind', kind);
  return el('div', { class: 'llmops-section' }, el('div', { class: 'llmops-section-title' }, `current ${kind}s farthest from the reference`), table);
}

/** `application/vnd.llmops.monitor+json` (tolerant of missing keys and null numbers). */
export function renderMonitor(payload: unknown): HTMLElement {
  const m = normalizeMonitor(payload);
  const drift = orderedDrift(m);
  const head: (Node | null)[] = [
    title(monitorTitle(m)),
    verdictElement(m),
    ...m.notes.map(n => muted(n, 'llmops-monitor-note'))
  ];
  const foot = muted(
    [m.created_at !== null ? `checked ${formatTime(m.created_at)}` : '', m.elapsed_s !== null ? `took ${formatDuration(m.elapsed_s)}` : '']
      .filter(Boolean)
      .join(' · '),
    'llmops-monitor-foot'
  );
  if (m.status === 'no data') {
    const empty = root('monitor', ...head, foot);
    empty.setAttribute('data-status', m.status);
    return empty;
  }
  const charts = [
    m.timeline.length ? timelineElement(m.timeline) : null,
    ...drift.filter(d => d.status === 'ok').map(histogramElement)
  ].filter((c): c is HTMLElement => c !== null);
  const node = root(
    'monitor',
    ...head,
    el('div', { class: 'llmops-section-title' }, 'operations'),
    operationsTable(m),
    el('div', { class: 'llmops-section-title' }, 'drift'),
    drift.length ? driftTable(drift) : muted('no drift tests in this report'),
    ...drift
      .filter(d => driftReason(d) !== null)
      .map(d => el('div', { class: 'llmops-muted llmops-drift-reason', 'data-kind': d.kind }, `${d.kind}: ${driftReason(d)}`)),
    charts.length ? el('div', { class: 'llmops-monitor-charts' }, ...charts) : null,
    ...drift.filter(d => d.examples.length).map(examplesElement),
    foot
  );
  node.setAttribute('data-status', m.status);
  return node;
}
