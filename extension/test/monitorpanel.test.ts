import { describe, expect, it } from 'vitest';
import { Widget } from '@lumino/widgets';
import { ApiError, Fetcher, PostBody } from '../src/fetcher';
import { LLMOpsPanel } from '../src/panel';

const XSS = '<img src=x onerror="window.__pwned=1">';

function report(model: string, verdict: string, flagged: boolean) {
  const side = { kind: 'window', label: 'w', start: null, end: null, run: null, volume: 60, models: [model], sampled: 60, without_text: 0 };
  return { version: 1, model, status: 'ok', verdict, flagged, current_side: side, reference_side: side, current: { volume: 60 },
    reference: { volume: 60 }, drift: {}, notes: [], timeline: [], created_at: 1000, elapsed_s: 1 };
}

function rows(offset: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({ id: 200 - offset - i, ts: 1000 - i, source: 'trace', model: 'bot',
    prompt: i === 0 ? XSS + '\nline two' : `prompt ${offset + i}`, output: 'o', context: null, latency_s: 0.01,
    tokens_in: 0, tokens_out: 0, error: i === 1 ? 'ValueError: x' : null, run_id: null, tags: {}, text_mode: 'full' }));
}

interface Gate {
  release?: () => void;
  fail?: boolean;
}

function fakeFetch(calls: string[], gate: Gate): Fetcher {
  return (async (segments: string[], query?: Record<string, unknown>, post?: PostBody) => {
    const path = segments.join('/');
    calls.push((post ? 'POST ' : '') + path + (query ? '?' + Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join('&') : ''));
    if (path === 'runs') {
      return { total: 0, offset: 0, limit: 200, runs: [] };
    }
    if (path === 'monitor' && post) {
      await new Promise<void>(r => (gate.release = r));
      if (gate.fail) {
        throw new ApiError('model \'bot\': the workspace is locked\nsecond line', 503);
      }
      return report((post.body as { model: string }).model, 'no drift detected', false);
    }
    if (path === 'monitor' && query && query.model === 'bot') {
      return report('bot', 'drift in prompt', true);
    }
    if (path === 'monitor' && query && query.model) {
      throw new ApiError('never checked', 404);
    }
    if (path === 'monitor') {
      return { models: [
        { model: 'bot', calls: 121, last_call: 1000, errors: 3, verdict: 'drift', prompt_p: 0.002, output_p: 0.41, checked_at: 1001 },
        { model: XSS, calls: 1, last_call: null, errors: 0, verdict: null, prompt_p: null, output_p: null, checked_at: null }
      ] };
    }
    if (path === 'traces') {
      const offset = Number(query!.offset);
      return { rows: rows(offset, offset ? 20 : 50), limit: 50, offset };
    }
    if (path === 'traces/200') {
      return { ...rows(0, 1)[0], as_repr: [], cached: false, passages: [{ id: 'rec-1', score: 0.8, text: 'passage' }], note: '' };
    }
    throw new ApiError('no such route', 404);
  }) as Fetcher;
}

const flush = async () => {
  for (let i = 0; i < 6; i++) {
    await new Promise(r => setTimeout(r, 0));
  }
};

async function mount(calls: string[] = [], gate: Gate = {}): Promise<LLMOpsPanel> {
  const p = new LLMOpsPanel({ fetch: fakeFetch(calls, gate), openNotebook: () => undefined });
  Widget.attach(p, document.body);
  await flush();
  (p.node.querySelector('#llmops-tab-monitor') as HTMLElement).click();
  await flush();
  return p;
}

const q = (p: LLMOpsPanel, sel: string) => p.node.querySelector(sel) as HTMLElement;

describe('the Monitor tab', () => {
  it('lists the models with calls, errors, verdict and p-values; markup stays text', async () => {
    const p = await mount();
    expect(q(p, '#llmops-tab-monitor').getAttribute('aria-selected')).toBe('true');
    const bot = q(p, 'tr.llmops-monitor-row[data-model="bot"]');
    expect(bot.querySelector('.llmops-verdict-chip')!.getAttribute('data-verdict')).toBe('drift');
    expect(Array.from(bot.querySelectorAll('.llmops-pvalues span')).map(s => s.textContent)).toEqual(['prompt p 0.002', 'output p 0.41']);
    expect(bot.querySelector('.llmops-last-call')!.textContent).toBe('last 1970-01-01');
    expect(bot.querySelector('.llmops-errors')!.classList.contains('llmops-has-errors')).toBe(true);
    expect(bot.textContent).toContain('121');
    const other = p.node.querySelectorAll('tr.llmops-monitor-row')[1];
    expect(other.querySelector('.llmops-monitor-model')!.textContent).toBe(XSS);
    expect(other.querySelector('.llmops-verdict-chip')!.textContent).toBe('not checked');
    expect(p.node.querySelector('img')).toBeNull();
    p.dispose();
  });

  it("opens a model: its report, its calls newest first with paging, a call's trace view and back", async () => {
    const calls: string[] = [];
    const p = await mount(calls);
    q(p, 'tr.llmops-monitor-row[data-model="bot"]').click();
    await flush();
    const detail = q(p, '.llmops-monitor-detail[data-model="bot"]');
    expect(detail.querySelector('.llmops-mime-monitor .llmops-monitor-verdict.llmops-flagged')).not.toBeNull();
    expect(calls).toContain('monitor?model=bot');
    expect(calls).toContain('traces?model=bot&limit=50&offset=0');
    const trs = detail.querySelectorAll('tr.llmops-trace-row');
    expect(trs.length).toBe(50);
    expect(trs[0].querySelector('.llmops-trace-prompt-cell')!.textContent).toBe(XSS + ' line two');
    expect(trs[1].classList.contains('llmops-trace-failed')).toBe(true);
    expect((q(p, 'button.llmops-traces-newer') as HTMLButtonElement).disabled).toBe(true);
    q(p, 'button.llmops-traces-older').click();
    await flush();
    expect(calls).toContain('traces?model=bot&limit=50&offset=50');
    expect(q(p, '.llmops-traces-status').textContent).toBe('calls 51–70, newest first');
    expect((q(p, 'button.llmops-traces-older') as HTMLButtonElement).disabled).toBe(true);
    q(p, 'button.llmops-traces-newer').click();
    await flush();
    q(p, 'tr.llmops-trace-row[data-trace-id="200"]').click();
    await flush();
    const trace = q(p, '.llmops-trace[data-trace-id="200"]');
    expect(trace.querySelector('.llmops-trace-prompt')!.textContent).toBe(XSS + '\nline two');
    expect(trace.querySelector('li.llmops-passage[data-id="rec-1"]')).not.toBeNull();
    expect(p.node.querySelector('img')).toBeNull();
    const before = calls.filter(c => c === 'monitor?model=bot').length;
    q(p, 'button.llmops-back').click();
    await flush();
    expect(q(p, '.llmops-monitor-detail[data-model="bot"] .llmops-mime-monitor')).not.toBeNull();
    expect(calls.filter(c => c === 'monitor?model=bot').length).toBe(before); // the report is kept
    q(p, 'button.llmops-back').click();
    await flush();
    expect(p.node.querySelectorAll('tr.llmops-monitor-row').length).toBe(2);
    p.dispose();
  });

  it('Check now: busy while the POST runs, then the new report; a never-checked model says so', async () => {
    const calls: string[] = [];
    const gate: Gate = {};
    const p = await mount(calls, gate);
    (p.node.querySelectorAll('tr.llmops-monitor-row')[1] as HTMLElement).click();
    await flush();
    expect(q(p, '.llmops-monitor-report').textContent).toContain('not checked yet');
    q(p, 'button.llmops-back').click();
    await flush();
    q(p, 'tr.llmops-monitor-row[data-model="bot"]').click();
    await flush();
    const button = q(p, 'button.llmops-monitor-check') as HTMLButtonElement;
    button.click();
    await flush();
    expect(calls).toContain('POST monitor');
    expect(button.disabled).toBe(true);
    expect(q(p, '.llmops-monitor-detail').getAttribute('aria-busy')).toBe('true');
    expect(q(p, '.llmops-monitor-check-note').textContent).toContain('checking');
    gate.release!();
    await flush();
    expect(button.disabled).toBe(false);
    expect(q(p, '.llmops-monitor-detail').hasAttribute('aria-busy')).toBe(false);
    expect(q(p, '.llmops-monitor-report .llmops-monitor-verdict').textContent).toBe('verdict: no drift detected');
    expect(q(p, '.llmops-monitor-check-note').textContent).toContain('no drift detected');
    p.dispose();
  });

  it('a failed check is one error line and the old report stays', async () => {
    const gate: Gate = { fail: true };
    const p = await mount([], gate);
    q(p, 'tr.llmops-monitor-row[data-model="bot"]').click();
    await flush();
    q(p, 'button.llmops-monitor-check').click();
    await flush();
    gate.release!();
    await flush();
    const note = q(p, '.llmops-monitor-check-note');
    expect(note.classList.contains('llmops-error')).toBe(true);
    expect(note.textContent).toBe("check failed: model 'bot': the workspace is locked");
    expect(q(p, '.llmops-monitor-report .llmops-monitor-verdict').textContent).toBe('⚠ verdict: drift in prompt');
    p.dispose();
  });
});
