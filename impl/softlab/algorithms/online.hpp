// softlab::online: Milakov & Gimelshein's online normalizer (arXiv 1805.02867).
//
// Algorithm: one read pass keeps the running max m and s = sum exp(x_j - m), multiplying s by
//   exp(m_old - m_new) whenever m grows; a second pass writes y_i = exp(x_i - m) / s.
// Passes: 2 (read x; read x, write y): one fewer read than `stable`, at the price of an exp per
//   rescale (at most n - 1; about ln n for random order).
// Stated bound, results >= smallest normal: |x_i - m| + sum_j g_j|x_j - m| + (max - min) + 4n + 1
//   ULP. Over `stable` it adds the rescales: each rounds m_old - m_new (these differences add up
//   to at most max - min), and costs an exp and a multiply (3u each, at most n - 1 of them).
//   With an exp of E(|arg|) ULP the exp terms scale as for `stable`.
// Subnormal results: kept.
// -inf: weight exactly 0; all -inf: all 0. +inf: the k infinite entries share 1/k, others 0.
// NaN anywhere: all NaN. Empty: no-op.
#pragma once

#include <softlab/detail/reductions.hpp>
#include <softlab/facts.hpp>

#include <cmath>
#include <span>

namespace softlab {

struct online {
  static constexpr implementation_facts facts{
      .name = "online",
      .algorithm = "running max and rescaled sum in one read pass (Milakov & Gimelshein 2018)",
      .passes = "2: read; read + write",
      .stated_bound = "|x_i - max| + sum_j y_j|x_j - max| + (max - min) + 4n + 1 ULP",
      .vectorized = false,
      .meets_contract = true,
      .subnormals = subnormal_results::kept,
  };
  template <class T>
  static constexpr bool supports = true;

  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    const auto normalizer = detail::online_normalizer(x);
    if (detail::write_limit_if_max_not_finite(normalizer.max, x, y,
                                              detail::output_scale::probability))
      return;
    detail::write_shifted_exp_over_sum(x, normalizer.max, normalizer.sum, y);
  }
  template <class T>
  static void log_softmax(std::span<const T> x, std::span<T> y) {
    detail::write_log_softmax_or_limit(x, detail::online_normalizer(x), y);
  }
  template <class T>
  static T logsumexp(std::span<const T> x) {
    return detail::logsumexp_of(detail::online_normalizer(x));
  }

  static double softmax_bound_ulps(const bound_inputs& in) {
    const double spread = in.max_value - in.min_value;
    const double rescales = double(in.n) - 1;
    return beyond_first_order(in.gap + in.mean_gap + spread + 2 * in.exp_ulps_per_unit * spread +
                                  (2 * in.exp_ulps + 1) * rescales + rescales +
                                  2 * in.exp_error(in.gap) + 2 * in.exp_error(in.mean_gap) + 1,
                              in);
  }
  static double log_bound_a(const bound_inputs& in) {
    const double spread = in.max_value - in.min_value;
    return 4 * double(in.n) + in.mean_gap + spread +
           (1 + 2 * in.log_ulps) * std::log(double(in.n)) + 6 + 2 * in.exp_ulps_per_unit * spread +
           2 * (in.exp_error(in.mean_gap) - 1) + 2 * (in.exp_ulps - 1) * double(in.n);
  }
};

}  // namespace softlab
