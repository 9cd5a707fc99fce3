/**
 * The side panel's Monitor tab: every logged model with its volume and last drift verdict (`GET monitor`); a
 * model's last report (`GET monitor?model=`, drawn by the MIME renderer's view), "Check now" (`POST monitor`) and
 * its logged calls (`GET traces?model=`, newest first, paged); a call's trace view (`GET traces/<id>`).
 */
import { ApiError, Fetcher } from './fetcher';
import { clear, el } from './dom';
import { formatDuration, formatNumber, formatShortTime, formatTime } from './format';
import { normalizeModels, normalizeMonitor, normalizeTraceRows, oneLine, pValues, verdictKind } from './monitordata';
import { renderMonitor } from './monitorview';
import { traceElement } from './traceview';
import { MonitoredModel, MonitorPayload, TraceRow } from './types';

export const TRACES_LIMIT = 50;

/** What the tab needs of the panel: its body, whether the tab still shows, a back button. */
export interface MonitorHost {
  body: HTMLElement;
  active(): boolean;
  backButton(label: string, onClick: () => void): HTMLElement;
}

type View = { kind: 'list' } | { kind: 'model'; model: string } | { kind: 'trace'; model: string; id: string };

function errorLine(e: unknown): string {
  return e instanceof ApiError ? e.message : (e as Error)?.message || String(e);
}

function errorEl(e: unknown, cls = ''): HTMLElement {
  return el('div', { class: `llmops-error ${cls}`.trim(), role: 'alert' }, errorLine(e).split('\n')[0]);
}

function onActivate(node: HTMLElement, fn: () => void): void {
  node.addEventListener('click', fn);
  node.addEventListener('keydown', ev => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      fn();
    }
  });
}

function verdictChip(verdict: string | null): HTMLElement {
  const kind = verdictKind(verdict);
  return el(
    'span',
    { class: `llmops-verdict-chip llmops-verdict-${kind}`, 'data-verdict': kind },
    kind === 'drift' ? el('span', { class: 'llmops-warn-icon', 'aria-hidden': 'true' }, '⚠ ') : null,
    verdict ?? 'not checked'
  );
}

export class MonitorTab {
  private view: View = { kind: 'list' };
  /** bumped on every redraw: an answer for an older view is dropped */
  private gen = 0;
  /** last report per model; null: never checked (404) */
  private readonly reports = new Map<string, MonitorPayload | null>();
  private readonly offsets = new Map<string, number>();
  private readonly checking = new Set<string>();

  constructor(
    private readonly fetch: Fetcher,
    private readonly host: MonitorHost
  ) {}

  /** Draw the current view (the list, a model, or a call). */
  show(): void {
    const v = this.view;
    if (v.kind === 'model') {
      this.showModel(v.model, false);
    } else if (v.kind === 'trace') {
      void this.showTrace(v.model, v.id);
    } else {
      void this.showList();
    }
  }

  private begin(view: View): number {
    this.view = view;
    clear(this.host.body);
    return ++this.gen;
  }

  private current(gen: number): boolean {
    return gen === this.gen && this.host.active();
  }

  // ---- the models ---------------------------------------------------------------------------------
  async showList(): Promise<void> {
    const gen = this.begin({ kind: 'list' });
    const refresh = el('button', { class: 'llmops-monitor-refresh llmops-button', type: 'button', title: 'refresh now' }, 'Refresh');
    refresh.addEventListener('click', () => void this.showList());
    const host = el('div', { class: 'llmops-monitor' }, el('div', { class: 'llmops-muted' }, 'loading…'));
    this.host.body.append(el('div', { class: 'llmops-toolbar' }, el('span', { class: 'llmops-title llmops-grow' }, 'Logged models'), refresh), host);
    let rows: MonitoredModel[];
    try {
      rows = normalizeModels(await this.fetch(['monitor']));
    } catch (e) {
      if (this.current(gen)) {
        clear(host);
        host.appendChild(errorEl(e));
      }
      return;
    }
    if (!this.current(gen)) {
      return;
    }
    clear(host);
    if (!rows.length) {
      host.appendChild(
        el('div', { class: 'llmops-muted llmops-empty' }, 'no logged calls yet: decorate a model call with @llmops_nb.trace(model=...) or use generate()')
      );
      return;
    }
    host.appendChild(this.modelsTable(rows));
  }

  /** model (last call under it) · calls · errors · verdict (p-values and when it was checked under it): four
   * columns, so the table fits the side panel's width. */
  private modelsTable(rows: MonitoredModel[]): HTMLElement {
    const cols: [string, string][] = [
      ['model', 'llmops-text'],
      ['calls', 'llmops-num'],
      ['errors', 'llmops-num'],
      ['verdict', 'llmops-text']
    ];
    const trs = rows.map(r => {
      const tr = el(
        'tr',
        { class: 'llmops-monitor-row', 'data-model': r.model, tabindex: 0, title: r.model },
        el(
          'td',
          { class: 'llmops-text' },
          el('div', { class: 'llmops-monitor-model' }, r.model),
          el('div', { class: 'llmops-muted llmops-last-call', title: formatTime(r.last_call) }, `last ${formatShortTime(r.last_call)}`)
        ),
        el('td', { class: 'llmops-num llmops-calls' }, formatNumber(r.calls)),
        el('td', { class: `llmops-num llmops-errors${r.errors ? ' llmops-has-errors' : ''}` }, formatNumber(r.errors)),
        el(
          'td',
          { class: 'llmops-wrap llmops-monitor-verdict-cell' },
          verdictChip(r.verdict),
          el('div', { class: 'llmops-muted llmops-pvalues' }, ...pValues(r).map(p => el('span', {}, p))),
          r.checked_at !== null
            ? el('div', { class: 'llmops-muted llmops-checked-at', title: formatTime(r.checked_at) }, `checked ${formatShortTime(r.checked_at)}`)
            : null
        )
      );
      onActivate(tr, () => this.showModel(r.model, true));
      return tr;
    });
    return el(
      'table',
      { class: 'llmops-table llmops-monitor-table' },
      el('thead', {}, el('tr', {}, ...cols.map(([n, c]) => el('th', { class: c, scope: 'col' }, n)))),
      el('tbody', {}, ...trs)
    );
  }

  // ---- one model --------------------------------------------------------------------------------
  /** A model's report, Check now, and its calls; `fresh` re-reads the report and the first page of calls. */
  showModel(model: string, fresh: boolean): void {
    const gen = this.begin({ kind: 'model', model });
    if (fresh) {
      this.reports.delete(model);
      this.offsets.set(model, 0);
    }
    const check = el('button', { class: 'llmops-monitor-check llmops-button', type: 'button', title: `POST monitor {"model": …}: a report now, saved as the last verdict` }, 'Check now');
    const note = el('div', { class: 'llmops-monitor-check-note llmops-muted', role: 'status', 'aria-live': 'polite' });
    const report = el('div', { class: 'llmops-monitor-report' });
    const calls = el('div', { class: 'llmops-traces' });
    const box = el(
      'div',
      { class: 'llmops-monitor-detail', 'data-model': model },
      el('div', { class: 'llmops-title' }, model),
      el('div', { class: 'llmops-toolbar' }, check),
      note,
      report,
      el('section', { class: 'llmops-section' }, el('h3', { class: 'llmops-section-title' }, 'Logged calls'), calls)
    );
    this.host.body.append(el('div', { class: 'llmops-toolbar' }, this.host.backButton('models', () => void this.showList())), box);
    check.addEventListener('click', () => void this.check(model));
    this.drawBusy(box, this.checking.has(model));
    void this.loadReport(gen, model, report);
    void this.loadCalls(gen, model, calls);
  }

  private drawBusy(box: HTMLElement, busy: boolean): void {
    const button = box.querySelector('.llmops-monitor-check') as HTMLButtonElement | null;
    const note = box.querySelector('.llmops-monitor-check-note');
    if (!button || !note) {
      return;
    }
    button.disabled = busy;
    button.textContent = busy ? 'Checking…' : 'Check now';
    box.classList.toggle('llmops-busy', busy);
    if (busy) {
      box.setAttribute('aria-busy', 'true');
      note.classList.remove('llmops-error');
      note.textContent = 'checking: sampling and embedding the calls (takes seconds)…';
    } else {
      box.removeAttribute('aria-busy');
    }
  }

  private drawReport(host: HTMLElement, report: MonitorPayload | null): void {
    clear(host);
    host.appendChild(
      report === null
        ? el('div', { class: 'llmops-muted llmops-empty' }, 'not checked yet: "Check now" runs a report (the current window against a reference)')
        : renderMonitor(report)
    );
  }

  private async loadReport(gen: number, model: string, host: HTMLElement): Promise<void> {
    if (this.reports.has(model)) {
      this.drawReport(host, this.reports.get(model)!);
      return;
    }
    host.appendChild(el('div', { class: 'llmops-muted' }, 'loading the last report…'));
    let report: MonitorPayload | null;
    try {
      report = normalizeMonitor(await this.fetch(['monitor'], { model }));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) {
        if (this.current(gen)) {
          clear(host);
          host.appendChild(errorEl(e));
        }
        return;
      }
      report = null;
    }
    this.reports.set(model, report);
    if (this.current(gen)) {
      this.drawReport(host, report);
    }
  }

  /** POST monitor {"model"}: busy while it runs; the new report replaces the old, an error is one line. */
  private async check(model: string): Promise<void> {
    if (this.checking.has(model)) {
      return;
    }
    this.checking.add(model);
    const mine = () => (this.view.kind === 'model' && this.view.model === model && this.host.active() ? this.host.body.querySelector('.llmops-monitor-detail') as HTMLElement | null : null);
    let box = mine();
    if (box) {
      this.drawBusy(box, true);
    }
    let error: unknown = null;
    try {
      const report = normalizeMonitor(await this.fetch(['monitor'], undefined, { method: 'POST', body: { model } }));
      this.reports.set(model, report);
    } catch (e) {
      error = e;
    } finally {
      this.checking.delete(model);
    }
    box = mine();
    if (!box) {
      return;
    }
    this.drawBusy(box, false);
    const note = box.querySelector('.llmops-monitor-check-note')!;
    if (error) {
      note.classList.add('llmops-error');
      note.setAttribute('role', 'alert');
      note.textContent = `check failed: ${errorLine(error).split('\n')[0]}`;
      return;
    }
    note.classList.remove('llmops-error');
    note.setAttribute('role', 'status');
    const r = this.reports.get(model)!;
    note.textContent = `checked ${formatTime(r.created_at)}: ${r.verdict}`;
    this.drawReport(box.querySelector('.llmops-monitor-report') as HTMLElement, r);
  }

  // ---- its calls ----------------------------------------------------------------------------------
  private async loadCalls(gen: number, model: string, host: HTMLElement): Promise<void> {
    const offset = this.offsets.get(model) ?? 0;
    clear(host);
    host.appendChild(el('div', { class: 'llmops-muted' }, 'loading…'));
    let rows: TraceRow[];
    try {
      rows = normalizeTraceRows(await this.fetch(['traces'], { model, limit: TRACES_LIMIT, offset }));
    } catch (e) {
      if (this.current(gen)) {
        clear(host);
        host.appendChild(errorEl(e));
      }
      return;
    }
    if (!this.current(gen)) {
      return;
    }
    clear(host);
    const newer = el('button', { class: 'llmops-traces-newer llmops-button', type: 'button' }, '← newer') as HTMLButtonElement;
    const older = el('button', { class: 'llmops-traces-older llmops-button', type: 'button' }, 'older →') as HTMLButtonElement;
    newer.disabled = offset === 0;
    older.disabled = rows.length < TRACES_LIMIT;
    const page = (to: number) => {
      this.offsets.set(model, Math.max(0, to));
      void this.loadCalls(gen, model, host);
    };
    newer.addEventListener('click', () => page(offset - TRACES_LIMIT));
    older.addEventListener('click', () => page(offset + TRACES_LIMIT));
    const status = rows.length
      ? `calls ${formatNumber(offset + 1)}–${formatNumber(offset + rows.length)}, newest first`
      : offset
        ? 'no older calls'
        : 'no logged calls';
    host.append(
      el('div', { class: 'llmops-toolbar llmops-traces-pager' }, newer, el('span', { class: 'llmops-traces-status llmops-muted llmops-grow' }, status), older),
      rows.length ? this.callsTable(model, rows) : el('span', {})
    );
  }

  private callsTable(model: string, rows: TraceRow[]): HTMLElement {
    const trs = rows.map(r => {
      const tr = el(
        'tr',
        { class: `llmops-trace-row${r.error ? ' llmops-trace-failed' : ''}`, 'data-trace-id': String(r.id), tabindex: 0, title: `call ${r.id}` },
        el('td', { class: 'llmops-time', title: formatTime(r.ts) }, formatShortTime(r.ts)),
        el(
          'td',
          { class: 'llmops-text llmops-trace-prompt-cell' },
          r.error ? el('span', { class: 'llmops-trace-error-mark', title: r.error }, 'error · ') : null,
          oneLine(r.prompt) || '(no prompt)'
        ),
        el('td', { class: 'llmops-num' }, formatDuration(r.latency_s))
      );
      onActivate(tr, () => void this.showTrace(model, String(r.id)));
      return tr;
    });
    return el(
      'table',
      { class: 'llmops-table llmops-traces-table' },
      el('thead', {}, el('tr', {}, el('th', { class: 'llmops-time', scope: 'col' }, 'time'), el('th', { class: 'llmops-text', scope: 'col' }, 'prompt'), el('th', { class: 'llmops-num', scope: 'col' }, 'latency'))),
      el('tbody', {}, ...trs)
    );
  }

  // ---- one call ---------------------------------------------------------------------------------
  async showTrace(model: string, id: string): Promise<void> {
    const gen = this.begin({ kind: 'trace', model, id });
    const box = el('div', { class: 'llmops-trace-host' }, el('div', { class: 'llmops-muted' }, 'loading…'));
    this.host.body.append(el('div', { class: 'llmops-toolbar' }, this.host.backButton(model, () => this.showModel(model, false))), box);
    try {
      const t = await this.fetch(['traces', id]);
      if (this.current(gen)) {
        clear(box);
        box.appendChild(traceElement(t));
      }
    } catch (e) {
      if (this.current(gen)) {
        clear(box);
        box.appendChild(errorEl(e));
      }
    }
  }
}
