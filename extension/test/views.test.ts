import { describe, expect, it } from 'vitest';
import { staticView, MIME } from '../src/mime';
import { lineChartElement, renderComparison, renderCuration, renderReview, renderSearch, renderTable } from '../src/views';

const XSS = '<img src=x onerror="window.__pwned=1">\n  second line';

describe('text stays text', () => {
  it('a table cell with markup shows it as text, with its line breaks', () => {
    const node = renderTable({
      version: 1,
      title: 'data <b>list</b>',
      columns: [
        { name: 'id', type: 'text' },
        { name: 'text', type: 'longtext' },
        { name: 'n', type: 'number' }
      ],
      rows: [{ id: 'r1', text: XSS, n: 1024 }],
      total: 3
    });
    document.body.appendChild(node);
    expect(node.querySelector('img')).toBeNull();
    expect(node.querySelector('b')).toBeNull();
    const cell = node.querySelector('td.llmops-longtext')!;
    expect(cell.textContent).toBe(XSS);
    expect(node.querySelector('td.llmops-num')!.textContent).toBe('1,024');
    expect(node.querySelector('td.llmops-text')!.textContent).toBe('r1');
    expect(node.textContent).toContain('showing 1 of 3 rows');
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    node.remove();
  });
  it('search hits, review items and curation steps too', () => {
    const views = [
      renderSearch({
        version: 1,
        index: 'idx',
        query: XSS,
        where: null,
        k: 5,
        hits: [{ rank: 1, id: '<i>id</i>', score: 0.61234, text: XSS, metadata: { topic: '<script>x</script>' } }]
      }),
      renderReview({
        version: 1,
        dataset: 'pydoc@v2',
        committed: null,
        status: 'reviewing',
        summary: { total: 2, accepted: 1, rejected: 0, edited: 0, pending: 1 },
        items: [{ id: 'x', text: XSS, decision: 'accepted' }]
      }),
      renderCuration({ source: 'a@v1', result: 'a@v2', steps: [{ step: '<img src=x>', in: 10, out: 5 }] })
    ];
    for (const v of views) {
      expect(v.querySelector('img, script, i')).toBeNull();
    }
    expect(views[0].querySelector('.llmops-hit-text')!.textContent).toBe(XSS);
    expect(views[0].querySelector('.llmops-hit-score')!.textContent).toBe('0.6123');
    expect(views[1].querySelector('td.llmops-longtext')!.textContent).toBe(XSS);
  });
});

describe('the MIME views', () => {
  it('search: accepts hits under `results` too', () => {
    const v = renderSearch({ version: 1, index: 'i', query: 'q', where: "topic == 'try'", k: 2, hits: undefined as never, results: [
      { rank: 1, id: 'a', score: 0.5, text: 't' },
      { rank: 2, id: 'b', score: 0.4, text: 'u' }
    ] } as never);
    expect(v.classList.contains('llmops-mime-search')).toBe(true);
    expect(v.querySelectorAll('.llmops-hit').length).toBe(2);
    expect(v.textContent).toContain("where topic == 'try'");
  });
  it('comparison: leaderboard, bars, warnings, hint; a tie names no best', () => {
    const v = renderComparison({
      run_id: 'r1',
      n_examples: 40,
      eval_set: 'pyqa',
      baseline: 'base',
      primary_metric: 'f1',
      best: null,
      metrics: ['f1'],
      leaderboard: [
        { variant: 'base', f1: { mean: 0, ci: [0, 0] } },
        { variant: 'tuned', f1: { mean: 0, ci: [0, 0] } }
      ] as never,
      warnings: ['all scores tied on f1', 'variant tuned: 40 of 40 answers are empty'],
      hint: 'cmp.widget() opens the per-example view'
    });
    expect(v.classList.contains('llmops-mime-comparison')).toBe(true);
    expect(v.querySelectorAll('tr.llmops-leader-row').length).toBe(2);
    expect(v.querySelectorAll('.llmops-warning').length).toBe(2);
    expect(v.querySelector('.llmops-best')).toBeNull();
    expect(v.querySelector('.llmops-verdict')!.textContent).toContain('tie');
    expect(v.querySelectorAll('.llmops-bar').length).toBe(2);
    expect(v.querySelector('.llmops-hint')!.textContent).toBe('cmp.widget() opens the per-example view');
  });
  it('comparison: marks the best and draws its bar longest', () => {
    const v = renderComparison({
      primary_metric: 'f1',
      best: 'tuned',
      metrics: ['f1'],
      baseline: 'base',
      leaderboard: [
        { variant: 'base', f1: { mean: 0.2 } },
        { variant: 'tuned', f1: { mean: 0.4 } }
      ] as never
    });
    const best = v.querySelector('tr.llmops-best')!;
    expect(best.getAttribute('data-variant')).toBe('tuned');
    expect((v.querySelector('.llmops-bar-best') as HTMLElement).style.width).toBe('100%');
  });
  it('curation: one bar per step with in → out', () => {
    const v = renderCuration({
      source: 'pydoc@v1',
      result: 'pydoc@v2',
      steps: [
        { step: 'dedup', in: 100, out: 80, flagged: 2 },
        { step: 'filter', in: 80, out: 40 }
      ]
    });
    const rows = v.querySelectorAll('.llmops-funnel-row');
    expect(rows.length).toBe(2);
    expect(rows[0].textContent).toContain('100 → 80 (−20) · 2 flagged');
    expect((rows[1].querySelector('.llmops-bar') as HTMLElement).style.width).toBe('40%');
  });
  it('review: summary counts and at most 20 items', () => {
    const items = Array.from({ length: 25 }, (_, i) => ({ id: `r${i}`, text: `t${i}`, decision: i === 0 ? ('rejected' as const) : null }));
    const v = renderReview({
      dataset: 'pydoc@v2',
      committed: 'pydoc@v3',
      status: 'committed',
      summary: { total: 25, accepted: 0, rejected: 1, edited: 0, pending: 24 },
      items
    });
    expect(v.querySelectorAll('tbody tr').length).toBe(20);
    expect(v.querySelector('.llmops-title')!.textContent).toBe('review · pydoc@v2 → committed as pydoc@v3');
    expect(v.querySelector('td.llmops-decision-rejected')!.textContent).toBe('rejected');
    expect(v.querySelector('.llmops-chip.llmops-decision-pending')!.textContent).toBe('24 pending');
  });
  it("review: the widget's heading, item status, edited text and page line", () => {
    const v = renderReview({
      dataset: 'pydoc@v2',
      committed: 'pydoc@v3',
      heading: 'Committed: pydoc@v3 (from pydoc@v2)',
      status: 'committed',
      summary: { total: 3, accepted: 1, rejected: 0, edited: 1, pending: 1, removed_by_curation: 2, rejected_by_review: 0 },
      items: [{ id: 'a', text: 'old', edited_text: 'new\n  text', decision: 'edited', status: 'kept', truncated: true }],
      page: 0,
      pages: 4,
      matching: 79,
      filter: 'all'
    });
    expect(v.querySelector('.llmops-title')!.textContent).toBe('Committed: pydoc@v3 (from pydoc@v2)');
    expect(v.querySelector('td.llmops-longtext')!.textContent).toBe('new\n  text …');
    expect(v.textContent).toContain('2 removed by curation');
    expect(v.textContent).not.toContain('rejected by review');
    expect(v.textContent).toContain('page 1 of 4 · 79 records · filter all');
  });
  it("search: the explore widget's error replaces its hits", () => {
    const v = renderSearch({ version: 1, index: 'i', query: 'q', where: 'topic ==', k: 5, error: 'bad filter', hits: [] });
    expect(v.querySelector('.llmops-error')!.textContent).toBe('bad filter');
    expect(v.querySelector('.llmops-hits, .llmops-nohits')).toBeNull();
  });
  it("comparison: the widget's example on screen, answers with their line breaks", () => {
    const v = renderComparison({
      primary_metric: 'f1',
      metrics: ['f1'],
      leaderboard: [{ variant: 'a', f1: { mean: 0.5 } }] as never,
      view: {
        position: 2,
        count: 40,
        order: 'disagreement',
        example: { example: 'ex-3', question: 'why?', reference: 'because', answers: [{ variant: 'a', output: XSS, score: 0.5 }, { variant: 'b', output: '' }] }
      }
    });
    const ex = v.querySelector('.llmops-example')!;
    expect(ex.querySelector('.llmops-title')!.textContent).toBe('example 3 of 40 (disagreement): ex-3');
    expect(ex.querySelector('.llmops-answer[data-variant="a"] .llmops-longtext')!.textContent).toBe(XSS);
    expect(ex.querySelector('.llmops-answer[data-variant="b"]')!.textContent).toContain('(empty answer)');
    expect(ex.querySelector('img')).toBeNull();
  });
  it('a broken payload is one error line, not an exception', () => {
    const v = staticView(MIME.table, null);
    expect(v.classList.contains('llmops-error')).toBe(true);
  });
  it('the line chart is an SVG path with a point per step', () => {
    const s = lineChartElement('loss', [
      [0, 2, null],
      [1, 1, null],
      [2, 0.5, null]
    ]);
    expect(s.namespaceURI).toBe('http://www.w3.org/2000/svg');
    expect(s.querySelectorAll('circle').length).toBe(3);
    expect(s.querySelector('path')!.getAttribute('d')).toMatch(/^M[\d.]+ [\d.]+ L/);
    expect(s.getAttribute('data-metric')).toBe('loss');
  });
});
