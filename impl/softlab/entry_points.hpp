// softlab/entry_points.hpp: what makes a type an implementation, and the checked entry points
// on spans that the range API (softlab.hpp), the runtime registry and the tools all call.
#pragma once

#include <softlab/detail/arguments.hpp>
#include <softlab/detail/reductions.hpp>
#include <softlab/facts.hpp>

#include <concepts>
#include <span>

namespace softlab {

/// What makes a type an implementation: its facts, and the three kernels for the types it
/// supports (arguments already checked, x non-empty).
template <class Impl>
concept implementation = requires {
  { Impl::facts } -> std::convertible_to<implementation_facts>;
};

template <class Impl, class T>
concept implementation_for = implementation<Impl> && Impl::template supports<T>;

/// The entry points on spans: checked arguments, then the implementation. The range overloads
/// below, the runtime registry and the tools all call these.
template <class Impl, class T>
  requires implementation_for<Impl, T>
void softmax_span(std::span<const T> x, std::span<T> y) {
  detail::check_elementwise<T>("softmax", x, y);
  if (x.empty()) return;
  Impl::template softmax<T>(x, y);
}

template <class Impl, class T>
  requires implementation_for<Impl, T>
void log_softmax_span(std::span<const T> x, std::span<T> y) {
  detail::check_elementwise<T>("log_softmax", x, y);
  if (x.empty()) return;
  Impl::template log_softmax<T>(x, y);
}

template <class Impl, class T>
  requires implementation_for<Impl, T>
T logsumexp_span(std::span<const T> x) {
  if (x.empty()) return -detail::infinity<T>();  // log of an empty sum
  return Impl::template logsumexp<T>(x);
}

}  // namespace softlab
