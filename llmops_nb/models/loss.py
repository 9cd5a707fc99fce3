"""The causal-LM loss fine-tuning minimizes, computed with less work than the model's own forward where the
architecture allows it (same value, same gradients; a test compares them)."""
from __future__ import annotations

import functools

from .kv_cache import new_cache

# Architectures whose causal-LM head is a plain linear layer over the decoder's last hidden state (no logit
# scaling or soft-capping), so the loss can be computed on the labelled positions only.
PLAIN_HEAD = {"llama", "mistral", "qwen2", "qwen3", "gpt2", "phi3", "gpt_neox", "olmo", "olmo2", "smollm3",
              "stablelm", "starcoder2"}
MIN_SHARED = 8  # tokens: below this a separate prefix pass costs more than it saves


def causal_lm_loss(model, *, input_ids, attention_mask, labels, share_prefix: bool = True):
    """The model's own causal-LM loss (mean cross-entropy of each labelled token given the tokens before it),
    computed with less work where the architecture allows it:

    - the vocabulary projection runs only at labelled positions. With instruction pairs most positions are
      prompt (label -100), and a small model's projection to its whole vocabulary is a large share of its
      forward pass;
    - the token prefix every row of the batch shares (the chat template's system prompt, a prompt template's
      instructions) runs once, and its keys/values are repeated for the rows. Gradients flow through the
      repeat, so they are the sum over rows, as when each row runs it.
    """
    import torch
    import torch.nn.functional as F

    config = getattr(model, "config", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else None
    if getattr(config, "model_type", None) not in PLAIN_HEAD or head is None or decoder is None:
        return model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    shared = shared_prompt_prefix(input_ids, attention_mask, labels) if share_prefix else 0
    if shared:
        cache = new_cache(decoder)
        decoder(input_ids=input_ids[:1, :shared], cache=cache, use_cache=True)
        cache.batch_repeat_interleave(input_ids.shape[0])
        width = input_ids.shape[1]
        positions = torch.arange(shared, width, device=input_ids.device).expand(input_ids.shape[0], -1)
        hidden = decoder(input_ids=input_ids[:, shared:], attention_mask=attention_mask, position_ids=positions,
                         cache=cache, use_cache=True).last_hidden_state
    else:
        hidden = decoder(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
    targets = labels[:, shared + 1:]
    keep = targets != -100
    logits = head(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets[keep])


def shared_prompt_prefix(input_ids, attention_mask, labels) -> int:
    """Tokens at the start that every row shares, ending before the position that predicts any row's first
    labelled token (so every logit the loss needs comes from the rows' own pass)."""
    import torch

    if input_ids.shape[0] < 2 or "cache" not in _decoder_params():
        return 0
    labelled = labels != -100
    if not bool(labelled.any(dim=1).all()) or not bool(attention_mask[:, :1].all()):
        return 0
    first_label = int(labelled.float().argmax(dim=1).min())
    same = (input_ids == input_ids[:1]).all(dim=0)
    limit = first_label - 1
    n = int(torch.cumprod(same[:limit].int(), dim=0).sum()) if limit > 0 else 0
    return n if n >= MIN_SHARED else 0


@functools.lru_cache(maxsize=None)
def _decoder_params() -> frozenset:
    """The parameters decoders take: the shared-prefix path passes a cache object as `cache=` (transformers 5)."""
    import inspect

    from transformers.models.llama.modeling_llama import LlamaModel

    return frozenset(inspect.signature(LlamaModel.forward).parameters)


__all__ = ["MIN_SHARED", "PLAIN_HEAD", "causal_lm_loss", "shared_prompt_prefix"]
