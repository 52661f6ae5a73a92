#!/usr/bin/python3
"""Writes tests/fuzz/corpus: the seed inputs of rows_fuzzer.cpp, one per option and error path.

Each seed is written as the values rows_fuzzer.cpp decodes, in its order, and encoded the way
clang's FuzzedDataProvider reads them: every value comes from the END of the input, first value
last, ConsumeIntegralInRange(min, max) taking just enough bytes for max - min (most significant
byte first) and reducing modulo (max - min + 1). Run it after changing the decoding:

    /usr/bin/python3 tests/fuzz/make_corpus.py      # rewrites tests/fuzz/corpus/*
"""
import math
import pathlib
import shutil
import struct

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"

TYPES = {"float": 0, "double": 1, "bf16": 2, "f16": 3}


class Seed:
    def __init__(self):
        self.consumed = []  # bytes in the order FuzzedDataProvider consumes them

    def integral(self, value, lo, hi):
        span = hi - lo
        width = 0
        while width < 8 and (span >> (8 * width)) > 0:
            width += 1
        v = value - lo
        for i in reversed(range(width)):
            self.consumed.append((v >> (8 * i)) & 0xFF)
        return self

    def byte(self, value):
        return self.integral(value, 0, 255)

    def u64(self, value):
        return self.integral(value, 0, 2**64 - 1)

    def data(self):
        return bytes(reversed(self.consumed))


def double_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def seed(type_name="float", impl=0, isa=1, rows=2, cols=3, x_stride=("cols",), in_place=False,
         y_stride=("cols",), x_short=False, y_short=False, scale=None, mask=None, causal=None,
         threads=None, log=False, scores=()):
    """scale: None, ("bits", double) or ("table", index into the fuzzer's scale table); mask:
    None or (kind 1|2|3, size mode 0..4 [, size], values: for kinds 1-2 (how, bits) pairs, for 3
    keep bytes, < 200 kept); causal: None, ("any", int64) or ("small", how >= 140: how % 40 -
    20); stride: ("cols",), ("fewer",), ("half",), ("max", k), ("more", k). Mask value how:
    < 64 raw bits, < 128 0, < 192 -inf, < 200 inf, < 204 nan, else -(how - 200) * 0.75."""
    s = Seed()
    s.integral(TYPES[type_name], 0, 3)
    s.byte(impl)  # index into the contract implementations (modulo their count)
    s.integral(isa, 0, 1)  # sse2, avx2 on a machine without AVX-512
    s.integral(rows, 0, 64)
    s.integral(cols, 0, 64 if rows == 0 else 4096 // rows)

    def stride(spec):
        mode = {"fewer": 0, "half": 1, "max": 2, "more": 3, "cols": 5}[spec[0]]
        s.byte(mode)
        if spec[0] == "max":
            s.integral(spec[1], 0, 3)
        if spec[0] == "more":
            s.integral(spec[1], 1, 7)

    stride(x_stride)
    s.integral(0 if in_place else 1, 0, 5)
    if not in_place:
        stride(y_stride)
    s.integral(0 if x_short else 1, 0, 15)
    s.integral(0 if y_short else 1, 0, 15)
    s.byte(1 if scale else 0)
    if scale:
        if scale[0] == "bits":
            s.byte(0)
            s.u64(double_bits(scale[1]))
        else:
            s.byte(128 + scale[1])
    if mask is None:
        s.integral(0, 0, 3)
    else:
        kind, size_mode = mask[0], mask[1]
        s.integral(kind, 0, 3)
        s.integral(size_mode, 0, 4)
        values = mask[2]
        if size_mode == 4:
            s.integral(mask[2], 0, 4200)
            values = mask[3]
        for v in values:
            if kind == 3:
                s.byte(v)
            else:
                s.byte(v[0])
                if v[0] < 64:
                    s.u64(v[1])
    s.byte(1 if causal else 0)
    if causal:
        if causal[0] == "any":
            s.byte(0)
            s.integral(causal[1], -(2**63), 2**63 - 1)
        else:
            s.byte(causal[1])
    s.byte(1 if threads is not None else 0)
    if threads is not None:
        s.integral(threads, 0, 3)
    s.byte(1 if log else 0)
    for how, bits in scores:
        s.byte(how)
        s.u64(bits)
    return s.data()


def table(i):
    """A score from the fuzzer's table (0, -0, 1, -1, 2.5, -3.75, 100, -100, 1e30, ...)."""
    return (120, i)


def raw(bits):
    return (0, bits)


INF, NEG_INF, NAN = (100, 0), (110, 0), (115, 0)
SIX = [table(2), table(4), table(6), table(3), table(0), table(5)]

SEEDS = {
    # Valid calls.
    "plain_float_2x3": seed(scores=SIX),
    "double_log": seed("double", impl=1, log=True, scores=SIX),
    "bf16_fast_scaled": seed("bf16", impl=5, scale=("bits", 0.125), scores=SIX),
    "f16_accurate_tiny_scale": seed("f16", impl=6, scale=("bits", 1e-300), scores=SIX),
    "negative_scale": seed(scale=("table", 2), scores=SIX),
    "additive_float_mask": seed(mask=(1, 0, [(100, 0), (150, 0), (210, 0), (100, 0), (220, 0),
                                            (100, 0)]), scores=SIX),
    "double_mask_per_column": seed(impl=2, mask=(2, 2, [(0, double_bits(-2.0)), (150, 0),
                                                       (100, 0)]), scores=SIX),
    "nan_in_mask": seed(mask=(2, 0, [(100, 0), (201, 0), (100, 0), (100, 0), (196, 0),
                                     (100, 0)]), scores=SIX),
    "keep_mask": seed("bf16", impl=3, mask=(3, 0, [0, 255, 0, 0, 0, 255]), scores=SIX),
    "causal_zero_threads_2": seed(rows=3, cols=3, causal=("small", 160), threads=2,
                                  scores=SIX + SIX[:3]),
    "causal_negative_row_empty": seed(causal=("small", 179), log=True, scores=SIX),
    "causal_extreme_offset": seed(rows=4, cols=2, causal=("any", 2**63 - 1), scores=SIX + SIX[:2]),
    "in_place_strided": seed(x_stride=("more", 2), in_place=True, scores=SIX + SIX),
    "wider_y_stride": seed("double", y_stride=("more", 5), scores=SIX),
    "specials": seed(impl=4, scores=[INF, NEG_INF, table(0), INF, NAN, table(8)]),
    "one_huge_stride_row": seed(rows=1, cols=3, x_stride=("max", 0), scores=SIX[:3]),
    "raw_bits": seed("f16", impl=5, rows=2, cols=4,
                     scores=[raw(0x7C00), raw(0x0001), raw(0xFBFF), raw(0x3C00)] * 2),
    "empty": seed(rows=0, cols=5),
    "long_row": seed(rows=1, cols=4096, threads=3, scores=[table(i % 16) for i in range(300)]),
    # Invalid calls: std::invalid_argument, y untouched.
    "stride_fewer_than_cols": seed(x_stride=("fewer",), scores=SIX),
    "stride_overflows": seed(rows=3, cols=2, x_stride=("half",), scores=SIX),
    "x_one_short": seed(x_short=True, scores=SIX),
    "y_one_short": seed(y_short=True, scores=SIX),
    "scale_zero": seed(scale=("table", 3), scores=SIX),
    "scale_nan": seed(scale=("table", 5), scores=SIX),
    "scale_inf": seed("bf16", scale=("table", 6), scores=SIX),
    "scale_overflows_float": seed("bf16", impl=1, scale=("table", 9), scores=SIX),
    "mask_wrong_size": seed(mask=(2, 4, 5, [(128, 0)] * 5), scores=SIX),
    "threads_zero": seed(threads=0, scores=SIX),
}


def main():
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    CORPUS.mkdir()
    for name, data in SEEDS.items():
        (CORPUS / name).write_bytes(data)
    print(f"{len(SEEDS)} seeds in {CORPUS}, {sum(len(d) for d in SEEDS.values())} bytes")


if __name__ == "__main__":
    main()
