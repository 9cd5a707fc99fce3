"""The KV cache that batched generation and the fine-tuning loss hand to a model: transformers' DynamicCache,
with each layer's keys and values in one buffer allocated up front where the model allows it."""
from __future__ import annotations

import functools


def new_cache(model, capacity: int = 0):
    """A KV cache for `model`. With `capacity` (prompt + new tokens), each layer's keys and values live in one
    buffer allocated up front: a decode step writes its token in place, where transformers' DynamicLayer
    concatenates, copying the whole cache every step (over half of the decode time at long prompts)."""
    from transformers import DynamicCache

    try:
        cache = DynamicCache(config=model.config)
    except TypeError:  # older transformers
        return DynamicCache()
    layer_cls = reserved_layer_class()
    if capacity > 0 and layer_cls is not None and getattr(cache, "layers", None) and \
            all(type(layer) is layer_cls.__base__ for layer in cache.layers):
        cache.layers = [layer_cls(capacity) for _ in cache.layers]
    return cache


def takes_reserved_layers(model) -> bool:
    """Whether this model's cache takes ReservedLayers (all full-attention layers, transformers >= 5)."""
    cls = reserved_layer_class()
    layers = getattr(new_cache(model, capacity=1), "layers", None)
    return cls is not None and bool(layers) and all(isinstance(layer, cls) for layer in layers)


@functools.lru_cache(maxsize=None)
def reserved_layer_class():
    """DynamicLayer with its keys/values as views into a preallocated buffer (None on transformers < 5)."""
    try:
        from transformers.cache_utils import DynamicLayer
    except ImportError:
        return None

    class ReservedLayer(DynamicLayer):
        def __init__(self, capacity: int):
            super().__init__()
            self.capacity, self.length = int(capacity), 0
            self._k = self._v = None

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            n = key_states.shape[-2]
            end = self.length + n
            if self._k is None or end > self._k.shape[-2] or self._k.shape[0] != key_states.shape[0]:
                self._grow(key_states, value_states, max(end, self.capacity))
            self._k[:, :, self.length:end].copy_(key_states)
            self._v[:, :, self.length:end].copy_(value_states)
            self.length = end
            self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
            return self.keys, self.values

        def _grow(self, key_states, value_states, size: int) -> None:
            b, h, _, d = key_states.shape
            k = key_states.new_empty((b, h, size, d))
            v = value_states.new_empty((b, h, size, value_states.shape[-1]))
            if self.length:
                k[:, :, :self.length].copy_(self._k[:, :, :self.length])
                v[:, :, :self.length].copy_(self._v[:, :, :self.length])
            self._k, self._v = k, v

        def get_seq_length(self) -> int:
            return self.length

        def load(self, keys, values) -> None:
            """Start from these keys and values (copied into a buffer of the layer's capacity)."""
            self._k = self._v = None
            self.length = 0
            self.update(keys, values)

        def adopt(self, k, v, length: int) -> None:
            """Take buffers whose first `length` positions hold the cache (no copy)."""
            if not self.is_initialized:
                self.lazy_initialization(k, v)
            self._k, self._v, self.length = k, v, int(length)
            self.keys, self.values = k[:, :, :length], v[:, :, :length]

        def reset(self) -> None:
            self._k = self._v = None
            self.length = 0
            super().reset()

        def crop(self, tokens_to_remove: int) -> None:
            super().crop(tokens_to_remove)
            if self.is_initialized and self.keys is not None and self.keys.numel():
                self.length = self.keys.shape[-2]

        def batch_repeat_interleave(self, repeats: int) -> None:
            if self.length:
                self._k = self._k.repeat_interleave(repeats, dim=0)
                self._v = self._v.repeat_interleave(repeats, dim=0)
                self.keys, self.values = self._k[:, :, :self.length], self._v[:, :, :self.length]

        def batch_select_indices(self, indices) -> None:
            if self.length:
                self._k, self._v = self._k[indices], self._v[indices]
                self.keys, self.values = self._k[:, :, :self.length], self._v[:, :, :self.length]

        def reorder_cache(self, beam_idx) -> None:
            self.batch_select_indices(beam_idx.to(self._k.device) if self._k is not None else beam_idx)

    return ReservedLayer


__all__ = ["new_cache", "reserved_layer_class", "takes_reserved_layers"]
