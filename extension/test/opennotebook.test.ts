import { describe, expect, it } from 'vitest';
import { Widget } from '@lumino/widgets';
import { ApiError, Fetcher } from '../src/fetcher';
import { LLMOpsPanel } from '../src/panel';
import { COPY_DIR, copyPath, hasNotebook, NotebookIO, NotebookRun, openRunNotebook, outcomeMessage, safeName } from '../src/opennotebook';

describe('safeName', () => {
  it('keeps [A-Za-z0-9._-] and turns each other run of characters into one dash', () => {
    expect(safeName('train-a_v1.2')).toBe('train-a_v1.2');
    expect(safeName('my run / with spaces')).toBe('my-run-with-spaces');
    expect(safeName('<img src=x onerror=alert(1)>')).toBe('img-src-x-onerror-alert-1');
    expect(safeName('naïve résumé')).toBe('na-ve-r-sum');
  });
  it('never makes a hidden file, a path or an empty name', () => {
    expect(safeName('../../etc/passwd')).toBe('etc-passwd');
    expect(safeName('.hidden')).toBe('hidden');
    expect(safeName('..')).toBe('run');
    expect(safeName('')).toBe('run');
    expect(safeName(null)).toBe('run');
    expect(safeName('///', 'id')).toBe('id');
    expect(safeName('a'.repeat(200)).length).toBe(80);
  });
  it('names the copy llmops-outputs/<run name>-<run id>.ipynb', () => {
    expect(copyPath({ id: '0123456789ab', name: 'eval notebook' })).toBe(`${COPY_DIR}/eval-notebook-0123456789ab.ipynb`);
    expect(copyPath({ id: '0123456789ab', name: '../x' })).toBe('llmops-outputs/x-0123456789ab.ipynb');
  });
});

describe('hasNotebook', () => {
  it('is true for a notebook path or an output-*.ipynb artifact (a workspace outside the root)', () => {
    expect(hasNotebook({ id: 'a', name: 'n', notebook: 'x.ipynb' })).toBe(true);
    expect(hasNotebook({ id: 'a', name: 'n', notebook: null, artifacts: { 'output-x.ipynb': 'artifacts/a/output-x.ipynb' } })).toBe(true);
    expect(hasNotebook({ id: 'a', name: 'n', notebook: null, artifacts: { 'model.bin': 'artifacts/a/model.bin' } })).toBe(false);
    expect(hasNotebook({ id: 'a', name: 'n', notebook: null })).toBe(false);
  });
});

/** A fake of the contents API and the route: `files` is what the contents API serves. */
function fakeIO(files: Set<string>, log: string[]): NotebookIO {
  return {
    servable: async p => {
      log.push(`get ${p}`);
      return files.has(p);
    },
    fetchNotebook: async id => {
      log.push(`fetch ${id}`);
      if (id === 'none') {
        throw new ApiError('run none has no output notebook', 404);
      }
      return { cells: [], nbformat: 4, nbformat_minor: 5, metadata: {} };
    },
    ensureDir: async d => {
      log.push(`mkdir ${d}`);
      files.add(d);
    },
    save: async p => {
      log.push(`save ${p}`);
      files.add(p);
    },
    open: p => {
      log.push(`open ${p}`);
    }
  };
}

const HIDDEN: NotebookRun = { id: '0123456789ab', name: 'eval nb', notebook: '.llmops/artifacts/0123456789ab/output-eval.ipynb' };
const COPY = 'llmops-outputs/eval-nb-0123456789ab.ipynb';

describe('openRunNotebook', () => {
  it('opens the path itself when the contents API serves it', async () => {
    const log: string[] = [];
    const out = await openRunNotebook({ ...HIDDEN, notebook: 'runs/out.ipynb' }, fakeIO(new Set(['runs/out.ipynb']), log));
    expect(out).toEqual({ how: 'direct', path: 'runs/out.ipynb' });
    expect(log).toEqual(['get runs/out.ipynb', 'open runs/out.ipynb']);
    expect(outcomeMessage(out)).toBeNull();
  });
  it('else fetches it, saves a copy in llmops-outputs/ (made if missing) and opens the copy', async () => {
    const log: string[] = [];
    const files = new Set<string>();
    const out = await openRunNotebook(HIDDEN, fakeIO(files, log));
    expect(out).toEqual({ how: 'copied', path: COPY });
    expect(log).toEqual([`get ${HIDDEN.notebook}`, `get ${COPY}`, 'fetch 0123456789ab', 'mkdir llmops-outputs', `save ${COPY}`, `open ${COPY}`]);
    expect(outcomeMessage(out)).toBe(`opened a copy: ${COPY}; the run's own notebook stays unchanged in the workspace`);
  });
  it('reopens an existing copy instead of overwriting it', async () => {
    const log: string[] = [];
    const out = await openRunNotebook(HIDDEN, fakeIO(new Set([COPY]), log));
    expect(out).toEqual({ how: 'reused', path: COPY });
    expect(log).toEqual([`get ${HIDDEN.notebook}`, `get ${COPY}`, `open ${COPY}`]);
    expect(outcomeMessage(out)).toContain(`opened a copy: ${COPY}`);
  });
  it('goes straight to the copy when the notebook is outside the root (no path)', async () => {
    const log: string[] = [];
    const out = await openRunNotebook({ id: 'abc', name: 'x', notebook: null }, fakeIO(new Set(), log));
    expect(out.how).toBe('copied');
    expect(log[0]).toBe('get llmops-outputs/x-abc.ipynb');
  });
  it("passes the route's error on, and saves nothing", async () => {
    const log: string[] = [];
    await expect(openRunNotebook({ id: 'none', name: 'x', notebook: 'a.ipynb' }, fakeIO(new Set(), log))).rejects.toThrow('has no output notebook');
    expect(log.some(l => l.startsWith('save') || l.startsWith('open'))).toBe(false);
  });
});

describe("the panel's Open notebook button", () => {
  const detail = (notebook: string | null, artifacts: Record<string, string>) => ({
    id: 'r1', name: 'nb', kind: 'notebook', status: 'finished', started_at: 1, ended_at: 2, duration_s: 1, params: {},
    metrics: {}, tags: {}, parent_id: null, history: {}, artifacts, environment: {}, records: {}, error: null, notebook
  });
  const flush = async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise(r => setTimeout(r, 0));
    }
  };
  async function detailOf(d: unknown, open: (run: NotebookRun) => Promise<string | null>): Promise<LLMOpsPanel> {
    const fetch = (async (segments: string[]) => {
      if (segments.join('/') === 'runs') {
        return { total: 1, offset: 0, limit: 200, runs: [d] };
      }
      return d;
    }) as Fetcher;
    const p = new LLMOpsPanel({ fetch, openNotebook: open });
    Widget.attach(p, document.body);
    await flush();
    (p.node.querySelector('tr.llmops-run-row') as HTMLElement).click();
    await flush();
    return p;
  }

  it('says that a copy was opened', async () => {
    const asked: NotebookRun[] = [];
    const p = await detailOf(detail('.llmops/artifacts/r1/output-nb.ipynb', { 'output-nb.ipynb': 'artifacts/r1/output-nb.ipynb' }), async run => {
      asked.push(run);
      return 'opened a copy: llmops-outputs/nb-r1.ipynb; the run\'s own notebook stays unchanged in the workspace';
    });
    const b = p.node.querySelector('button.llmops-open-notebook') as HTMLButtonElement;
    expect(b.textContent).toBe('Open notebook .llmops/artifacts/r1/output-nb.ipynb');
    b.click();
    await flush();
    expect(asked.map(r => [r.id, r.name, r.notebook])).toEqual([['r1', 'nb', '.llmops/artifacts/r1/output-nb.ipynb']]);
    const note = p.node.querySelector('.llmops-open-notebook-note') as HTMLElement;
    expect(note.textContent).toContain('opened a copy: llmops-outputs/nb-r1.ipynb');
    expect(b.disabled).toBe(false);
    p.dispose();
  });

  it('shows an error as one line, and the button for an output-*.ipynb artifact outside the root', async () => {
    const p = await detailOf(detail(null, { 'output-nb.ipynb': '/elsewhere/output-nb.ipynb' }), async () => {
      throw new ApiError('run r1 has no output notebook', 404);
    });
    const b = p.node.querySelector('button.llmops-open-notebook') as HTMLButtonElement;
    expect(b.textContent).toBe('Open notebook');
    b.click();
    await flush();
    const note = p.node.querySelector('.llmops-open-notebook-note') as HTMLElement;
    expect(note.classList.contains('llmops-error')).toBe(true);
    expect(note.textContent).toBe('could not open the notebook: run r1 has no output notebook');
    p.dispose();
  });

  it('is absent when the run has no notebook', async () => {
    const p = await detailOf(detail(null, {}), async () => null);
    expect(p.node.querySelector('button.llmops-open-notebook')).toBeNull();
    p.dispose();
  });
});
