"""Registering a trained model (a LoRA/full fine-tune or a fine-tuned embedder): its run records, and its row in
registered_models (name -> folder, the weights' hash, the data it learned from, the run)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, Optional

from ..workspace import workspace
from .identity import folder_fingerprint


def save_registration(run, *, name: str, base: str, method: str, folder: Path, artifact: Path, data_ref: str,
                      snapshot: Optional[str], metrics: Dict[str, Any], params: Dict[str, Any]) -> None:
    """Record a trained model on its run and register it (name -> folder, weights' hash, data, run)."""
    sha = folder_fingerprint(folder)
    run.log_artifact(artifact)
    run.record("model", name)
    run.record("dataset", data_ref)
    if snapshot:
        run.record("dataset_snapshot", snapshot)
    ws = workspace()
    ws.db.execute(
        "INSERT OR REPLACE INTO registered_models (name, base, method, path, sha256, dataset_ref, dataset_snapshot, "
        "run_id, params, metrics, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (name, base, method, str(folder.relative_to(ws.path)), sha, data_ref, snapshot, run.id,
         json.dumps(params, default=str), json.dumps(metrics), time.time()))


__all__ = ["save_registration"]
