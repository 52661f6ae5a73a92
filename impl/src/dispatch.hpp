// What the ISA-neutral dispatchers of the vectorized kernels share: resolving a row whose max
// is not finite exactly, before any vector pass runs on it. The limits themselves are written by
// softlab/detail/float_blocks.hpp. Internal to the library.
#pragma once

#include <softlab/detail/float_blocks.hpp>

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

}  // namespace softlab::simd
