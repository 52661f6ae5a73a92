// src/softlab_kernels/exp_kernel.hpp: softlab's own vectorized exp of a difference, exp(x - m), for
// the softmax kernels `fast` and `accurate`. Templates on the xsimd architecture, included only
// by the per-ISA translation units (see src/softlab_kernels/lanes.hpp for why everything is a
// template).
//
// Algorithm (Cody & Waite reduction, as in Cephes, fdlibm and SLEEF; constants cited below):
//   the rounding of x - m must not reach the result: exp turns that absolute error into a
//     relative one, the 60 ULP the libraries users ship lose on scores spread over [-80, 80].
//     Per row (exp_kernel::pivot), either m is subtracted in the exponent bits (a pivot j ln 2
//     near m whose factor e^(m - j ln2) cancels in the normalization: no x - m at all), or
//     x - m is exact (Sterbenz, |m| large), or its rounding error is computed by Knuth's
//     two-sum and carried into r (log-sum-exp, whose sum must be of exp(x - m) itself);
//   k = round(d / ln 2) by the 1.5 * 2^p trick (the sum's low bits hold k);
//   r = (d - k ln2_hi) - k ln2_lo; ln2_hi has so few bits that k ln2_hi is exact, and
//     d - k ln2_hi is exact by Sterbenz's lemma, with or without FMA;
//   exp(r) = 1 + r + r^2 q(r), |r| <= ln(2)/2 + 0.04, q a near-minimax polynomial from
//     scripts/dev/exp_coefficients.py (mpmath Chebyshev fit in 60 digits, then rounded);
//   the result scaled by 2^(k - j) by adding k - j to the exponent bits.
// The result is 2^headroom exp(x - m) (times the row's factor): scaled up, so that every
// result that is not 0 in T is a normal number here and gradual underflow happens once, in the
// caller's final multiply by 2^-headroom / sum (one correctly rounded product, subnormal
// results included). x below m + lowest_argument (and -inf) is clamped: its exp is below half
// the smallest subnormal and rounds to 0 in that final multiply (AVX-512 gives an exact 0 at
// once: exp_kernel::clamped_to_zero). A NaN x gives a NaN result.
// Accuracy: the polynomials' own errors are printed by scripts/dev/exp_coefficients.py; the
// whole kernel is checked on every float argument by accuracy/exp_exhaustive, whose measured
// maximum is softlab::fast::exp_error_u.
#pragma once

#include <softlab/detail/float_blocks.hpp>
#include <softlab_kernels/lanes.hpp>

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

/// Below this |max|, a row's exps can be taken with the pivot j ln 2 (exp_kernel::pivot::
/// shifted); from it on, x - max is exact (Sterbenz: x >= max / 2 for x in [max + lowest, max]).
template <class T, int Degree>
inline constexpr T exp_pivot_below = -2 * T(exp_constants<T, Degree>::lowest_argument);

template <class Arch, class T, int Degree>
struct exp_kernel {
  using constants = exp_constants<T, Degree>;
  using batch = ::xsimd::batch<T, Arch>;
  using bits = ::xsimd::batch<typename constants::bits, Arch>;
  using bits_scalar = typename constants::bits;
  using lane = lanes<Arch, T>;

  static constexpr T pivot_below = exp_pivot_below<T, Degree>;
  /// Whether a clamped lane (x below the pivot's floor, -inf: a mask's excluded scores) gives
  /// exactly 0 rather than the floor's exp. Both are 0 after the caller's final product, but
  /// the floor's exp gets there by underflow, and on Zen 5 a zmm multiply that underflows takes
  /// 2.25x the time of one that does not (the scale pass over a 4096-float row of such lanes,
  /// 2026-12-02), once per vector holding one: a masked row's scale pass ran at half speed.
  /// AVX-512 zeroes them for one compare into a k-register (the final FMA is zero-masked; no
  /// measurable cost on the plain row); ymm multiplies lose 14-25% there, and zeroing them
  /// costs AVX2 two instructions a vector, about 5% of the plain row: AVX2 and SSE2 keep the
  /// floor's exp.
  static constexpr bool clamped_to_zero = vector_bits<Arch> == 512;

  /// A row's constants, computed once per pass from its max m, for every x in [floor, m] with
  /// floor ~ m + lowest_argument (x below it, -inf included, is clamped: its exp is 0 in the
  /// caller's final product). The caller leaves out rows where m + lowest_argument rounds to
  /// m (every x < m then has exp(x - m) = 0 in T: dispatch.hpp writes them exactly).
  /// Each way keeps the rounding of x - m, the 60-ULP error of the libraries users ship on
  /// scores spread over [-80, 80], out of the result:
  struct pivot {
    batch floor, offset, minus_offset;
    bits exponent;  // (bias + headroom - j) in the exponent field
    bits_scalar j;

    /// 2^headroom exp(x - m) F(m), F(m) = exp(m - j ln 2) in [0.7, 1.42], a factor common to
    /// the row that cancels in softmax's normalization. |m| < pivot_below: exp(x - m) F(m) =
    /// 2^-j exp(x), j = round(m / ln 2): m is subtracted in the exponent bits, exactly, and x
    /// is reduced as in a plain exp (exact while k ln2_hi is: |x| < 3 |lowest| keeps |k| <
    /// 2^10). |m| >= pivot_below: d = x - m is exact, j = 0 and F = 1.
    static pivot shifted(T max) {
      const bool exact = !(max < pivot_below && max > -pivot_below);
      const T j = exact ? T(0) : max * T(constants::log2e);
      return pivot(floor_below(max), exact ? max : T(0),
                   bits_scalar(j < 0 ? j - T(0.5) : j + T(0.5)));  // |j| < 2^10: to nearest
    }
    /// 2^headroom exp(x - m) exactly (F = 1): d = x - m is rounded, and its rounding error,
    /// exact by Knuth's two-sum, is carried into the reduced argument (of_row<true>). For
    /// log-sum-exp and log_softmax, which need the sum of exp(x - m) itself.
    static pivot difference(T max) { return pivot(floor_below(max), max, 0); }
    /// 2^headroom exp(d), d clamped at lowest_argument: a plain exp.
    static pivot plain() { return pivot(T(constants::lowest_argument), T(0), 0); }

   private:
    pivot(T floor_value, T offset_value, bits_scalar j_value)
        : floor(floor_value),
          offset(offset_value),
          minus_offset(-offset_value),
          exponent((constants::exponent_bias + constants::headroom - j_value)
                   << constants::mantissa_bits),
          j(j_value) {}
  };

  /// m + lowest_argument rounded down: exp(x - m) for x below it is below half the smallest
  /// subnormal (float: e^-104; double: e^-745), and x - m at it stays where 2^headroom
  /// exp(x - m) is normal (float: -131; double: -1063), for every m whose T spacing is at
  /// most -lowest_argument (float: 128; double: 1024); coarser m are the caller's dominant
  /// rows. Rounding to nearest could give m - 512 for a double m spaced 512: not negligible.
  static T floor_below(T max) {
    const T floor = max + T(constants::lowest_argument);
    if (floor - max <= T(constants::lowest_argument)) return floor;  // exact here (Sterbenz)
    using unsigned_bits = std::make_unsigned_t<bits_scalar>;
    const auto pattern = __builtin_bit_cast(unsigned_bits, floor);
    return __builtin_bit_cast(T, floor > T(0) ? pattern - 1 : pattern + 1);  // one step down
  }

  /// q(r) by pairs: (a0 + a1 r) + r^2 (a2 + a3 r) + ...: depth 1 + (pairs - 1) instead of
  /// Horner's degree, the same number of FMAs.
  static batch polynomial_q(const batch& r, const batch& r2) {
    constexpr std::size_t size = std::size(constants::q);
    auto a = [](std::size_t j) { return batch(constants::q[size - 1 - j]); };
    constexpr std::size_t pairs = (size + 1) / 2;
    auto pair = [&](std::size_t i) {
      return 2 * i + 1 < size ? lane::fma(a(2 * i + 1), r, a(2 * i)) : a(2 * i);
    };
    batch q = pair(pairs - 1);
    for (std::size_t i = pairs - 1; i-- > 0;) q = lane::fma(q, r2, pair(i));
    return q;
  }

  /// The pivot's exps of N vectors of one row, in place; with `carry`, the rounding error of
  /// x - offset is carried into the reduced argument (pivot::difference). Stage by stage: each
  /// exp is a chain of about 12 dependent operations, and written one after another they fill
  /// the out-of-order scheduler with waiting work; interleaved, the N chains advance together.
  /// A NaN x gives a NaN.
  template <bool carry = false, std::size_t N>
  static void of_row(std::array<batch, N>& v, const pivot& p) {
    std::array<batch, N> t, r, e;
    [[maybe_unused]] std::array<std::uint16_t, N> kept;  // clamped_to_zero: the k-masks
    SOFTLAB_UNROLL for (std::size_t u = 0; u < N; ++u) {
      if constexpr (clamped_to_zero) kept[u] = lane::not_below(v[u], p.floor);
      const batch xc = lane::max_keeping_nan(p.floor, v[u]);
      if constexpr (carry) {
        // Two-sum: d + e = xc - offset exactly, whatever the magnitudes.
        const auto d = detail::two_sum(xc, p.minus_offset);
        v[u] = d.value;
        e[u] = d.error;
      } else {
        v[u] = xc - p.offset;  // exact (see pivot)
      }
      t[u] = lane::fma(v[u], batch(constants::log2e), batch(constants::rounding_shift));
    }
    SOFTLAB_UNROLL for (std::size_t u = 0; u < N; ++u) {
      const batch k = t[u] - batch(constants::rounding_shift);
      const batch r_hi = lane::fnma(k, batch(constants::ln2_hi), v[u]);  // exact (see above)
      if constexpr (carry)
        r[u] = r_hi + lane::fnma(k, batch(constants::ln2_lo), e[u]);
      else
        r[u] = lane::fnma(k, batch(constants::ln2_lo), r_hi);
    }
    SOFTLAB_UNROLL for (std::size_t u = 0; u < N; ++u) {
      const batch r2 = r[u] * r[u];
      const batch expm1 = lane::fma(r2, polynomial_q(r[u], r2), r[u]);
      // 2^(k - j) by the exponent bits: t's low bits hold k.
      const batch two_to_k = ::xsimd::bitwise_cast<batch>(
          (::xsimd::bitwise_cast<bits>(t[u]) << constants::mantissa_bits) + p.exponent);
      if constexpr (clamped_to_zero)
        v[u] = lane::fma_where(typename lane::kept_lanes(kept[u]), expm1, two_to_k, two_to_k);
      else
        v[u] = lane::fma(expm1, two_to_k, two_to_k);
    }
  }
  template <bool carry = false>
  static batch of_row(const batch& x, const pivot& p) {
    std::array<batch, 1> v{x};
    of_row<carry>(v, p);
    return v[0];
  }

  /// 2^headroom exp(d) of N vectors in place, d clamped below at lowest_argument: the kernel
  /// the exhaustive test (accuracy/exp_exhaustive) checks, and the double-lane kernel's (there
  /// x - m is formed in double from floats, exact to 2^-53 |d|). The same code as of_row.
  template <std::size_t N>
  static void of_exact(std::array<batch, N>& d) {
    of_row(d, pivot::plain());
  }
  static batch of_exact(const batch& d) {
    std::array<batch, 1> v{d};
    of_exact(v);
    return v[0];
  }
};

}  // namespace softlab::simd
