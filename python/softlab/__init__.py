"""softlab: softmax, log_softmax, logsumexp and attention from softlab's C++ registry, over numpy.

Every function takes numpy arrays (a list or a scalar becomes a float64 array) and computes
float32, float64, float16, or bfloat16 given as a uint16 array of its bits with
``dtype="bfloat16"`` (numpy 1.24 has no bfloat16 type). A C-contiguous array of the computed
dtype is read in place (zero copy) when the rows run along its last axis; any other layout, a
conversion to another ``dtype`` or another ``axis`` copies it first. The GIL is released while
computing. Bad arguments raise ``ValueError`` naming the argument (the C++ library's
``std::invalid_argument`` messages among them), never crash.

``impl`` names any registry entry, peers included (see ``implementations()``), optionally with
an instruction set: ``"fast@avx2"`` (or ``isa="avx2"``). The instruction set is the library's
one process-wide setting: it is forced for the call and restored after it.

Functions:
    softmax, log_softmax, logsumexp, attention      the computation
    implementations()                              the registries with their facts
    exact_softmax, exact_log_softmax               the MPFR reference rounded once
    check(x, candidates)                           every implementation, and Python callables,
                                                   against the exact softmax, in ULPs
    stated_bounds(impl, x), ulp_errors(y, x)       the stated bound and the ULP metric, per element
    study_families(), family_vectors(name, n)      the accuracy study's input families, drawn
                                                   by its own generator from its seed
    study_cells(candidates, family, n)             Python callables measured as the study's
                                                   cells (its CSV's columns)
"""

import numpy as _np

from . import _softlab
# softmax, log_softmax and logsumexp are the module's own functions (vectorcall, their
# arguments bound in C++: a Python wrapper would add its frame to every short row's call).
from ._softlab import (active_isa, available_isas, default_seed, family_vectors, implementations,
                       log_softmax, logsumexp, softmax, study_csv_columns, study_families)

# Test hooks (gil_held_in_last_call): softlab._testing.
_testing = _softlab._testing

__all__ = [
    "softmax", "log_softmax", "logsumexp", "attention", "implementations", "exact_softmax",
    "exact_log_softmax", "check", "stated_bounds", "ulp_errors", "log_errors", "available_isas",
    "active_isa", "study_families", "family_vectors", "default_seed", "study_cells",
    "study_csv_columns",
]


def _array(x):
    """x itself when it is a numpy array; otherwise (a list, a scalar) float64."""
    if isinstance(x, _np.ndarray):
        return x
    return _np.asarray(x, dtype=_np.float64)


def attention(q, k, v, impl="flash", mask=None, causal=False, scale=None, threads=None,
              dtype=None, isa=None):
    """O = softmax(scale Q K^T + mask) V per head, with an attention registry entry.

    q: [L, d], [H, L, d] or [B, H, L, d]; k: [.., S, d] and v: [.., S, d_v], as many
    dimensions, the same batch, heads dividing q's (grouped-query attention). float32, float16,
    or uint16 with dtype="bfloat16" (float64: pass dtype="float32" to round once).
    mask: [L, S] for every head, or one per query head [.., L, S]; bool keep or additive.
    causal: False, True (offset 0) or an int offset: query row r keeps keys j <= r + causal.
    scale: default 1/sqrt(d). Returns O: q's shape with d_v last.
    """
    return _softlab.attention(q, k, v, impl, mask, causal, scale, threads, dtype, isa)


def exact_softmax(x, dtype=None, axis=-1):
    """The exact softmax of each row (MPFR at 2p + 64 bits, p the dtype's precision), rounded
    once to nearest in the dtype: the reference every stated bound is checked against."""
    return _softlab.exact_softmax(_array(x), dtype, axis)


def exact_log_softmax(x, dtype=None, axis=-1):
    """The exact log_softmax of each row, rounded once to the dtype."""
    return _softlab.exact_log_softmax(_array(x), dtype, axis)


def stated_bounds(impl, x, dtype=None, isa=None):
    """The softmax bound impl states for each element of x (rows along the last axis), in ULPs
    of the dtype: inf where it states none, NaN in rows with a NaN or +inf."""
    return _softlab.stated_bounds(impl, _array(x), dtype, isa)


def ulp_errors(y, x, dtype=None):
    """The error of each y against the exact softmax of x's row (last axis), in ULPs of the
    dtype: softlab's one ULP metric (fractional ULPs at the exact value's exponent, floored at
    the subnormal spacing; NaN against a number and a wrong infinity are inf)."""
    return _softlab.ulp_errors(_array(y), _array(x), dtype)


def log_errors(y, x, dtype=None):
    """The error of each y against the exact log_softmax, in units of u * max(1, |exact|)."""
    return _softlab.log_errors(_array(y), _array(x), dtype)


def _candidate_name(f):
    module = getattr(f, "__module__", None) or ""
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)
    return f"{module}.{name}" if module else name


def check(x, candidates=None, dtype=None):
    """Every softmax implementation (each instruction set it runs on) and each Python callable
    against the exact softmax of each row of x (last axis), as ``softlab check`` measures them.

    candidates: a dict name -> callable, or a list of callables (named module.qualname). Each is
    called on every row as a 1-D array (float32 for the 16-bit dtypes) and must return the
    row's weights; its result is rounded once to the dtype. A callable that raises gets a row
    with the error, not an exception.

    Returns a list of dicts, one per implementation and instruction set: name, isa, origin
    ("python" for callables), dtype, max_ulps, max_ulps_normal, bound_ulps (the stated bound at
    the worst element; None without one), max_observed_over_stated, within_bound (None without
    a bound), meets_contract, faithful, nan_count, wrong_zero_count, wrong_nonzero_count,
    not_correctly_rounded_count, normwise_error, worst_row, worst_index, worst_x, worst_y,
    worst_exact, log_softmax_error, logsumexp_error, and error (None, or why there are no
    metrics: an exception, or "unsupported" for an entry without this dtype).
    """
    return _softlab.check(_array(x), _named_candidates(candidates), dtype)


def _named_candidates(candidates):
    """candidates (None, a dict name -> callable, or a list of callables) as (name, callable)
    pairs, each checked to be callable."""
    if candidates is None:
        named = []
    elif isinstance(candidates, dict):
        named = [(str(name), f) for name, f in candidates.items()]
    else:
        named = [(_candidate_name(f), f) for f in candidates]
    for name, f in named:
        if not callable(f):
            raise ValueError(f"candidates: {name!r} is not callable")
    return named


def study_cells(candidates, family, n, dtype=None, seed=default_seed, vectors=None):
    """Python callables measured as cells of the accuracy study: family's vectors at n drawn as
    ``softlab accuracy`` draws them (seed; vectors: the study's own count by default), each
    callable's outputs against the exact softmax by the study's own metrics.

    candidates: as for check(). Returns one dict per callable: "fields", the cell as a row of
    the study's accuracy.csv (columns ``study_csv_columns``, origin "python", isa "-"), and
    "error" (None, or why the callable has no metrics). scripts/study writes them to
    report/data/python_accuracy.csv, which the accuracy report shows beside the C++ peers.
    """
    return _softlab.study_cells(_named_candidates(candidates), family, n, dtype, seed, vectors)
