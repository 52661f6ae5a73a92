// What the ISA-neutral dispatchers of the vectorized kernels share: resolving a row whose max
// is not finite (or so large that every other exp is 0) exactly, before any vector pass runs on it.
// Internal to the library.
#pragma once

#include <softlab/detail/reductions.hpp>

#include <cmath>
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

/// A finite max so large that max + lowest_exp_argument rounds to max (the lowest finite T is
/// one): the spacing of T below max is then at least -2 lowest_exp_argument, so every x_i <
/// max has exp(x_i - max) = 0 in T and the kernels' reductions need not reach that far. The k
/// entries at the max share 1/k, the others get 0 (log: (x_i - max) - log k). Returns true
/// when y is written; the caller has ruled out NaN and a non-finite max.
template <class T>
bool dominant_max_written(T max, T lowest_exp_argument, std::span<const T> x, std::span<T> y,
                          detail::output_scale scale) {
  if (max + lowest_exp_argument != max) return false;
  std::size_t at_max = 0;
  for (const T& v : x) at_max += v == max ? 1 : 0;
  if (scale == detail::output_scale::log_probability) {
    const T log_k = T(std::log(T(at_max)));
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - max) - log_k;
  } else {
    const T share = T(1) / T(at_max);
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] == max ? share : T(0);
  }
  return true;
}

}  // namespace softlab::simd
