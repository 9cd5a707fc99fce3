"""A fine-tune's checkpoint: the trainable weights, optimizer, scheduler, RNG and step, written atomically into
the fine-tune's folder, so a rerun after Ctrl-C or a crash continues where it stopped."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List, Optional, Tuple

from ..workspace import atomic_dir, clean_stale, recover_dir

CHECKPOINT = "checkpoint"


def checkpoint_state(folder: Path) -> Optional[dict]:
    """The state (step, config hash, loss history) of the checkpoint in a fine-tune's folder, or None.

    A kill between atomic_dir's two renames leaves no checkpoint folder but whole ones beside it: the newest is
    put back first, and what killed savers left behind goes.
    """
    ckpt = folder / CHECKPOINT
    recover_dir(ckpt)
    clean_stale([(folder, 0)])  # leftovers of savers in other, dead processes
    if not ckpt.exists():
        return None
    try:
        return json.loads((ckpt / "state.json").read_text())
    except (OSError, ValueError):
        return None


def save_checkpoint(folder: Path, *, model, optimizer, scheduler, step: int, config_hash: str,
                    history: List[float]) -> None:
    import torch

    with atomic_dir(folder / CHECKPOINT) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "rng": torch.get_rng_state()}, tmp / "trainer.pt")
        (tmp / "state.json").write_text(json.dumps({"step": step, "config_hash": config_hash,
                                                    "history": history, "ts": time.time()}))


def restore_training(folder: Path, state: dict, *, optimizer, scheduler) -> Tuple[int, List[float]]:
    """Put the optimizer, scheduler and RNG back as the checkpoint left them; returns (step, loss history)."""
    import torch

    blob = torch.load(folder / CHECKPOINT / "trainer.pt", weights_only=False)
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    torch.set_rng_state(blob["rng"])
    return int(state["step"]), list(state.get("history", []))


__all__ = ["CHECKPOINT", "checkpoint_state", "restore_training", "save_checkpoint"]
