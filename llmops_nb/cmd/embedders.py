"""Embedder commands: finetune-embedder (fine-tune an embedder on query/passage pairs and register it)."""
from __future__ import annotations

from ..commands import arg, command


@command("finetune-embedder", "fine-tune an embedder on (query, positive passage) pairs and register it under a name",
         arg("base", metavar="BASE", help="base embedder (e.g. all-minilm-l6-v2)"),
         arg("--pairs", required=True, metavar="DATASET",
             help="dataset NAME or NAME@vN, or a .jsonl path, with query/positive (or question/passage) fields; "
                  "at least 20 pairs"),
         arg("--as", dest="name", required=True, metavar="NAME", help="name to register the embedder under"),
         arg("--epochs", type=float, default=1, metavar="E", help="passes over the pairs (default 1)"),
         arg("--batch-size", type=int, default=32, metavar="B",
             help="pairs per step; the other positives of a batch are each query's negatives (default 32)"),
         arg("--lr", type=float, default=2e-5, help="learning rate (default 2e-5)"),
         arg("--seed", type=int, default=0),
         arg("--device", default="auto", choices=["auto", "cpu", "cuda"]),
         arg("--overwrite", action="store_true",
             help="replace an embedder registered under NAME with other settings (rebuild its indexes after)"),
         epilog="Then: llmops index build DATASET --name I --embedder NAME\n"
                "example: llmops finetune-embedder all-minilm-l6-v2 --pairs pydoc-pairs --as minilm-pydoc")
def _finetune_embedder(ns, ctx):
    from ..models.embedder_finetune import finetune_embedder

    return finetune_embedder(ns.base, ns.pairs, name=ns.name, epochs=ns.epochs, batch_size=ns.batch_size, lr=ns.lr,
                             seed=ns.seed, device=ns.device, overwrite=ns.overwrite, progress=not ctx.quiet)
