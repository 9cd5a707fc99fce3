"""A static snapshot beside each widget's live view, so a saved notebook still reads well with no kernel.

`Snapshotted` is a mixin for an ipywidgets/anywidget class. Its `_repr_mimebundle_` extends the widget's own
bundle (the `application/vnd.jupyter.widget-view+json` view, from ipywidgets or anywidget) with the widget's
snapshot MIME (`application/vnd.llmops.review+json`, ...), an escaped `text/html` and a readable
`text/plain`. The JupyterLab extension shows the live view while its model exists and the snapshot otherwise.

The widget shows itself under a display id of its own (`_ipython_display_`), and every state change
publishes the fresh bundle as an update of that display, so saving the notebook keeps the latest view.
IPython is reached through builtins' `get_ipython` (set while a cell runs), as `record()` does; the shell
found when the widget was shown is kept for its updates, since a button's comm message runs outside any cell.

An update is sent as a reply to the cell that showed the widget (its execute request as the parent header),
not to whatever is running now: JupyterLab hands a display update only to the output area whose execution it
answers, so an update caused by a button (a comm message) or by a later cell would otherwise be dropped.
"""
from __future__ import annotations

import builtins
import html
import sys
import uuid
from typing import Any, Dict, List, Optional, Tuple

from ..display import finite

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MAX_SHOWN = 8  # the cells that showed one widget which still get its updates (the latest ones)

# Scoped to .llmops-snap. `.jp-RenderedHTMLCommon td {text-align: right}` outranks a plain class rule, hence
# the longer selectors. Colours are JupyterLab's theme variables; the fallbacks serve nbviewer and VS Code.
STYLE = """<style>
.llmops-snap{font:13px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);color:var(--jp-ui-font-color1,inherit);
 background:var(--jp-layout-color1,transparent);border:1px solid var(--jp-border-color2,rgba(128,128,128,.35));
 border-radius:4px;padding:6px 8px;max-width:1100px}
.llmops-snap .ls-title{font-weight:600;margin:0 0 4px}
.llmops-snap .ls-muted{color:var(--jp-ui-font-color2,inherit);opacity:.85;font-size:12px}
.llmops-snap .ls-error{color:var(--jp-error-color1,inherit);font-size:12px}
.llmops-snap table.ls-t,.jp-RenderedHTMLCommon .llmops-snap table.ls-t{border-collapse:collapse;width:100%}
.llmops-snap table.ls-t th,.llmops-snap table.ls-t td,
.jp-RenderedHTMLCommon .llmops-snap table.ls-t th,.jp-RenderedHTMLCommon .llmops-snap table.ls-t td{
 text-align:left;vertical-align:top;padding:3px 8px;color:var(--jp-content-font-color1,inherit);
 border-bottom:1px solid var(--jp-border-color2,rgba(128,128,128,.35))}
.llmops-snap table.ls-t th,.jp-RenderedHTMLCommon .llmops-snap table.ls-t th{
 background:var(--jp-layout-color2,transparent);font-weight:600}
.llmops-snap table.ls-t td.ls-num,.jp-RenderedHTMLCommon .llmops-snap table.ls-t td.ls-num{
 text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.llmops-snap .ls-pre,.jp-RenderedHTMLCommon .llmops-snap .ls-pre{white-space:pre-wrap;word-break:break-word;
 text-align:left;font-family:var(--jp-code-font-family,monospace);font-size:12px}
.llmops-snap .ls-accepted{color:var(--jp-success-color1,inherit);font-weight:600}
.llmops-snap .ls-rejected{color:var(--jp-error-color1,inherit);font-weight:600}
.llmops-snap .ls-edited{color:var(--jp-brand-color1,inherit);font-weight:600}
</style>"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def frame(kind: str, title: str, body: str, note: str = "") -> str:
    """The snapshot's HTML: the style, a titled box of class llmops-snap (and llmops-snap-KIND)."""
    foot = f"<div class='ls-muted'>{esc(note)}</div>" if note else ""
    return (f"{STYLE}<div class='llmops-snap llmops-snap-{esc(kind)}'><div class='ls-title'>{esc(title)}</div>"
            f"{body}{foot}</div>")


def _shell() -> Optional[Any]:
    get_ipython = getattr(builtins, "get_ipython", None)
    if get_ipython is None:  # display() outside a cell (a callback): IPython's own accessor, if IPython runs
        ipython = sys.modules.get("IPython")
        get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    return shell if shell is not None and getattr(shell, "display_pub", None) is not None else None


class Snapshotted:
    """Mixin: the widget view bundle plus a static snapshot, refreshed in place on every state change."""

    snapshot_mime: str = ""

    # ---- to be provided by the widget -------------------------------------------------------------
    def snapshot(self) -> dict:
        raise NotImplementedError

    def snapshot_html(self) -> str:
        raise NotImplementedError

    def snapshot_text(self) -> str:
        raise NotImplementedError

    # ---- the bundle ------------------------------------------------------------------------------------
    def snapshot_bundle(self) -> Dict[str, Any]:
        """The static part alone: snapshot MIME, text/html, text/plain."""
        return {self.snapshot_mime: finite(self.snapshot()), "text/html": self.snapshot_html(),
                "text/plain": self.snapshot_text()}

    def _repr_mimebundle_(self, **kwargs: Any) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        got = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]  # ipywidgets: dict; anywidget: (data, meta)
        data, meta = got if isinstance(got, tuple) else (got or {}, {})
        data = {**data, **self.snapshot_bundle()}  # the widget view stays; text/plain becomes the readable one
        return data, dict(meta or {})

    @property
    def display_id(self) -> str:
        did = self.__dict__.get("_llmops_display_id")
        if did is None:
            did = self.__dict__["_llmops_display_id"] = f"llmops-{uuid.uuid4().hex}"
        return did

    def _ipython_display_(self) -> None:
        """Show the bundle under this widget's display id (IPython calls this for display() and a cell's value)."""
        shell = _shell()
        if shell is None:
            return
        data, meta = self._repr_mimebundle_()
        self.__dict__["_llmops_shell"] = shell
        shown: List[dict] = self.__dict__.setdefault("_llmops_shown", [])
        parent = dict(getattr(shell.display_pub, "parent_header", None) or {})
        if parent.get("msg_id") not in {p.get("msg_id") for p in shown}:
            shown.append(parent)
            del shown[:-MAX_SHOWN]
        shell.display_pub.publish(data=data, metadata=meta, transient={"display_id": self.display_id})

    def refresh_snapshot(self) -> bool:
        """Publish the current bundle as an update of the display this widget was shown with, once per cell
        that showed it; False when it was not shown yet or there is no kernel to send it to (a terminal
        IPython would print it again)."""
        shown: List[dict] = self.__dict__.get("_llmops_shown") or []
        shell = self.__dict__.get("_llmops_shell")
        if not shown or shell is None or not hasattr(shell, "kernel"):
            return False
        data, meta = self._repr_mimebundle_()
        pub = shell.display_pub
        for parent in shown:
            token = pub.set_thread_parent(parent) if parent and hasattr(pub, "set_thread_parent") else None
            try:
                pub.publish(data=data, metadata=meta, transient={"display_id": self.display_id}, update=True)
            finally:
                if token is not None:
                    pub.reset_thread_parent(token)
        return True


__all__ = ["STYLE", "Snapshotted", "WIDGET_VIEW", "esc", "frame"]
