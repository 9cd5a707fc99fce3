"""`whole_number` on big integers: exact up to int64 (a float comparison rounded 99999999999999999 and refused
it), and one InputError past it (10**400 raised OverflowError from math.isfinite, a traceback in the CLI)."""
import numpy as np
import pytest

import llmops_nb as L
from llmops_nb.checks import whole_number
from llmops_nb.errors import InputError


@pytest.mark.parametrize("value", [99999999999999999, 2 ** 63 - 1, 2 ** 53 + 1, np.int64(2 ** 62 + 1)])
def test_big_integers_within_int64_pass_exactly(value):
    assert whole_number("offset", value, minimum=0) == int(value)


@pytest.mark.parametrize("value", [2 ** 63, 10 ** 30, 10 ** 400, -(2 ** 63) - 1])
def test_integers_past_int64_are_one_input_error(value):
    with pytest.raises(InputError, match="must be a whole number"):
        whole_number("offset", value)


def test_runs_with_a_huge_last_is_an_input_error(ws):
    with pytest.raises(InputError, match="--last must be a whole number"):
        L.runs(last=10 ** 400)
    assert list(L.runs(last=2 ** 63 - 1)) == []
