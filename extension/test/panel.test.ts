import { describe, expect, it } from 'vitest';
import { Widget } from '@lumino/widgets';
import { ApiError, Fetcher } from '../src/fetcher';
import { LLMOpsPanel } from '../src/panel';

const XSS = '<img src=x onerror="window.__pwned=1">';

function run(id: string, name: string, status: string, started: number, metrics: Record<string, number> = {}) {
  return { id, name, kind: 'run', status, started_at: started, ended_at: null, duration_s: 1, params: {}, metrics, tags: {}, parent_id: null };
}

const RUNS = [run('r1', 'alpha', 'finished', 100, { f1: 0.2 }), run('r2', XSS, 'failed', 200), run('r3', 'gamma', 'finished', 50)];

function fakeFetch(calls: string[]): Fetcher {
  return (async (segments: string[], query?: Record<string, unknown>) => {
    calls.push(segments.join('/') + (query && query.q ? `?q=${query.q}&where=${query.where ?? ''}` : ''));
    const path = segments.join('/');
    if (path === 'runs') {
      return { total: 3, offset: 0, limit: 200, runs: RUNS };
    }
    if (path === 'runs/r1') {
      return {
        ...RUNS[0],
        params: { note: XSS, lr: 0.01 },
        history: { loss: [[0, 1, 0], [1, 0.5, 0], [2, 0.25, 0]], f1: [[0, 0.2, 0]] },
        artifacts: { 'model.bin': 'artifacts/r1/model.bin' },
        environment: {},
        records: {},
        error: null,
        notebook: 'out/r1.ipynb',
        comparison: false
      };
    }
    if (path === 'indexes') {
      return { indexes: [{ name: 'idx', records: 3, chunks: 4, model: 'm' }] };
    }
    if (path === 'indexes/idx/search') {
      if (query && query.where) {
        throw new ApiError("filter 'topic ==': the filter ends where a value should come", 400);
      }
      return { version: 1, index: 'idx', query: String(query!.q), where: null, k: 5, hits: [{ rank: 1, id: 'h1', score: 0.9, text: XSS + '\n  indented' }] };
    }
    if (path === 'datasets') {
      return { datasets: [{ name: 'docs', current: 'docs@v2', versions: 2, records: 10, created_at: 1 }] };
    }
    if (path === 'datasets/docs') {
      return {
        name: 'docs',
        current: 'docs@v2',
        versions: [
          { version: 1, ref: 'docs@v1', records: 12, created_at: 1, parent: null, steps: [{ step: 'load', in: null, out: 12 }] },
          { version: 2, ref: 'docs@v2', records: 10, created_at: 2, parent: 'docs@v1', steps: [{ step: 'exact_dedup', in: 12, out: 10 }] }
        ]
      };
    }
    throw new ApiError('no such route', 404);
  }) as Fetcher;
}

const flush = async () => {
  for (let i = 0; i < 5; i++) {
    await new Promise(r => setTimeout(r, 0));
  }
};

function mount(opened: string[] = [], calls: string[] = []): LLMOpsPanel {
  const p = new LLMOpsPanel({ fetch: fakeFetch(calls), openNotebook: run => void opened.push(run.notebook || '') });
  Widget.attach(p, document.body);
  return p;
}

const names = (p: LLMOpsPanel) => Array.from(p.node.querySelectorAll('.llmops-run-name')).map(n => n.textContent);

describe('the side panel', () => {
  it('lists runs newest first, sorts on a header click, filters, and shows markup as text', async () => {
    const p = mount();
    await flush();
    expect(p.id).toBe('llmops-panel');
    expect(names(p)).toEqual([XSS, 'alpha', 'gamma']);
    expect(p.node.querySelector('img')).toBeNull();
    (p.node.querySelector('th[data-sort-key="name"]') as HTMLElement).click();
    expect(names(p)).toEqual([XSS, 'alpha', 'gamma'].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' })));
    expect(p.node.querySelector('th[data-sort-key="name"]')!.getAttribute('aria-sort')).toBe('ascending');
    const filter = p.node.querySelector('input.llmops-runs-filter') as HTMLInputElement;
    filter.value = 'fail';
    filter.dispatchEvent(new Event('input'));
    expect(names(p)).toEqual([XSS]);
    expect(p.node.querySelector('.llmops-runs-status')!.textContent).toContain('1 of 3 runs');
    p.dispose();
  });

  it("opens a run's detail: metrics, a chart per stepped metric, params as text, the notebook button", async () => {
    const opened: string[] = [];
    const p = mount(opened);
    await flush();
    (p.node.querySelector('tr.llmops-run-row[data-run-id="r1"]') as HTMLElement).click();
    await flush();
    const d = p.node.querySelector('.llmops-run-detail')!;
    expect(d.querySelector('.llmops-run-metrics tr[data-metric="f1"]')!.textContent).toContain('0.2');
    expect(Array.from(d.querySelectorAll('svg.llmops-linechart')).map(s => s.getAttribute('data-metric'))).toEqual(['loss']);
    expect(d.querySelector('img')).toBeNull();
    expect(d.querySelector('.llmops-run-params')!.textContent).toContain(XSS);
    (d.querySelector('button.llmops-open-notebook') as HTMLElement).click();
    expect(opened).toEqual(['out/r1.ipynb']);
    (p.node.querySelector('button.llmops-back') as HTMLElement).click();
    expect(p.node.querySelector('.llmops-runs-table')).not.toBeNull();
    p.dispose();
  });

  it('searches an index, and a 400 replaces the hits with its error line', async () => {
    const calls: string[] = [];
    const p = mount([], calls);
    await flush();
    (p.node.querySelector('#llmops-tab-indexes') as HTMLElement).click();
    await flush();
    expect(p.node.querySelector('#llmops-tab-indexes')!.getAttribute('aria-selected')).toBe('true');
    p.node.querySelector('#llmops-tab-indexes')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight' }));
    expect(p.node.querySelector('#llmops-tab-monitor')!.getAttribute('aria-selected')).toBe('true');
    p.node.querySelector('#llmops-tab-monitor')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight' }));
    expect(p.node.querySelector('#llmops-tab-runs')!.getAttribute('aria-selected')).toBe('true');
    p.node.querySelector('#llmops-tab-runs')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'End' }));
    expect(p.node.querySelector('#llmops-tab-monitor')!.getAttribute('aria-selected')).toBe('true');
    p.node.querySelector('#llmops-tab-monitor')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft' }));
    await flush();
    expect(p.node.querySelector('#llmops-tab-indexes')!.getAttribute('aria-selected')).toBe('true');
    const q = p.node.querySelector('input.llmops-search-q') as HTMLInputElement;
    q.value = 'catch errors';
    const form = p.node.querySelector('form.llmops-search') as HTMLFormElement;
    form.dispatchEvent(new Event('submit', { cancelable: true }));
    await flush();
    const hit = p.node.querySelector('.llmops-hit .llmops-hit-text')!;
    expect(hit.textContent).toBe(XSS + '\n  indented');
    expect(p.node.querySelector('img')).toBeNull();
    (p.node.querySelector('input.llmops-search-where') as HTMLInputElement).value = 'topic ==';
    form.dispatchEvent(new Event('submit', { cancelable: true }));
    await flush();
    expect(p.node.querySelector('.llmops-search-results .llmops-hit')).toBeNull();
    expect(p.node.querySelector('.llmops-search-results .llmops-error')!.textContent).toContain("filter 'topic =='");
    expect(calls).toContain('indexes/idx/search?q=catch errors&where=topic ==');
    p.dispose();
  });

  it("shows a dataset's versions with lineage and step counts", async () => {
    const p = mount();
    await flush();
    (p.node.querySelector('#llmops-tab-datasets') as HTMLElement).click();
    await flush();
    (p.node.querySelector('tr.llmops-dataset-row[data-dataset="docs"]') as HTMLElement).click();
    await flush();
    const v2 = p.node.querySelector('li.llmops-dataset-version[data-ref="docs@v2"]')!;
    expect(v2.querySelector('.llmops-lineage-edge')!.textContent).toBe('docs@v1 → docs@v2');
    expect(v2.querySelector('li.llmops-step[data-step="exact_dedup"]')!.textContent).toBe('exact_dedup 12 → 10');
    p.dispose();
  });
});
