"""Fine-tuned models as users meet them: `load_model(name)` loads base + adapter (merged for fast inference),
`models()` lists them, and `export(name, path)` writes a folder plain transformers loads.

The package imports this module, so loading and listing know fine-tuned names (through the registry's hooks)
before anyone fine-tunes in this process; the heavy imports (transformers, peft) stay inside functions.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, List

from ..errors import InputError, LlmopsError, WorkspaceError
from ..workspace import atomic_dir, workspace
from .identity import registered_identity
from .loading import LoadedModel, load_model, resolve_device
from .registered import EMBEDDING, FineTunedModel, from_row, registered_model, registered_row
from .registry import BUILTINS, models, register_model_resolver, register_model_source
from .runtime import forget, quiet_transformers, quiet_warnings, recall, remember


def load_registered(ft: FineTunedModel, *, device: str = "auto", fresh: bool = False) -> LoadedModel:
    """Base model + the fine-tune's weights, shared within the process unless fresh=True."""
    if not ft.path.exists():
        raise LlmopsError(f"fine-tuned model '{ft.name}' is registered but its folder {ft.path} is missing; "
                          "train it again with finetune(..., name=...)")
    dev, dtype = resolve_device(device)
    key = ("ft", ft.name, ft.sha256, dev)
    hit = None if fresh else recall(key)
    if hit is not None:
        return hit
    quiet_transformers()
    base = load_model(ft.base, device=device, fresh=True)
    if ft.method == "lora":
        from peft import PeftModel

        # Merged once at load: generation then runs at the base model's speed.
        with quiet_warnings():
            model = PeftModel.from_pretrained(base.model, str(ft.path)).merge_and_unload()
    else:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(str(ft.path), dtype=dtype).to(dev)
    model.eval()
    loaded = LoadedModel(name=ft.name, model=model, tokenizer=base.tokenizer, device=dev, dtype=dtype,
                         path=base.path if ft.method == "lora" else ft.path, adapter=ft.adapter,
                         info={"identity": registered_identity(ft.name), "base": ft.base, "method": ft.method,
                               "dataset": ft.dataset_ref})
    return loaded if fresh else remember(key, loaded)


def forget_loaded(name: str) -> None:
    """Drop this process's loaded copies of fine-tune `name` (it was just trained again)."""
    forget(lambda key: key[:2] == ("ft", name))


def _resolver(name: Any):
    if isinstance(name, FineTunedModel):
        name = name.name
    if not isinstance(name, str) or name in BUILTINS:
        return None
    row = registered_row(name)
    if row is None:
        return None
    ft = from_row(row)
    return lambda device="auto", fresh=False: load_registered(ft, device=device, fresh=fresh)


def _models_rows() -> List[dict]:
    try:
        rows = workspace().db.execute("SELECT * FROM registered_models ORDER BY created_at").fetchall()
    except WorkspaceError:  # no readable workspace here: the built-in models are still worth listing
        return []
    out = []
    for r in rows:
        ft = from_row(r)
        base = BUILTINS.get(ft.base)
        what = "fine-tune" if ft.method == EMBEDDING else f"{ft.method} fine-tune"
        out.append({"name": ft.name, "kind": ft.kind, "params": base.params if base is not None else "",
                    "installed": ft.path.exists(),
                    "source": f"{what} of {ft.base} on {ft.dataset_ref}" if ft.path.exists()
                    else f"missing folder {ft.path}", "base": ft.base, "method": ft.method})
    return out


register_model_source(_models_rows)
register_model_resolver(_resolver)


def export(model: Any, path: Any, *, merge: bool = True, overwrite: bool = False) -> Path:
    """Write a fine-tuned model to `path` for serving elsewhere.

    merge=True: one folder with the LoRA merged into the base weights (safetensors + tokenizer) that plain
    `transformers.AutoModelForCausalLM.from_pretrained(path)` loads. merge=False: the PEFT adapter folder
    (+ tokenizer), to load on top of the base with peft. A fine-tuned embedder is written as its whole
    sentence-transformers folder (merge does not apply), which `SentenceTransformer(path)` loads.
    """
    target = Path(path).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not overwrite:
        raise InputError(f"{target} already exists and is not empty; choose a new folder or pass overwrite=True")
    if isinstance(model, LoadedModel):
        model = model.name
    ft = model if isinstance(model, FineTunedModel) else None
    if ft is None:
        row = registered_row(str(model))
        if row is None:
            if str(model) in models().names:  # a built-in: export its weights as they are
                lm = load_model(str(model), device="cpu", fresh=True)
                with atomic_dir(target) as tmp:
                    lm.model.save_pretrained(tmp, safe_serialization=True)
                    lm.tokenizer.save_pretrained(tmp)
                return target
            registered_model(str(model))  # raises not-found with a suggestion
        ft = from_row(row)
    if not ft.path.exists():
        raise LlmopsError(f"fine-tuned model '{ft.name}' is registered but its folder {ft.path} is missing; "
                          "train it again with finetune(..., name=...)")
    quiet_transformers()
    with atomic_dir(target) as tmp:
        if ft.method == "lora" and merge:
            from peft import PeftModel

            base = load_model(ft.base, device="cpu", fresh=True)
            with quiet_warnings():
                merged = PeftModel.from_pretrained(base.model, str(ft.path)).merge_and_unload()
            merged.save_pretrained(tmp, safe_serialization=True)
            base.tokenizer.save_pretrained(tmp)
        elif ft.method == EMBEDDING:  # the whole sentence-transformers folder: its modules (1_Pooling) are folders
            shutil.copytree(ft.path, tmp, dirs_exist_ok=True)
        else:  # the adapter folder, or a full fine-tune's model folder, as it is
            for f in ft.path.iterdir():
                if f.is_file():
                    shutil.copy2(f, tmp / f.name)
    return target


__all__ = ["export", "forget_loaded", "load_registered"]
