"""Variant specs for `compare`: how one model is asked to answer.

    zero-shot:MODEL              the question alone
    few-shot:MODEL:K             K worked examples from the pool, then the question
    rag:MODEL:INDEX:K            K passages retrieved from INDEX, cited as [1]..[K]
    prompt:MODEL:PROMPT@vN       a registered prompt version
    ft:FINETUNED_MODEL           a fine-tuned model, zero-shot
    ...+rag:INDEX:K              retrieval added to any of the above (e.g. ft:my-lora+rag:pydoc:4)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from ..errors import InputError

KINDS = ("zero-shot", "few-shot", "rag", "prompt", "ft")
SPEC_HELP = ("variant specs: zero-shot:MODEL, few-shot:MODEL:K, rag:MODEL:INDEX:K, prompt:MODEL:PROMPT@vN, "
             "ft:FINETUNED_MODEL, optionally +rag:INDEX:K")


@dataclass(frozen=True)
class Variant:
    kind: str
    model: str
    shots: int = 0
    index: Optional[str] = None
    k: int = 0
    prompt: Optional[str] = None
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.spec

    @property
    def spec(self) -> str:
        base = {"zero-shot": f"zero-shot:{self.model}", "few-shot": f"few-shot:{self.model}:{self.shots}",
                "prompt": f"prompt:{self.model}:{self.prompt}", "ft": f"ft:{self.model}",
                "rag": f"rag:{self.model}:{self.index}:{self.k}"}[self.kind]
        if self.index and self.kind != "rag":
            base += f"+rag:{self.index}:{self.k}"
        return base

    @property
    def uses_retrieval(self) -> bool:
        return bool(self.index)

    def to_dict(self) -> dict:
        return {"spec": self.spec, "name": self.name, "kind": self.kind, "model": self.model, "shots": self.shots,
                "index": self.index, "k": self.k, "prompt": self.prompt}


def _int(text: str, what: str, spec: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"variant '{spec}': {what} must be a whole number, got '{text}'; {SPEC_HELP}") from None
    if value <= 0:
        raise InputError(f"variant '{spec}': {what} must be positive, got {value}")
    return value


def parse_variant(spec: Union[str, Variant]) -> Variant:
    if isinstance(spec, Variant):
        return spec
    text = str(spec).strip()
    label = ""
    if "=" in text.split(":", 1)[0]:  # "name=spec" gives a variant a display name
        label, text = text.split("=", 1)
    main, _, rag = text.partition("+")
    parts = main.split(":")
    kind = parts[0]
    if kind not in KINDS:
        from ..errors import did_you_mean

        raise InputError(f"unknown variant kind '{kind}' in '{spec}'{did_you_mean(kind, KINDS)}; {SPEC_HELP}")
    index, k = None, 0
    if rag:
        rparts = rag.split(":")
        if rparts[0] != "rag" or len(rparts) != 3:
            raise InputError(f"variant '{spec}': the suffix must be +rag:INDEX:K; {SPEC_HELP}")
        index, k = rparts[1], _int(rparts[2], "K (passages)", spec)
    want = {"zero-shot": 2, "few-shot": 3, "rag": 4, "prompt": 3, "ft": 2}[kind]
    if len(parts) != want or not all(parts):
        raise InputError(f"variant '{spec}' is malformed; {SPEC_HELP}")
    if kind == "zero-shot":
        return Variant("zero-shot", parts[1], index=index, k=k, label=label)
    if kind == "few-shot":
        return Variant("few-shot", parts[1], shots=_int(parts[2], "K (examples)", spec), index=index, k=k, label=label)
    if kind == "rag":
        if rag:
            raise InputError(f"variant '{spec}': rag: already retrieves; drop the +rag suffix")
        return Variant("rag", parts[1], index=parts[2], k=_int(parts[3], "K (passages)", spec), label=label)
    if kind == "prompt":
        return Variant("prompt", parts[1], prompt=parts[2], index=index, k=k, label=label)
    return Variant("ft", parts[1], index=index, k=k, label=label)
