/**
 * The renderers of the llmops MIME types (extension/CONTRACT.md). Each draws the static view of its
 * payload. A widget output (the bundle also holds `application/vnd.jupyter.widget-view+json`) is drawn
 * by the same renderer, ranked before the widget renderer: it shows the snapshot, asks the notebook's
 * own widget renderer (jupyterlab-manager's, with the kernel's widget manager) for the live view in a
 * hidden box, and swaps the live view in once it has actually drawn one. With no kernel, or a kernel
 * that never made the model, the widget renderer only writes "Loading widget..." or "Error displaying
 * widget: model not found" into its hidden box, and the snapshot stays, with a note.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Message } from '@lumino/messaging';
import { ISignal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';
import { clear, el } from './dom';
import { chooseView, LiveState, liveFailed, liveRendered, shouldTryLive, WIDGET_VIEW_MIME, widgetModelId } from './liveview';
import { renderMonitor } from './monitorview';
import { renderComparison, renderCuration, renderReview, renderSearch, renderTable } from './views';

export const MIME = {
  table: 'application/vnd.llmops.table+json',
  search: 'application/vnd.llmops.search+json',
  comparison: 'application/vnd.llmops.comparison+json',
  curation: 'application/vnd.llmops.curation+json',
  review: 'application/vnd.llmops.review+json',
  monitor: 'application/vnd.llmops.monitor+json'
};

export const MIME_TYPES = Object.values(MIME);

/** Before jupyterlab-manager's widget renderer (rank -10) and every standard renderer. */
export const RANK = -20;

export const SAVED_NOTE = 'saved view — run the cell to interact';

/** The part of a rendermime registry the renderer needs to ask for a widget view. */
export interface WidgetRendermime {
  createRenderer(mimeType: string): IRenderMime.IRenderer;
  getFactory(mimeType: string): IRenderMime.IRendererFactory | undefined;
}

/** Where a renderer finds the notebook's widget renderer; `changed` fires when it may have changed
 * (the kernel became ready or changed, so jupyterlab-manager installed its per-notebook factory). */
export interface WidgetHost {
  rendermime: WidgetRendermime;
  changed?: ISignal<unknown, void>;
}

/** The static view of one payload. */
export function staticView(mimeType: string, data: unknown): HTMLElement {
  try {
    if (!data || typeof data !== 'object') {
      throw new Error('empty payload');
    }
    switch (mimeType) {
      case MIME.table:
        return renderTable(data as never);
      case MIME.search:
        return renderSearch(data as never);
      case MIME.comparison:
        return renderComparison(data as never);
      case MIME.curation:
        return renderCuration(data as never);
      case MIME.review:
        return renderReview(data as never);
      case MIME.monitor:
        return renderMonitor(data);
    }
    throw new Error(`no view for ${mimeType}`);
  } catch (e) {
    return el('div', { class: 'llmops-mime llmops-error' }, `cannot show this ${mimeType} output: ${(e as Error).message}`);
  }
}

function isWidgetRendermime(x: unknown): x is WidgetRendermime {
  return !!x && typeof (x as WidgetRendermime).createRenderer === 'function' && typeof (x as WidgetRendermime).getFactory === 'function';
}

/** The nearest ancestor's rendermime (an OutputArea's or a Notebook's), for renderers made by the
 * app-wide factory (consoles, output views). */
function findRendermime(w: Widget): WidgetRendermime | null {
  for (let p: Widget | null = w.parent; p; p = p.parent) {
    const rm = (p as unknown as { rendermime?: unknown }).rendermime;
    if (isWidgetRendermime(rm)) {
      return rm;
    }
  }
  return null;
}

export class LlmopsRenderer extends Panel implements IRenderMime.IRenderer {
  readonly mimeType: string;
  private readonly host: WidgetHost | null;
  private readonly snapshot = new Widget();
  private readonly note: HTMLElement;
  private live: IRenderMime.IRenderer | null = null;
  private liveFactory: IRenderMime.IRendererFactory | undefined = undefined;
  private liveModelId: string | null = null;
  private liveState: LiveState = 'none';
  private observer: MutationObserver | null = null;
  private model: IRenderMime.IMimeModel | null = null;

  constructor(options: IRenderMime.IRendererOptions, host: WidgetHost | null = null) {
    super();
    this.mimeType = options.mimeType;
    this.host = host;
    this.addClass('llmops-renderer');
    this.snapshot.addClass('llmops-snapshot');
    this.note = el('div', { class: 'llmops-saved-note llmops-muted' }, SAVED_NOTE);
    this.addWidget(this.snapshot);
    if (host && host.changed) {
      host.changed.connect(this.onHostChanged, this);
    }
  }

  /** 'live' or 'snapshot' (also in the node's data-llmops-view attribute). */
  get view(): 'live' | 'snapshot' {
    return this.node.getAttribute('data-llmops-view') === 'live' ? 'live' : 'snapshot';
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.model = model;
    clear(this.snapshot.node);
    this.snapshot.node.appendChild(staticView(this.mimeType, model.data[this.mimeType]));
    const modelId = widgetModelId(model.data as Record<string, unknown>);
    if (modelId === null) {
      this.dropLive();
    } else if (this.isAttached) {
      this.tryLive();
    }
    this.applyView();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.tryLive();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    if (this.host && this.host.changed) {
      this.host.changed.disconnect(this.onHostChanged, this);
    }
    this.dropLive();
    super.dispose();
  }

  private rendermime(): WidgetRendermime | null {
    return this.host ? this.host.rendermime : findRendermime(this);
  }

  private onHostChanged(): void {
    if (this.liveState !== 'rendered') {
      this.tryLive();
    }
  }

  /** Mount the notebook's widget renderer for the bundle's model in a hidden box (once per model and
   * widget factory). */
  private tryLive(): void {
    const model = this.model;
    if (!model || this.isDisposed) {
      return;
    }
    const modelId = widgetModelId(model.data as Record<string, unknown>);
    const rm = this.rendermime();
    const factory = rm ? rm.getFactory(WIDGET_VIEW_MIME) : undefined;
    if (!shouldTryLive({ modelId, trusted: !!model.trusted, hasWidgetRenderer: !!factory })) {
      this.dropLive();
      this.applyView();
      return;
    }
    if (this.live && this.liveModelId === modelId && (this.liveFactory === factory || this.liveState === 'rendered')) {
      return; // already asked this renderer for this model
    }
    this.dropLive();
    let live: IRenderMime.IRenderer;
    try {
      live = rm!.createRenderer(WIDGET_VIEW_MIME);
    } catch {
      this.liveState = 'failed';
      this.applyView();
      return;
    }
    this.live = live;
    this.liveFactory = factory;
    this.liveModelId = modelId;
    this.liveState = 'pending';
    live.addClass('llmops-live');
    this.observer = new MutationObserver(() => this.onLiveChanged());
    this.observer.observe(live.node, { childList: true });
    this.addWidget(live);
    this.applyView();
    live.renderModel(model).then(
      () => this.onLiveChanged(),
      () => {
        this.liveState = 'failed';
        this.applyView();
      }
    );
  }

  private onLiveChanged(): void {
    if (!this.live) {
      return;
    }
    this.liveState = liveRendered(this.live.node) ? 'rendered' : liveFailed(this.live.node) ? 'failed' : 'pending';
    this.applyView();
  }

  private dropLive(): void {
    if (this.observer) {
      this.observer.disconnect();
      this.observer = null;
    }
    if (this.live) {
      this.live.dispose();
      this.live = null;
    }
    this.liveFactory = undefined;
    this.liveModelId = null;
    this.liveState = 'none';
  }

  /** Show the live view or the snapshot (with its note when the bundle has a widget). */
  private applyView(): void {
    const model = this.model;
    const modelId = model ? widgetModelId(model.data as Record<string, unknown>) : null;
    const view = chooseView({ modelId, trusted: !!model?.trusted, live: this.liveState });
    this.node.setAttribute('data-llmops-view', view);
    this.node.setAttribute('data-llmops-live', this.liveState);
    if (this.live) {
      this.live.node.classList.toggle('llmops-hidden', view !== 'live');
    }
    this.snapshot.node.classList.toggle('llmops-hidden', view === 'live');
    const wantNote = view === 'snapshot' && modelId !== null;
    if (wantNote && this.note.parentNode !== this.snapshot.node) {
      this.snapshot.node.appendChild(this.note);
    } else if (!wantNote && this.note.parentNode) {
      this.note.parentNode.removeChild(this.note);
    }
  }
}

/** A renderer factory for the llmops MIME types; `host` binds it to one notebook's widget renderer. */
export function rendererFactory(host: WidgetHost | null = null): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: MIME_TYPES,
    defaultRank: RANK,
    createRenderer: options => new LlmopsRenderer(options, host)
  };
}
