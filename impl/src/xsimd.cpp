// The ISA-neutral half of softlab::xsimd: chooses the per-ISA passes and handles what must not
// be compiled per ISA (the limits of a non-finite max, log, the NaN re-check).
#include "compiled_definitions.hpp"
#include "dispatch.hpp"
#include "kernel_tables.hpp"

#include <softlab/simd/xsimd.hpp>

#include <cmath>

namespace softlab {

template <>
struct detail::compiled_kernels<xsimd> {
  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    const auto& passes = *simd::active_table<T>().xsimd;
    T max = passes.max(x.data(), x.size());
    if (simd::limit_written(max, x, y, detail::output_scale::probability)) return;
    const T sum = passes.store_exp_and_sum(x.data(), max, y.data(), x.size());
    passes.multiply(y.data(), T(1) / sum, y.size());
  }

  template <class T>
  static void log_softmax(std::span<const T> x, std::span<T> y) {
    const auto& passes = *simd::active_table<T>().xsimd;
    T max = passes.max(x.data(), x.size());
    if (simd::limit_written(max, x, y, detail::output_scale::log_probability)) return;
    const T log_sum = std::log(passes.exp_sum(x.data(), max, x.size()));
    passes.shifted_minus(x.data(), max, log_sum, y.data(), x.size());
  }

  template <class T>
  static T logsumexp(std::span<const T> x) {
    const auto& passes = *simd::active_table<T>().xsimd;
    T max = passes.max(x.data(), x.size());
    if (!detail::is_finite(max)) return detail::max_propagating_nan(x);  // NaN, +inf or -inf
    return max + std::log(passes.exp_sum(x.data(), max, x.size()));
  }
};

template struct detail::compiled<xsimd>;

}  // namespace softlab
