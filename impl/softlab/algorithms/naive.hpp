// softlab::naive: y_i = exp(x_i) / sum_j exp(x_j), literally.
//
// Algorithm: the textbook formula, no shift. Blanchard, Higham & Higham (IMA J. Numer. Anal.
//   2021) call it "unshifted" and show it is as accurate as the shifted form where it does not
//   overflow; it is kept as the cautionary baseline.
// Passes: 2 (read x, sum exp; read x, write y).
// Stated bound: n + 4 ULP (sum (n-1)u, exp 1 ULP each in y_i and in the sum, division u;
//   with an exp of E(|x|) ULP: n - 1 + 2E(|x_i|) + 2E(sum_j g_j|x_j|) + 1), only
//   while every exp(x_j) is a finite normal number: max x <= ln(largest T) - ln n and
//   min x >= ln(smallest normal T). Outside that, no bound: it fails, by design:
//   - exp(x_j) overflows (float: any x_j > 88.72, e.g. one entry = 100) -> inf / inf = NaN;
//   - all exp(x_j) underflow (float: x in [-1000, -900]) -> 0 / 0 = NaN.
// -inf: weight 0 (exp(-inf) = 0); all -inf: 0/0 = NaN. +inf: NaN (inf/inf). NaN: all NaN.
// Empty: no-op. Does NOT meet the softlab contract; the tests assert these failures.
#pragma once

#include <softlab/detail/reductions.hpp>
#include <softlab/facts.hpp>

#include <cmath>
#include <span>

namespace softlab {

struct naive {
  static constexpr implementation_facts facts{
      .name = "naive",
      .algorithm = "exp(x_i) / sum exp(x_j), unshifted (the cautionary baseline)",
      .passes = "2: read (sum of exp); read + write",
      .stated_bound = "n + 4 ULP while every exp(x_j) is finite and normal; none otherwise",
      .vectorized = false,
      .meets_contract = false,
      .subnormals = subnormal_results::kept,
      .blanchard_theorem = "3.3",
  };
  template <class T>
  static constexpr bool supports = true;

  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    const T sum = detail::shifted_exp_sum(x, T(0));
    detail::write_shifted_exp_over_sum(x, T(0), sum, y);
  }
  template <class T>
  static void log_softmax(std::span<const T> x, std::span<T> y) {
    using std::log;
    const T log_sum = log(detail::shifted_exp_sum(x, T(0)));
    detail::write_log_softmax(x, T(0), log_sum, y);
  }
  template <class T>
  static T logsumexp(std::span<const T> x) {
    using std::log;
    return log(detail::shifted_exp_sum(x, T(0)));
  }

  static double softmax_bound_ulps(const bound_inputs& in) {
    const bool all_exp_normal = in.max_value <= in.log_max_finite - std::log(double(in.n)) &&
                                in.min_value >= in.log_min_normal;
    if (!all_exp_normal) return no_bound_claimed;
    return beyond_first_order(
        double(in.n) - 1 + 2 * in.exp_error(in.magnitude) + 2 * in.exp_error(in.mean_magnitude) + 1,
        in);
  }
  /// log_softmax and logsumexp: error <= a * u * max(1, |y|) (u = 2^-p), same domain.
  static double log_bound_a(const bound_inputs& in) {
    if (softmax_bound_ulps(in) == no_bound_claimed) return no_bound_claimed;
    // log of a sum with relative error (n+2)u, plus the roundings of log and of the difference
    // (x_i up to ln(largest T) in size, cancelling against log sum: hence the |x| terms).
    return double(in.n) + 6 + (1 + 2 * in.log_ulps) * std::log(double(in.n)) + 2 * in.magnitude +
           2 * in.log_ulps * (std::abs(in.max_value) + std::log(double(in.n))) +
           2 * (in.exp_error(in.mean_magnitude) - 1);
  }
};

}  // namespace softlab
