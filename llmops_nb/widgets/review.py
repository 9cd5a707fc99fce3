"""`review(dataset)`: an anywidget to page through records, accept / reject / edit them, and commit.

Thin: every action goes to `llmops_nb.data.review.Review`, which writes decisions to the workspace as
they are made. The front-end (review.js / review.css) only sets synced traits: `decision` (one decision,
with a sequence number so repeating the same one still fires), `filter`, `query`, `page`, and
`commit_request`; Python answers by updating `items`, `filters`, `summary`, `heading`, `counts` and `status`.

Beside the live view its mime bundle carries a static snapshot (`application/vnd.llmops.review+json`, HTML,
text), refreshed in the notebook after every decision, page change and commit (see snapshot.py).
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
from .snapshot import Snapshotted, esc, frame

HERE = Path(__file__).resolve().parent
MIME = "application/vnd.llmops.review+json"
SNAPSHOT_CHARS = 4000  # of each record's text in the snapshot
DECIDED = {"accept": "accepted", "reject": "rejected", "edit": "edited"}


class ReviewWidget(Snapshotted, anywidget.AnyWidget):
    _esm = HERE / "review.js"
    _css = HERE / "review.css"
    snapshot_mime = MIME

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
    heading = Unicode("").tag(sync=True)  # "Review pydoc@v2", or after Commit what it wrote
    counts = Unicode("").tag(sync=True)  # the summary line under the heading

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
            if self.committed:
                self.heading = f"Review {self.dataset_ref} (changed since the commit of {self.committed})"
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
                self.refresh_snapshot()

    # ---- Python API -----------------------------------------------------------------------------
    def decide(self, record_id: str, decision: str, text: Optional[str] = None) -> None:
        """The same path a button press takes."""
        self.decision = {"id": record_id, "decision": decision, "text": text, "seq": (self.decision or {}).get("seq", 0) + 1}

    def commit(self, name: Optional[str] = None) -> Dataset:
        ds = self.core.commit(name)
        self.committed = ds.ref
        again = " (the same decisions gave this snapshot before)" if ds.reused else ""
        self.heading = f"Committed {ds.ref} ({len(ds)} records) from {self.dataset_ref}"
        self.status = f"committed {ds.ref}: {len(ds)} records{again}"
        self.refresh_snapshot()
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
            self.counts = counts_line(self.summary)
            if not self.heading:
                self.heading = f"Review {self.dataset_ref}"
        except LlmopsError as exc:
            self.status = f"error: {exc}"
        finally:
            self._busy = False
        self.refresh_snapshot()

    # ---- snapshot (saved with the notebook) -------------------------------------------------------
    def snapshot(self) -> dict:
        """The contract's Review shape: dataset, committed, status, summary, the current page's items."""
        s = self.summary or self.core.summary()
        size = max(1, self.page_size)
        items = [{"id": it["id"], "text": it["text"][:SNAPSHOT_CHARS], "truncated": it["length"] > SNAPSHOT_CHARS,
                  "status": it["status"], "decision": DECIDED.get(it["decision"] or ""),
                  "edited_text": (it["edited_text"] or "")[:SNAPSHOT_CHARS] or None} for it in self.items]
        return {"version": 1, "dataset": self.dataset_ref, "committed": self.committed or None,
                "heading": self.heading, "status": self.status,
                "summary": {"total": s.get("items", 0), "accepted": s.get("accept", 0), "rejected": s.get("reject", 0),
                            "edited": s.get("edit", 0), "pending": s.get("undecided", 0), "kept": s.get("kept", 0),
                            "removed_by_curation": s.get("removed", 0),
                            "rejected_by_review": s.get("rejected_by_review", 0), "flagged": s.get("flagged", 0)},
                "filter": self.filter, "query": self.query, "page": self.page,
                "pages": max(1, -(-self.total // size)), "matching": self.total, "items": items}

    def snapshot_text(self) -> str:
        snap = self.snapshot()
        s = snap["summary"]
        lines = [f"review {snap['dataset']}: {s['total']} records, {s['accepted']} accepted, {s['rejected']} rejected, "
                 f"{s['edited']} edited, {s['pending']} pending"]
        if snap["committed"]:
            lines.append(snap["heading"])
        lines.append(f"page {snap['page'] + 1} of {snap['pages']} ({snap['matching']} records, filter {snap['filter']}):")
        for it in snap["items"]:
            text = " ".join((it["edited_text"] or it["text"]).split())
            lines.append(f"  [{it['decision'] or 'pending'}] {it['id']}: {text[:100]}{'…' if len(text) > 100 else ''}")
        return "\n".join(lines)

    def snapshot_html(self) -> str:
        snap = self.snapshot()
        rows = []
        for it in snap["items"]:
            dec = it["decision"]
            mark = f"<span class='ls-{dec}'>{dec}</span>" if dec else "<span class='ls-muted'>pending</span>"
            text = it["edited_text"] or it["text"]
            rows.append(f"<tr data-llmops-id='{esc(it['id'])}'><td>{esc(it['id'])}<br><span class='ls-muted'>"
                        f"{esc(it['status'])}</span></td><td>{mark}</td><td class='ls-pre'>{esc(text)}</td></tr>")
        table = ("<table class='ls-t'><thead><tr><th>record</th><th>decision</th><th>text</th></tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table>")
        note = f"page {snap['page'] + 1} of {snap['pages']} · {snap['matching']} records (filter {snap['filter']})"
        if snap["status"]:
            note += f" · {snap['status']}"
        body = f"<div class='ls-muted'>{esc(self.counts)}</div>{table}"
        return frame("review", snap["heading"] or f"Review {snap['dataset']}", body, note)

    # ---- results protocol (the CLI prints this) ---------------------------------------------------
    def to_dict(self) -> dict:
        return self.core.to_dict()

    def __str__(self) -> str:
        return str(self.core)

    def __repr__(self) -> str:
        return f"ReviewWidget({self.dataset_ref!r})"


def counts_line(s: dict) -> str:
    """The summary under the heading: what the snapshot holds, then the decisions. Records an earlier review
    rejected are "rejected by review", never "removed by curation"."""
    parts = [f"{s.get('items', 0)} records: {s.get('kept', 0)} kept", f"{s.get('removed', 0)} removed by curation"]
    if s.get("rejected_by_review"):
        parts.append(f"{s['rejected_by_review']} rejected by an earlier review")
    parts.append(f"{s.get('flagged', 0)} flagged")
    return (", ".join(parts) + f" · decisions: {s.get('accept', 0)} accepted, {s.get('reject', 0)} rejected by review, "
            f"{s.get('edit', 0)} edited, {s.get('undecided', 0)} pending")


def review(data: Union[str, Dataset], *, page_size: int = 10) -> ReviewWidget:
    """Review a snapshot by hand (keys: j/k move, a accept, r reject, e edit, u undo, n/p page, / search).
    Decisions are saved to the workspace as they are made; `.commit()` writes a new snapshot from them."""
    return ReviewWidget(data, page_size=page_size)
