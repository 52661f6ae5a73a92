// What the ISA-neutral dispatchers of the vectorized kernels share: resolving a row whose max
// is not finite (or is the lowest finite T) exactly, before any vector pass runs on it.
// Internal to the library.
#pragma once

#include <softlab/detail/reductions.hpp>

#include <cstddef>
#include <limits>
#include <span>

namespace softlab::simd {

/// The vector max does not order NaN; when it is not finite (a NaN, a +inf, all -inf, or a NaN
/// that hid the true max) the exact NaN-propagating scalar max decides, and the contract's
/// limit is written. A NaN under a finite max needs no check here: it reaches every kernel's
/// sum, which the dispatcher tests. Returns true when y is written.
template <class T>
bool limit_written(T& max, std::span<const T> x, std::span<T> y, detail::output_scale scale) {
  if (detail::is_finite(max)) return false;
  max = detail::max_propagating_nan(x);
  return detail::write_limit_if_max_not_finite(max, x, y, scale);
}

/// Every output NaN: a NaN reached a kernel's sum.
template <class T>
void write_nan(std::span<T> y) {
  for (T& v : y) v = detail::quiet_nan<T>();
}

/// A finite max equal to the lowest finite T: every finite x_i equals it, the rest are -inf.
/// The entries at the max share 1/k (log: -log k), the others 0 (log: -inf). Returns true when
/// y is written.
template <class T>
bool lowest_max_written(T max, std::span<const T> x, std::span<T> y, detail::output_scale scale) {
  if (max != std::numeric_limits<T>::lowest()) return false;
  std::size_t at_max = 0;
  for (const T& v : x) at_max += v == max ? 1 : 0;
  const bool log_scale = scale == detail::output_scale::log_probability;
  const T share = log_scale ? T(-std::log(T(at_max))) : T(1) / T(at_max);
  const T rest = log_scale ? -detail::infinity<T>() : T(0);
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] == max ? share : rest;
  return true;
}

}  // namespace softlab::simd
