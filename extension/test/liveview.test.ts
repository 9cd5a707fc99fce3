import { describe, expect, it } from 'vitest';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { chooseView, liveFailed, liveRendered, shouldTryLive, WIDGET_VIEW_MIME, widgetModelId } from '../src/liveview';
import { LlmopsRenderer, MIME, SAVED_NOTE, WidgetRendermime } from '../src/mime';

describe('the snapshot-vs-live decision', () => {
  it('reads the model id', () => {
    expect(widgetModelId({ [WIDGET_VIEW_MIME]: { model_id: 'abc', version_major: 2 } })).toBe('abc');
    expect(widgetModelId({ [WIDGET_VIEW_MIME]: { model_id: '' } })).toBeNull();
    expect(widgetModelId({ 'text/plain': 'x' })).toBeNull();
  });
  it('tries the live view only for a trusted widget output with a widget renderer', () => {
    expect(shouldTryLive({ modelId: 'm', trusted: true, hasWidgetRenderer: true })).toBe(true);
    expect(shouldTryLive({ modelId: 'm', trusted: false, hasWidgetRenderer: true })).toBe(false);
    expect(shouldTryLive({ modelId: null, trusted: true, hasWidgetRenderer: true })).toBe(false);
    expect(shouldTryLive({ modelId: 'm', trusted: true, hasWidgetRenderer: false })).toBe(false);
  });
  it('shows the live view only once it rendered', () => {
    for (const live of ['none', 'pending', 'failed'] as const) {
      expect(chooseView({ modelId: 'm', trusted: true, live })).toBe('snapshot');
    }
    expect(chooseView({ modelId: 'm', trusted: true, live: 'rendered' })).toBe('live');
    expect(chooseView({ modelId: null, trusted: true, live: 'rendered' })).toBe('snapshot');
  });
  it('text-only states of the widget renderer are not a view', () => {
    const n = document.createElement('div');
    n.textContent = 'Loading widget...';
    expect(liveRendered(n)).toBe(false);
    expect(liveFailed(n)).toBe(false);
    n.textContent = 'Error displaying widget: model not found';
    expect(liveFailed(n)).toBe(true);
    n.textContent = '';
    n.appendChild(document.createElement('div'));
    expect(liveRendered(n)).toBe(true);
  });
});

/** A stand-in for jupyterlab-manager's renderer: "Loading widget...", then a view or an error. */
class FakeWidgetRenderer extends Widget {
  constructor(private outcome: { ok: boolean; wait: Promise<void> }) {
    super();
  }
  async renderModel(): Promise<void> {
    this.node.textContent = 'Loading widget...';
    await this.outcome.wait;
    if (this.outcome.ok) {
      this.node.textContent = '';
      const view = document.createElement('div');
      view.className = 'fake-live-view';
      this.node.appendChild(view);
    } else {
      this.node.textContent = 'Error displaying widget: model not found';
    }
  }
}

function fakeRendermime(ok: boolean): { rm: WidgetRendermime; release: () => void } {
  let release = () => {};
  const wait = new Promise<void>(r => (release = r));
  const factory = { safe: false, mimeTypes: [WIDGET_VIEW_MIME], createRenderer: () => new FakeWidgetRenderer({ ok, wait }) };
  return {
    rm: {
      getFactory: () => factory as never,
      createRenderer: () => factory.createRenderer() as never
    },
    release: () => release()
  };
}

const REVIEW = {
  version: 1,
  dataset: 'pydoc@v2',
  committed: null,
  status: 'reviewing',
  summary: { total: 1, accepted: 0, rejected: 0, edited: 0, pending: 1 },
  items: [{ id: 'a', text: 'hello', decision: null }]
};

function model(trusted = true, modelId = 'm1') {
  return { trusted, data: { [MIME.review]: REVIEW, [WIDGET_VIEW_MIME]: { model_id: modelId, version_major: 2, version_minor: 1 } }, metadata: {}, setData: () => undefined } as never;
}

const tick = () => new Promise(r => setTimeout(r, 0));

describe('LlmopsRenderer', () => {
  it('swaps in the live widget once it draws a view', async () => {
    const { rm, release } = fakeRendermime(true);
    const r = new LlmopsRenderer({ mimeType: MIME.review } as never, { rendermime: rm });
    await r.renderModel(model());
    Widget.attach(r, document.body);
    expect(r.node.getAttribute('data-llmops-view')).toBe('snapshot');
    expect(r.node.textContent).toContain(SAVED_NOTE);
    expect(r.node.querySelector('.llmops-live')!.classList.contains('llmops-hidden')).toBe(true);
    release();
    await tick();
    await tick();
    expect(r.node.getAttribute('data-llmops-view')).toBe('live');
    expect(r.node.querySelector('.llmops-snapshot')!.classList.contains('llmops-hidden')).toBe(true);
    expect(r.node.querySelector('.fake-live-view')).not.toBeNull();
    r.dispose();
  });
  it('keeps the snapshot when the model is not found', async () => {
    const { rm, release } = fakeRendermime(false);
    const r = new LlmopsRenderer({ mimeType: MIME.review } as never, { rendermime: rm });
    await r.renderModel(model());
    Widget.attach(r, document.body);
    release();
    await tick();
    await tick();
    expect(r.node.getAttribute('data-llmops-view')).toBe('snapshot');
    expect(r.node.getAttribute('data-llmops-live')).toBe('failed');
    expect(r.node.querySelector('.llmops-snapshot')!.classList.contains('llmops-hidden')).toBe(false);
    expect(r.node.querySelector('.llmops-saved-note')!.textContent).toBe(SAVED_NOTE);
    r.dispose();
  });
  it('never mounts widget code for an untrusted output, and a plain output has no note', async () => {
    const { rm } = fakeRendermime(true);
    const r = new LlmopsRenderer({ mimeType: MIME.review } as never, { rendermime: rm });
    await r.renderModel(model(false));
    Widget.attach(r, document.body);
    expect(r.node.querySelector('.llmops-live')).toBeNull();
    expect(r.node.getAttribute('data-llmops-view')).toBe('snapshot');
    r.dispose();
    const plain = new LlmopsRenderer({ mimeType: MIME.review } as never, null);
    await plain.renderModel({ trusted: true, data: { [MIME.review]: REVIEW }, metadata: {} } as never);
    Widget.attach(plain, document.body);
    expect(plain.node.querySelector('.llmops-saved-note')).toBeNull();
    expect(plain.node.querySelector('.llmops-mime-review')).not.toBeNull();
    plain.dispose();
  });
  it('retries when the notebook gets its widget renderer (kernel ready)', async () => {
    let current = fakeRendermime(false);
    const changed = new Signal<unknown, void>({});
    const host = {
      rendermime: {
        getFactory: (m: string) => current.rm.getFactory(m),
        createRenderer: (m: string) => current.rm.createRenderer(m)
      },
      changed
    };
    const r = new LlmopsRenderer({ mimeType: MIME.review } as never, host);
    await r.renderModel(model());
    Widget.attach(r, document.body);
    current = fakeRendermime(true);
    changed.emit(undefined);
    current.release();
    await tick();
    await tick();
    expect(r.node.getAttribute('data-llmops-view')).toBe('live');
    // a refreshed snapshot (update_display_data) keeps the live view
    await r.renderModel(model());
    expect(r.node.getAttribute('data-llmops-view')).toBe('live');
    r.dispose();
  });
});
