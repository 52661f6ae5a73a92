// softlab::divfree: the division-free softmax y_i = exp(x_i - logsumexp(x)).
//
// Algorithm: m = max x; s = sum exp(x_j - m); y_i = exp((x_i - m) - log s). Blanchard, Higham &
//   Higham (IMA J. Numer. Anal. 2021, Sec. 4) show it is less accurate than dividing: the
//   absolute error of the exp argument, about u(|x_i - m| + |log s|), becomes a relative error
//   of y_i, so the spread term is counted twice. Kept so the study can show that.
// Passes: 3 (read for the max; read for the sum; read x, write y). No division.
// Stated bound, results >= smallest normal:
//   2|x_i - m| + sum_j g_j|x_j - m| + n + 5 + 3 ln n ULP (with an exp of E(|arg|) ULP, the
//   4 ULP of the two exps become 2E(|x_i - m| + ln n) + 2E(mean gap)).
// Subnormal results: kept.
// -inf: weight exactly 0; all -inf: all 0. +inf: the k infinite entries share 1/k, others 0.
// NaN anywhere: all NaN. Empty: no-op. log_softmax and logsumexp are those of `stable`.
#pragma once

#include <softlab/algorithms/stable.hpp>
#include <softlab/detail/reductions.hpp>
#include <softlab/facts.hpp>

#include <cmath>
#include <span>

namespace softlab {

struct divfree {
  static constexpr implementation_facts facts{
      .name = "divfree",
      .algorithm = "exp(x_i - logsumexp x), no division (Blanchard, Higham & Higham 2021)",
      .passes = "3: read; read; read + write",
      .stated_bound = "2|x_i - max| + sum_j y_j|x_j - max| + n + 5 + 3 ln n ULP",
      .vectorized = false,
      .meets_contract = true,
      .subnormals = subnormal_results::kept,
      .blanchard_theorem = "4.4",
  };
  template <class T>
  static constexpr bool supports = true;

  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    using std::exp;
    using std::log;
    const auto row = detail::max_then_sum(x);
    if (detail::write_limit_if_max_not_finite(row.max, x, y, detail::output_scale::probability))
      return;
    // Same arithmetic as log_softmax, then one exp per element instead of a division.
    detail::write_log_softmax(x, row.max, T(log(row.sum)), y);
    for (T& v : y) v = T(exp(v));
  }
  template <class T>
  static void log_softmax(std::span<const T> x, std::span<T> y) {
    stable::log_softmax(x, y);
  }
  template <class T>
  static T logsumexp(std::span<const T> x) {
    return stable::logsumexp(x);
  }

  static double softmax_bound_ulps(const bound_inputs& in) {
    const double log_n = std::log(double(in.n));
    return beyond_first_order(2 * in.gap + in.mean_gap + double(in.n) - 1 +
                                  (1 + 2 * in.log_ulps) * log_n + 2 * in.exp_error(in.gap + log_n) +
                                  2 * in.exp_error(in.mean_gap) + 2,
                              in);
  }
  static double log_bound_a(const bound_inputs& in) { return stable::log_bound_a(in); }
};

}  // namespace softlab
