// The ISA-neutral half of softlab::xsimd: chooses the per-ISA passes and handles what must not
// be compiled per ISA (the limits of a non-finite max, log, the NaN re-check).
#include "dispatch.hpp"
#include "kernel_tables.hpp"

#include <softlab/simd/xsimd.hpp>

#include <cmath>

namespace softlab {
namespace {

template <class T>
void softmax_impl(std::span<const T> x, std::span<T> y) {
  const auto& passes = *simd::active_table<T>().xsimd;
  T max = passes.max(x.data(), x.size());
  if (simd::limit_written(max, x, y, detail::output_scale::probability)) return;
  const T sum = passes.store_exp_and_sum(x.data(), max, y.data(), x.size());
  passes.multiply(y.data(), T(1) / sum, y.size());
}

template <class T>
void log_softmax_impl(std::span<const T> x, std::span<T> y) {
  const auto& passes = *simd::active_table<T>().xsimd;
  T max = passes.max(x.data(), x.size());
  if (simd::limit_written(max, x, y, detail::output_scale::log_probability)) return;
  const T log_sum = std::log(passes.exp_sum(x.data(), max, x.size()));
  passes.shifted_minus(x.data(), max, log_sum, y.data(), x.size());
}

template <class T>
T logsumexp_impl(std::span<const T> x) {
  const auto& passes = *simd::active_table<T>().xsimd;
  T max = passes.max(x.data(), x.size());
  if (!detail::is_finite(max)) return detail::max_propagating_nan(x);  // NaN, +inf or -inf
  return max + std::log(passes.exp_sum(x.data(), max, x.size()));
}

}  // namespace

void xsimd::softmax(std::span<const float> x, std::span<float> y) { softmax_impl(x, y); }
void xsimd::softmax(std::span<const double> x, std::span<double> y) { softmax_impl(x, y); }
void xsimd::log_softmax(std::span<const float> x, std::span<float> y) { log_softmax_impl(x, y); }
void xsimd::log_softmax(std::span<const double> x, std::span<double> y) { log_softmax_impl(x, y); }
float xsimd::logsumexp(std::span<const float> x) { return logsumexp_impl(x); }
double xsimd::logsumexp(std::span<const double> x) { return logsumexp_impl(x); }

}  // namespace softlab
