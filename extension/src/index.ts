/**
 * llmops-nb's JupyterLab extension: the LLMOps side panel, its palette command and launcher item, and the
 * renderers of the llmops MIME types (app-wide, and bound to each notebook's widget renderer).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { LabIcon } from '@jupyterlab/ui-components';
import { PartialJSONObject } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import { Fetcher, makeFetcher } from './api';
import { NotebookIO, openRunNotebook, outcomeMessage } from './opennotebook';
import { LLMOpsPanel, PANEL_ID } from './panel';
import { MIME_TYPES, RANK, rendererFactory } from './mime';
import { WIDGET_VIEW_MIME } from './liveview';

export const COMMAND_OPEN_PANEL = 'llmops:open-panel';
export const COMMAND_NEW_NOTEBOOK = 'llmops:new-notebook';
export const FIRST_CELL = '%load_ext llmops_nb';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<rect x="3" y="13" width="4" height="8" rx="1"/><rect x="10" y="8" width="4" height="13" rx="1"/>' +
  '<rect x="17" y="3" width="4" height="18" rx="1"/></g></svg>';

export const llmopsIcon = new LabIcon({ name: 'llmops-nb:icon', svgstr: ICON_SVG });

// the launcher draws items of its Notebook category from a `kernelIconUrl` (else the label's first letter);
// a mid-tone orange reads on the light and dark launcher cards alike
const LAUNCHER_ICON_URL =
  'data:image/svg+xml,' +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" width="52" height="52" viewBox="0 0 24 24"><g fill="#F37726">' +
      '<rect x="3" y="13" width="4" height="8" rx="1"/><rect x="10" y="8" width="4" height="13" rx="1"/>' +
      '<rect x="17" y="3" width="4" height="18" rx="1"/></g></svg>'
  );

/** "Open notebook"'s JupyterLab side: the contents API, the REST route runs/<id>/notebook, docmanager:open. */
function notebookIO(app: JupyterFrontEnd, fetcher: Fetcher): NotebookIO {
  const contents = app.serviceManager.contents;
  const exists = async (path: string) => {
    try {
      await contents.get(path, { content: false });
      return true;
    } catch {
      return false; // 404, or a path the server refuses to serve (a hidden folder)
    }
  };
  return {
    servable: exists,
    fetchNotebook: runId => fetcher(['runs', runId, 'notebook']),
    ensureDir: async dir => {
      if (!(await exists(dir))) {
        await contents.save(dir, { type: 'directory' });
      }
    },
    save: async (path, notebook) => {
      await contents.save(path, { type: 'notebook', format: 'json', content: notebook as PartialJSONObject });
    },
    open: async path => {
      await app.commands.execute('docmanager:open', { path });
    }
  };
}

const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'llmops-nb:panel',
  description: 'The LLMOps side panel (runs, datasets, indexes), its palette command and launcher item.',
  autoStart: true,
  optional: [ICommandPalette, ILauncher, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null
  ) => {
    const { commands, shell } = app;
    const fetcher = makeFetcher(app.serviceManager.serverSettings);
    const panel = new LLMOpsPanel({
      fetch: fetcher,
      openNotebook: async run => outcomeMessage(await openRunNotebook(run, notebookIO(app, fetcher)))
    });
    panel.title.icon = llmopsIcon;
    panel.title.caption = 'LLMOps';
    panel.title.label = '';
    panel.node.setAttribute('aria-label', 'LLMOps');
    shell.add(panel, 'left', { rank: 900 });
    if (restorer) {
      restorer.add(panel, PANEL_ID);
    }

    commands.addCommand(COMMAND_OPEN_PANEL, {
      label: 'LLMOps: Open panel',
      caption: 'Show the LLMOps panel: runs, datasets and indexes of this workspace',
      execute: () => {
        shell.activateById(PANEL_ID);
        void panel.refreshRuns();
      }
    });
    commands.addCommand(COMMAND_NEW_NOTEBOOK, {
      label: args => (args['isLauncher'] ? 'LLMOps notebook' : 'LLMOps: New notebook'),
      caption: 'A new notebook whose first cell loads the llmops magics',
      icon: args => (args['isLauncher'] ? llmopsIcon : undefined),
      execute: async args => {
        const cwd = (args['cwd'] as string) || '';
        const model = await commands.execute('docmanager:new-untitled', { path: cwd, type: 'notebook' });
        const kernelName = app.serviceManager.kernelspecs.specs?.default || 'python3';
        const nb = (await commands.execute('docmanager:open', {
          path: model.path,
          factory: 'Notebook',
          kernel: { name: kernelName }
        })) as NotebookPanel;
        await nb.context.ready;
        const cell = nb.content.model?.cells.get(0);
        if (cell) {
          cell.sharedModel.setSource(FIRST_CELL);
        } else {
          nb.content.model?.sharedModel.insertCell(0, { cell_type: 'code', source: FIRST_CELL });
        }
        await nb.context.save();
        return nb;
      }
    });
    if (palette) {
      palette.addItem({ command: COMMAND_OPEN_PANEL, category: 'LLMOps' });
      palette.addItem({ command: COMMAND_NEW_NOTEBOOK, category: 'LLMOps' });
    }
    if (launcher) {
      launcher.add({
        command: COMMAND_NEW_NOTEBOOK,
        category: 'Notebook',
        rank: 50,
        args: { isLauncher: true },
        kernelIconUrl: LAUNCHER_ICON_URL
      });
    }
  }
};

/** How long after a kernel becomes ready we look for jupyterlab-manager's per-notebook widget factory. */
const FACTORY_CHECKS_MS = [0, 100, 500, 1500, 4000];

const renderPlugin: JupyterFrontEndPlugin<void> = {
  id: 'llmops-nb:renderers',
  description: 'Renderers of the llmops MIME types; widget outputs show their snapshot until the live widget draws.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [INotebookTracker],
  activate: (app: JupyterFrontEnd, rendermime: IRenderMimeRegistry, tracker: INotebookTracker | null) => {
    // app-wide (consoles, output views, notebooks opened before the tracker reports them)
    rendermime.addFactory(rendererFactory(), RANK);
    if (!tracker) {
      return;
    }
    // per notebook: bound to the notebook's own rendermime, where jupyterlab-manager installs the widget
    // renderer that knows the kernel's widget manager once the kernel is ready
    tracker.widgetAdded.connect((_, panel: NotebookPanel) => {
      const rm = panel.content.rendermime;
      const changed = new Signal<unknown, void>(panel);
      let last = rm.getFactory(WIDGET_VIEW_MIME);
      const check = () => {
        const f = rm.getFactory(WIDGET_VIEW_MIME);
        if (f !== last) {
          last = f;
          changed.emit(undefined);
        }
      };
      const schedule = () => FACTORY_CHECKS_MS.forEach(ms => window.setTimeout(check, ms));
      void panel.sessionContext.ready.then(schedule, () => undefined);
      panel.sessionContext.kernelChanged.connect(schedule);
      panel.sessionContext.statusChanged.connect((_s, status) => {
        if (status === 'idle') {
          check();
        }
      });
      for (const mt of MIME_TYPES) {
        rm.removeMimeType(mt);
      }
      rm.addFactory(rendererFactory({ rendermime: rm, changed }), RANK);
      panel.disposed.connect(() => Signal.clearData(panel));
    });
  }
};

export default [panelPlugin, renderPlugin];
