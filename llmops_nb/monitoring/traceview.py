"""One logged call in full: prompt, the retrieved passages with their scores (their text looked up in the index the
call's `index` tag names, when it still holds them), output, timing, tokens, error, run and tags; escaped HTML."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..checks import whole_number
from ..display import STYLE, esc, finite, fmt_time, html_table, jsonable
from ..errors import not_found
from ..workspace import workspace

COLUMNS = ("id", "ts", "source", "model", "prompt", "output", "context", "latency_s", "tokens_in", "tokens_out",
           "error", "run_id", "tags", "text_mode", "as_repr", "cached")


@dataclass(repr=False)
class TraceView:
    id: int
    ts: float
    source: str
    model: str
    prompt: str
    output: str
    latency_s: float
    tokens_in: int
    tokens_out: int
    error: Optional[str]
    run_id: Optional[str]
    tags: Dict[str, Any]
    text_mode: str
    as_repr: List[str]
    cached: bool
    passages: List[dict] = field(default_factory=list)  # {"id", "score", "text" (None when not found)}
    note: str = ""

    def to_dict(self) -> dict:
        return finite(jsonable({"version": 1, **{k: getattr(self, k) for k in (
            "id", "ts", "source", "model", "prompt", "output", "latency_s", "tokens_in", "tokens_out", "error",
            "run_id", "tags", "text_mode", "as_repr", "cached", "passages", "note")}}))

    @property
    def text_notes(self) -> List[str]:
        """What the prompt and output shown are: not logged, redacted, or the repr of a non-string."""
        notes = []
        if self.text_mode == "none":
            notes.append("the prompt and output were not logged (log_text='none' when the call was made)")
        elif self.text_mode == "redacted":
            notes.append("the prompt and output were logged with PII redacted (log_text='redacted')")
        if self.as_repr:
            notes.append(f"{' and '.join(self.as_repr)} {'were' if len(self.as_repr) > 1 else 'was'} not a string: "
                         "stored as its repr()")
        return notes

    def __repr__(self) -> str:
        return f"TraceView(call {self.id}, {self.model!r}, {fmt_time(self.ts)})"

    def _repr_pretty_(self, p, cycle) -> None:  # IPython's text/plain: the view itself
        p.text(str(self))

    def __str__(self) -> str:
        lines = [f"call {self.id} · {self.model} · {fmt_time(self.ts)} · {self.latency_s:.3f}s · "
                 f"{self.tokens_in} → {self.tokens_out} tokens" + (f" · run {self.run_id}" if self.run_id else "")]
        if self.error:
            lines.append(f"error: {self.error}")
        lines += [f"note: {n}" for n in self.text_notes]
        lines += ["prompt:", self.prompt, ""]
        for p in self.passages:
            score = "" if p["score"] is None else f" ({p['score']:.3f})"
            lines.append(f"passage {p['id']}{score}: {p['text'] if p['text'] is not None else '(text not found)'}")
        lines += ["output:", self.output]
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = {"model": self.model, "time": fmt_time(self.ts), "source": self.source,
                "latency_s": round(self.latency_s, 4), "tokens": f"{self.tokens_in} → {self.tokens_out}",
                "run": self.run_id or "", "tags": json.dumps(self.tags) if self.tags else "",
                "error": self.error or ""}
        rows = [{"field": k, "value": v} for k, v in head.items() if v != ""]
        parts = [STYLE, html_table(rows, ["field", "value"], caption=f"logged call {self.id}")]
        parts += [f"<div class='llmops-muted'>{esc(n)}</div>" for n in self.text_notes]
        parts += ["<div class='llmops-cap'>prompt</div>", f"<pre>{esc(self.prompt)}</pre>"]
        if self.passages:
            parts.append(html_table([{"id": p["id"], "score": p["score"], "text": p["text"] or "(text not found)"}
                                     for p in self.passages], ["id", "score", "text"], caption="retrieved passages",
                                    types={"text": "longtext", "id": "text"}))
        parts += ["<div class='llmops-cap'>output</div>", f"<pre>{esc(self.output)}</pre>"]
        if self.note:
            parts.append(f"<div class='llmops-muted'>{esc(self.note)}</div>")
        return "".join(parts)


def _passages(context: Optional[str], tags: Dict[str, Any]) -> tuple:
    if not context:
        return [], ""
    pairs = json.loads(context)
    name, ix, note = tags.get("index"), None, ""
    if name:
        from ..index.catalog import load_index

        try:
            ix = load_index(str(name))
        except Exception as exc:  # deleted or damaged since: ids and scores are still shown
            note = f"index '{name}' cannot be read ({type(exc).__name__}); passage texts are not shown"
    elif pairs:
        note = "the call names no index (tag 'index'), so only the ids and scores of its context are shown"
    out = []
    for pid, score in pairs:
        text = None
        if ix is not None:
            try:
                text = ix.record(str(pid))["text"]
            except Exception:  # a record deleted since
                text = None
        out.append({"id": pid, "score": score, "text": text})
    return out, note


def trace_view(call_id: Any) -> TraceView:
    """The logged call with this id (`traces()` shows ids)."""
    call_id = whole_number("call id", call_id, minimum=1)
    row = workspace().db.execute(f"SELECT {', '.join(COLUMNS)} FROM generations WHERE id = ?", (call_id,)).fetchone()
    if row is None:
        raise not_found("logged call", str(call_id), [], hint="traces() lists the ids of logged calls")
    r = dict(zip(COLUMNS, row))
    tags = json.loads(r["tags"]) if r["tags"] else {}
    passages, note = _passages(r["context"], tags)
    return TraceView(r["id"], r["ts"], r["source"], r["model"], r["prompt"], r["output"], r["latency_s"],
                     r["tokens_in"], r["tokens_out"], r["error"], r["run_id"], tags, r["text_mode"],
                     (r["as_repr"] or "").split(",") if r["as_repr"] else [], bool(r["cached"]), passages, note)


__all__ = ["TraceView", "trace_view"]
