// tests/core/same_bits.hpp: equality of results as stored, for the tests that promise the
// same bits (thread counts, in place, fused and separate paths).
#pragma once

#include <softlab/softlab.hpp>

#include <cstddef>
#include <cstring>
#include <limits>
#include <span>
#include <type_traits>

namespace softlab::testing {

/// Equal as stored: memcmp of the bytes that hold the value: all of float, double, the
/// simulated formats' double and the 16-bit storage types; the 10 of x87's long double (the other 6
/// of its 16 are padding, never written). Boost's cpp_bin_float objects may hold padding too, so
/// for them: the same value and sign (NaN as NaN).
template <class T>
bool same_bits(std::span<const T> a, std::span<const T> b) {
  if (a.size() != b.size()) return false;
  if constexpr (std::is_same_v<T, long double>) {
    static_assert(std::numeric_limits<long double>::digits == 64, "x87 extended precision");
    for (std::size_t i = 0; i < a.size(); ++i)
      if (std::memcmp(&a[i], &b[i], 10) != 0) return false;
    return true;
  } else if constexpr (is_hardware_float<T> || is_narrow_format<T>) {
    static_assert(std::is_trivially_copyable_v<T>);
    return a.empty() || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
  } else {
    for (std::size_t i = 0; i < a.size(); ++i) {
      const bool a_nan = detail::is_nan(a[i]), b_nan = detail::is_nan(b[i]);
      if (a_nan != b_nan) return false;
      if (!a_nan && (a[i] != b[i] || (a[i] < 0) != (b[i] < 0))) return false;
    }
    return true;
  }
}

}  // namespace softlab::testing
