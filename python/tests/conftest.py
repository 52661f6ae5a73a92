"""Shared pieces of the Python module's tests: the implementations and dtypes as the module
reports them (no list of names here), and bfloat16 bits <-> float32."""

import numpy as np
import pytest

import softlab

IMPLEMENTATIONS = softlab.implementations()
SOFTMAX = [e for e in IMPLEMENTATIONS if e["kind"] == "softmax"]
ATTENTION = [e for e in IMPLEMENTATIONS if e["kind"] == "attention"]


def variants(entry):
    """The names to call an entry by: its name, and name@isa for every instruction set it
    runs on here."""
    return [entry["name"]] + [f"{entry['name']}@{isa}" for isa in entry["isas"]]


def contract_cases():
    """(impl, dtype) for every softmax entry that meets the contract, every dtype the module
    computes for it, every instruction set."""
    return [pytest.param(name, dtype, id=f"{name}-{dtype}")
            for e in SOFTMAX if e["meets_contract"]
            for dtype in e["dtypes"]
            for name in variants(e)]


def storage(dtype):
    """The numpy dtype holding `dtype`'s values (bfloat16: its bits in uint16)."""
    return np.dtype(np.uint16) if dtype == "bfloat16" else np.dtype(dtype)


def to_bfloat16_bits(values):
    """float32 values rounded to nearest even bfloat16, as bits (NaN stays NaN)."""
    with np.errstate(over="ignore"):
        f = np.asarray(values, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(f)
    rounded[nan] = (f[nan].view(np.uint32) >> 16).astype(np.uint16) | np.uint16(0x40)
    return rounded


def from_bfloat16_bits(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def values(array, dtype):
    """The values of a result as float64 (bfloat16 bits decoded)."""
    if dtype == "bfloat16":
        return from_bfloat16_bits(array).astype(np.float64)
    return np.asarray(array, dtype=np.float64)


def stored(values_f64, dtype):
    """float64 values as an array of `dtype` (each rounded once; bfloat16 via float32, exact
    for the values the tests use)."""
    with np.errstate(over="ignore"):  # values beyond the format become inf, as intended
        if dtype == "bfloat16":
            return to_bfloat16_bits(np.asarray(values_f64, dtype=np.float32))
        return np.asarray(values_f64, dtype=dtype)


def smallest_normal(dtype):
    return float(np.finfo(np.float32).tiny) if dtype == "bfloat16" else float(np.finfo(dtype).tiny)
