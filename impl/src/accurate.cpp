// The ISA-neutral half of softlab::accurate: float through the double-lane kernels, double
// through the pair kernels (src/softlab_kernels/accurate_double_kernel.hpp). See
// softlab/simd/accurate.hpp for the algorithm and the bound.
#include "compiled_definitions.hpp"
#include "dispatch.hpp"
#include "kernel_tables.hpp"

#include <softlab/simd/accurate.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace softlab {
namespace {

/// The exps stay in double between the passes up to this n: 32 KiB of stack.
constexpr std::size_t scratch_elements = 4096;
/// Beyond this output size the last pass streams its stores past the cache.
constexpr std::size_t streaming_from_bytes = std::size_t(8) << 20;

template <class T>
bool finite_max(std::span<const T> x, T& max) {
  max = simd::active_table<T>().accurate->max(x.data(), x.size());
  return detail::is_finite(max);
}

/// The row sum of the pair exps, 2^-headroom sum_i E_i = sum_i exp(x_i - m) (an exact scaling:
/// the sum is at least 1), folded from the kernel's lanes by pair_sum.
detail::rounded_and_error<double> unscaled_pair_sum(const simd::lane_pairs& lanes) {
  double hi = lanes.hi[0], lo = lanes.lo[0];
  for (std::size_t i = 1; i < lanes.count; ++i) {
    const auto s = detail::pair_sum(hi, lo, lanes.hi[i], lanes.lo[i]);
    hi = s.value;
    lo = s.error;
  }
  constexpr int headroom = simd::exp_pair_constants::headroom;
  return {std::ldexp(hi, -headroom), std::ldexp(lo, -headroom)};
}
detail::rounded_and_error<double> pair_exp_sum(std::span<const double> x, double max) {
  simd::lane_pairs lanes;
  simd::active_table<double>().accurate->exp_sum(x.data(), max, x.size(), lanes);
  return unscaled_pair_sum(lanes);
}

/// Rows up to this n keep their pair exps between the passes (2 x 32 KiB of stack, in L2): the
/// last pass then rounds products instead of taking every exp again.
constexpr std::size_t pair_scratch_elements = 4096;

/// log(s) of a pair s = hi + lo >= 1 as a pair, to about 2^-70 absolute: l0 = log(hi) (the
/// libm's, within a few 2^-53 |l0|), then one Newton step l0 + (s exp(-l0) - 1), the exp as a
/// pair by the kernel's own pair exp, the residual s exp(-l0) - 1 (about 2^-52) formed by an
/// exact product and two-sums; the step's error is the residual squared over 2 and the
/// exp's relative error. A NaN sum gives NaN.
detail::rounded_and_error<double> pair_log(const detail::rounded_and_error<double>& s) {
  const double l0 = std::log(s.value);
  if (!detail::is_finite(l0)) return {l0, 0.0};
  const double minus_l0 = -l0;
  double e_hi, e_lo;  // 2^headroom exp(-l0)
  simd::active_table<double>().accurate->exp_pairs(&minus_l0, 0.0, &e_hi, &e_lo, 1);
  constexpr int headroom = simd::exp_pair_constants::headroom;
  e_hi = std::ldexp(e_hi, -headroom);
  e_lo = std::ldexp(e_lo, -headroom);
  // s exp(-l0) - 1 = (p_hi - 1) + p_lo + s_hi e_lo + s_lo e_hi: p_hi - 1 is exact (Sterbenz).
  const double p_hi = s.value * e_hi;
  const double p_lo = std::fma(s.value, e_hi, -p_hi);
  const double residual = (p_hi - 1.0) + (p_lo + (s.value * e_lo + s.error * e_hi));
  const double step = residual - 0.5 * residual * residual;  // log(1 + residual)
  return detail::two_sum(l0, step);
}

/// A float row that small_softmax leaves: out of line, so that a small row's call pays for none
/// of this function's stack frame (the scratch row of doubles) and saved registers.
[[gnu::noinline]] void softmax_beyond_small(const simd::accurate_float_passes& passes,
                                            std::span<const float> x, std::span<float> y) {
  float max;
  if (!finite_max(x, max) && simd::limit_written(max, x, y, detail::output_scale::probability))
    return;
  if (x.size() <= scratch_elements) {
    double e[scratch_elements];
    const double sum = passes.store_exp_and_sum(x.data(), max, e, x.size());
    passes.scale_to_float(e, 1.0 / sum, y.data(), y.size());
    return;
  }
  const double sum = passes.exp_sum(x.data(), max, x.size());
  passes.exp_scaled_to_float(x.data(), max, 1.0 / sum, y.data(), x.size(),
                             x.size() * sizeof(float) >= streaming_from_bytes);
}

}  // namespace

/// float: double lanes; double: pairs of doubles.
template <>
struct detail::compiled_kernels<accurate> {
  static void softmax(std::span<const float> x, std::span<float> y) {
    const auto& passes = *simd::active_table<float>().accurate;
    if (x.size() <= simd::small_row_elements<float> &&
        passes.small_softmax(x.data(), y.data(), x.size()))
      return;
    softmax_beyond_small(passes, x, y);
  }

  static void log_softmax(std::span<const float> x, std::span<float> y) {
    const auto& passes = *simd::active_table<float>().accurate;
    float max;
    if (!finite_max(x, max) &&
        simd::limit_written(max, x, y, detail::output_scale::log_probability))
      return;
    const double log_sum = std::log(passes.exp_sum(x.data(), max, x.size()));
    // A NaN score the max passed over makes the sum NaN: every output NaN, the -inf entries'
    // included (the pass writes those as -inf outright).
    if (std::isnan(log_sum)) return std::fill(y.begin(), y.end(), detail::quiet_nan<float>());
    passes.log_softmax(x.data(), max, log_sum, y.data(), x.size());
  }

  static float logsumexp(std::span<const float> x) {
    float max;
    if (!finite_max(x, max)) return detail::max_propagating_nan(x);  // NaN, +inf or -inf
    const double sum = simd::active_table<float>().accurate->exp_sum(x.data(), max, x.size());
    return float(double(max) + std::log(sum));
  }

  static void softmax(std::span<const double> x, std::span<double> y) {
    double max;
    if (!finite_max(x, max) && simd::limit_written(max, x, y, detail::output_scale::probability))
      return;
    // 1 / sum = 2^headroom / sum_i E_i: the final product E_i (1 / sum) is 2^headroom y_i.
    const auto& passes = *simd::active_table<double>().accurate;
    if (x.size() <= pair_scratch_elements) {
      double e_hi[pair_scratch_elements], e_lo[pair_scratch_elements];
      simd::lane_pairs lanes;
      passes.store_exp_and_sum(x.data(), max, e_hi, e_lo, x.size(), lanes);
      const auto sum = unscaled_pair_sum(lanes);
      const auto inverse = detail::reciprocal_pair(sum.value, sum.error);
      passes.scale(e_hi, e_lo, inverse.value, inverse.error, y.data(), y.size());
      return;
    }
    const auto sum = pair_exp_sum(x, max);
    const auto inverse = detail::reciprocal_pair(sum.value, sum.error);
    passes.exp_scaled(x.data(), max, inverse.value, inverse.error, y.data(), x.size(),
                      x.size() * sizeof(double) >= streaming_from_bytes);
  }
  static void log_softmax(std::span<const double> x, std::span<double> y) {
    double max;
    if (!finite_max(x, max) &&
        simd::limit_written(max, x, y, detail::output_scale::log_probability))
      return;
    const auto log_sum = pair_log(pair_exp_sum(x, max));
    if (std::isnan(log_sum.value))  // as for float: a NaN the max passed over
      return std::fill(y.begin(), y.end(), detail::quiet_nan<double>());
    simd::active_table<double>().accurate->log_softmax(x.data(), max, log_sum.value, log_sum.error,
                                                       y.data(), x.size());
  }
  static double logsumexp(std::span<const double> x) {
    double max;
    if (!finite_max(x, max)) {
      max = detail::max_propagating_nan(x);
      if (!detail::is_finite(max)) return max;  // NaN, +inf or all -inf: the max itself
    }
    const auto log_sum = pair_log(pair_exp_sum(x, max));
    const auto head = detail::two_sum(max, log_sum.value);
    return head.value + (head.error + log_sum.error);
  }
};

template struct detail::compiled<accurate>;

}  // namespace softlab
