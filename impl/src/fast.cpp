// The ISA-neutral half of softlab::fast: the pass structure by size, the limits, the running
// max of the two-pass structure, log. See softlab/simd/fast.hpp for the algorithm and bounds.
#include "dispatch.hpp"
#include "kernel_tables.hpp"

#include <softlab/simd/fast.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

namespace softlab {
namespace {

using simd::wide_sum;

template <class T>
bool two_pass(std::span<const T> x) {
  return x.size() >= fast::two_pass_from_elements<T>;
}
/// The two-pass structure's blocks: the block is read from memory for its max, then from L1.
constexpr std::size_t block_elements = 2048;

template <class T>
constexpr double headroom =
    double(simd::exp_constants<T, std::is_same_v<T, float> ? 6 : 11>::headroom);

/// 1 / (hi + lo) as a T pair: the pair's reciprocal to about 2^-100, so that the final product
/// is the only rounding.
template <class T>
void reciprocal(const wide_sum& s, T& inverse_hi, T& inverse_lo) {
  const double hi = 1.0 / s.hi;
  const double residual = std::fma(-hi, s.hi, 1.0) - hi * s.lo;  // 1 - hi (s.hi + s.lo)
  const double lo = residual * hi;
  inverse_hi = T(hi);
  inverse_lo = T((hi - double(inverse_hi)) + lo);
}

/// A max that the vector passes handle: finite and above the lowest finite T.
template <class T>
bool ordinary(T max) {
  return detail::is_finite(max) && max != std::numeric_limits<T>::lowest();
}

/// max and sum in one read of x from memory: block by block, the block's max (loading it into
/// L1), then its exps against the running max; the sum is rescaled when the max grows. False
/// when the row is not ordinary (the caller resolves it exactly).
template <class T>
bool online_max_and_sum(const simd::fast_passes<T>& passes, std::span<const T> x, T& max,
                        wide_sum& sum) {
  max = -detail::infinity<T>();
  sum = {};
  for (std::size_t start = 0; start < x.size(); start += block_elements) {
    const std::size_t count = std::min(block_elements, x.size() - start);
    const T block_max = passes.max(x.data() + start, count);
    if (block_max == detail::infinity<T>()) return false;
    if (block_max > max) {
      const double rescale = std::exp(double(max) - double(block_max));  // 0 for the first block
      sum.hi *= rescale;
      sum.lo *= rescale;
      max = block_max;
    }
    if (!ordinary(max)) continue;  // all -inf (or the lowest T) so far
    const wide_sum block = passes.exp_sum(x.data() + start, max, count);
    const double hi = sum.hi + block.hi;  // Knuth's two-sum: the fold loses nothing
    const double virtual_block = hi - sum.hi;
    sum.lo += (sum.hi - (hi - virtual_block)) + (block.hi - virtual_block) + block.lo;
    sum.hi = hi;
  }
  return ordinary(max);
}

/// The max and the sum, by the structure the size calls for; false when the row is not
/// ordinary. With `y`, the in-cache structure stores the exps there.
template <class T>
bool max_and_sum(std::span<const T> x, T* y, T& max, wide_sum& sum) {
  const auto& passes = *simd::active_table<T>().fast;
  if (two_pass(x)) return online_max_and_sum(passes, x, max, sum);
  max = passes.max(x.data(), x.size());
  if (!ordinary(max)) return false;
  sum = y ? passes.store_exp_and_sum(x.data(), max, y, x.size())
          : passes.exp_sum(x.data(), max, x.size());
  return true;
}

/// A row that is not ordinary, exactly: its NaN, +inf or all -inf limit, or the shares of the
/// entries at the lowest finite T.
template <class T>
void write_not_ordinary(std::span<const T> x, std::span<T> y, detail::output_scale scale) {
  const T max = detail::max_propagating_nan(x);
  if (!detail::write_limit_if_max_not_finite(max, x, y, scale))
    simd::lowest_max_written(max, x, y, scale);
}

template <class T>
void softmax_impl(std::span<const T> x, std::span<T> y) {
  const auto& passes = *simd::active_table<T>().fast;
  const bool streaming = two_pass(x);
  T max, inverse_hi, inverse_lo;
  wide_sum sum;
  if (!max_and_sum(x, streaming ? nullptr : y.data(), max, sum))
    return write_not_ordinary(x, y, detail::output_scale::probability);
  reciprocal(sum, inverse_hi, inverse_lo);
  if (streaming)
    passes.stream_exp_scaled(x.data(), max, inverse_hi, inverse_lo, y.data(), x.size());
  else
    passes.scale(y.data(), inverse_hi, inverse_lo, y.size());
}

/// log s of the unscaled sum: the kernels sum 2^headroom exp(x_i - m). The scaling is undone
/// exactly before the log (subtracting headroom ln 2 after it would cancel ~headroom ln 2 u).
template <class T>
double log_unscaled(const wide_sum& s) {
  return std::log(std::ldexp(s.hi, -int(headroom<T>))) + std::log1p(s.lo / s.hi);
}

template <class T>
void log_softmax_impl(std::span<const T> x, std::span<T> y) {
  T max;
  wide_sum sum;
  if (!max_and_sum(x, static_cast<T*>(nullptr), max, sum))
    return write_not_ordinary(x, y, detail::output_scale::log_probability);
  simd::active_table<T>().fast->shifted_minus(x.data(), max, T(log_unscaled<T>(sum)), y.data(),
                                              x.size());
}

template <class T>
T logsumexp_impl(std::span<const T> x) {
  T max;
  wide_sum sum;
  if (max_and_sum(x, static_cast<T*>(nullptr), max, sum))
    return T(double(max) + log_unscaled<T>(sum));
  const T exact = detail::max_propagating_nan(x);  // NaN, +inf, -inf or the lowest T
  if (exact != std::numeric_limits<T>::lowest()) return exact;
  std::size_t at_max = 0;
  for (const T& v : x) at_max += v == exact ? 1 : 0;
  return T(double(exact) + std::log(double(at_max)));
}

}  // namespace

void fast::softmax(std::span<const float> x, std::span<float> y) { softmax_impl(x, y); }
void fast::softmax(std::span<const double> x, std::span<double> y) { softmax_impl(x, y); }
void fast::log_softmax(std::span<const float> x, std::span<float> y) { log_softmax_impl(x, y); }
void fast::log_softmax(std::span<const double> x, std::span<double> y) { log_softmax_impl(x, y); }
float fast::logsumexp(std::span<const float> x) { return logsumexp_impl(x); }
double fast::logsumexp(std::span<const double> x) { return logsumexp_impl(x); }

}  // namespace softlab
