"""THE CONTRACT (impl/softlab/softlab.hpp) under Hypothesis, for every implementation that
meets it, every dtype it computes and every instruction set it runs on here: outputs in [0, 1],
no NaN on finite input, -inf -> exactly 0, a fully masked row -> zeros, +inf entries share 1/k,
any NaN -> all NaN, and every result >= the smallest normal within the stated bound of the exact
softmax (ULPs by softlab's own metric; faithful entries within 1 ULP everywhere)."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

import softlab
from conftest import contract_cases, smallest_normal, stored, values

SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=20)

FAITHFUL = {e["name"]: e["faithful"] for e in softlab.implementations() if e["kind"] == "softmax"}
DBL_MAX = float(np.finfo(np.float64).max)
WIDTH = {"float32": 32, "float64": 64, "float16": 16, "bfloat16": 32}


def scores(dtype):
    """Rows of scores: any value of the format (subnormals and huge ones included), with -inf,
    +inf and NaN mixed in, and clusters near the max (where rounding x - max matters)."""
    width = WIDTH[dtype]
    info = np.finfo(np.float32 if dtype == "bfloat16" else dtype)
    special = st.sampled_from([-math.inf, math.inf, math.nan, float(info.tiny) / 4,
                               -float(info.tiny), float(info.max), -float(info.max), 0.0])
    ordinary = st.floats(-30, 30, width=width)
    anything = st.floats(width=width)
    element = st.one_of(ordinary, ordinary, anything, special)
    return st.integers(1, 3).flatmap(
        lambda rows: st.integers(0, 24).flatmap(
            lambda cols: st.lists(st.lists(element, min_size=cols, max_size=cols),
                                  min_size=rows, max_size=rows)))


def check_row_contract(x, y, dtype):
    """The contract's special values for one row x (float64 values as stored) and its softmax."""
    if x.size == 0:
        return
    if np.isnan(x).any():
        assert np.isnan(y).all()
        return
    assert not np.isnan(y).any()
    assert ((y >= 0) & (y <= 1)).all()
    assert (y[x == -math.inf] == 0).all()
    infinite = x == math.inf
    if infinite.any():
        assert (y[~infinite] == 0).all()
        shares = y[infinite]
        assert (shares == shares[0]).all()
        # 1/k within 1 ULP of the format (the 16-bit types round it from float).
        assert softlab.ulp_errors(stored(y[None, :], dtype), stored(x[None, :], dtype),
                                  dtype=dtype).max() < 1
    elif (x == -math.inf).all():
        assert (y == 0).all()


def check_log_row_contract(x, log_y):
    """log_softmax's limits for one row: log 0 = -inf, NaN for NaN, finite input: no NaN (its
    values may exceed 0 by the stated a u max(1, |result|): log(1) may come out as u/2)."""
    if x.size == 0:
        return
    if np.isnan(x).any():
        assert np.isnan(log_y).all()
        return
    assert not np.isnan(log_y).any()
    assert (log_y[x == -math.inf] == -math.inf).all()
    infinite = x == math.inf
    if infinite.any():
        assert (log_y[~infinite] == -math.inf).all()
    elif (x == -math.inf).all():
        assert (log_y == -math.inf).all()


@pytest.mark.parametrize("impl,dtype", contract_cases())
def test_softmax_contract_and_stated_bound(impl, dtype):
    @SETTINGS
    @given(scores(dtype))
    def run(rows):
        x = stored(np.array(rows, dtype=np.float64), dtype)
        y = softlab.softmax(x, impl=impl, dtype=dtype)
        xv, yv = values(x, dtype), values(y, dtype)
        for r in range(xv.shape[0]):
            check_row_contract(xv[r], yv[r], dtype)
        # The stated bound, where the contract states it: finite rows, results >= the smallest
        # normal; faithful entries: every result within 1 ULP.
        errors = softlab.ulp_errors(y, x, dtype=dtype)
        bounds = softlab.stated_bounds(impl, x, dtype=dtype)
        exact = values(softlab.exact_softmax(x, dtype=dtype), dtype)
        finite_rows = ~np.isnan(bounds)  # stated_bounds: NaN in rows with a NaN or +inf
        judged = finite_rows & (exact >= smallest_normal(dtype))
        assert (errors[judged] <= bounds[judged]).all(), (x, errors, bounds)
        if FAITHFUL[impl.split("@")[0]]:
            assert (errors[finite_rows] < 1).all(), (x, errors)

    run()


@pytest.mark.parametrize("impl,dtype", contract_cases())
def test_log_softmax_contract(impl, dtype):
    @SETTINGS
    @given(scores(dtype))
    # x - max - log s beyond -DBL_MAX: the log-weight rounds to -inf (`accurate`'s double
    # kernel once gave NaN here; tests/core/accurate_exp_tests.cpp pins it per ISA).
    @example([[-(2.0**970), DBL_MAX]])
    def run(rows):
        x = stored(np.array(rows, dtype=np.float64), dtype)
        log_y = softlab.log_softmax(x, impl=impl, dtype=dtype)
        xv, lv = values(x, dtype), values(log_y, dtype)
        for r in range(xv.shape[0]):
            check_log_row_contract(xv[r], lv[r])

    run()


@pytest.mark.parametrize("impl,dtype", contract_cases())
def test_fully_masked_rows_give_zeros(impl, dtype):
    x = stored(np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]]), dtype)
    keep = np.array([[False, False, False], [True, False, True]])
    y = values(softlab.softmax(x, impl=impl, dtype=dtype, mask=keep), dtype)
    assert (y[0] == 0).all()
    assert y[1][1] == 0 and y[1][0] > 0 and y[1][2] > 0
    log_y = values(softlab.log_softmax(x, impl=impl, dtype=dtype, mask=keep), dtype)
    assert (log_y[0] == -math.inf).all() and log_y[1][1] == -math.inf


def test_every_implementation_is_within_its_bound_in_check():
    """check() on finite rows: every entry with a stated bound (each ISA) is within it."""
    x = np.array([[0.0, -20.0, 3.5, 1e-300, 700.0], [1.0, 1.0, 1.0, -745.0, 2.0]])
    for dtype in ("float64", "float32"):
        rows = softlab.check(x, dtype=dtype)
        judged = [r for r in rows if r["within_bound"] is not None]
        assert judged
        for r in judged:
            assert r["within_bound"], r
