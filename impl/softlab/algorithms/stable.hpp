// softlab::stable: the classic max-subtracted softmax.
//
// Algorithm: m = max x; e_i = exp(x_i - m), stored, s = sum e_i; y_i = e_i / s. The shift makes
//   every exp argument <= 0, so nothing overflows (Blanchard, Higham & Higham 2021, "shifted").
// Passes: 3 (read x for the max; read x, write e; read e, write y).
// Stated bound, results >= smallest normal: |x_i - m| + sum_j g_j|x_j - m| + n + 4 ULP.
//   |x_i - m| comes from rounding x_i - m before exp amplifies it (relative error |d| u; this is
//   the 60-ULP loss of every max-subtracting library on scores spread over [-80, 80]); the
//   g-weighted mean gap is the same rounding inside s; n - 1 from the sequential sum; 2 + 2 from
//   exp (1 ULP) in e_i and in s; 1 from the division. For a T whose exp errs by
//   E(|arg|) ULP (softlab::scalar_exp_error), the 2 + 2 become 2E(|x_i - m|) + 2E(mean gap).
// Subnormal results: kept (exp and the division are IEEE operations with gradual underflow).
// -inf: weight exactly 0; all -inf: all 0. +inf: the k infinite entries share 1/k, others 0.
// NaN anywhere: all NaN. Empty: no-op.
#pragma once

#include <softlab/detail/reductions.hpp>
#include <softlab/facts.hpp>

#include <cmath>
#include <span>

namespace softlab {

struct stable {
  static constexpr implementation_facts facts{
      .name = "stable",
      .algorithm = "m = max x; e = exp(x - m) stored and summed; y = e / sum",
      .passes = "3: read; read + write; read + write",
      .stated_bound = "|x_i - max| + sum_j y_j|x_j - max| + n + 4 ULP",
      .vectorized = false,
      .meets_contract = true,
      .subnormals = subnormal_results::kept,
      .blanchard_theorem = "4.3",
  };
  template <class T>
  static constexpr bool supports = true;

  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    const T max = detail::max_propagating_nan(x);
    if (detail::write_limit_if_max_not_finite(max, x, y, detail::output_scale::probability)) return;
    const T sum = detail::store_shifted_exp_and_sum(x, max, y);
    detail::divide_in_place(y, sum);
  }
  template <class T>
  static void log_softmax(std::span<const T> x, std::span<T> y) {
    detail::write_log_softmax_or_limit(x, detail::max_then_sum(x), y);
  }
  template <class T>
  static T logsumexp(std::span<const T> x) {
    return detail::logsumexp_of(detail::max_then_sum(x));
  }

  static double softmax_bound_ulps(const bound_inputs& in) {
    return beyond_first_order(in.gap + in.mean_gap + double(in.n) - 1 + 2 * in.exp_error(in.gap) +
                                  2 * in.exp_error(in.mean_gap) + 1,
                              in);
  }
  /// log_softmax and logsumexp: error <= a * u * max(1, |y|). From (x_i - m) - log s:
  /// |x_i - m| <= |y| + ln n, log s carries s's relative error, and two more roundings.
  static double log_bound_a(const bound_inputs& in) {
    return double(in.n) + in.mean_gap + (1 + 2 * in.log_ulps) * std::log(double(in.n)) + 6 +
           2 * (in.exp_error(in.mean_gap) - 1);
  }
};

}  // namespace softlab
