// softlab/detail/compiled.hpp: what every implementation compiled into the library shares
// (softlab::xsimd, fast, accurate): it supports float and double, its kernels are declared here
// and defined in its impl/src/<name>.cpp, and the generic entry points the registry and the
// range API call (Impl::template softmax<T>) forward to them.
#pragma once

#include <span>
#include <type_traits>

namespace softlab::detail {

/// The base of a compiled implementation Impl (struct Impl : compiled<Impl>), which adds its
/// facts and bounds. impl/src/<name>.cpp defines Impl's kernels (compiled_kernels<Impl>, see
/// impl/src/compiled_definitions.hpp) and instantiates compiled<Impl> once; Impl's header
/// declares that instantiation extern.
template <class Impl>
struct compiled {
  template <class T>
  static constexpr bool supports = std::is_same_v<T, float> || std::is_same_v<T, double>;

  static void softmax(std::span<const float> x, std::span<float> y);
  static void softmax(std::span<const double> x, std::span<double> y);
  static void log_softmax(std::span<const float> x, std::span<float> y);
  static void log_softmax(std::span<const double> x, std::span<double> y);
  static float logsumexp(std::span<const float> x);
  static double logsumexp(std::span<const double> x);

  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) requires supports<T> {
    softmax(x, y);
  }
  template <class T>
  static void log_softmax(std::span<const T> x, std::span<T> y) requires supports<T> {
    log_softmax(x, y);
  }
  template <class T>
  static T logsumexp(std::span<const T> x) requires supports<T> {
    return logsumexp(x);
  }
};

}  // namespace softlab::detail
