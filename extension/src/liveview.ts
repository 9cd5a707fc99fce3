/**
 * The snapshot-vs-live decision for widget outputs (pure functions).
 *
 * A widget output's bundle holds the widget view (`application/vnd.jupyter.widget-view+json`) AND a
 * static snapshot (`application/vnd.llmops.*+json`). The snapshot is always drawn; the live widget
 * replaces it only once the notebook's widget renderer has actually drawn a view (the model exists in a
 * running kernel). "Loading widget..." and "Error displaying widget: model not found" are text only, so
 * they never count as a view.
 */

export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

export type LiveState = 'none' | 'pending' | 'rendered' | 'failed';

/** The widget view's model id in a bundle, or null when there is none (or it is empty: a closed widget). */
export function widgetModelId(data: Record<string, unknown>): string | null {
  const view = data[WIDGET_VIEW_MIME] as { model_id?: unknown } | undefined;
  if (!view || typeof view !== 'object') {
    return null;
  }
  return typeof view.model_id === 'string' && view.model_id !== '' ? view.model_id : null;
}

/** Whether to try mounting the live widget: a widget view in the bundle, a trusted output (JupyterLab
 * never runs widget code for untrusted outputs) and a widget renderer to ask. */
export function shouldTryLive(opts: { modelId: string | null; trusted: boolean; hasWidgetRenderer: boolean }): boolean {
  return opts.modelId !== null && opts.trusted && opts.hasWidgetRenderer;
}

/** What to show: the live widget only once it rendered a view, the snapshot in every other case. */
export function chooseView(opts: { modelId: string | null; trusted: boolean; live: LiveState }): 'live' | 'snapshot' {
  return opts.modelId !== null && opts.trusted && opts.live === 'rendered' ? 'live' : 'snapshot';
}

/** Whether the widget renderer's node holds a drawn view: an element child. Its loading and error
 * states are plain text ("Loading widget...", "Error displaying widget: model not found"). */
export function liveRendered(node: Element): boolean {
  return node.children.length > 0;
}

/** Whether the widget renderer's node states a failure. */
export function liveFailed(node: Element): boolean {
  return node.children.length === 0 && /^Error displaying widget/.test(node.textContent || '');
}
