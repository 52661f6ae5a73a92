#!/usr/bin/python3
"""The constants of softlab's double-double exp (impl/src/softlab_kernels/accurate_double_kernel.hpp).

exp(d) = 2^q 2^(j/128) exp(r), k = 128 q + j = round(128 d / ln 2), r = d - k ln(2)/128:
  - 2^(j/128), j = 0..127, as unevaluated pairs hi + lo of doubles, hi = RN(2^(j/128)),
    lo = RN(2^(j/128) - hi): the pair is within 2^-107 relative of 2^(j/128);
  - ln(2)/128 as c1 + c2 + c3, c1 and c2 of at most 35 significant bits, so that k c1 and k c2
    are exact in double for |k| < 2^18 (|d| <= 760 gives |k| <= 140,351), c3 = RN(rest);
  - the Taylor coefficients 1/i! of exp(r) - 1 - r - r^2/2 = r^3 (1/6 + r/24 + ...), whose
    truncation after r^7 costs at most (ln(2)/256)^8/8! < 2^-83 relative, printed with it.
Computed in 80-digit arithmetic (mpmath), printed as C++ hexfloats; the build does not run it.
Needs python3-mpmath.

    /usr/bin/python3 scripts/dev/exp_table.py
"""
import mpmath as mp

mp.mp.dps = 80


def to_double(v):
    return float(v)  # mpmath rounds to nearest


def with_bits(v, bits):
    """v rounded to nearest with `bits` significant bits."""
    exponent = int(mp.floor(mp.log(abs(v), 2)))
    scale = mp.mpf(2) ** (bits - 1 - exponent)
    return mp.nint(v * scale) / scale


def main():
    print("// 2^(j/128) = table_hi[j] + table_lo[j]")
    his, los, worst = [], [], mp.mpf(0)
    for j in range(128):
        exact = mp.mpf(2) ** (mp.mpf(j) / 128)
        hi = to_double(exact)
        lo = to_double(exact - mp.mpf(hi))
        his.append(hi)
        los.append(lo)
        worst = max(worst, abs((mp.mpf(hi) + mp.mpf(lo)) / exact - 1))
    print("hi: {" + ", ".join(h.hex() for h in his) + "}")
    print("lo: {" + ", ".join(lo.hex() for lo in los) + "}")
    print(f"// largest relative error of a pair: 2^{mp.nstr(mp.log(worst, 2), 5)}")

    step = mp.log(2) / 128
    c1 = with_bits(step, 35)
    c2 = with_bits(step - c1, 35)
    c3 = to_double(step - c1 - c2)
    rest = abs(step - c1 - c2 - mp.mpf(c3))
    print(f"ln2/128: c1 = {float(c1).hex()}, c2 = {float(c2).hex()}, c3 = {c3.hex()}")
    print(f"// |ln(2)/128 - (c1 + c2 + c3)| = 2^{mp.nstr(mp.log(rest, 2), 5)}; "
          f"times 2^18: 2^{mp.nstr(mp.log(rest * 2**18, 2), 5)}")
    print(f"128/ln2 = {float(128 / mp.log(2)).hex()}")

    r = step / 2
    print("taylor 1/3! .. 1/7!: {" +
          ", ".join(to_double(1 / mp.factorial(i)).hex() for i in range(3, 8)) + "}")
    print(f"// truncation after r^7 at |r| = ln(2)/256: 2^"
          f"{mp.nstr(mp.log(r**8 / mp.factorial(8) * mp.exp(r), 2), 5)}")


if __name__ == "__main__":
    main()
