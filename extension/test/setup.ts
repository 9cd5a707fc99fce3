// jsdom has no DragEvent, which @lumino/dragdrop (under @lumino/widgets) subclasses at import time
if (typeof (globalThis as { DragEvent?: unknown }).DragEvent === 'undefined') {
  (globalThis as { DragEvent?: unknown }).DragEvent = class DragEvent extends MouseEvent {};
}
