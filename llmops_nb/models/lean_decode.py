"""One decode step of a Llama-family model (SmolLM2 is one) without the transformers module stack around it.

Through `model(...)` a decode step also builds an attention mask, threads keyword arguments through decorators
and makes ~250 module calls: at batch 16 on 2 CPU cores ~3-4 ms of a ~68 ms step (the rest is the matrix
products, which read all the weights every step). This runs the same tensor operations in
the same order (the model's own norm, MLP and Linear forwards, transformers' rotary function, the grouped-query
attention layout its SDPA path uses for one query token) straight over the weights and the KV cache, so its logits
are the ones `model(...)` gives; a test compares them. It is used only where the model is exactly a
transformers Llama decoder in eval mode with SDPA attention, default rotary embeddings and no hooks; anything
else (other architectures, PEFT wrappers, hooks, training) decodes through `model(...)`.
"""
from __future__ import annotations

from typing import Callable, Optional

from .runtime import require_torch


def _llama_classes():
    try:
        from transformers.models.llama import modeling_llama as ml
    except ImportError:  # pragma: no cover - transformers without Llama
        return None
    return ml


def _hooked(module) -> bool:
    return any(getattr(m, name, None) for m in module.modules()
               for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks"))


def supports(model) -> bool:
    """Whether `lean_step` can run this model's decode steps."""
    ml = _llama_classes()
    if ml is None or type(model) is not ml.LlamaForCausalLM or model.training:
        return False
    cfg, base = model.config, model.model
    rope = (getattr(cfg, "rope_parameters", None) or {}).get("rope_type", "default")
    if getattr(cfg, "_attn_implementation", None) != "sdpa" or rope != "default" or _hooked(model):
        return False
    return (type(base) is ml.LlamaModel and type(base.norm) is ml.LlamaRMSNorm
            and all(type(layer) is ml.LlamaDecoderLayer and type(layer.self_attn) is ml.LlamaAttention
                    and type(layer.mlp) is ml.LlamaMLP and type(layer.input_layernorm) is ml.LlamaRMSNorm
                    and type(layer.post_attention_layernorm) is ml.LlamaRMSNorm for layer in base.layers))


def lean_step(model) -> Optional[Callable]:
    """step(ids[B], mask[B, L], positions[B], cache) -> logits[B, vocab] for one new token per row, where L counts
    the cached positions plus the new one; None where `supports(model)` is False."""
    if not supports(model):
        return None
    torch = require_torch()
    F = torch.nn.functional
    apply_rope = _llama_classes().apply_rotary_pos_emb
    base = model.model
    layers = list(base.layers)[: model.config.num_hidden_layers]

    def attention(attn, h, cos, sin, mask, cache_layer):
        b = h.shape[0]
        shape = (b, 1, -1, attn.head_dim)
        q = attn.q_proj.forward(h).view(shape).transpose(1, 2)
        k = attn.k_proj.forward(h).view(shape).transpose(1, 2)
        v = attn.v_proj.forward(h).view(shape).transpose(1, 2)
        q, k = apply_rope(q, k, cos, sin)
        k, v = cache_layer.update(k, v)
        groups = attn.num_key_value_groups
        if groups > 1:  # one query token: heads grouped under their key/value head (transformers' pack_gqa)
            q = q.reshape(b, q.shape[1] // groups, groups, q.shape[-1])
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, scale=attn.scaling,
                                             is_causal=False)
        out = out.reshape(b, -1, 1, v.shape[-1]).transpose(1, 2).contiguous()
        return attn.o_proj.forward(out.reshape(b, 1, -1).contiguous())

    def step(ids, mask, positions, cache):
        x = base.embed_tokens.forward(ids[:, None])
        cos, sin = base.rotary_emb.forward(x, positions[:, None])
        keep = mask.bool()[:, None, None, :]
        for layer, cache_layer in zip(layers, cache.layers):
            x = x + attention(layer.self_attn, layer.input_layernorm.forward(x), cos, sin, keep, cache_layer)
            x = x + layer.mlp.forward(layer.post_attention_layernorm.forward(x))
        return model.lm_head.forward(base.norm.forward(x))[:, -1, :]

    return step


__all__ = ["lean_step", "supports"]
