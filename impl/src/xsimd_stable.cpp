// The ISA-neutral half of softlab::xsimd_stable: chooses the per-ISA passes and handles what
// must not be compiled per ISA (the limits of a non-finite max, log, the NaN re-check).
#include <softlab/detail/reductions.hpp>
#include <softlab/simd/xsimd_stable.hpp>
#include <softlab/simd/xsimd_stable_kernel.hpp>

#include <cmath>

namespace softlab {
namespace simd {
namespace sse2 {
const stable_passes<float>& float_passes();
const stable_passes<double>& double_passes();
}  // namespace sse2
namespace avx2 {
const stable_passes<float>& float_passes();
const stable_passes<double>& double_passes();
}  // namespace avx2
}  // namespace simd

namespace {

template <class T>
const simd::stable_passes<T>& passes_for_active_isa() {
  const bool wide = active_isa() == isa::avx2;
  if constexpr (std::is_same_v<T, float>)
    return wide ? simd::avx2::float_passes() : simd::sse2::float_passes();
  else
    return wide ? simd::avx2::double_passes() : simd::sse2::double_passes();
}

/// The vector max does not order NaN; when it is not finite (a NaN, a +inf, all -inf, or a NaN
/// that hid the true max) the exact NaN-propagating scalar max decides. A NaN under a finite
/// max needs no check: exp(NaN) makes the sum NaN, and so every output.
template <class T>
bool limit_written(const simd::stable_passes<T>& passes, std::span<const T> x, T& max,
                   std::span<T> y, detail::output_scale scale) {
  max = passes.max(x.data(), x.size());
  if (detail::is_finite(max)) return false;
  max = detail::max_propagating_nan(x);
  return detail::write_limit_if_max_not_finite(max, x, y, scale);
}

template <class T>
void softmax_impl(std::span<const T> x, std::span<T> y) {
  const auto& passes = passes_for_active_isa<T>();
  T max;
  if (limit_written(passes, x, max, y, detail::output_scale::probability)) return;
  const T sum = passes.store_exp_and_sum(x.data(), max, y.data(), x.size());
  passes.multiply(y.data(), T(1) / sum, y.size());
}

template <class T>
void log_softmax_impl(std::span<const T> x, std::span<T> y) {
  const auto& passes = passes_for_active_isa<T>();
  T max;
  if (limit_written(passes, x, max, y, detail::output_scale::log_probability)) return;
  const T log_sum = std::log(passes.exp_sum(x.data(), max, x.size()));
  passes.shifted_minus(x.data(), max, log_sum, y.data(), x.size());
}

template <class T>
T logsumexp_impl(std::span<const T> x) {
  const auto& passes = passes_for_active_isa<T>();
  T max = passes.max(x.data(), x.size());
  if (!detail::is_finite(max)) {
    max = detail::max_propagating_nan(x);
    return max;  // NaN, +inf, or -inf (all masked)
  }
  return max + std::log(passes.exp_sum(x.data(), max, x.size()));
}

}  // namespace

void xsimd_stable::softmax(std::span<const float> x, std::span<float> y) { softmax_impl(x, y); }
void xsimd_stable::softmax(std::span<const double> x, std::span<double> y) { softmax_impl(x, y); }
void xsimd_stable::log_softmax(std::span<const float> x, std::span<float> y) {
  log_softmax_impl(x, y);
}
void xsimd_stable::log_softmax(std::span<const double> x, std::span<double> y) {
  log_softmax_impl(x, y);
}
float xsimd_stable::logsumexp(std::span<const float> x) { return logsumexp_impl(x); }
double xsimd_stable::logsumexp(std::span<const double> x) { return logsumexp_impl(x); }

}  // namespace softlab
