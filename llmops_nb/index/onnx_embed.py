"""ONNX Runtime backends for sentence embedders: "onnx" (fp32) and "onnx-int8" (dynamic int8, per-channel weights).

A BERT-family sentence-transformers folder (MiniLM, or an embedder fine-tuned from it) is exported once per
machine into the shared cache (`LLMOPS_CACHE/onnx/<model>-<weights>-r<recipe>/`), the recipe measured in
shared/notes/perf-recipes.md: a model loaded with eager attention (with SDPA ORT fuses no attention), wrapped so the
graph returns the pooled (and, where the folder normalizes, normalized) sentence vector; TorchScript export at opset
17 with dynamic batch and sequence axes; ORT's BERT optimizer fuses attention, layer norm and GELU; then
`quantize_dynamic` with per-channel QInt8 weights (per-tensor costs ~0.03 cosine) for the attention blocks and
the other MatMuls, the FFN output projections and the embedding lookup kept fp32 (see `_build`). The export is written to a temp
folder and renamed into place, with a manifest (source weights hash, onnxruntime version, recipe, file hashes): a
partial, corrupt or stale export is detected when loading and rebuilt.

Texts are tokenized with the `tokenizers` library from the folder's tokenizer.json, sorted by length and padded only
to the longest text of each batch.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError, LlmopsError, MissingDependencyError
from ..models.identity import folder_fingerprint
from ..models.runtime import quiet_transformers
from ..workspace import atomic_dir, workspace

RECIPE_VERSION = 2  # bump when the export/optimize/quantize recipe changes what the graph computes
FILES = {"onnx": "model.onnx", "onnx-int8": "model-int8.onnx"}
MANIFEST = "manifest.json"
INSTALL = "pip install onnxruntime onnx"
_sessions: Dict[Tuple[str, int], object] = {}
_export_lock = threading.Lock()


def require_onnxruntime(backend: str, *, export: bool = False):
    """The onnxruntime module (and onnx, needed to export), or one line naming the pip command."""
    try:
        import onnxruntime
        if export:
            import onnx  # noqa: F401
    except ImportError:
        raise MissingDependencyError(f"the '{backend}' embedding backend needs onnxruntime and onnx; run: {INSTALL} "
                                     "(or set embed_backend = 'torch')") from None
    return onnxruntime


def layout(folder: Path, name: str) -> dict:
    """Pooling, normalization and window of a plain Transformer + Pooling (+ Normalize) BERT folder; anything else
    is refused in one line (the torch backend embeds it)."""
    refuse = (f"embedder '{name}' cannot run on the ONNX backends (they take BERT-family sentence-transformers folders "
              "made of Transformer + Pooling (+ Normalize), like all-minilm-l6-v2 and its fine-tunes); set "
              "embed_backend = 'torch' (LLMOPS_EMBED_BACKEND=torch) for it")
    try:
        modules = json.loads((folder / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pool = json.loads((folder / modules[1]["path"] / "config.json").read_text())
        config = json.loads((folder / "config.json").read_text())
        st_path = folder / "sentence_bert_config.json"
        st_cfg = json.loads(st_path.read_text()) if st_path.is_file() else {}
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        raise InputError(refuse) from None
    modes = [m for m in ("cls_token", "mean_tokens", "max_tokens") if pool.get(f"pooling_mode_{m}")]
    others = any(pool.get(k) for k in ("pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                                       "pooling_mode_lasttoken"))
    if (kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or modules[0]["path"]
            or len(modes) != 1 or others or st_cfg.get("do_lower_case") or config.get("model_type") != "bert"
            or not (folder / "tokenizer.json").is_file()):
        raise InputError(refuse)
    return {"pooling": modes[0].split("_")[0], "normalize": kinds[-1] == "Normalize",
            "max_seq_length": int(st_cfg.get("max_seq_length") or 512), "dim": int(config["hidden_size"]),
            "heads": int(config["num_attention_heads"])}


def export_dir(folder: Path, name: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.\-]", "-", Path(str(name)).name)[:48]
    return workspace().cache_dir / "onnx" / f"{slug}-{folder_fingerprint(folder)}-r{RECIPE_VERSION}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _valid(out: Path, folder: Path, backend: str, ort_version: str) -> bool:
    """Whether `out` holds a whole export of this folder's weights, for this onnxruntime and recipe."""
    try:
        manifest = json.loads((out / MANIFEST).read_text())
        path = out / FILES[backend]
        return (manifest.get("recipe") == RECIPE_VERSION and manifest.get("onnxruntime") == ort_version
                and manifest.get("source_weights") == folder_fingerprint(folder)
                and manifest.get("files", {}).get(FILES[backend]) == _sha256(path))
    except (OSError, ValueError, AttributeError):
        return False


def _export_onnx(folder: Path, spec: dict, path: Path) -> None:
    """The TorchScript export of the model wrapped to return its sentence vector (eager attention, opset 17)."""
    import torch
    from transformers import AutoModel

    quiet_transformers()
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class SentenceVector(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            if spec["pooling"] == "cls":
                vec = hidden[:, 0]
            elif spec["pooling"] == "max":
                vec = hidden.masked_fill(mask == 0, -1e9).max(dim=1).values
            else:
                vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(vec, p=2, dim=1) if spec["normalize"] else vec

    dummy = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode():
        torch.onnx.export(SentenceVector().eval(), (dummy, dummy, torch.zeros_like(dummy)), str(path),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["sentence_embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "sentence_embedding": {0: "batch"}})


def _build(folder: Path, spec: dict, out: Path, ort_version: str) -> None:
    """Export, fuse and quantize into `out` atomically, with the manifest written last."""
    import logging

    logging.getLogger("onnxruntime").setLevel(logging.ERROR)
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR  # quantize_dynamic's "consider pre-processing" on the root logger
    try:
        with atomic_dir(out) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes about constants the graph does not depend on
            _export_files(folder, spec, tmp, ort_version)
    finally:
        root.level = level


def _export_files(folder: Path, spec: dict, tmp: Path, ort_version: str) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    raw = tmp / "raw.onnx"
    _export_onnx(folder, spec, raw)
    fused = optimize_model(str(raw), model_type="bert", num_heads=spec["heads"], hidden_size=spec["dim"])
    fused.save_model_to_file(str(tmp / FILES["onnx"]))
    raw.unlink()
    # the FFN output projections (inputs: GELU outputs, the widest activation range) and the embedding lookup
    # stay fp32: quantizing them too cost top-10 neighbour agreement 0.874 -> 0.912 on 1,024 real sentences
    keep = [n.name for n in onnx.load(str(tmp / FILES["onnx"]), load_external_data=False).graph.node
            if n.op_type == "MatMul" and re.search(r"layer\.\d+/output/dense/", n.name)]
    quantize_dynamic(str(tmp / FILES["onnx"]), str(tmp / FILES["onnx-int8"]), weight_type=QuantType.QInt8,
                     per_channel=True, op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=keep,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    for leftover in tmp.glob("*-opt.onnx"):
        leftover.unlink()
    manifest = {"recipe": RECIPE_VERSION, "onnxruntime": ort_version, "source": str(folder),
                "source_weights": folder_fingerprint(folder), **spec,
                "files": {f: _sha256(tmp / f) for f in FILES.values()}}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))


def session(folder: Path, name: str, backend: str, threads: int):
    """An InferenceSession of the cached export (built first when missing, partial, corrupt or stale)."""
    ort = require_onnxruntime(backend)
    spec = layout(folder, name)
    out = export_dir(folder, name)
    key = (str(out / FILES[backend]), threads, _stamp(out / FILES[backend]))
    if key in _sessions:
        return _sessions[key], spec
    with _export_lock:
        for attempt in range(2):
            if not _valid(out, folder, backend, ort.__version__):
                require_onnxruntime(backend, export=True)
                _build(folder, spec, out, ort.__version__)
            try:
                sess = _open(ort, out / FILES[backend], threads)
                break
            except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail/InvalidProtobuf types
                shutil.rmtree(out, ignore_errors=True)  # a damaged export that still matched its hash: rebuild
                if attempt:
                    raise LlmopsError(f"the {backend} export of '{name}' in {out} fails to load ({exc}); set "
                                      "embed_backend = 'torch'") from None
    _sessions[(key[0], threads, _stamp(out / FILES[backend]))] = sess
    return sess, spec


def _stamp(path: Path) -> tuple:
    """The file's size and mtime: a session cached in this process is reused only while its file is unchanged."""
    try:
        st = path.stat()
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns)


def _open(ort, path: Path, threads: int):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def default_threads() -> int:
    """ORT intra-op threads for a batch: the cores other jobs leave free, by the 1-minute load average (this
    process counts in it while it works). Measured on 2 cores (benchmarks/results.md, embedding): idle, two
    threads beat one by ~1.9x; at load 8, one beat two by 1.2-1.4x, the second thread waiting on a core other
    jobs hold. Bigger machines use at most half their cores, up to 4."""
    cores = os.cpu_count() or 1
    cap = cores if cores <= 2 else min(4, cores // 2)
    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average on this platform
        load = 0.0
    return max(1, min(cap, int(cores + 1.5 - load)))


class OnnxEmbedder:
    """An embedder on ONNX Runtime with the interface `embed` uses (name, version, dim, max_seq_length, tokenizer,
    encode); `backend` says which export it runs."""

    device = "cpu"

    def __init__(self, name: str, folder: Path, version: str, backend: str):
        self.name, self.folder, self.version, self.backend = name, Path(folder), version, backend
        self._spec = layout(self.folder, name)
        self.dim = self._spec["dim"]
        self.max_seq_length = self._spec["max_seq_length"]
        self._tok = None
        self._hf_tokenizer = None
        self._sessions: Dict[int, object] = {}

    def _session(self, threads: int):
        if threads not in self._sessions:
            self._sessions[threads] = session(self.folder, self.name, self.backend, threads)[0]
        return self._sessions[threads]

    def load(self) -> "OnnxEmbedder":
        """Export (once per machine) and open the session now rather than on the first text."""
        self._session(default_threads())
        return self

    @property
    def fast_tokenizer(self):
        if self._tok is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(max_length=self.max_seq_length)
            self._tok = tok
        return self._tok

    @property
    def tokenizer(self):
        """A transformers tokenizer of the folder (what chunking takes), loaded on first use."""
        if self._hf_tokenizer is None:
            from transformers import AutoTokenizer

            self._hf_tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
        return self._hf_tokenizer

    def token_lengths(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([len(e.ids) for e in self.fast_tokenizer.encode_batch(list(texts))])

    def encode(self, texts, *, batch_size: int = 32, normalize: bool = True, progress: bool = False,
               threads: Optional[int] = None) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # a handful of texts (a query) runs on one thread: a second only waits at the pool's barrier
        sess = self._session(threads or (1 if len(texts) <= 4 else default_threads()))
        encs = self.fast_tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encs[i].ids))
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            out[idx] = sess.run(None, _batch([encs[i] for i in idx]))[0]
        if normalize and not self._spec["normalize"]:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            out /= norms
        return out

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.name!r}, backend={self.backend!r}, dim={self.dim})"


def _batch(encs: List) -> Dict[str, np.ndarray]:
    """Token ids, mask and type ids padded to the longest text of the batch (not to the model's window)."""
    width = max(len(e.ids) for e in encs)
    ids = np.zeros((len(encs), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for row, e in enumerate(encs):
        n = len(e.ids)
        ids[row, :n] = e.ids
        mask[row, :n] = 1
        types[row, :n] = e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


__all__ = ["FILES", "INSTALL", "OnnxEmbedder", "RECIPE_VERSION", "export_dir", "layout", "require_onnxruntime",
           "session"]
