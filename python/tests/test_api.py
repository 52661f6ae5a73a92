"""The module's API: layouts (axis, out, zero copy), options, logsumexp, attention shapes,
implementations(), the exact reference, check() with Python callables, the GIL hook, and
ValueError (never a crash, never pybind11's TypeError) for every bad argument."""

import math

import numpy as np
import pytest

import softlab
from conftest import ATTENTION, SOFTMAX, storage, to_bfloat16_bits, values

X = np.array([[0.5, -1.0, 2.0, 3.0], [1.0, 1.0, -math.inf, 0.0], [4.0, -2.0, 0.25, 1.5]])


# ---- layouts and options --------------------------------------------------------------------

def test_list_input_is_float64_and_matches_exact():
    y = softlab.softmax([1.0, -math.inf, 2.0])
    assert y.dtype == np.float64 and y[1] == 0
    exact = softlab.exact_softmax([1.0, -math.inf, 2.0])
    assert (softlab.ulp_errors(y, [1.0, -math.inf, 2.0]) <= softlab.stated_bounds(
        "fast", [1.0, -math.inf, 2.0])).all()
    assert abs(exact.sum() - 1) < 1e-15


def test_out_is_written_in_place_and_returned():
    out = np.empty_like(X)
    result = softlab.softmax(X, out=out)
    assert result is out
    assert np.array_equal(out, softlab.softmax(X))
    log_out = np.empty_like(X)
    assert softlab.log_softmax(X, out=log_out) is log_out


def test_same_memory_in_and_out():
    x = X.copy()
    expected = softlab.softmax(X)
    softlab.softmax(x, out=x)
    assert np.array_equal(x, expected)


def test_other_axis_equals_transposed_rows():
    for axis in (0, -2):
        y = softlab.softmax(X, axis=axis)
        assert np.array_equal(y, softlab.softmax(X.T.copy()).T)
        out = np.empty_like(X)
        assert softlab.softmax(X, axis=axis, out=out) is out and np.array_equal(out, y)
    x3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    assert np.array_equal(softlab.softmax(x3, axis=1),
                          np.moveaxis(softlab.softmax(np.moveaxis(x3, 1, -1).copy()), -1, 1))


def test_non_contiguous_input_is_copied_not_rejected():
    x = np.asfortranarray(X)
    assert np.array_equal(softlab.softmax(x), softlab.softmax(X))
    assert np.array_equal(softlab.softmax(X[:, ::2]), softlab.softmax(X[:, ::2].copy()))


def test_dtypes_and_conversion():
    for dtype in ("float32", "float16"):
        y = softlab.softmax(X.astype(dtype))
        assert y.dtype == np.dtype(dtype)
        assert np.array_equal(softlab.softmax(X, dtype=dtype), y)  # converted once, then computed
    bits = to_bfloat16_bits(X)
    y = softlab.softmax(bits, dtype="bfloat16")
    assert y.dtype == np.uint16
    assert np.allclose(values(y, "bfloat16"), softlab.softmax(X).astype(np.float64), rtol=2 ** -7)


def test_scale_mask_causal_are_fused_options():
    scale = 0.125
    assert np.array_equal(softlab.softmax(X, scale=scale, impl="stable"),
                          softlab.softmax(X * scale, impl="stable"))
    additive = np.array([0.0, -math.inf, 0.0, 0.0])
    y = softlab.softmax(X, mask=additive)
    assert (y[:, 1] == 0).all()
    assert np.array_equal(y, softlab.softmax(X, mask=np.array([True, False, True, True])))
    assert np.array_equal(softlab.softmax(X, mask=np.broadcast_to(additive, X.shape).copy()), y)
    causal = softlab.softmax(X, causal=0)
    assert causal[0, 0] == 1 and (causal[0, 1:] == 0).all()
    assert (causal[1, 2:] == 0).all()


def test_threads_give_the_same_bits():
    x = np.random.default_rng(20261202).standard_normal((64, 1024)).astype(np.float32)
    assert np.array_equal(softlab.softmax(x, threads=1), softlab.softmax(x, threads=2))


def test_logsumexp_shapes_and_values():
    lse = softlab.logsumexp(X)
    assert lse.shape == (3,)
    assert np.allclose(lse, np.log(np.exp(X).sum(axis=1)), rtol=1e-15)
    scalar = softlab.logsumexp([0.0, 0.0])
    assert np.ndim(scalar) == 0 and abs(float(scalar) - math.log(2)) < 1e-15
    assert softlab.logsumexp(X, axis=0).shape == (4,)
    assert float(softlab.logsumexp([-math.inf, -math.inf])) == -math.inf
    masked = softlab.logsumexp(X, mask=np.array([True, False, True, True]))
    assert np.allclose(masked, np.log(np.exp(X[:, [0, 2, 3]]).sum(axis=1)), rtol=1e-15)


def test_logsumexp_of_16_bit_scores_forms_them_in_float():
    # With a scale or mask, a 16-bit row's scores z = scale x + mask are formed in float and
    # summed by the float kernel, then rounded once: the float computation on the widened values,
    # rounded to the storage type, bit for bit (scores rounded to 16 bits first would differ).
    rng = np.random.default_rng(20261202)
    x32 = (8 * rng.standard_normal((16, 300))).astype(np.float32)
    mask = (rng.standard_normal(300) * 3).astype(np.float32)
    for dtype in ("float16", "bfloat16"):
        x = to_bfloat16_bits(x32) if dtype == "bfloat16" else x32.astype(np.float16)
        widened = values(x, dtype).astype(np.float32)
        got = softlab.logsumexp(x, dtype=dtype, scale=0.37, mask=mask)
        want = softlab.logsumexp(widened, scale=0.37, mask=mask)
        want = to_bfloat16_bits(want) if dtype == "bfloat16" else want.astype(np.float16)
        assert np.array_equal(got, want), dtype


def test_every_softmax_entry_runs_by_name_and_isa():
    x = np.array([0.5, -1.0, 2.0, 3.0])
    for entry in SOFTMAX:
        for dtype in entry["dtypes"]:
            xs = to_bfloat16_bits(x) if dtype == "bfloat16" else x.astype(dtype)
            for name in [entry["name"]] + [f"{entry['name']}@{isa}" for isa in entry["isas"]]:
                y = softlab.softmax(xs, impl=name, dtype=dtype)
                assert y.dtype == storage(dtype)
                assert np.allclose(values(y, dtype), softlab.softmax(x), rtol=2 ** -6)


# ---- attention ------------------------------------------------------------------------------

def naive_attention(q, k, v, scale, keep=None):
    s = scale * q.astype(np.float64) @ np.swapaxes(k.astype(np.float64), -1, -2)
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    return (w / w.sum(axis=-1, keepdims=True)) @ v.astype(np.float64)


@pytest.mark.parametrize("impl", sorted({e["name"] for e in ATTENTION if "float32" in e["dtypes"]}))
def test_attention_shapes_and_values(impl):
    rng = np.random.default_rng(7)
    for q_shape, kv_shape in (((5, 8), (6, 8)), ((2, 5, 8), (2, 6, 8)),
                              ((2, 4, 5, 8), (2, 2, 6, 8))):  # the last: grouped-query
        q = rng.standard_normal(q_shape).astype(np.float32)
        k = rng.standard_normal(kv_shape).astype(np.float32)
        v = rng.standard_normal(kv_shape).astype(np.float32)
        o = softlab.attention(q, k, v, impl=impl)
        assert o.shape == q_shape and o.dtype == np.float32
        if len(q_shape) == 4:
            k = np.repeat(k, 2, axis=1)
            v = np.repeat(v, 2, axis=1)
        assert np.allclose(o, naive_attention(q, k, v, 1 / math.sqrt(8)), rtol=1e-4, atol=1e-5)
        keep = np.tril(np.ones((5, 6), dtype=bool))
        oc = softlab.attention(q, k[..., :6, :] if len(q_shape) == 4 else k,
                               v[..., :6, :] if len(q_shape) == 4 else v, impl=impl, causal=True)
        assert np.allclose(oc, naive_attention(q, k, v, 1 / math.sqrt(8), keep),
                           rtol=1e-4, atol=1e-5)


# ---- registry and reference -----------------------------------------------------------------

def test_implementations_carry_their_facts():
    names = {e["name"] for e in SOFTMAX}
    assert {"fast", "stable", "naive"} <= names
    for e in softlab.implementations():
        assert e["kind"] in ("softmax", "attention")
        for field in ("types", "dtypes", "algorithm", "passes", "stated_bound", "meets_contract",
                      "faithful", "vectorized", "origin", "isas"):
            assert field in e, (e["name"], field)
        assert set(e["isas"]) <= set(softlab.available_isas())
    naive = next(e for e in SOFTMAX if e["name"] == "naive")
    assert naive["meets_contract"] is False


def test_exact_softmax_is_correctly_rounded_and_sums_to_one():
    x = np.array([1.0, 2.0, 3.0])
    e = np.exp(x - 3)
    assert np.allclose(softlab.exact_softmax(x), e / e.sum(), rtol=1e-15)
    assert softlab.exact_softmax(x, dtype="float32").dtype == np.float32
    assert (softlab.ulp_errors(softlab.exact_softmax(x), x) <= 0.5).all()
    # log_errors are units of u max(1, |exact|): a correctly rounded result errs by at most
    # half an ULP, ulp(g) / 2 <= u |g|, so by at most 1 unit.
    assert (softlab.log_errors(softlab.exact_log_softmax(x), x) <= 1).all()
    assert (softlab.exact_softmax([math.inf, 1.0, math.inf]) == [0.5, 0.0, 0.5]).all()


def test_check_measures_entries_and_callables():
    x = np.array([[0.5, -1.0, 2.0, 3.0, 7.5], [1e-3, 0.0, -4.0, 30.0, 29.0]])

    def broken(row):
        raise RuntimeError("no softmax here")

    def doubled(row):
        return 2 * softlab.exact_softmax(row)

    rows = softlab.check(x, candidates={"broken": broken, "doubled": doubled,
                                        "exact": softlab.exact_softmax})
    by_name = {(r["name"], r["isa"]): r for r in rows}
    assert "no softmax here" in by_name[("broken", "-")]["error"]
    assert by_name[("doubled", "-")]["max_ulps"] > 1e6
    assert by_name[("exact", "-")]["max_ulps"] <= 0.5
    assert by_name[("exact", "-")]["origin"] == "python"
    fast = [r for r in rows if r["name"] == "fast"]
    assert {r["isa"] for r in fast} == set(next(e for e in SOFTMAX if e["name"] == "fast")["isas"])
    for r in fast:
        assert r["within_bound"] is True and r["bound_ulps"] is not None and r["nan_count"] == 0
    listed = softlab.check(x[0], candidates=[softlab.exact_softmax])
    assert any(r["name"] == "softlab.exact_softmax" for r in listed)


# ---- the GIL --------------------------------------------------------------------------------

def test_gil_is_released_inside_every_computation():
    x = np.linspace(-3, 3, 64)
    q = np.ones((4, 8), dtype=np.float32)
    calls = [lambda: softlab.softmax(x), lambda: softlab.log_softmax(x),
             lambda: softlab.logsumexp(x), lambda: softlab.attention(q, q, q),
             lambda: softlab.exact_softmax(x), lambda: softlab.check(x[:8])]
    for call in calls:
        softlab._testing.gil_held_in_last_call()  # reading it does not reset it
        call()
        assert softlab._testing.gil_held_in_last_call() is False


# ---- errors ---------------------------------------------------------------------------------

def raises(match, f, *args, **kwargs):
    with pytest.raises(ValueError, match=match):
        f(*args, **kwargs)


def test_bad_x():
    raises("x: dtype int64", softlab.softmax, np.arange(4))
    raises("x: dtype uint16 is read as bfloat16", softlab.softmax, np.zeros(4, np.uint16))
    raises("bfloat16.*uint16", softlab.softmax, np.zeros(4, np.float32), dtype="bfloat16")
    raises("x: a 0-d array", softlab.softmax, np.float64(1.0))
    raises("could not convert string to float", softlab.softmax, ["a", "b"])
    raises("dtype: ", softlab.softmax, X, dtype="int8")
    raises("axis: 2 is out of range", softlab.softmax, X, axis=2)


def test_bad_out():
    raises("out: shape", softlab.softmax, X, out=np.empty((3, 3)))
    raises("out: dtype float32", softlab.softmax, X, out=np.empty(X.shape, np.float32))
    read_only = np.empty_like(X)
    read_only.flags.writeable = False
    raises("out: the array is read-only", softlab.softmax, X, out=read_only)
    raises("out: the array is not C-contiguous", softlab.softmax, X,
           out=np.empty((4, 3)).T)
    raises("out: expected a numpy array", softlab.softmax, X, out=[0.0] * 12)


def test_bad_implementation_names():
    raises(r"impl: unknown softmax implementation \"nope\"; known: .*fast", softlab.softmax, X,
           impl="nope")
    raises("isa: unknown instruction set", softlab.softmax, X, impl="fast@mmx")
    raises("isa: \"naive\" cannot run on", softlab.softmax, X, impl="naive@sse2")
    for entry in SOFTMAX:
        missing = [d for d in ("float32", "float64", "float16") if d not in entry["dtypes"]]
        for dtype in missing:
            raises(f"is not registered for {dtype}", softlab.softmax, X.astype(dtype),
                   impl=entry["name"])
    raises("impl: unknown attention implementation", softlab.attention,
           np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), np.ones((2, 2), np.float32),
           impl="nope")


def test_bad_options():
    raises("threads: 0", softlab.softmax, X, threads=0)
    raises("threads: -2", softlab.softmax, X, threads=-2)
    raises("threads: expected a positive int", softlab.softmax, X, threads=1.5)
    raises("scale is 0", softlab.softmax, X, scale=0.0)
    raises("scale is nan", softlab.softmax, X, scale=math.nan)
    raises("scale: expected a number", softlab.softmax, X, scale="big")
    raises("mask: shape", softlab.softmax, X, mask=np.zeros(3))
    raises("mask: dtype int64", softlab.softmax, X, mask=np.zeros(4, np.int64))
    raises("causal: expected an int", softlab.softmax, X, causal=0.5)
    raises("impl: expected an implementation name", softlab.softmax, X, impl=3)
    raises("axis: expected an int", softlab.softmax, X, axis=True)
    # numpy integers are ints
    assert np.array_equal(softlab.softmax(X, threads=np.int64(2), axis=np.int32(-1)),
                          softlab.softmax(X))
    raises("scale is inf", softlab.logsumexp, X, scale=math.inf)


def test_bad_attention_arguments():
    q = np.ones((2, 5, 8), np.float32)
    raises("q: shape", softlab.attention, np.ones(8, np.float32), q, q)
    raises("k: d is 4", softlab.attention, q, np.ones((2, 5, 4), np.float32), q)
    raises("v: kv_len is 3", softlab.attention, q, q, np.ones((2, 3, 8), np.float32))
    raises("k: 3 heads do not divide", softlab.attention, q, np.ones((3, 5, 8), np.float32),
           np.ones((3, 5, 8), np.float32))
    q64 = q.astype(np.float64)
    raises("attention computes float32", softlab.attention, q64, q64, q64)
    raises("mask: shape", softlab.attention, q, q, q, mask=np.ones((5, 4), bool))
    raises("k: dtype float64 but q is float32", softlab.attention, q, q.astype(np.float64), q)


# ---- the study's families -------------------------------------------------------------------

def test_family_vectors_are_the_studys_draws():
    families = softlab.study_families()
    assert families and all(f["kind"] and f["study_sizes"] for f in families)
    for f in families:
        dtype = next(iter(f["study_sizes"]))
        n = min(f["study_sizes"][dtype])
        x = softlab.family_vectors(f["name"], n, dtype=dtype, vectors=2)
        assert x.shape == (2, n) and x.dtype == (np.uint16 if dtype == "bfloat16" else dtype)
        again = softlab.family_vectors(f["name"], n, dtype=dtype, vectors=2)
        assert np.array_equal(x, again, equal_nan=True)  # the same seed, the same draws
    raises("family: unknown family", softlab.family_vectors, "nope", 4)
