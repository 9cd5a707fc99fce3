"""Chunking by the embedder's own tokens (MiniLM's tokenizer, loaded alone: no model weights)."""
import pytest

from llmops_nb.errors import InputError
from llmops_nb.index.chunking import ChunkStats, chunk_records, windows


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from llmops_nb.models.registry import BUILTINS

    return AutoTokenizer.from_pretrained(str(BUILTINS["all-minilm-l6-v2"].locate()))


def _ntok(tokenizer, text):
    return len(tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])


def test_windows_cover_every_token_with_the_overlap():
    assert windows(10, 200, 32) == [(0, 10)]
    w = windows(500, 200, 32)
    assert w[0] == (0, 200) and w[-1][1] == 500
    assert all(b - a <= 200 for a, b in w)
    assert all(w[i][1] - w[i + 1][0] == 32 for i in range(len(w) - 1))


def test_long_record_is_split_with_offsets_into_the_original_text(tokenizer):
    from pydoc_data.topics import topics

    text = topics["try"]
    stats = ChunkStats()
    chunks = list(chunk_records([{"id": "try", "text": text, "topic": "try"}], tokenizer, chunk_tokens=120,
                                overlap=20, stats=stats))
    assert stats.records == 1 and stats.chunks == len(chunks) > 5
    assert [c.chunk for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text == text[c.start:c.end]  # offsets are character positions into the record's text
        assert c.record_id == "try" and c.metadata == {"topic": "try"}
        assert _ntok(tokenizer, c.text) <= 120 + 3  # a window start snapped back to its word adds a token or two
        assert not c.text[0].isspace() and not c.text[-1].isspace()
    # neighbours overlap, and together they cover the whole text
    assert all(chunks[i + 1].start < chunks[i].end for i in range(len(chunks) - 1))
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())
    assert not text[chunks[3].start - 1].isalnum()  # a chunk never starts mid-word


def test_short_records_are_one_chunk_and_empty_ones_are_skipped_and_counted(tokenizer):
    recs = [{"id": "a", "text": "Short text."}, {"id": "b", "text": "   "}, {"id": "c", "text": ""},
            {"id": "d", "text": None}, {"id": "e", "text": "Another one.", "lang": "en"}]
    stats = ChunkStats()
    chunks = list(chunk_records(recs, tokenizer, stats=stats))
    assert [(c.record_id, c.text) for c in chunks] == [("a", "Short text."), ("e", "Another one.")]
    assert chunks[1].metadata == {"lang": "en"}
    assert (stats.records, stats.chunks, stats.skipped_empty) == (5, 2, 3)


def test_bad_window_settings_are_refused(tokenizer):
    with pytest.raises(InputError, match="more than the embedder reads"):
        list(chunk_records([{"id": "a", "text": "x"}], tokenizer, chunk_tokens=512, max_tokens=254))
    with pytest.raises(InputError, match="overlap must be"):
        list(chunk_records([{"id": "a", "text": "x"}], tokenizer, chunk_tokens=64, overlap=64))
    with pytest.raises(InputError, match="chunk_tokens must be"):
        list(chunk_records([{"id": "a", "text": "x"}], tokenizer, chunk_tokens=0))
