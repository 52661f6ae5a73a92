// softlab/simd/exp_kernel.hpp: softlab's own vectorized exp of a difference, exp(x - m), for
// the softmax kernels `fast` and `accurate`. Templates on the xsimd architecture, included only
// by the per-ISA translation units (see softlab/simd/lanes.hpp for why everything is a template).
//
// Algorithm (Cody & Waite reduction, as in Cephes, fdlibm and SLEEF; constants cited below):
//   d = fl(x - m) and its rounding error e, exactly (Knuth's two-sum): the error of x - m is
//     what costs the libraries users ship 60 ULP on scores spread over [-80, 80], since exp
//     turns an absolute error e into a relative one;
//   k = round(d / ln 2) by the 1.5 * 2^p trick (the sum's low bits hold k);
//   r = (d - k ln2_hi) - k ln2_lo + e; ln2_hi has so few bits that k ln2_hi is exact, and
//     d - k ln2_hi is exact by Sterbenz's lemma, with or without FMA;
//   exp(r) = 1 + r + r^2 q(r), |r| <= ln(2)/2 + 0.04, q a near-minimax polynomial from
//     scripts/dev/exp_coefficients.py (mpmath Chebyshev fit in 60 digits, then rounded);
//   the result scaled by 2^k by adding k to the exponent bits.
// The result is 2^headroom exp(x - m): scaled up, so that every result that is not 0 in T is
// a normal number here and gradual underflow happens once, in the caller's final multiply by
// 2^-headroom / sum (one correctly rounded product, subnormal results included).
// x below m + lowest_argument (and -inf) is clamped: its exp is below half the smallest
// subnormal and rounds to 0 in that final multiply. A NaN x gives a NaN result.
// Accuracy: the polynomials' own errors are printed by scripts/dev/exp_coefficients.py; the
// exhaustive check over every float argument (issue 5) is still to come, so the kernels'
// bounds carry a provisional estimate (softlab::fast::exp_error_u).
#pragma once

#include <softlab/simd/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <type_traits>

namespace softlab::simd {

/// Per lane type: the reduction's constants and the polynomial q, highest degree first.
template <class T, int Degree>
struct exp_constants;

/// float lanes, exp(r) of degree 6: polynomial error 0.37 u (scripts/dev/exp_coefficients.py).
template <>
struct exp_constants<float, 6> {
  using bits = std::int32_t;
  static constexpr int mantissa_bits = 23;
  static constexpr bits exponent_bias = 127;
  static constexpr bits headroom = 64;
  static constexpr float lowest_argument = -120;  // 2^64 e^-120 ~ 1e-33: still normal
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float rounding_shift = 12582912.0f;  // 1.5 * 2^23
  // Cephes expf's split (Moshier 1984): ln2_hi has 9 significant bits.
  static constexpr float ln2_hi = 0.693359375f;
  static constexpr float ln2_lo = -2.12194440e-4f;
  static constexpr float q[] = {0.00139352947f, 0.00837047398f, 0.0416664928f, 0.166665286f,
                                0.500000000f};
};

/// double lanes, exp(r) of degree 11: polynomial error 0.58 u.
template <>
struct exp_constants<double, 11> {
  using bits = std::int64_t;
  static constexpr int mantissa_bits = 52;
  static constexpr bits exponent_bias = 1023;
  static constexpr bits headroom = 512;
  static constexpr double lowest_argument = -760;  // 2^512 e^-760 ~ 1e-176: still normal
  static constexpr double log2e = 1.4426950408889634074;
  static constexpr double rounding_shift = 6755399441055744.0;  // 1.5 * 2^52
  // fdlibm's split (e_exp.c): ln2_hi has 32 significant bits.
  static constexpr double ln2_hi = 6.93147180369123816490e-01;
  static constexpr double ln2_lo = 1.90821492927058770002e-10;
  static constexpr double q[] = {
      2.5112174057680389e-8,  2.7635418494059694e-7, 2.7557240653622757e-6, 2.4801485136150052e-5,
      0.00019841269883210652, 0.0013888888943426119, 0.0083333333333254975, 0.041666666666564781,
      0.16666666666666669,    0.50000000000000033};
};

/// double lanes for a float result, exp(r) of degree 7: polynomial error 2^-30.8, 0.009 u of
/// float. No headroom: every float result, subnormal ones included, is normal in double.
template <>
struct exp_constants<double, 7> : exp_constants<double, 11> {
  static constexpr bits headroom = 0;
  static constexpr double lowest_argument = -120;  // e^-120 < half the smallest float subnormal
  static constexpr double q[] = {0.00019903136474757745, 0.0013944587777859315,
                                 0.0083332986484276686,  0.041666354366366572,
                                 0.16666666695464852,    0.50000000259301058};
};

template <class Arch, class T, int Degree>
struct exp_kernel {
  using constants = exp_constants<T, Degree>;
  using batch = xsimd::batch<T, Arch>;
  using bits = xsimd::batch<typename constants::bits, Arch>;

  /// The row's constants, broadcast once per pass.
  struct shift {
    batch m, minus_m, lowest, floor;
    explicit shift(T max)
        : m(max), minus_m(-max), lowest(constants::lowest_argument), floor(floor_below(max)) {}
  };

  /// The clamp for x: m + lowest_argument, or, when |m| is so large that this rounds to m, the
  /// next T below m. The caller excludes m = the lowest finite T (no T lies below it).
  static T floor_below(T max) {
    const T floor = max + T(constants::lowest_argument);
    if (floor < max) return floor;
    using unsigned_bits = std::make_unsigned_t<typename constants::bits>;
    const auto pattern = __builtin_bit_cast(unsigned_bits, max);  // |max| >= 2^p here
    return __builtin_bit_cast(T, max > T(0) ? pattern - 1 : pattern + 1);
  }

  /// q(r) by pairs: (a0 + a1 r) + r^2 (a2 + a3 r) + ...: depth 1 + (pairs - 1) instead of
  /// Horner's degree, the same number of FMAs.
  static batch polynomial_q(const batch& r, const batch& r2) {
    constexpr std::size_t size = std::size(constants::q);
    auto a = [](std::size_t j) { return batch(constants::q[size - 1 - j]); };
    constexpr std::size_t pairs = (size + 1) / 2;
    auto pair = [&](std::size_t i) {
      return 2 * i + 1 < size ? xsimd::fma(a(2 * i + 1), r, a(2 * i)) : a(2 * i);
    };
    batch q = pair(pairs - 1);
    for (std::size_t i = pairs - 1; i-- > 0;) q = xsimd::fma(q, r2, pair(i));
    return q;
  }

  /// 2^k (1 + p) * 2^headroom, from the rounding sum t = k + 1.5 * 2^p (its low bits are k).
  static batch scale(const batch& t, const batch& p) {
    const bits exponent =
        (xsimd::bitwise_cast<bits>(t) << constants::mantissa_bits) +
        bits((constants::exponent_bias + constants::headroom) << constants::mantissa_bits);
    const batch two_to_k = xsimd::bitwise_cast<batch>(exponent);
    return xsimd::fma(p, two_to_k, two_to_k);
  }

  /// exp(r + carried) of N independent vectors, in place (v holds d, then the result), stage
  /// by stage: each exp is a chain of about 20 dependent operations, and written one after
  /// another they fill the out-of-order scheduler with waiting work; interleaved, the N chains
  /// advance together.
  template <std::size_t N>
  static void reduced(std::array<batch, N>& v, const std::array<batch, N>& carried) {
    std::array<batch, N> t, r;
    SOFTLAB_UNROLL for (std::size_t u = 0; u < N; ++u) t[u] =
        xsimd::fma(v[u], batch(constants::log2e), batch(constants::rounding_shift));
    SOFTLAB_UNROLL for (std::size_t u = 0; u < N; ++u) {
      const batch k = t[u] - batch(constants::rounding_shift);
      const batch r_hi = xsimd::fnma(k, batch(constants::ln2_hi), v[u]);  // exact (see above)
      r[u] = r_hi + xsimd::fnma(k, batch(constants::ln2_lo), carried[u]);
    }
    SOFTLAB_UNROLL for (std::size_t u = 0; u < N; ++u) {
      const batch r2 = r[u] * r[u];
      v[u] = scale(t[u], xsimd::fma(r2, polynomial_q(r[u], r2), r[u]));  // exp(r) - 1, scaled
    }
  }

  /// 2^headroom exp(x_u - m) of N vectors in place, the rounding of x - m carried into r.
  template <std::size_t N>
  static void of_difference(std::array<batch, N>& x, const shift& s) {
    std::array<batch, N> e;
    SOFTLAB_UNROLL for (std::size_t u = 0; u < N; ++u) {
      const batch xc = lanes<Arch, T>::max_keeping_nan(s.floor, x[u]);
      const batch d = xc - s.m;
      // Knuth's two-sum: e = (xc - m) - d exactly, whatever the magnitudes (6 additions).
      const batch virtual_b = d - xc;
      e[u] = (xc - (d - virtual_b)) + (s.minus_m - virtual_b);
      // When |m| is so large that the floor is m - ulp(m), d = -ulp(m) is exact (e = 0) but
      // beyond the reduction's range; clamp it too (its exp is 0 either way).
      x[u] = lanes<Arch, T>::max_keeping_nan(s.lowest, d);
    }
    reduced(x, e);
  }
  static batch of_difference(const batch& x, const shift& s) {
    std::array<batch, 1> v{x};
    of_difference(v, s);
    return v[0];
  }

  /// exp(d) of N vectors in place, for exact arguments d (no carried error): the planned exhaustive
  /// test's entry point and the double-lane kernel's (there x - m is formed in double from
  /// floats, exact to 2^-53 |d|).
  template <std::size_t N>
  static void of_exact(std::array<batch, N>& d) {
    std::array<batch, N> zero;
    SOFTLAB_UNROLL for (std::size_t u = 0; u < N; ++u) {
      d[u] = lanes<Arch, T>::max_keeping_nan(batch(constants::lowest_argument), d[u]);
      zero[u] = batch(T(0));
    }
    reduced(d, zero);
  }
  static batch of_exact(const batch& d) {
    std::array<batch, 1> v{d};
    of_exact(v);
    return v[0];
  }
};

}  // namespace softlab::simd
