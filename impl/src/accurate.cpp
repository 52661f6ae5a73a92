// The ISA-neutral half of softlab::accurate: float through the double-lane
// kernels, double in x87 long double. See softlab/simd/accurate.hpp for the
// algorithm and the bound.
#include "compiled_definitions.hpp"
#include "dispatch.hpp"
#include "kernel_tables.hpp"

#include <softlab/detail/wide_softmax.hpp>
#include <softlab/simd/accurate.hpp>

#include <cmath>
#include <cstddef>

namespace softlab {
namespace {

/// The exps stay in double between the passes up to this n: 32 KiB of stack.
constexpr std::size_t scratch_elements = 4096;
/// Beyond this output size the last pass streams its stores past the cache.
constexpr std::size_t streaming_from_bytes = std::size_t(8) << 20;

bool float_max(std::span<const float> x, float &max) {
  max = simd::active_table<float>().accurate->max(x.data(), x.size());
  return detail::is_finite(max);
}

// ---- double: x87 long double ----

using extended = detail::wider_t<double>;

/// exp(x - m) for doubles x <= m, m finite: x - m split exactly by two-sum into
/// d + d', expl(d) (1 + d') to about 2^-62 relative. Below -800 the exp is 0 in
/// double either way.
extended shifted_exp(double x, double m) {
  const auto d = detail::two_sum(x, -m);
  if (!(d.value > -800))
    return detail::is_nan(d.value) ? extended(d.value) : extended(0);
  return std::exp(extended(d.value)) * (extended(1) + extended(d.error));
}

/// (x - m) - l in extended precision, x - m split exactly as above.
double shifted_minus(double x, double m, extended log_sum) {
  const auto d = detail::two_sum(x, -m);
  if (d.value == -detail::infinity<double>())
    return d.value; // a masked entry: log 0
  return double((extended(d.value) - log_sum) + extended(d.error));
}

extended sum_of_exps(std::span<const double> x, double max) {
  detail::compensated_sum<extended> sum;
  for (double v : x)
    sum.add(shifted_exp(v, max));
  return sum.total();
}

void softmax_double(std::span<const double> x, std::span<double> y) {
  double max = detail::max_propagating_nan(x);
  if (detail::write_limit_if_max_not_finite(max, x, y,
                                            detail::output_scale::probability))
    return;
  const extended sum = sum_of_exps(x, max);
  for (std::size_t i = 0; i < x.size(); ++i)
    y[i] = double(shifted_exp(x[i], max) / sum);
}

void log_softmax_double(std::span<const double> x, std::span<double> y) {
  double max = detail::max_propagating_nan(x);
  if (detail::write_limit_if_max_not_finite(
          max, x, y, detail::output_scale::log_probability))
    return;
  const extended log_sum = std::log(sum_of_exps(x, max));
  for (std::size_t i = 0; i < x.size(); ++i)
    y[i] = shifted_minus(x[i], max, log_sum);
}

double logsumexp_double(std::span<const double> x) {
  const double max = detail::max_propagating_nan(x);
  if (!detail::is_finite(max))
    return max;
  return double(extended(max) + std::log(sum_of_exps(x, max)));
}

} // namespace

/// float: double lanes; double: x87 long double.
template <> struct detail::compiled_kernels<accurate> {
  static void softmax(std::span<const float> x, std::span<float> y) {
    const auto &passes = *simd::active_table<float>().accurate;
    float max;
    if (!float_max(x, max) &&
        simd::limit_written(max, x, y, detail::output_scale::probability))
      return;
    if (x.size() <= scratch_elements) {
      double e[scratch_elements];
      const double sum = passes.store_exp_and_sum(x.data(), max, e, x.size());
      passes.scale_to_float(e, 1.0 / sum, y.data(), y.size());
      return;
    }
    const double sum = passes.exp_sum(x.data(), max, x.size());
    passes.exp_scaled_to_float(x.data(), max, 1.0 / sum, y.data(), x.size(),
                               x.size() * sizeof(float) >=
                                   streaming_from_bytes);
  }

  static void log_softmax(std::span<const float> x, std::span<float> y) {
    const auto &passes = *simd::active_table<float>().accurate;
    float max;
    if (!float_max(x, max) &&
        simd::limit_written(max, x, y, detail::output_scale::log_probability))
      return;
    passes.log_softmax(x.data(), max,
                       std::log(passes.exp_sum(x.data(), max, x.size())),
                       y.data(), x.size());
  }

  static float logsumexp(std::span<const float> x) {
    float max;
    if (!float_max(x, max))
      return detail::max_propagating_nan(x); // NaN, +inf or -inf
    const double sum =
        simd::active_table<float>().accurate->exp_sum(x.data(), max, x.size());
    return float(double(max) + std::log(sum));
  }

  static void softmax(std::span<const double> x, std::span<double> y) {
    softmax_double(x, y);
  }
  static void log_softmax(std::span<const double> x, std::span<double> y) {
    log_softmax_double(x, y);
  }
  static double logsumexp(std::span<const double> x) {
    return logsumexp_double(x);
  }
};

template struct detail::compiled<accurate>;

} // namespace softlab
