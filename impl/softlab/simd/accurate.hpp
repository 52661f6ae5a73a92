// softlab::accurate (registry name "accurate"): every weight within 1 ULP of the exact softmax
// (faithfully rounded: the error is below one unit in the last place, subnormal results
// included), float and double, at every n.
//
// Algorithm: m = max x; e_i = exp(x_i - m) and s = sum e_i computed in a wider type W, and
//   y_i = T(e_i / s), the one rounding to T at the very end.
//   float: W = double, vectorized (SSE2; AVX2 + FMA; AVX-512) with softlab's exp kernel in double
//   lanes
//     (impl/src/softlab_kernels/exp_kernel.hpp, degree 7: 2^-30.8); x_i - m is exact in double to
//     2^-53, e_i/s is e_i times 1/s (two roundings of 2^-53). n <= 4096: the e_i are kept in a 32
//     KiB stack buffer of doubles (never rounded to float); larger n: recomputed in the last pass,
//     which streams its stores past the cache.
//   double: W = unevaluated pairs of doubles (hi + lo), vectorized (SSE2; AVX2 + FMA; AVX-512),
//     impl/src/softlab_kernels/accurate_double_kernel.hpp: x_i - m exact as a pair (two-sum);
//     E_i = 2^512 exp(x_i - m) as a pair by Tang's table method carried in pairs (2^(j/128) as
//     pairs, scripts/dev/exp_table.py; relative error below 2^-75, measured 2^-78.9 against
//     MPFR by tests/core/accurate_exp_tests.cpp); s = sum E_i by two-sums per lane, folded per
//     block of 4096 by pair sums (relative 2^-88 + n 2^-116); 1/s as a pair by one Newton step
//     (2^-102); y_i = E_i (1/s) formed by an exact product and rounded once, subnormal results
//     included (the headroom 2^512 keeps every intermediate normal; the one rounding to the
//     subnormal grid is done on the exact pair, accuracy/README.md).
// Passes: float: 1 for a row of one vector (16 floats on AVX-512, 8 on AVX2, 4 on SSE2; read +
//   write, the exps kept in double registers), 3 (read; read + write scratch; read scratch +
//   write y) for n <= 4096 (up to 256 in one call of the ISA's kernel), else 3
//   (read; read; read + write y); double: 3 (read; read; read + write y, streaming from 8 MiB).
// Stated bound (every result, subnormal ones included): 0.5 ULP from the final rounding plus
//   the relative error before it, which is 2^-29.6 + (n/4) 2^-53 (float: exp, roundings, sum;
//   0.51 ULP at n = 1000, 0.52 at 2^24) or 2^-74 + n 2^-115 (double: the pair exp, the sum,
//   the reciprocal and the product; 0.5 + 2^-21 ULP, + n 2^-62). Always below 1: the tests
//   require < 1 on every result.
// log_softmax: (x_i - m) - log s in W, rounded once: a = 1. logsumexp: m + log s in W: a = 1.
//   double: log s as a pair (libm log, then one Newton step with the pair exp: 2^-73
//   absolute), (x_i - m) - log s and m + log s as exact two-sums, rounded once: a = 1 + 2^-20.
// pairwise_attention: scalar, the scores query * keys_i formed in the wider scalar type (double
//   for float: exact; x87 long double for double: one rounding of 2^-64), so a product that
//   overflows T does not reorder them: query 1e20, keys [1e20, 2e20, -1e20] in float give [0, 1,
//   0]; the weights are then those of wide softmax.
// Subnormal results: kept, faithfully rounded. -inf: weight exactly 0; all -inf: all 0. +inf:
//   the k infinite entries share 1/k, others 0. NaN anywhere: all NaN. Empty: no-op.
#pragma once

#include <softlab/detail/compiled.hpp>
#include <softlab/detail/wide_softmax.hpp>
#include <softlab/facts.hpp>
#include <softlab/simd/isa.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

namespace softlab {

struct accurate : detail::compiled<accurate> {
  static constexpr implementation_facts facts{
      .name = "accurate",
      .algorithm =
          "exp and sum in a wider format (float: double lanes, own exp; double: pairs of "
          "doubles, Tang's table exp carried in pairs), one final rounding: faithfully rounded",
      .passes =
          "1 for a float row of one vector (read + write), else 3: read; read (+ write "
          "scratch when float and n <= 4096); read + write",
      .stated_bound =
          "0.5 + (relative error before the final rounding) < 1 ULP, subnormals too "
          "(double: 0.5 + 2^-21 + n 2^-62)",
      .vectorized = true,
      .meets_contract = true,
      .subnormals = subnormal_results::kept,
      .faithful = true,
  };

  /// The 16-bit storage types are computed in double: one rounding of a double result within
  /// 0.5 + 2^-21 ULP of double to a 16-bit type is correctly rounded unless the exact weight
  /// lies within 2^-40 of its ULP of a midpoint.
  template <class S>
  using storage_compute = double;

  /// Scores formed in the wider type (see above); weights may be the keys' memory.
  template <class T>
  static void pairwise_attention(const T& query, std::span<const T> keys,
                                 std::span<T> weights) requires supports<T> {
    using W = detail::wider_t<T>;
    const W q = W(query);
    detail::wide_softmax<T, W>(
        keys.size(), [&](std::size_t i) { return q * W(keys[i]); }, weights);
  }

  /// The relative error before the final rounding, in units of u = 2^-p of T.
  static double relative_error_before_rounding_u(const bound_inputs& in) {
    if (in.precision_bits <= 24) return std::exp2(24 - 29.6) + double(in.n) / 4 * 0x1p-29;
    return 0x1p-21 + double(in.n) * 0x1p-62;  // (2^-74 + n 2^-115) / 2^-53
  }
  static double softmax_bound_ulps(const bound_inputs& in) {
    return 0.5 + relative_error_before_rounding_u(in);
  }
  /// float: the final rounding (a = 1) and nothing else that reaches 2^-24; double: the final
  /// rounding and log(sum)'s absolute error, below 2^-73 (a u with a = 2^-20).
  static double log_bound_a(const bound_inputs& in) {
    return in.precision_bits <= 24 ? 1 : 1 + 0x1p-20;
  }
};

extern template struct detail::compiled<accurate>;  // instantiated in impl/src/accurate.cpp

}  // namespace softlab
