// The ISA-neutral half of softlab::accurate: float through the double-lane kernels, double in
// x87 long double (softlab/detail/extended_softmax.hpp). See softlab/simd/accurate.hpp for the
// algorithm and the bound.
#include "compiled_definitions.hpp"
#include "dispatch.hpp"
#include "kernel_tables.hpp"

#include <softlab/detail/extended_softmax.hpp>
#include <softlab/simd/accurate.hpp>

#include <cmath>
#include <cstddef>

namespace softlab {
namespace {

/// The exps stay in double between the passes up to this n: 32 KiB of stack.
constexpr std::size_t scratch_elements = 4096;
/// Beyond this output size the last pass streams its stores past the cache.
constexpr std::size_t streaming_from_bytes = std::size_t(8) << 20;

bool float_max(std::span<const float> x, float& max) {
  max = simd::active_table<float>().accurate->max(x.data(), x.size());
  return detail::is_finite(max);
}

}  // namespace

/// float: double lanes; double: x87 long double.
template <>
struct detail::compiled_kernels<accurate> {
  static void softmax(std::span<const float> x, std::span<float> y) {
    const auto& passes = *simd::active_table<float>().accurate;
    if (x.size() <= simd::small_row_elements<float> &&
        passes.small_softmax(x.data(), y.data(), x.size()))
      return;
    float max;
    if (!float_max(x, max) && simd::limit_written(max, x, y, detail::output_scale::probability))
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

  static void log_softmax(std::span<const float> x, std::span<float> y) {
    const auto& passes = *simd::active_table<float>().accurate;
    float max;
    if (!float_max(x, max) && simd::limit_written(max, x, y, detail::output_scale::log_probability))
      return;
    passes.log_softmax(x.data(), max, std::log(passes.exp_sum(x.data(), max, x.size())), y.data(),
                       x.size());
  }

  static float logsumexp(std::span<const float> x) {
    float max;
    if (!float_max(x, max)) return detail::max_propagating_nan(x);  // NaN, +inf or -inf
    const double sum = simd::active_table<float>().accurate->exp_sum(x.data(), max, x.size());
    return float(double(max) + std::log(sum));
  }

  static void softmax(std::span<const double> x, std::span<double> y) {
    detail::extended_softmax(x, y);
  }
  static void log_softmax(std::span<const double> x, std::span<double> y) {
    detail::extended_log_softmax(x, y);
  }
  static double logsumexp(std::span<const double> x) { return detail::extended_logsumexp(x); }
};

template struct detail::compiled<accurate>;

}  // namespace softlab
