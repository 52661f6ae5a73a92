#!/usr/bin/python3
"""The polynomial coefficients of softlab's vectorized exp kernels (impl/src/softlab_kernels/exp_kernel.hpp).

exp(r) = 1 + r + r^2 q(r) on the reduced interval |r| <= ln(2)/2 (+ slack for the carried
correction), q a near-minimax Chebyshev fit of (exp(r) - 1 - r) / r^2 computed in 60-digit
arithmetic (mpmath.chebyfit), then rounded to the lane type. Prints C++ initialisers and, per
degree, the approximation error of the exp as a multiple of the lane type's unit roundoff.
Needs python3-mpmath (a development tool: the build does not run it).

    /usr/bin/python3 scripts/dev/exp_coefficients.py
"""
import mpmath as mp

mp.mp.dps = 60
HALF_WIDTH = mp.log(2) / 2 + mp.mpf("0.04")  # |r| after reduction, with the carried term


def q(r):
    if abs(r) < mp.mpf("1e-20"):
        return mp.mpf(1) / 2 + r / 6
    return (mp.exp(r) - 1 - r) / (r * r)


def fit(degree, lane_bits, name):
    coeffs, _ = mp.chebyfit(q, [-HALF_WIDTH, HALF_WIDTH], degree + 1, error=True)
    # chebyfit returns the highest degree first; keep that order (Horner's order).
    rounded = [mp.mpf(float(c)) if lane_bits == 53 else mp.mpf(float(mp.mpf(float(c))))
               for c in coeffs]
    if lane_bits == 24:
        import struct
        rounded = [mp.mpf(struct.unpack("f", struct.pack("f", float(c)))[0]) for c in coeffs]
    worst = mp.mpf(0)
    for k in range(2001):
        r = -HALF_WIDTH + 2 * HALF_WIDTH * k / 2000
        approx = 1 + r + r * r * mp.polyval(rounded, r)
        worst = max(worst, abs(approx / mp.exp(r) - 1))
    u = mp.mpf(2) ** -lane_bits
    print(f"// {name}: degree {degree + 2} in r, max relative error of the polynomial "
          f"{mp.nstr(worst / u, 3)} u (u = 2^-{lane_bits})")
    suffix = "f" if lane_bits == 24 else ""
    print("{" + ", ".join(mp.nstr(c, 17 if lane_bits == 53 else 9, strip_zeros=False) + suffix
                          for c in rounded) + "}")


if __name__ == "__main__":
    for degree in (3, 4):
        fit(degree, 24, "float lanes")
    for degree in (4, 5, 6):
        fit(degree, 53, "double lanes, for a float result (error measured against u = 2^-24)")
    for degree in (8, 9, 10):
        fit(degree, 53, "double lanes")
