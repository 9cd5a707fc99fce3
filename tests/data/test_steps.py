"""Each curation step as a pure function over records: real text (Python's reference topics) and crafted cases."""
from pydoc_data.topics import topics

import pytest

from llmops_nb.data.steps import STEPS, get_step, run_step, steps
from llmops_nb.data.steps.pii import find_pii, iban_ok, luhn_ok
from llmops_nb.data.steps.text import normalize_text
from llmops_nb.errors import InputError, NotFoundError

PYDOC = [{"id": k, "text": v} for k, v in sorted(topics.items())]


def recs(*texts):
    return [{"id": f"r{i}", "text": t} for i, t in enumerate(texts)]


def test_registry_has_every_step_and_rejects_unknown_ones():
    assert set(steps()) >= {"normalize", "exact_dedup", "near_dedup", "semantic_dedup", "quality", "pii", "select",
                            "filter", "sample"}
    with pytest.raises(NotFoundError, match="did you mean 'near_dedup'"):
        get_step("near_dedupe")
    with pytest.raises(InputError, match="has no parameter 'treshold'.*did you mean 'threshold'"):
        run_step("near_dedup", PYDOC, treshold=0.9)


def test_normalize_nfkc_controls_whitespace_but_keeps_code_indentation():
    text = "ｆｕｌｌ\u00a0width\u200b\r\nline  \x07\n\n\n\n    indented  code\t\n"
    assert normalize_text(text) == "full width\nline\n\n    indented  code"
    assert normalize_text("a   b", collapse_spaces=True) == "a b"
    r = run_step("normalize", PYDOC)
    assert len(r.kept) == len(PYDOC) and not r.removed
    lam = next(x for x in r.kept if x["id"] == "lambda")["text"]
    assert "\n      lambda_expr" in lam or "lambda_expr" in lam
    assert all(x["text"] == x["text"].strip() for x in r.kept)
    assert PYDOC[0]["text"] == topics[PYDOC[0]["id"]]  # input records are not mutated


def test_exact_dedup_keeps_first_and_names_it():
    r = run_step("exact_dedup", recs("Hello  World", "hello world\n", "other", "HELLO WORLD"))
    assert [x["id"] for x in r.kept] == ["r0", "r2"]
    assert [(c.record_id, c.reason, c.duplicate_of) for c in r.removed] == [
        ("r1", "exact_duplicate", "r0"), ("r3", "exact_duplicate", "r0")]
    assert run_step("exact_dedup", recs("A", "a"), lowercase=False).removed == []
    # pydoc really has two identical topics ('if' and 'else' share one text)
    r = run_step("exact_dedup", PYDOC)
    assert [(c.record_id, c.duplicate_of) for c in r.removed] == [("if", "else")]


def _edit(text, every=15):
    w = text.split()
    return " ".join("CHANGED" if i % every == 7 else t for i, t in enumerate(w))


def test_near_dedup_on_pydoc_keeps_one_per_cluster_and_records_the_kept_one():
    base = {r["id"]: r["text"] for r in PYDOC}
    # word edits: Jaccard of 5-gram sets 0.909 and 0.869 to formatstrings
    extra = [{"id": "fmt-copy1", "text": _edit(base["formatstrings"], 120)},
             {"id": "fmt-copy2", "text": _edit(base["formatstrings"], 80)},
             {"id": "assert-copy", "text": base["assert"] + " One more sentence at the end."}]
    data = PYDOC + extra
    r = run_step("near_dedup", data)
    removed = {c.record_id: c for c in r.removed}
    # the exact pair (if/else) and the three planted variants; one representative each
    assert set(removed) == {"if", "fmt-copy1", "fmt-copy2", "assert-copy"}
    assert removed["fmt-copy1"].duplicate_of == "formatstrings" and removed["fmt-copy2"].duplicate_of == "formatstrings"
    assert removed["assert-copy"].duplicate_of == "assert"
    d = removed["fmt-copy2"].detail
    assert d["similarity_to_kept"] == pytest.approx(0.869, abs=0.002) and d["cluster_size"] == 3
    kept_ids = [x["id"] for x in r.kept]
    assert "formatstrings" in kept_ids and "else" in kept_ids and len(kept_ids) == len(data) - 4
    assert r.context.metrics["bands"] == 14 and r.context.metrics["rows"] == 8
    # a stricter threshold keeps the looser variant
    strict = {c.record_id for c in run_step("near_dedup", data, threshold=0.89).removed}
    assert "fmt-copy1" in strict and "fmt-copy2" not in strict


def test_near_dedup_keep_longest_and_verify_modes():
    a = " ".join(f"w{i}" for i in range(200))
    b = a + " extra words at the end of it"
    r = run_step("near_dedup", recs(a, b), keep="longest")
    assert [x["id"] for x in r.kept] == ["r1"] and r.removed[0].duplicate_of == "r1"
    for verify in ("minhash", "none"):
        assert run_step("near_dedup", recs(a, b), verify=verify).removed_ids == ["r1"]
    with pytest.raises(InputError, match="verify must be"):
        run_step("near_dedup", recs(a), verify="maybe")
    # empty and one-word texts are never near-duplicates of each other
    assert run_step("near_dedup", recs("", "", "x", "y")).removed == []


def test_quality_removes_junk_with_reasons_and_keeps_real_prose():
    good = ("The assert statement is a convenient way to insert debugging assertions into a program. "
            "It raises an error when the condition that follows it is false and the checks are enabled.")
    junk = recs(good, "buy now", "#### ### ## #tag #tag #tag #tag #tag #tag #tag", "Spam line\n" * 10,
                "x1 y2 z3 q4 w5 e6 r7 t8 u9 i0 o1 p2")
    r = run_step("quality", junk)
    assert [x["id"] for x in r.kept] == ["r0"]
    reasons = {c.record_id: c.reason for c in r.removed}
    assert reasons == {"r1": "too_few_words", "r2": "symbols", "r3": "duplicate_lines", "r4": "no_stop_words"}
    assert r.removed[0].detail["value"] == 2 and r.removed[0].detail["limit"] == 5
    # every threshold is configurable; None turns a check off
    assert run_step("quality", junk, min_words=1, max_symbol_ratio=None, max_duplicate_lines=None,
                    min_stop_words=0).removed == []
    flagged = run_step("quality", junk, mode="flag")
    assert len(flagged.kept) == 5 and flagged.kept[1]["_flags"] == ["quality:too_few_words"]
    # real reference text passes almost entirely
    real = run_step("quality", PYDOC)
    assert len(real.kept) >= len(PYDOC) - 4


def test_pii_detectors_and_validators():
    text = ("Mail jane.doe@example.com or call +1 (415) 555-0132 / 020 7946 0958. Host 192.168.1.20, "
            "v6 2001:db8:85a3::8a2e:370:7334. Card 4111 1111 1111 1111 but not 4111 1111 1111 1112. "
            "IBAN DE89 3704 0044 0532 0130 00, not DE89 3704 0044 0532 0130 01. AKIAIOSFODNN7EXAMPLE "
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789 sk-proj-abc123DEF456ghi789JKL012 api_key=Zx8s7Df6Gh5Jk4Lq3Wp2 "
            "password: hunter2. Slices a[::2], version 3.12.1, date 2024-01-15 12:00, id 1234567890123456.")
    found = {text[m.start:m.end]: m.kind for m in find_pii(text)}
    assert found == {"jane.doe@example.com": "email", "+1 (415) 555-0132": "phone", "020 7946 0958": "phone",
                     "192.168.1.20": "ip", "2001:db8:85a3::8a2e:370:7334": "ip", "4111 1111 1111 1111": "credit_card",
                     "DE89 3704 0044 0532 0130 00": "iban", "AKIAIOSFODNN7EXAMPLE": "secret",
                     "ghp_abcdefghijklmnopqrstuvwxyz0123456789": "secret",
                     "sk-proj-abc123DEF456ghi789JKL012": "secret", "Zx8s7Df6Gh5Jk4Lq3Wp2": "secret"}
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")
    # Python's reference text has no PII (no false positives on code, versions, dates, slices)
    assert run_step("pii", PYDOC).changes == []


def test_pii_modes_redact_drop_flag():
    data = recs("write to bob@example.org today", "nothing here", "key AKIAIOSFODNN7EXAMPLE and 10.0.0.1")
    red = run_step("pii", data)
    assert [x["text"] for x in red.kept] == ["write to <EMAIL> today", "nothing here", "key <SECRET> and <IP>"]
    assert [c.action for c in red.changes] == ["edited", "edited"] and red.changes[0].record is None
    assert run_step("pii", data, keep_originals=True).changes[0].record["text"] == data[0]["text"]
    drop = run_step("pii", data, mode="drop")
    assert [x["id"] for x in drop.kept] == ["r1"]
    assert {c.record_id: c.reason for c in drop.removed} == {"r0": "email", "r2": "ip+secret"}
    flag = run_step("pii", data, mode="flag")
    assert [x.get("_flags") for x in flag.kept] == [["pii:email"], None, ["pii:ip", "pii:secret"]]
    only = run_step("pii", data, types=["email"])
    assert only.kept[2]["text"] == data[2]["text"]
    with pytest.raises(InputError, match="unknown PII type 'emails'.*did you mean 'email'"):
        run_step("pii", data, types=["emails"])


def test_filter_by_query_or_predicate():
    data = [{**r, "n": i} for i, r in enumerate(PYDOC)]
    expr = "n_words >= 300 and not id in ['lambda', 'if'] and n < 70"
    q = run_step("filter", data, expr=expr)
    assert q.kept and all(len(x["text"].split()) >= 300 and x["id"] not in ("lambda", "if") and x["n"] < 70
                          for x in q.kept)
    assert {c.reason for c in q.removed} == {"filter"} and len(q.kept) + len(q.removed) == len(data)
    assert q.removed[0].detail == {"query": expr}
    p = run_step("filter", data, expr=lambda r: r["n"] % 2 == 0)
    assert len(p.kept) == 40
    with pytest.raises(InputError, match="unexpected '>'.*columns: id, text, n, n_words, n_chars"):
        run_step("filter", data, expr="n_words >>> 3")
    with pytest.raises(InputError, match="unknown column 'wordz'.*columns: id, text, n, n_words, n_chars"):
        run_step("filter", data, expr="wordz > 3")
    with pytest.raises(InputError, match="arithmetic .* is not part of the filter language"):
        run_step("filter", data, expr="n_words + 1")
    with pytest.raises(InputError, match="attribute access '.str' is not allowed"):  # a filter is never Python
        run_step("filter", data, expr="text.str.contains('lambda')")


def test_sample_is_seeded_and_ordered():
    a = run_step("sample", PYDOC, n=10, seed=3)
    b = run_step("sample", PYDOC, n=10, seed=3)
    assert [x["id"] for x in a.kept] == [x["id"] for x in b.kept] and len(a.kept) == 10
    order = [r["id"] for r in PYDOC]
    assert [order.index(x["id"]) for x in a.kept] == sorted(order.index(x["id"]) for x in a.kept)
    assert len(run_step("sample", PYDOC, fraction=0.5).kept) == 40
    with pytest.raises(InputError, match="exactly one of n"):
        run_step("sample", PYDOC)


def test_every_step_has_a_docstring_with_its_defaults():
    for name, spec in STEPS.items():
        assert spec.doc, name
