"""`review(dataset)`: an anywidget to page through records, accept / reject / edit them, and commit.

Thin: every action goes to `llmops_nb.data.review.Review`, which writes decisions to the workspace as
they are made. The front-end (review.js / review.css) only sets synced traits: `decision` (one decision,
with a sequence number so repeating the same one still fires), `filter`, `query`, `page`, and
`commit_request`; Python answers by updating `items`, `filters`, `summary` and `status`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import anywidget
from traitlets import Dict, Int, List, Unicode, observe

from ..checks import whole_number
from ..data.datasets import Dataset
from ..data.review import Review
from ..errors import LlmopsError

HERE = Path(__file__).resolve().parent


class ReviewWidget(anywidget.AnyWidget):
    _esm = HERE / "review.js"
    _css = HERE / "review.css"

    dataset_ref = Unicode("").tag(sync=True)
    filter = Unicode("all").tag(sync=True)
    query = Unicode("").tag(sync=True)
    page = Int(0).tag(sync=True)
    page_size = Int(10).tag(sync=True)
    total = Int(0).tag(sync=True)
    items = List([]).tag(sync=True)
    filters = List([]).tag(sync=True)
    summary = Dict({}).tag(sync=True)
    decision = Dict({}).tag(sync=True)  # written by the front-end: {"id", "decision", "text", "seq"}
    commit_request = Int(0).tag(sync=True)  # the front-end increments it to commit
    status = Unicode("").tag(sync=True)
    committed = Unicode("").tag(sync=True)

    def __init__(self, data: Union[str, Dataset, Review], *, page_size: int = 10, **kwargs):
        page_size = whole_number("page size", page_size, minimum=1, hint="it is the number of records per page")
        self.core = data if isinstance(data, Review) else Review(data)
        self._busy = False
        super().__init__(dataset_ref=self.core.dataset.ref, page_size=page_size, **kwargs)
        self.refresh()

    # ---- front-end -> core -------------------------------------------------------------------
    @observe("filter", "query")
    def _on_search(self, change) -> None:
        if not self._busy:
            self._busy = True
            self.page = 0
            self._busy = False
            self.refresh()

    @observe("page", "page_size")
    def _on_page(self, change) -> None:
        if not self._busy:
            self.refresh()

    @observe("decision")
    def _on_decision(self, change) -> None:
        d = change["new"] or {}
        if not d.get("id"):
            return
        try:
            self.core.decide(str(d["id"]), str(d.get("decision")), d.get("text"))
            self.status = f"saved: {d.get('decision')} {d['id']}"
        except LlmopsError as exc:
            self.status = f"error: {exc}"
        self.refresh()

    @observe("commit_request")
    def _on_commit(self, change) -> None:
        if change["new"] > change["old"]:
            try:
                self.commit()
            except LlmopsError as exc:
                self.status = f"error: {exc}"

    # ---- Python API -----------------------------------------------------------------------------
    def decide(self, record_id: str, decision: str, text: Optional[str] = None) -> None:
        """The same path a button press takes."""
        self.decision = {"id": record_id, "decision": decision, "text": text, "seq": (self.decision or {}).get("seq", 0) + 1}

    def commit(self, name: Optional[str] = None) -> Dataset:
        ds = self.core.commit(name)
        self.committed = ds.ref
        self.status = f"committed {ds.ref}: {len(ds)} records"
        return ds

    def refresh(self) -> None:
        self._busy = True
        try:
            size = max(1, self.page_size)
            total, items = self.core.page(self.filter, self.query, self.page * size, size)
            last = max(0, (total - 1) // size)
            if self.page > last:
                self.page = last
                total, items = self.core.page(self.filter, self.query, self.page * size, size)
            self.total = total
            self.items = items
            self.filters = [list(f) for f in self.core.filters()]
            self.summary = self.core.summary()
        except LlmopsError as exc:
            self.status = f"error: {exc}"
        finally:
            self._busy = False

    # ---- results protocol (the CLI prints this) ---------------------------------------------------
    def to_dict(self) -> dict:
        return self.core.to_dict()

    def __str__(self) -> str:
        return str(self.core)

    def __repr__(self) -> str:
        return f"ReviewWidget({self.dataset_ref!r})"


def review(data: Union[str, Dataset], *, page_size: int = 10) -> ReviewWidget:
    """Review a snapshot by hand (keys: j/k move, a accept, r reject, e edit, u undo, n/p page, / search).
    Decisions are saved to the workspace as they are made; `.commit()` writes a new snapshot from them."""
    return ReviewWidget(data, page_size=page_size)
