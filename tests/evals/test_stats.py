"""Metrics, statistics and variant specs that the comparison relies on."""
import math

import numpy as np
import pytest

from llmops_nb.errors import InputError
from llmops_nb.evals import metrics as M
from llmops_nb.evals.stats import bootstrap_ci, paired, sign_test
from llmops_nb.evals.variants import parse_variant


def test_lexical_metrics_follow_squad_normalization():
    assert M.exact_match("The try statement.", "try statement") == 1.0
    assert M.exact_match("a try block", "try statement") == 0.0
    assert M.token_f1("use the try statement", "try statement") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert M.token_f1("", "x") == 0.0
    # LCS of [catch exceptions with except] and [except catches exceptions] is 1 word: P=1/4, R=1/3
    assert M.rouge_l("catch exceptions with except", "except catches exceptions") == pytest.approx(2 / 7)
    assert M.rouge_l("a b c d", "a b c d") == 1.0
    assert M.rouge_l("x y", "a b") == 0.0


def test_groundedness_counts_supported_sentences():
    ctx = "The with statement wraps a block with methods of a context manager. It calls __enter__ and __exit__."
    embed = _fake_free_embed()
    out = M.groundedness(
        ["It calls __enter__ and __exit__. Bananas are yellow fruits grown in warm places.",
         "anything"], [ctx, None], embed)
    assert out[0] == pytest.approx(0.5)
    assert math.isnan(out[1]), "no context: groundedness is undefined, not zero"


def _fake_free_embed():
    # Alignment with the passage alone decides here: unit vectors that never reach the cosine threshold between texts.
    def embed(texts):
        v = np.eye(len(texts), 8 + len(texts), dtype=np.float32)
        return v

    return embed


def test_bootstrap_ci_contains_mean_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small = rng.normal(0.5, 0.2, 20)
    big = rng.normal(0.5, 0.2, 500)
    m, lo, hi = bootstrap_ci(small)
    assert lo < m < hi
    m2, lo2, hi2 = bootstrap_ci(big)
    assert (hi2 - lo2) < (hi - lo)
    assert bootstrap_ci([float("nan"), 1.0, 1.0]) == (1.0, 1.0, 1.0)


def test_paired_comparison_and_sign_test():
    base = np.array([0.2] * 30)
    better = base + np.r_[np.full(25, 0.3), np.zeros(3), np.full(2, -0.1)]
    p = paired(better, base)
    assert (p.wins, p.ties, p.losses) == (25, 3, 2)
    assert p.mean_diff > 0 and p.ci_low > 0 and p.p_sign < 0.001 and p.p_bootstrap < 0.01
    same = paired(base, base)
    assert same.wins == same.losses == 0 and same.p_sign == 1.0
    assert sign_test(5, 5) == 1.0
    # lower-is-better metrics (latency): less is a win
    lat = paired([1.0, 1.0, 1.0], [2.0, 2.0, 2.0], higher_is_better=False)
    assert lat.wins == 3 and lat.mean_diff < 0


def test_variant_specs_parse_and_errors_name_the_fix():
    assert parse_variant("ft:my-lora+rag:pydoc:4").spec == "ft:my-lora+rag:pydoc:4"
    assert parse_variant("few-shot:m:3").shots == 3
    with pytest.raises(InputError, match="did you mean 'zero-shot'"):
        parse_variant("zeroshot:m")
    with pytest.raises(InputError, match="must be a whole number"):
        parse_variant("rag:m:idx:many")
    with pytest.raises(InputError, match="malformed"):
        parse_variant("rag:m:idx")


def test_unknown_metric_did_you_mean():
    with pytest.raises(InputError, match="did you mean 'token_f1'"):
        M.check_metrics(["token_f"])
