// softlab/detail/extended_softmax.hpp: softlab::accurate's scalar path for double: softmax,
// log_softmax and logsumexp computed in x87 long double (64-bit significand) and rounded once to
// double. Compiled into the library by impl/src/accurate.cpp (ISA-neutral: the FPU, no vector
// code); the algorithm and the bound are stated in softlab/simd/accurate.hpp.
#pragma once

#include <softlab/detail/float_blocks.hpp>
#include <softlab/detail/wide_softmax.hpp>

#include <cmath>
#include <cstddef>
#include <span>

namespace softlab::detail {

using extended = wider_t<double>;

/// exp(x - m) for doubles x <= m, m finite: x - m split exactly by two-sum into d + d',
/// expl(d) (1 + d') to about 2^-62 relative. Below -800 the exp is 0 in double either way.
inline extended extended_shifted_exp(double x, double m) {
  const auto d = two_sum(x, -m);
  if (!(d.value > -800)) return is_nan(d.value) ? extended(d.value) : extended(0);
  return std::exp(extended(d.value)) * (extended(1) + extended(d.error));
}

/// (x - m) - l in extended precision, x - m split exactly as above.
inline double extended_shifted_minus(double x, double m, extended log_sum) {
  const auto d = two_sum(x, -m);
  if (d.value == -infinity<double>()) return d.value;  // a masked entry: log 0
  return double((extended(d.value) - log_sum) + extended(d.error));
}

/// sum_i exp(x_i - max), compensated (Neumaier) in extended precision.
inline extended extended_sum_of_exps(std::span<const double> x, double max) {
  compensated_sum<extended> sum;
  for (double v : x) sum.add(extended_shifted_exp(v, max));
  return sum.total();
}

inline void extended_softmax(std::span<const double> x, std::span<double> y) {
  const double max = max_propagating_nan(x);
  if (write_limit_if_max_not_finite(max, x, y, output_scale::probability)) return;
  const extended sum = extended_sum_of_exps(x, max);
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = double(extended_shifted_exp(x[i], max) / sum);
}

inline void extended_log_softmax(std::span<const double> x, std::span<double> y) {
  const double max = max_propagating_nan(x);
  if (write_limit_if_max_not_finite(max, x, y, output_scale::log_probability)) return;
  const extended log_sum = std::log(extended_sum_of_exps(x, max));
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = extended_shifted_minus(x[i], max, log_sum);
}

inline double extended_logsumexp(std::span<const double> x) {
  const double max = max_propagating_nan(x);
  if (!is_finite(max)) return max;  // NaN, +inf or all -inf: the max itself
  return double(extended(max) + std::log(extended_sum_of_exps(x, max)));
}

}  // namespace softlab::detail
