"""The lean decode step (Llama family, no module stack) gives the logits the model's own forward gives, and
applies only where it is an exact stand-in."""

import llmops_nb as L
from llmops_nb.models.decoding import forward_flags
from llmops_nb.models.kv_cache import new_cache
from llmops_nb.models.lean_decode import lean_step, supports


def _prefilled(model, ids, mask):
    import torch

    cache = new_cache(model, capacity=ids.shape[1] + 4)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True)
    return cache


def _padded_batch(lm, texts):
    import torch

    rows = [lm.tokenizer(t)["input_ids"] for t in texts]
    w = max(map(len, rows))
    ids = torch.full((len(rows), w), lm.tokenizer.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros((len(rows), w), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, w - len(r):] = torch.tensor(r)
        mask[i, w - len(r):] = 1
    return ids, mask


TEXTS = ["What does a vector index store?", "Name a prime number.", "Why do models hallucinate answers so often?",
         "Hi"]


def test_lean_step_gives_the_models_logits_on_a_padded_batch(smollm2, one_torch_thread):
    import torch

    model = smollm2.model.eval()
    ids, mask = _padded_batch(smollm2, TEXTS)
    ref_cache, lean_cache = _prefilled(model, ids, mask), _prefilled(model, ids, mask)
    step = lean_step(model)
    assert step is not None
    nxt = torch.tensor([17, 2_000, 5, 300])
    full = torch.cat([mask, mask.new_ones((4, 1))], dim=1)
    last = mask.sum(-1)  # the new token's position in each row
    with torch.inference_mode():
        for _ in range(3):  # a few steps, so the cache written by each path is used again
            ref = model(input_ids=nxt[:, None], attention_mask=full, position_ids=last[:, None],
                        past_key_values=ref_cache, use_cache=True).logits[:, -1, :]
            ours = step(nxt, full, last, lean_cache)
            assert torch.allclose(ours, ref, atol=1e-4, rtol=0), (ours - ref).abs().max()
            assert torch.equal(ours.argmax(-1), ref.argmax(-1))
            nxt, last = ref.argmax(-1), last + 1
            full = torch.cat([full, full.new_ones((4, 1))], dim=1)
    for a, b in zip(ref_cache.layers, lean_cache.layers):
        assert torch.allclose(a.keys, b.keys, atol=1e-4) and torch.allclose(a.values, b.values, atol=1e-4)


def test_lean_step_applies_only_to_a_plain_llama_in_eval_mode(smollm2, ws):
    model = smollm2.model.eval()
    assert supports(model) and forward_flags(model, "cpu").step is not None
    assert forward_flags(model, "cuda").step is None  # measured on CPU only
    assert not supports(L.load_model("tiny-gpt2").model)  # another architecture decodes through model(...)
    handle = model.model.layers[3].mlp.register_forward_hook(lambda *a: None)
    try:
        assert not supports(model)  # a hook must see its call
    finally:
        handle.remove()
    model.train()
    try:
        assert not supports(model)
    finally:
        model.eval()
