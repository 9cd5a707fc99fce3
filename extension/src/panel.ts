/**
 * The LLMOps side panel: Runs, Datasets, Indexes and Monitor (monitorpanel.ts) over the REST API. Plain DOM (see dom.ts: text nodes
 * only), a Lumino widget so JupyterLab can dock it in the left area.
 */
import { Widget } from '@lumino/widgets';
import { ApiError, Fetcher } from './fetcher';
import { clear, el } from './dom';
import { formatCell, formatDuration, formatNumber, formatShortTime, formatTime, keyMetrics, MISSING } from './format';
import { hasNotebook, NotebookRun } from './opennotebook';
import { anyRunning, filterRuns, nextSort, REFRESH_MS, RunSortKey, sortRuns } from './runs';
import {
  ComparisonPayload,
  DatasetDetail,
  DatasetRow,
  Json,
  RunDetail,
  RunRow,
  RunsAnswer,
  SearchPayload
} from './types';
import { hitsElement, leaderboardElement, lineChartElement } from './views';
import { normalizeSearch } from './normalize';
import { MonitorTab } from './monitorpanel';

export const PANEL_ID = 'llmops-panel';
const RUNS_LIMIT = 200;

type Tab = 'runs' | 'datasets' | 'indexes' | 'monitor';
const TABS: [Tab, string][] = [
  ['runs', 'Runs'],
  ['datasets', 'Datasets'],
  ['indexes', 'Indexes'],
  ['monitor', 'Monitor']
];

export interface PanelOptions {
  fetch: Fetcher;
  /** Open the run's output notebook; what it says back (e.g. that a copy was opened) shows under the button. */
  openNotebook: (run: NotebookRun) => Promise<string | null | void> | string | null | void;
}

function errorLine(e: unknown): string {
  if (e instanceof ApiError) {
    return e.message;
  }
  return (e as Error)?.message || String(e);
}

function errorEl(e: unknown): HTMLElement {
  return el('div', { class: 'llmops-error', role: 'alert' }, errorLine(e));
}

function kvTable(obj: Record<string, Json> | null | undefined, cls: string, keyName = 'name'): HTMLElement {
  const entries = Object.entries(obj || {});
  if (!entries.length) {
    return el('div', { class: `llmops-muted ${cls}` }, 'none');
  }
  return el(
    'table',
    { class: `llmops-table llmops-kv ${cls}` },
    el('thead', {}, el('tr', {}, el('th', { class: 'llmops-text' }, keyName), el('th', { class: 'llmops-text' }, 'value'))),
    el(
      'tbody',
      {},
      ...entries.map(([k, v]) =>
        el(
          'tr',
          { 'data-key': k },
          el('td', { class: 'llmops-text' }, k),
          el('td', { class: typeof v === 'number' ? 'llmops-num' : 'llmops-longtext' }, typeof v === 'number' ? formatNumber(v) : formatCell(v, 'json'))
        )
      )
    )
  );
}

function section(titleText: string, ...children: (Node | null)[]): HTMLElement {
  return el('section', { class: 'llmops-section' }, el('h3', { class: 'llmops-section-title' }, titleText), ...children);
}

export class LLMOpsPanel extends Widget {
  private readonly fetch: Fetcher;
  private readonly openNotebook: PanelOptions['openNotebook'];
  private tab: Tab = 'runs';
  private readonly tabButtons = new Map<Tab, HTMLButtonElement>();
  private readonly body: HTMLElement;

  // runs
  private runs: RunRow[] = [];
  private runsTotal = 0;
  private runsError: unknown = null;
  private runsLoaded = false;
  private sort: { key: RunSortKey; descending: boolean } = { key: 'started_at', descending: true };
  private filter = '';
  private selectedRun: string | null = null;
  private timer: number | null = null;
  private detailShown: string | null = null;
  private lastUpdate: number | null = null;

  // datasets / indexes
  private selectedDataset: string | null = null;
  private selectedIndex: string | null = null;
  private searchState: { q: string; k: string; where: string } = { q: '', k: '5', where: '' };

  private readonly monitor: MonitorTab;

  constructor(options: PanelOptions) {
    super();
    this.fetch = options.fetch;
    this.openNotebook = options.openNotebook;
    this.id = PANEL_ID;
    this.addClass('llmops-panel');
    const tabs = el('div', { class: 'llmops-tabs', role: 'tablist', 'aria-label': 'LLMOps' });
    for (const [t, label] of TABS) {
      const b = el('button', {
        class: 'llmops-tab',
        type: 'button',
        role: 'tab',
        'data-tab': t,
        id: `llmops-tab-${t}`,
        'aria-controls': 'llmops-tabpanel'
      }, label);
      b.addEventListener('click', () => this.showTab(t));
      b.addEventListener('keydown', ev => this.onTabKey(ev, t));
      this.tabButtons.set(t, b);
      tabs.appendChild(b);
    }
    this.body = el('div', { class: 'llmops-tabpanel', id: 'llmops-tabpanel', role: 'tabpanel' });
    this.node.appendChild(tabs);
    this.node.appendChild(this.body);
    this.monitor = new MonitorTab(this.fetch, {
      body: this.body,
      active: () => this.tab === 'monitor' && !this.isDisposed,
      backButton: (label, onClick) => this.backButton(label, onClick)
    });
    this.showTab('runs');
  }

  private async onOpenNotebook(run: NotebookRun, button: HTMLButtonElement, note: HTMLElement): Promise<void> {
    button.disabled = true;
    clear(note);
    note.classList.remove('llmops-error');
    note.setAttribute('role', 'status');
    try {
      const said = await this.openNotebook({ id: run.id, name: run.name, notebook: run.notebook, artifacts: run.artifacts });
      if (said) {
        note.appendChild(document.createTextNode(said));
      }
    } catch (e) {
      note.classList.add('llmops-error');
      note.setAttribute('role', 'alert');
      note.appendChild(document.createTextNode(`could not open the notebook: ${errorLine(e)}`));
    } finally {
      button.disabled = false;
    }
  }

  /** Switch tab (also re-reads its data). */
  showTab(t: Tab): void {
    this.tab = t;
    for (const [k, b] of this.tabButtons) {
      b.setAttribute('aria-selected', k === t ? 'true' : 'false');
      b.classList.toggle('llmops-tab-active', k === t);
      b.tabIndex = k === t ? 0 : -1;
    }
    this.body.setAttribute('data-tab', t);
    this.body.setAttribute('aria-labelledby', `llmops-tab-${t}`);
    this.stopTimer();
    this.detailShown = null; // the tab's body is drawn afresh
    if (t === 'runs') {
      void this.refreshRuns();
    } else if (t === 'datasets') {
      void this.showDatasets();
    } else if (t === 'indexes') {
      void this.showIndexes();
    } else {
      this.monitor.show();
    }
  }

  /** Arrow keys, Home and End move between the tabs (the WAI-ARIA tabs pattern). */
  private onTabKey(ev: KeyboardEvent, from: Tab): void {
    const order = TABS.map(([t]) => t);
    const n = order.length;
    const i = order.indexOf(from);
    const to =
      ev.key === 'ArrowRight' ? order[(i + 1) % n] : ev.key === 'ArrowLeft' ? order[(i + n - 1) % n] : ev.key === 'Home' ? order[0] : ev.key === 'End' ? order[n - 1] : null;
    if (!to) {
      return;
    }
    ev.preventDefault();
    this.showTab(to);
    this.tabButtons.get(to)!.focus();
  }

  protected onAfterShow(): void {
    if (this.tab === 'runs') {
      void this.refreshRuns();
    }
  }

  protected onBeforeHide(): void {
    this.stopTimer();
  }

  dispose(): void {
    this.stopTimer();
    super.dispose();
  }

  private stopTimer(): void {
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  // ---- runs ------------------------------------------------------------------------------------
  /** Re-read the runs (and the open run's detail); keeps refreshing every 3 s while any run is running. */
  async refreshRuns(): Promise<void> {
    this.stopTimer();
    try {
      const ans = await this.fetch<RunsAnswer>(['runs'], { sort: '-started_at', limit: RUNS_LIMIT });
      this.runs = Array.isArray(ans.runs) ? ans.runs : [];
      this.runsTotal = typeof ans.total === 'number' ? ans.total : this.runs.length;
      this.runsError = null;
    } catch (e) {
      this.runsError = e;
    }
    this.runsLoaded = true;
    this.lastUpdate = Date.now() / 1000;
    if (this.tab !== 'runs' || this.isDisposed) {
      return;
    }
    if (this.selectedRun) {
      // the open detail is re-read only while its run is going (a re-render would lose the reader's place)
      const sel = this.runs.find(r => r.id === this.selectedRun);
      if (!sel || sel.status === 'running' || this.detailShown !== this.selectedRun) {
        await this.renderRunDetail(this.selectedRun);
      }
    } else {
      this.renderRuns();
    }
    if (anyRunning(this.runs) && this.isVisible && this.tab === 'runs') {
      this.timer = window.setTimeout(() => void this.refreshRuns(), REFRESH_MS);
    }
  }

  private runsToolbar(): HTMLElement {
    const input = el('input', {
      class: 'llmops-runs-filter jp-mod-styled',
      type: 'search',
      placeholder: 'filter: name, kind, status',
      'aria-label': 'filter runs by name, kind or status',
      value: this.filter
    });
    input.value = this.filter;
    input.addEventListener('input', () => {
      this.filter = input.value;
      this.renderRunsTable();
    });
    const refresh = el('button', { class: 'llmops-refresh llmops-button', type: 'button', title: 'refresh now' }, 'Refresh');
    refresh.addEventListener('click', () => void this.refreshRuns());
    return el('div', { class: 'llmops-toolbar' }, input, refresh);
  }

  private renderRuns(): void {
    clear(this.body);
    this.body.appendChild(this.runsToolbar());
    this.body.appendChild(el('div', { class: 'llmops-runs-status llmops-muted', 'aria-live': 'polite' }));
    this.body.appendChild(el('div', { class: 'llmops-runs-host' }));
    this.renderRunsTable();
  }

  private renderRunsTable(): void {
    const host = this.body.querySelector('.llmops-runs-host');
    const status = this.body.querySelector('.llmops-runs-status');
    if (!host || !status) {
      return;
    }
    clear(host);
    if (this.runsError) {
      host.appendChild(errorEl(this.runsError));
    }
    const shown = sortRuns(filterRuns(this.runs, this.filter), this.sort.key, this.sort.descending);
    const running = this.runs.filter(r => r.status === 'running').length;
    status.textContent = !this.runsLoaded
      ? 'loading…'
      : `${shown.length} of ${this.runsTotal} runs` +
        (this.runsTotal > this.runs.length ? ` (latest ${this.runs.length} loaded)` : '') +
        (running ? ` · ${running} running, refreshing every ${REFRESH_MS / 1000} s` : '') +
        (this.lastUpdate ? ` · updated ${formatTime(this.lastUpdate).slice(11)}` : '');
    if (!shown.length) {
      if (this.runsLoaded && !this.runsError) {
        host.appendChild(
          el('div', { class: 'llmops-muted llmops-empty' }, this.runs.length ? 'no run matches the filter' : 'no runs yet')
        );
      }
      return;
    }
    const cols: [RunSortKey | null, string, string][] = [
      ['name', 'name', 'llmops-text'],
      ['kind', 'kind', 'llmops-text'],
      ['status', 'status', 'llmops-text'],
      ['started_at', 'started', 'llmops-time'],
      ['duration_s', 'duration', 'llmops-num'],
      [null, 'metrics', 'llmops-text']
    ];
    const head = el(
      'tr',
      {},
      ...cols.map(([key, label, cls]) => {
        if (!key) {
          return el('th', { class: cls, scope: 'col' }, label);
        }
        const active = this.sort.key === key;
        const th = el(
          'th',
          {
            class: `${cls} llmops-sortable`,
            scope: 'col',
            'data-sort-key': key,
            'aria-sort': active ? (this.sort.descending ? 'descending' : 'ascending') : 'none'
          },
          el('button', { type: 'button', class: 'llmops-sort-button' }, label + (active ? (this.sort.descending ? ' ▾' : ' ▴') : ''))
        );
        th.addEventListener('click', () => {
          this.sort = nextSort(this.sort, key);
          this.renderRunsTable();
        });
        return th;
      })
    );
    const rows = shown.map(r => {
      const tr = el(
        'tr',
        { class: `llmops-run-row llmops-status-${r.status}`, 'data-run-id': r.id, tabindex: 0, title: r.id },
        el('td', { class: 'llmops-text llmops-run-name' }, r.name || r.id),
        el('td', { class: 'llmops-text' }, r.kind),
        el('td', { class: 'llmops-text' }, el('span', { class: `llmops-status llmops-status-${r.status}` }, r.status)),
        el('td', { class: 'llmops-time', title: formatTime(r.started_at) }, formatShortTime(r.started_at)),
        el('td', { class: 'llmops-num' }, formatDuration(r.duration_s)),
        el('td', { class: 'llmops-text llmops-run-metrics-cell' }, keyMetrics(r.metrics))
      );
      const open = () => void this.openRun(r.id);
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', ev => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          open();
        }
      });
      return tr;
    });
    host.appendChild(
      el('table', { class: 'llmops-table llmops-runs-table' }, el('thead', {}, head), el('tbody', {}, ...rows))
    );
  }

  /** Show one run's detail. */
  async openRun(id: string): Promise<void> {
    this.selectedRun = id;
    this.detailShown = null;
    await this.renderRunDetail(id);
  }

  private backButton(label: string, onClick: () => void): HTMLElement {
    const b = el('button', { class: 'llmops-back llmops-button', type: 'button' }, `← ${label}`);
    b.addEventListener('click', onClick);
    return b;
  }

  private async renderRunDetail(id: string): Promise<void> {
    let detail: RunDetail | null = null;
    let error: unknown = null;
    try {
      detail = await this.fetch<RunDetail>(['runs', id]);
    } catch (e) {
      error = e;
    }
    if (this.selectedRun !== id || this.tab !== 'runs') {
      return;
    }
    clear(this.body);
    this.detailShown = id;
    const back = this.backButton('runs', () => {
      this.selectedRun = null;
      this.detailShown = null;
      this.renderRuns();
    });
    const box = el('div', { class: 'llmops-run-detail', 'data-run-id': id });
    this.body.appendChild(el('div', { class: 'llmops-toolbar' }, back));
    this.body.appendChild(box);
    if (!detail) {
      box.appendChild(errorEl(error));
      return;
    }
    const d = detail;
    box.appendChild(
      el(
        'div',
        { class: 'llmops-detail-head' },
        el('div', { class: 'llmops-title' }, d.name || d.id),
        el(
          'div',
          { class: 'llmops-muted' },
          `${d.kind} · `,
          el('span', { class: `llmops-status llmops-status-${d.status}` }, d.status),
          ` · ${d.id}`
        ),
        el(
          'div',
          { class: 'llmops-muted' },
          `started ${formatTime(d.started_at)} · ${formatDuration(d.duration_s)}` + (d.parent_id ? ` · parent ${d.parent_id}` : '')
        )
      )
    );
    if (d.error) {
      box.appendChild(el('div', { class: 'llmops-error llmops-longtext', role: 'alert' }, d.error));
    }
    if (hasNotebook(d)) {
      const path = d.notebook;
      const b = el(
        'button',
        { class: 'llmops-open-notebook llmops-button', type: 'button', title: path || 'the output notebook of this run' },
        path ? `Open notebook ${path}` : 'Open notebook'
      ) as HTMLButtonElement;
      const note = el('div', { class: 'llmops-open-notebook-note llmops-muted', role: 'status' });
      b.addEventListener('click', () => void this.onOpenNotebook(d, b, note));
      box.appendChild(b);
      box.appendChild(note);
    }
    box.appendChild(section('Metrics', kvTable(d.metrics as Record<string, Json>, 'llmops-run-metrics', 'metric')));
    // relabel metric rows so tests can find them by name
    box.querySelectorAll('.llmops-run-metrics tbody tr').forEach(tr => tr.setAttribute('data-metric', tr.getAttribute('data-key') || ''));
    const stepped = Object.entries(d.history || {}).filter(([, h]) => Array.isArray(h) && h.length > 1);
    if (stepped.length) {
      box.appendChild(
        section(
          'Metric history',
          ...stepped.map(([m, h]) =>
            el('figure', { class: 'llmops-chart' }, el('figcaption', { class: 'llmops-muted' }, m), lineChartElement(m, h))
          )
        )
      );
    }
    box.appendChild(section('Params', kvTable(d.params, 'llmops-run-params', 'param')));
    if (d.records && Object.keys(d.records).length) {
      box.appendChild(section('Records', kvTable(d.records, 'llmops-run-records')));
    }
    if (d.tags && Object.keys(d.tags).length) {
      box.appendChild(section('Tags', kvTable(d.tags, 'llmops-run-tags', 'tag')));
    }
    const artifacts = Object.entries(d.artifacts || {});
    box.appendChild(
      section(
        'Artifacts',
        artifacts.length
          ? el(
              'ul',
              { class: 'llmops-run-artifacts' },
              ...artifacts.map(([n, p]) =>
                el('li', { 'data-artifact': n }, el('span', { class: 'llmops-artifact-name' }, n), ' ', el('span', { class: 'llmops-muted' }, String(p)))
              )
            )
          : el('div', { class: 'llmops-muted llmops-run-artifacts' }, 'none')
      )
    );
    if (d.environment && Object.keys(d.environment).length) {
      const env = el('details', { class: 'llmops-run-environment' }, el('summary', {}, 'Environment'), kvTable(d.environment, 'llmops-env'));
      box.appendChild(env);
    }
    if (d.comparison) {
      const host = el('div', { class: 'llmops-run-comparison' }, el('div', { class: 'llmops-muted' }, 'loading the leaderboard…'));
      box.appendChild(section('Leaderboard', host));
      try {
        const cmp = await this.fetch<ComparisonPayload>(['comparisons', id]);
        clear(host);
        host.appendChild(leaderboardElement(cmp, { compact: true }));
      } catch (e) {
        clear(host);
        host.appendChild(errorEl(e));
      }
    }
  }

  // ---- datasets --------------------------------------------------------------------------------
  private async showDatasets(): Promise<void> {
    if (this.selectedDataset) {
      return this.showDataset(this.selectedDataset);
    }
    clear(this.body);
    const host = el('div', { class: 'llmops-datasets' }, el('div', { class: 'llmops-muted' }, 'loading…'));
    this.body.appendChild(host);
    let rows: DatasetRow[] = [];
    try {
      rows = (await this.fetch<{ datasets: DatasetRow[] }>(['datasets'])).datasets || [];
    } catch (e) {
      clear(host);
      host.appendChild(errorEl(e));
      return;
    }
    if (this.tab !== 'datasets') {
      return;
    }
    clear(host);
    if (!rows.length) {
      host.appendChild(el('div', { class: 'llmops-muted llmops-empty' }, 'no datasets yet'));
      return;
    }
    const trs = rows.map(r => {
      const tr = el(
        'tr',
        { class: 'llmops-dataset-row', 'data-dataset': r.name, tabindex: 0 },
        el('td', { class: 'llmops-text' }, r.name),
        el('td', { class: 'llmops-text' }, r.current || MISSING),
        el('td', { class: 'llmops-num' }, formatNumber(r.versions)),
        el('td', { class: 'llmops-num' }, formatNumber(r.records)),
        el('td', { class: 'llmops-time' }, formatTime(r.created_at))
      );
      const open = () => void this.showDataset(r.name);
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', ev => {
        if (ev.key === 'Enter') {
          open();
        }
      });
      return tr;
    });
    host.appendChild(
      el(
        'table',
        { class: 'llmops-table llmops-datasets-table' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { class: 'llmops-text' }, 'name'),
            el('th', { class: 'llmops-text' }, 'current'),
            el('th', { class: 'llmops-num' }, 'versions'),
            el('th', { class: 'llmops-num' }, 'records'),
            el('th', { class: 'llmops-time' }, 'created')
          )
        ),
        el('tbody', {}, ...trs)
      )
    );
  }

  private async showDataset(name: string): Promise<void> {
    this.selectedDataset = name;
    clear(this.body);
    const back = this.backButton('datasets', () => {
      this.selectedDataset = null;
      void this.showDatasets();
    });
    const box = el('div', { class: 'llmops-dataset-detail', 'data-dataset': name }, el('div', { class: 'llmops-muted' }, 'loading…'));
    this.body.appendChild(el('div', { class: 'llmops-toolbar' }, back));
    this.body.appendChild(box);
    let d: DatasetDetail;
    try {
      d = await this.fetch<DatasetDetail>(['datasets', name]);
    } catch (e) {
      clear(box);
      box.appendChild(errorEl(e));
      return;
    }
    clear(box);
    box.appendChild(el('div', { class: 'llmops-title' }, d.name));
    box.appendChild(el('div', { class: 'llmops-muted' }, `current: ${d.current || MISSING} · ${d.versions.length} version${d.versions.length === 1 ? '' : 's'} (newest first)`));
    const versions = (d.versions || []).slice().reverse();
    box.appendChild(
      el(
        'ol',
        { class: 'llmops-lineage', reversed: true },
        ...versions.map(v =>
          el(
            'li',
            { class: `llmops-dataset-version${v.ref === d.current ? ' llmops-current' : ''}`, 'data-ref': v.ref },
            el(
              'div',
              { class: 'llmops-version-head' },
              el('span', { class: 'llmops-version-ref' }, v.ref),
              v.ref === d.current ? el('span', { class: 'llmops-badge' }, 'current') : null,
              el('span', { class: 'llmops-muted' }, ` ${formatNumber(v.records)} records · ${formatTime(v.created_at)}`)
            ),
            el(
              'div',
              { class: 'llmops-lineage-edge' },
              v.parent ? `${v.parent} → ${v.ref}` : `source → ${v.ref}`
            ),
            v.steps && v.steps.length
              ? el(
                  'ul',
                  { class: 'llmops-steps' },
                  ...v.steps.map(s =>
                    el(
                      'li',
                      { class: 'llmops-step', 'data-step': s.step },
                      el('span', { class: 'llmops-step-name' }, s.step),
                      ` ${formatNumber(s.in)} → ${formatNumber(s.out)}`
                    )
                  )
                )
              : null
          )
        )
      )
    );
  }

  // ---- indexes ---------------------------------------------------------------------------------
  private async showIndexes(): Promise<void> {
    clear(this.body);
    const host = el('div', { class: 'llmops-indexes' }, el('div', { class: 'llmops-muted' }, 'loading…'));
    this.body.appendChild(host);
    let list: Record<string, Json>[] = [];
    try {
      list = (await this.fetch<{ indexes: Record<string, Json>[] }>(['indexes'])).indexes || [];
    } catch (e) {
      clear(host);
      host.appendChild(errorEl(e));
      return;
    }
    if (this.tab !== 'indexes') {
      return;
    }
    clear(host);
    if (!list.length) {
      host.appendChild(el('div', { class: 'llmops-muted llmops-empty' }, 'no indexes yet'));
      return;
    }
    const names = list.map(i => String(i.name));
    if (!this.selectedIndex || !names.includes(this.selectedIndex)) {
      this.selectedIndex = names[0];
    }
    const rows = list.map(i => {
      const name = String(i.name);
      const tr = el(
        'tr',
        { class: 'llmops-index-row', 'data-index': name, tabindex: 0, 'aria-selected': name === this.selectedIndex ? 'true' : 'false' },
        el('td', { class: 'llmops-text' }, name),
        el('td', { class: 'llmops-num' }, formatNumber(i.records as number)),
        el('td', { class: 'llmops-num' }, formatNumber(i.chunks as number)),
        el('td', { class: 'llmops-text' }, i.error ? String(i.error) : String(i.model ?? '')),
        el('td', { class: 'llmops-text' }, String(i.dataset ?? ''))
      );
      const select = () => {
        this.selectedIndex = name;
        host.querySelectorAll('.llmops-index-row').forEach(r => r.setAttribute('aria-selected', r === tr ? 'true' : 'false'));
        const label = this.body.querySelector('.llmops-search-index');
        if (label) {
          label.textContent = `search ${name}`;
        }
        const hits = this.body.querySelector('.llmops-search-results');
        if (hits) {
          clear(hits);
        }
      };
      tr.addEventListener('click', select);
      tr.addEventListener('keydown', ev => {
        if (ev.key === 'Enter') {
          select();
        }
      });
      return tr;
    });
    host.appendChild(
      el(
        'table',
        { class: 'llmops-table llmops-indexes-table' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { class: 'llmops-text' }, 'name'),
            el('th', { class: 'llmops-num' }, 'records'),
            el('th', { class: 'llmops-num' }, 'chunks'),
            el('th', { class: 'llmops-text' }, 'model'),
            el('th', { class: 'llmops-text' }, 'dataset')
          )
        ),
        el('tbody', {}, ...rows)
      )
    );
    host.appendChild(this.searchForm());
  }

  private searchForm(): HTMLElement {
    const q = el('input', { class: 'llmops-search-q jp-mod-styled', type: 'search', placeholder: 'search text', 'aria-label': 'query' });
    q.value = this.searchState.q;
    const k = el('input', { class: 'llmops-search-k jp-mod-styled', type: 'number', min: 1, max: 100, 'aria-label': 'k (hits)', title: 'k: how many hits' });
    k.value = this.searchState.k;
    const where = el('input', {
      class: 'llmops-search-where jp-mod-styled',
      type: 'text',
      placeholder: "where (optional), e.g. topic == 'try'",
      'aria-label': 'filter (where)'
    });
    where.value = this.searchState.where;
    const submit = el('button', { class: 'llmops-search-submit llmops-button', type: 'submit' }, 'Search');
    const results = el('div', { class: 'llmops-search-results', 'aria-live': 'polite' });
    const form = el(
      'form',
      { class: 'llmops-search', role: 'search' },
      el('div', { class: 'llmops-search-index llmops-title' }, `search ${this.selectedIndex ?? ''}`),
      el('div', { class: 'llmops-search-row' }, q, k, submit),
      where
    );
    form.addEventListener('submit', ev => {
      ev.preventDefault();
      this.searchState = { q: q.value, k: k.value, where: where.value };
      void this.runSearch(results);
    });
    return el('div', { class: 'llmops-search-box' }, form, results);
  }

  private async runSearch(results: HTMLElement): Promise<void> {
    const name = this.selectedIndex;
    if (!name) {
      return;
    }
    clear(results);
    results.appendChild(el('div', { class: 'llmops-muted llmops-searching' }, 'searching…'));
    results.setAttribute('aria-busy', 'true');
    try {
      const ans = await this.fetch<SearchPayload>(['indexes', name, 'search'], {
        q: this.searchState.q,
        k: this.searchState.k,
        where: this.searchState.where.trim() || null
      });
      const s = normalizeSearch(ans);
      clear(results);
      results.appendChild(
        el('div', { class: 'llmops-muted' }, `${s.hits.length} hits` + (typeof s.elapsed_ms === 'number' ? ` · ${formatNumber(s.elapsed_ms)} ms` : ''))
      );
      if (s.note) {
        results.appendChild(el('div', { class: 'llmops-muted' }, s.note));
      }
      results.appendChild(hitsElement(s));
    } catch (e) {
      clear(results); // never leave stale hits under an error
      results.appendChild(errorEl(e));
    } finally {
      results.removeAttribute('aria-busy');
    }
  }
}
