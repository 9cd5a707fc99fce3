"""Loading models offline: SmolLM2 from its GGUF (dequantized once, cached as safetensors), the random
tiny-gpt2 for tests, MiniLM for embeddings, or any local Hugging Face folder."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..errors import InputError, LlmopsError, MissingDependencyError, not_found
from ..workspace import atomic_dir, recover_dir, workspace
from .registry import BUILTINS, SMOLLM2_GGUF, RegisteredEmbedder, lookup_registered_embedder, models, resolve_registered
from .runtime import quiet_transformers, recall, remember, require_torch

# No model hub is reachable from our machines: never let transformers try (it would hang on timeouts).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEVICE_ENV = "LLMOPS_DEVICE"


def resolve_device(device: str = "auto") -> Tuple[str, Any]:
    """('cuda', bfloat16) when a GPU is present and device is auto/cuda, else ('cpu', float32).

    "auto" first takes the process default set by use_device() (or LLMOPS_DEVICE, which run_notebook sets).
    """
    torch = require_torch()

    def known(name: str) -> bool:
        return name in ("auto", "cpu", "cuda") or name.startswith("cuda:")

    device = (device or "auto").lower()
    if device == "auto":
        device = (os.environ.get(DEVICE_ENV) or "auto").lower()
        if not known(device):
            raise InputError(f"{DEVICE_ENV}={device!r} is not a device; set it to auto, cpu or cuda")
    if not known(device):
        raise InputError(f"unknown device '{device}'; use auto, cpu or cuda")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device 'cuda' asked for but no CUDA GPU is visible; use --device cpu or auto")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    return device, dtype


def use_device(device: str = "auto") -> str:
    """Make `device` (auto/cpu/cuda) the default of every model, embedder, fine-tune and comparison in this
    process and in the kernels and workers it starts. Returns where models will run ('cpu' or 'cuda')."""
    device = (device or "auto").lower()
    if device == "auto":
        os.environ.pop(DEVICE_ENV, None)
    dev, _ = resolve_device(device)  # refuses unknown names, and cuda without a GPU; the old default stays
    os.environ[DEVICE_ENV] = device
    return dev


@dataclass
class LoadedModel:
    """A causal LM ready to generate or fine-tune: the transformers model, its tokenizer and where it runs."""

    name: str
    model: Any
    tokenizer: Any
    device: str
    dtype: Any
    path: Optional[Path] = None
    adapter: Optional[Path] = None
    info: Dict[str, Any] = field(default_factory=dict)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def __repr__(self) -> str:
        extra = f", adapter={str(self.adapter)!r}" if self.adapter else ""
        return (f"LoadedModel({self.name!r}, device={self.device!r}, dtype={str(self.dtype).replace('torch.', '')}, "
                f"params={self.num_parameters / 1e6:.1f}M{extra})")


@contextlib.contextmanager
def file_lock(path: Path):
    """An exclusive lock file beside a cached folder, so one process builds it while the others wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def model_cache_dir() -> Path:
    return workspace().cache_dir / "models"


def _smollm2_folder() -> Path:
    """Dequantize the GGUF once and keep it as safetensors in the cache; later loads read the cache."""
    spec = BUILTINS["smollm2-135m-instruct"]
    src = spec.locate()
    if src is None:
        raise MissingDependencyError(f"model smollm2-135m-instruct is not installed; run: {spec.install}")
    gguf = src / SMOLLM2_GGUF
    key = f"{gguf.stat().st_size:x}"
    target = model_cache_dir() / f"smollm2-135m-instruct-{key}"
    if (target / "config.json").exists():
        return target
    with file_lock(target.with_name(target.name + ".lock")):
        recover_dir(target)  # a kill between atomic_dir's renames left the converted folder beside its place
        if (target / "config.json").exists():  # another process converted it while we waited
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer

        quiet_transformers()
        tok = AutoTokenizer.from_pretrained(str(src), gguf_file=SMOLLM2_GGUF)
        model = AutoModelForCausalLM.from_pretrained(str(src), gguf_file=SMOLLM2_GGUF, **_gguf_kwargs())
        with atomic_dir(target) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            tok.save_pretrained(tmp)
    return target


def _gguf_kwargs() -> dict:
    try:  # newer transformers make dequantization explicit
        from transformers import GgufConfig  # type: ignore

        return {"quantization_config": GgufConfig(dequantize=True)}
    except ImportError:
        return {}


def tiny_gpt2_folder() -> Path:
    """A randomly initialised 2-layer GPT-2 with a byte-level BPE tokenizer trained on pydoc topics.

    Deterministic (fixed seed, fixed corpus) and cached, so every test process gets the same model.
    """
    target = model_cache_dir() / "tiny-gpt2-v2"
    if (target / "config.json").exists():
        return target
    with file_lock(target.with_name(target.name + ".lock")):
        recover_dir(target)
        if (target / "config.json").exists():
            return target
        torch = require_torch()
        from pydoc_data.topics import topics

        from tokenizers import ByteLevelBPETokenizer
        from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

        bpe = ByteLevelBPETokenizer()
        corpus = [topics[k] for k in sorted(topics)]
        bpe.train_from_iterator(corpus, vocab_size=1024, min_frequency=2, special_tokens=["<|endoftext|>"],
                                show_progress=False)
        tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>",
                                      eos_token="<|endoftext|>", pad_token="<|endoftext|>", unk_token="<|endoftext|>")
        tok.chat_template = (
            "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
        config = GPT2Config(vocab_size=len(tok), n_positions=2048, n_embd=64, n_layer=2, n_head=2,
                            bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)
        state = torch.random.get_rng_state()
        torch.manual_seed(0)
        model = GPT2LMHeadModel(config)
        torch.random.set_rng_state(state)
        with atomic_dir(target) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            tok.save_pretrained(tmp)
    return target


def folder_for(name: str) -> Path:
    """The folder of a built-in model (converted or made on first use) or of a local Hugging Face model."""
    if name == "smollm2-135m-instruct":
        return _smollm2_folder()
    if name == "tiny-gpt2":
        return tiny_gpt2_folder()
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").exists():
        return path
    known = models().names
    raise not_found("model", name, known, hint=f"use one of {', '.join(known)} or a local Hugging Face model folder")


def load_model(name: str = "smollm2-135m-instruct", *, device: str = "auto", fresh: bool = False) -> LoadedModel:
    """Load a causal LM by built-in name, registered fine-tune name, or local folder.

    Loaded models are shared within a process (pass fresh=True for a private copy, e.g. to train it).
    """
    if isinstance(name, LoadedModel):
        return name
    embedder = "" if not isinstance(name, str) else "an embedder" if getattr(BUILTINS.get(name), "kind", "") == \
        "embedding" else "a fine-tuned embedder" if isinstance(lookup_registered_embedder(name), RegisteredEmbedder) else ""
    if embedder:
        raise InputError(f"'{name}' is {embedder}, not a language model; use it with "
                         f"load_embedder('{name}') or build_index(..., model='{name}')")
    registered = resolve_registered(name)
    if registered is not None:
        return registered(device=device, fresh=fresh)
    dev, dtype = resolve_device(device)
    key = ("lm", name, dev)
    hit = None if fresh else recall(key)
    if hit is not None:
        return hit
    folder = folder_for(name)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    tok = AutoTokenizer.from_pretrained(str(folder))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype).to(dev)
    model.eval()
    loaded = LoadedModel(name=name, model=model, tokenizer=tok, device=dev, dtype=dtype, path=folder)
    return loaded if fresh else remember(key, loaded)


_NOT_COPIED = {"README.md", ".gitattributes", "data_config.json", "onnx", "openvino", ".cache"}
_WEIGHTS = (".safetensors", ".bin", ".h5", ".onnx", ".msgpack", ".pt")


class Embedder:
    """A sentence embedder (MiniLM by default) returning L2-normalized float32 vectors.

    A sentence-transformers folder made of a Transformer and a mean/CLS/max Pooling module (MiniLM is) runs
    here on plain transformers: the same vectors as SentenceTransformer.encode without importing
    sentence-transformers, whose import takes seconds. Other layouts go through sentence-transformers.
    """

    def __init__(self, name: str, model: Any, device: str, *, tokenizer: Any = None, pooling: str = "",
                 normalize: bool = False, max_seq_length: int = 0, dim: int = 0, version: str = ""):
        self.name = name
        self.version = version  # content hash of a registered fine-tune's weights ("" for built-ins and folders)
        self.model = model
        self.device = device
        self._tokenizer = tokenizer
        self._pooling = pooling  # "" when `model` is a SentenceTransformer
        self._normalize = normalize
        self._max_seq_length = max_seq_length
        if dim:
            self.dim = int(dim)
        else:
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self.dim = int(get_dim())

    @property
    def tokenizer(self):
        return self._tokenizer if self._pooling else self.model.tokenizer

    @property
    def max_seq_length(self) -> int:
        return int(self._max_seq_length if self._pooling else self.model.max_seq_length)

    def encode(self, texts, *, batch_size: int = 64, normalize: bool = True, progress: bool = False):
        import numpy as np

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self._pooling:
            vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=normalize,
                                     convert_to_numpy=True, show_progress_bar=progress)
            return np.ascontiguousarray(vecs, dtype=np.float32)
        return self._encode(texts, batch_size, normalize or self._normalize, progress)

    def forward(self, texts: List[str]):
        """Sentence vectors of `texts` as a torch tensor (not normalized), with gradients unless called under
        inference_mode: the one forward pass that encoding and fine-tuning (finetune_embedder) share."""
        if not self._pooling:
            prepare = getattr(self.model, "preprocess", None) or self.model.tokenize  # renamed in s-t 6
            features = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in prepare(texts).items()}
            return self.model(features)["sentence_embedding"]
        enc = self._tokenizer(texts, padding=True, truncation=True, max_length=self._max_seq_length,
                              return_tensors="pt").to(self.device)
        hidden = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        if self._pooling == "cls":
            return hidden[:, 0]
        if self._pooling == "max":
            return hidden.masked_fill(mask == 0, float("-inf")).max(dim=1).values
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    def save(self, folder: Path, *, like: Path) -> None:
        """Write this embedder as a sentence-transformers folder, taking the module layout (pooling, normalize,
        max_seq_length) from the folder it was loaded from, `like`."""
        if not self._pooling:
            self.model.save(str(folder))
            return
        import shutil

        for item in Path(like).iterdir():  # layout files only: weights come from save_pretrained, a model card
            if item.name in _NOT_COPIED or item.suffix in _WEIGHTS:
                continue  # of the base would describe another training
            if item.is_dir():
                if not any(p.suffix in _WEIGHTS for p in item.rglob("*")):  # pooling/normalize modules: configs
                    shutil.copytree(item, folder / item.name)
            else:
                shutil.copy2(item, folder / item.name)
        self.model.save_pretrained(str(folder), safe_serialization=True)
        self._tokenizer.save_pretrained(str(folder))

    def _encode(self, texts: List[str], batch_size: int, normalize: bool, progress: bool):
        import numpy as np

        from ..progress import progress as progress_bar

        torch = require_torch()
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # like lengths batch together
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        bar = progress_bar(total=len(texts), desc=f"embed {self.name}", unit="text", disable=not progress, leave=False)
        try:
            with torch.inference_mode():
                for s in range(0, len(order), batch_size):
                    idx = order[s:s + batch_size]
                    vec = self.forward([texts[i] for i in idx])
                    if normalize:
                        vec = torch.nn.functional.normalize(vec, p=2, dim=1)
                    out[idx] = vec.float().cpu().numpy()
                    bar.update(len(idx))
        finally:  # an error or Ctrl-C midway still ends the bar as its one line
            bar.close()
        return out

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, dim={self.dim}, device={self.device!r})"


def _plain_embedder(name: str, folder: Path, dev: str) -> Optional[Embedder]:
    """An Embedder on plain transformers for a Transformer + Pooling (+ Normalize) folder, else None."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or modules[0]["path"]:
            return None
        pool = json.loads((folder / modules[1]["path"] / "config.json").read_text())
        modes = [m for m in ("cls_token", "mean_tokens", "max_tokens") if pool.get(f"pooling_mode_{m}")]
        if len(modes) != 1 or any(pool.get(k) for k in ("pooling_mode_mean_sqrt_len_tokens",
                                                          "pooling_mode_weightedmean_tokens",
                                                          "pooling_mode_lasttoken")):
            return None
        cfg_path = folder / "sentence_bert_config.json"
        cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
        if cfg.get("do_lower_case"):
            return None
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder)).to(dev)
    model.eval()
    max_len = int(cfg.get("max_seq_length") or min(tok.model_max_length, 512))
    return Embedder(name, model, dev, tokenizer=tok, pooling=modes[0].split("_")[0],
                    normalize=kinds[-1] == "Normalize", max_seq_length=max_len,
                    dim=int(pool.get("word_embedding_dimension") or model.config.hidden_size))


def embedder_folder(name: str) -> Tuple[Path, str]:
    """(sentence-transformers folder, weights version) of a built-in embedder, a registered fine-tuned embedder or
    a local folder; the version is "" except for registered fine-tunes."""
    if name in BUILTINS:
        spec = BUILTINS[name]
        if spec.kind != "embedding":
            raise InputError(f"model '{name}' is a {spec.kind} model, not an embedder; use all-minilm-l6-v2")
        folder = spec.locate()
        if folder is None:
            raise MissingDependencyError(f"embedder {name} is not installed; run: {spec.install}")
        return folder, ""
    found = lookup_registered_embedder(name)
    if isinstance(found, RegisteredEmbedder):
        if not found.folder.is_dir():
            raise LlmopsError(f"embedder '{name}' is registered but its folder {found.folder} is missing; train it "
                              f"again with finetune_embedder(..., name='{name}', overwrite=True)")
        return found.folder, found.version
    if isinstance(found, str):
        raise InputError(f"model '{name}' is a {found}, not an embedder; use all-minilm-l6-v2 or a fine-tuned "
                         "embedder (finetune_embedder)")
    folder = Path(name).expanduser()
    if not folder.is_dir():
        embedders = [r["name"] for r in models().rows if "embedding" in str(r.get("kind"))]
        raise not_found("embedder", name, embedders, hint=f"use {', '.join(embedders)} or a local folder")
    return folder, ""


def load_embedder(name: str = "all-minilm-l6-v2", *, device: str = "auto") -> Embedder:
    """A built-in embedder, a fine-tuned one registered in the workspace (finetune_embedder) or a local
    sentence-transformers folder, shared within the process."""
    if isinstance(name, Embedder):
        return name
    dev, _ = resolve_device(device)
    folder, version = embedder_folder(name)
    key = ("emb", name, version, dev)
    hit = recall(key)
    if hit is not None:
        return hit
    emb = open_embedder(name, folder, dev)
    emb.version = version
    return remember(key, emb)


def open_embedder(name: str, folder: Path, device: str) -> Embedder:
    """A private (not shared) Embedder of a sentence-transformers folder, e.g. to fine-tune it: on plain
    transformers when its layout allows, else through sentence-transformers."""
    emb = _plain_embedder(name, folder, device)
    if emb is None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependencyError("sentence-transformers is not installed; run: pip install sentence-transformers") from None
        quiet_transformers()
        emb = Embedder(name, SentenceTransformer(str(folder), device=device), device)
    return emb
