// softlab/detail/arguments.hpp: argument checks shared by every entry point.
//
// Checked before any work (and before any ISA dispatch), so a bad call fails the same way for
// every implementation: std::invalid_argument naming the function and both sizes.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>

namespace softlab::detail {

// The messages are built out of line (cold), so that the checks themselves inline into every
// call: at a row of 16 floats the two checks out of line cost ~1 ns of a ~17 ns softmax.
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_size_mismatch(const char* function,
                                                                       const char* x_name,
                                                                       std::size_t x_size,
                                                                       const char* y_name,
                                                                       std::size_t y_size) {
  throw std::invalid_argument(std::string("softlab::") + function + ": " + x_name + " has " +
                              std::to_string(x_size) + " elements but " + y_name + " has " +
                              std::to_string(y_size));
}

inline void require_same_size(const char* function, const char* x_name, std::size_t x_size,
                              const char* y_name, std::size_t y_size) {
  if (x_size != y_size) throw_size_mismatch(function, x_name, x_size, y_name, y_size);
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_partial_overlap(const char* function) {
  throw std::invalid_argument(std::string("softlab::") + function +
                              ": output partially overlaps input (only exact in-place, y == x, "
                              "is allowed)");
}

/// In place (y == x) is allowed; any other overlap would read values already overwritten.
template <class T>
void require_no_partial_overlap(const char* function, std::span<const T> x, std::span<const T> y) {
  if (x.empty() || y.empty() || x.data() == y.data()) return;
  // std::less gives a total order on pointers even across unrelated objects.
  const std::less<const T*> before;
  const bool disjoint =
      !before(x.data(), y.data() + y.size()) || !before(y.data(), x.data() + x.size());
  if (!disjoint) throw_partial_overlap(function);
}

template <class T>
void check_elementwise(const char* function, std::span<const T> x, std::span<const T> y) {
  require_same_size(function, "x", x.size(), "y", y.size());
  require_no_partial_overlap(function, x, y);
}

}  // namespace softlab::detail
