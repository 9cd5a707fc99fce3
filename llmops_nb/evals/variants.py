"""Variant specs for `compare`: how one model is asked to answer.

    zero-shot:MODEL              the question alone
    few-shot:MODEL:K             K worked examples from the pool, then the question
    rag:MODEL:INDEX:K            K passages retrieved from INDEX, cited as [1]..[K]
    prompt:MODEL:PROMPT@vN       a registered prompt version
    ft:FINETUNED_MODEL           a fine-tuned model, zero-shot
    int8:MODEL                   MODEL zero-shot on the int8 engine (a CTranslate2 int8 conversion: a quantized
                                 variant with outputs of its own; the leaderboard shows its quality and speed)
    ft:FINETUNED_MODEL@int8      a fine-tune (LoRA merged before conversion) on the int8 engine
    ...+rag:INDEX:K              retrieval added to any of the above (e.g. ft:my-lora+rag:pydoc:4)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from ..errors import InputError

KINDS = ("zero-shot", "few-shot", "rag", "prompt", "ft")
PREFIXES = KINDS + ("int8",)  # int8:MODEL is zero-shot:MODEL on the int8 engine
INT8 = "@int8"
SPEC_HELP = ("variant specs: zero-shot:MODEL, few-shot:MODEL:K, rag:MODEL:INDEX:K, prompt:MODEL:PROMPT@vN, "
             "ft:FINETUNED_MODEL, int8:MODEL, ft:FINETUNED_MODEL@int8, optionally +rag:INDEX:K")


@dataclass(frozen=True)
class Variant:
    kind: str
    model: str
    shots: int = 0
    index: Optional[str] = None
    k: int = 0
    prompt: Optional[str] = None
    label: str = ""
    engine: str = ""  # "" runs the model's own weights; "int8" its CTranslate2 int8 conversion

    @property
    def name(self) -> str:
        return self.label or self.spec

    @property
    def spec(self) -> str:
        base = {"zero-shot": f"zero-shot:{self.model}", "few-shot": f"few-shot:{self.model}:{self.shots}",
                "prompt": f"prompt:{self.model}:{self.prompt}", "ft": f"ft:{self.model}",
                "rag": f"rag:{self.model}:{self.index}:{self.k}"}[self.kind]
        if self.engine == "int8":
            base = f"int8:{self.model}" if self.kind == "zero-shot" else base + INT8
        if self.index and self.kind != "rag":
            base += f"+rag:{self.index}:{self.k}"
        return base

    @property
    def uses_retrieval(self) -> bool:
        return bool(self.index)

    def to_dict(self) -> dict:
        return {"spec": self.spec, "name": self.name, "kind": self.kind, "model": self.model, "shots": self.shots,
                "index": self.index, "k": self.k, "prompt": self.prompt, "engine": self.engine or "torch"}


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
    if kind not in PREFIXES:
        from ..errors import did_you_mean

        raise InputError(f"unknown variant kind '{kind}' in '{spec}'{did_you_mean(kind, PREFIXES)}; {SPEC_HELP}")
    if kind == "int8" or (kind == "ft" and len(parts) == 2 and parts[1].endswith(INT8)):
        return _int8(kind, parts, rag, label, spec)
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


def _int8(kind: str, parts: list, rag: str, label: str, spec: str) -> Variant:
    """int8:MODEL[+rag:I:K] and ft:NAME@int8[+rag:I:K]: the zero-shot or ft variant on the int8 engine."""
    model = parts[1][:-len(INT8)] if kind == "ft" else parts[1]
    if len(parts) != 2 or not model or model.endswith(INT8):
        raise InputError(f"variant '{spec}' is malformed; int8:MODEL or ft:FINETUNED_MODEL@int8; {SPEC_HELP}")
    v = parse_variant(f"{'ft' if kind == 'ft' else 'zero-shot'}:{model}" + (f"+{rag}" if rag else ""))
    return Variant(v.kind, v.model, index=v.index, k=v.k, label=label, engine="int8")
