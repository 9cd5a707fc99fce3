"""The int8 engine: a CTranslate2 conversion of a model, offered as a quantized *variant* of it, not a faster copy.

At 135M parameters int8 weights make a different model (greedy outputs diverge from fp32 within the first
tokens; benchmarks/results.md measures how far), so it is asked for explicitly: `generate(..., engine="int8")`,
or the variant specs `int8:MODEL` / `ft:NAME@int8` in `compare`, whose leaderboard shows its quality beside its
speed.

The conversion runs once per model content into the shared cache (LLMOPS_CACHE): a LoRA fine-tune loads merged
(finetuned.py), and that merged model is what gets converted. The folder is written atomically and carries a
manifest with the source weights' identity (folder content hash, adapter hash); a folder whose manifest does not
match, whose files are missing or truncated, or that CTranslate2 cannot load is converted again.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, List

from ..errors import LlmopsError, MissingDependencyError
from ..workspace import atomic_dir, recover_dir, workspace
from .runtime import quiet_transformers, require_torch

ENGINES = ("torch", "int8")
CT2_PIP = "pip install 'ctranslate2>=4.3'"
MANIFEST = "llmops-manifest.json"
FORMAT = 1  # bump when the conversion changes, so older folders are rebuilt


def require_ctranslate2():
    """The ctranslate2 module, or a one-line MissingDependencyError with the pip command."""
    try:
        import ctranslate2
    except ImportError:
        raise MissingDependencyError(f"the int8 engine needs ctranslate2, which is not installed; run: {CT2_PIP}") \
            from None
    return ctranslate2


def check_engine(engine: str) -> str:
    """The engine name, checked (and for int8, ctranslate2 importable) before any generation starts."""
    from ..errors import InputError

    engine = (engine or "torch").lower()
    if engine in ("fp32", "default"):
        engine = "torch"
    if engine not in ENGINES:
        raise InputError(f"unknown engine '{engine}'; use torch (the model's own weights) or int8 (CTranslate2)")
    if engine == "int8":
        require_ctranslate2()
    return engine


def _source_id(lm) -> str:
    from .identity import model_identity

    ident = model_identity(lm) or f"{lm.name}:in-memory:{id(lm.model)}"
    return hashlib.sha256(f"{FORMAT}\x00{ident}".encode()).hexdigest()


def converted_dir(lm) -> Path:
    """Where the int8 conversion of this model's weights lives in the shared cache."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in lm.name)[-60:]
    return workspace().cache_dir / "ct2" / f"{safe}-{_source_id(lm)[:16]}-int8"


def _valid(folder: Path, source: str) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("source") != source or manifest.get("format") != FORMAT:
            return False
        return all((folder / name).is_file() and (folder / name).stat().st_size == size
                   for name, size in manifest["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _convert(lm, out: Path) -> None:
    """Convert `lm` (its weights as loaded: a LoRA already merged) to CTranslate2 int8 in `out`."""
    ct2 = require_ctranslate2()
    from ctranslate2.converters import TransformersConverter

    quiet_transformers()
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        src = lm.path
        if src is None or lm.adapter is not None or not (Path(src) / "config.json").is_file():
            src = Path(tmp) / "merged"  # the weights as loaded (LoRA merged into the base), not the base folder
            lm.model.save_pretrained(str(src), safe_serialization=True)
            lm.tokenizer.save_pretrained(str(src))
        TransformersConverter(str(src), load_as_float16=False).convert(str(out / "model"), quantization="int8",
                                                                        force=True)
    files = {str(p.relative_to(out)): p.stat().st_size for p in sorted((out / "model").iterdir()) if p.is_file()}
    (out / MANIFEST).write_text(json.dumps({"source": _source_id(lm), "model": lm.name, "format": FORMAT,
                                            "quantization": "int8", "ctranslate2": ct2.__version__,
                                            "files": files}, indent=1))


def convert_int8(lm, *, force: bool = False) -> Path:
    """The int8 CTranslate2 folder of `lm`, converted on first use (or when the cached one is corrupt)."""
    from .loading import file_lock

    target = converted_dir(lm)
    source = _source_id(lm)
    if not force and _valid(target, source):
        return target
    with file_lock(target.with_name(target.name + ".lock")):
        recover_dir(target)
        if not force and _valid(target, source):  # another process converted it while we waited
            return target
        with atomic_dir(target) as tmp:
            _convert(lm, tmp)
    return target


def generator(lm, *, threads: int = 0):
    """A new ctranslate2.Generator over the int8 conversion of `lm`, for the caller to hold through one `generate`
    call. threads=0: torch's thread count, so fp32 and int8 run on the same cores. A cached folder that will not
    load is rebuilt once.

    Not kept between calls: while a Generator that has run lives, its worker threads slow torch's own small matmuls
    about 3x (measured: fp32 generation 2.8 s -> 4.4 s after one int8 call), and loading one takes ~0.15 s."""
    ct2 = require_ctranslate2()
    threads = threads or require_torch().get_num_threads()
    for attempt in (0, 1):
        folder = convert_int8(lm, force=bool(attempt))
        try:
            return ct2.Generator(str(folder / "model"), device="cpu", compute_type="int8", intra_threads=threads)
        except (RuntimeError, ValueError, OSError) as exc:
            if attempt:
                raise LlmopsError(f"CTranslate2 cannot load the int8 conversion of {lm.name} at {folder} ({exc}); "
                                  "delete that folder and try again") from None
    raise AssertionError("unreachable")


def run_batch(lm, gen, rows: List[List[int]], *, max_new_tokens: int, temperature: float, seeds: List[int],
              eos: List[int], on_done: Callable[[int, List[int], float, str], None]) -> None:
    """Generate for token rows with the int8 engine; on_done(k, ids, latency_s, finish) per row, like decoding.py.

    Greedy runs the rows as one batch. Sampling runs each row alone with its own seed, so a sample does not
    depend on its batch (as on the torch engine, though the draws differ from torch's).
    """
    ct2 = require_ctranslate2()
    tok = lm.tokenizer
    starts = [tok.convert_ids_to_tokens(r) for r in rows]
    kw: dict[str, Any] = dict(max_length=max_new_tokens, include_prompt_in_result=False, return_end_token=True,
                              end_token=eos or None)
    t = time.perf_counter()
    if temperature <= 0:
        results = gen.generate_batch(starts, sampling_topk=1, **kw)
    else:
        results = []
        for s, seed in zip(starts, seeds):
            ct2.set_random_seed(seed % 2**31)  # it takes a 32-bit seed
            results += gen.generate_batch([s], sampling_topk=0, sampling_temperature=temperature, **kw)
    spent = time.perf_counter() - t
    outs = [list(r.sequences_ids[0]) for r in results]
    total = max(1, sum(len(r) + len(o) for r, o in zip(rows, outs)))
    for k, ids in enumerate(outs):
        finish = "stop" if ids and ids[-1] in eos else "length"
        on_done(k, ids, spent * (len(rows[k]) + len(ids)) / total, finish)


__all__ = ["CT2_PIP", "ENGINES", "check_engine", "convert_int8", "converted_dir", "generator", "require_ctranslate2",
           "run_batch"]
