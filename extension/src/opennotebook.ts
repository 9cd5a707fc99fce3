/**
 * "Open notebook" of a run (pure; the JupyterLab calls come in as `NotebookIO`, so this is unit-tested).
 *
 * The run's output notebook lives in the workspace, by default `<root>/.llmops/artifacts/<run>/...`: a hidden
 * folder, which jupyter_server's contents API refuses (`allow_hidden=False`). So the path is opened directly
 * only when the contents API serves it; otherwise the notebook is read from the REST route
 * `runs/<id>/notebook` and saved as a copy at `llmops-outputs/<run name>-<run id>.ipynb` under the server's root
 * (an existing copy is reopened, never overwritten). The run's own notebook is never changed.
 */

export const COPY_DIR = 'llmops-outputs';
const MAX_NAME = 80;

/** What the panel knows of the run: RunDetail's id, name, `notebook` (relative to the server's root, or
 * null when it is outside it) and artifacts. */
export interface NotebookRun {
  id: string;
  name: string | null;
  notebook: string | null;
  artifacts?: Record<string, string> | null;
}

/** The JupyterLab side: the contents API, the REST route and the document manager. */
export interface NotebookIO {
  /** Whether the contents API serves `path` (ContentsManager.get(path, {content: false}) succeeds). */
  servable(path: string): Promise<boolean>;
  /** The nbformat JSON of the run's output notebook (GET runs/<id>/notebook). */
  fetchNotebook(runId: string): Promise<unknown>;
  /** Make the folder `dir` when it does not exist. */
  ensureDir(dir: string): Promise<void>;
  /** Save `notebook` at `path` through the contents API. */
  save(path: string, notebook: unknown): Promise<void>;
  /** Open `path` in a notebook tab. */
  open(path: string): Promise<void> | void;
}

export type OpenOutcome =
  | { how: 'direct'; path: string }
  | { how: 'copied'; path: string }
  | { how: 'reused'; path: string };

/** `text` with every run of characters outside `[A-Za-z0-9._-]` as one `-`, no leading dot or dash (a file
 * starting with a dot is hidden, which the contents API refuses), at most 80 characters; `fallback` if empty. */
export function safeName(text: string | null | undefined, fallback = 'run'): string {
  const s = String(text ?? '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, MAX_NAME)
    .replace(/[.-]+$/, '');
  return s || fallback;
}

/** Where the copy of a run's output notebook goes: `llmops-outputs/<run name>-<run id>.ipynb`. */
export function copyPath(run: Pick<NotebookRun, 'id' | 'name'>): string {
  return `${COPY_DIR}/${safeName(run.name)}-${safeName(run.id, 'id')}.ipynb`;
}

/** Whether the run has an output notebook to open: RunDetail's `notebook`, or (a workspace outside the
 * server's root) an `output-*.ipynb` artifact, which the REST route serves. */
export function hasNotebook(run: NotebookRun): boolean {
  return !!run.notebook || Object.keys(run.artifacts || {}).some(n => /^output-.*\.ipynb$/.test(n));
}

/** Open the run's notebook: directly when the contents API serves its path, else a copy (made once). */
export async function openRunNotebook(run: NotebookRun, io: NotebookIO): Promise<OpenOutcome> {
  if (run.notebook && (await io.servable(run.notebook))) {
    await io.open(run.notebook);
    return { how: 'direct', path: run.notebook };
  }
  const path = copyPath(run);
  if (await io.servable(path)) {
    await io.open(path);
    return { how: 'reused', path };
  }
  const nb = await io.fetchNotebook(run.id);
  await io.ensureDir(COPY_DIR);
  await io.save(path, nb);
  await io.open(path);
  return { how: 'copied', path };
}

/** The panel's line about what was opened (null when the run's own notebook was). */
export function outcomeMessage(outcome: OpenOutcome): string | null {
  const own = "the run's own notebook stays unchanged in the workspace";
  if (outcome.how === 'copied') {
    return `opened a copy: ${outcome.path}; ${own}`;
  }
  if (outcome.how === 'reused') {
    return `opened a copy: ${outcome.path} (made earlier; delete it to copy afresh); ${own}`;
  }
  return null;
}
