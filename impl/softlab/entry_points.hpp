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
requires implementation_for<Impl, T> T logsumexp_span(std::span<const T> x) {
  if (x.empty()) return -detail::infinity<T>();  // log of an empty sum
  return Impl::template logsumexp<T>(x);
}

/// Implementations may form the scores their own way (e.g. in a wider type); by default the
/// scores query * keys_i are formed in T, and a product that overflows T becomes +-inf and
/// takes the contract's limits.
template <class Impl, class T>
concept forms_own_scores = requires(const T& q, std::span<const T> k, std::span<T> w) {
  Impl::template pairwise_attention<T>(q, k, w);
};

template <class Impl, class T>
requires implementation_for<Impl, T>
void pairwise_attention_span(const T& query, std::span<const T> keys, std::span<T> weights) {
  detail::require_same_size("pairwise_attention", "keys", keys.size(), "weights", weights.size());
  detail::require_no_partial_overlap<T>("pairwise_attention", keys, std::span<const T>(weights));
  if (keys.empty()) return;
  if constexpr (forms_own_scores<Impl, T>) {
    Impl::template pairwise_attention<T>(query, keys, weights);
  } else {
    for (std::size_t i = 0; i < keys.size(); ++i) weights[i] = T(query * keys[i]);
    Impl::template softmax<T>(std::span<const T>(weights), weights);
  }
}

}  // namespace softlab
