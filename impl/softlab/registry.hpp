// softlab/registry.hpp: the one list of implementations, and its runtime view.
//
// Adding an implementation = its header + one line in `builtin_implementations`. Tests, the
// `softlab` tool, the benchmarks and the accuracy study iterate this list and keep none of
// their own. Libraries outside the core (the peers: libtorch, oneDNN, XNNPACK) add entries to
// a `registry` value at run time through their own registration call; the core needs no change.
#pragma once

#include <softlab/algorithms/divfree.hpp>
#include <softlab/algorithms/naive.hpp>
#include <softlab/algorithms/online.hpp>
#include <softlab/algorithms/stable.hpp>
#include <softlab/algorithms/two_pass.hpp>
#include <softlab/entry_points.hpp>
#include <softlab/facts.hpp>
#include <softlab/simd/accurate.hpp>
#include <softlab/simd/fast.hpp>
#include <softlab/simd/isa.hpp>
#include <softlab/simd/xsimd.hpp>
#include <softlab/types.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace softlab {

template <class... Impls>
struct implementation_list {
  using tuple = std::tuple<Impls...>;
  static constexpr std::size_t size = sizeof...(Impls);
};

/// THE list. Order is the order tools print.
using builtin_implementations =
    implementation_list<naive, stable, online, two_pass, divfree, xsimd, fast, accurate>;

/// Calls f.template operator()<T>() for every T of a type_list.
template <class... Ts, class F>
void for_each_type(type_list<Ts...>, F&& f) {
  (f.template operator()<Ts>(), ...);
}

/// Calls f.template operator()<Impl>() for every implementation of a list.
template <class... Impls, class F>
void for_each_implementation(implementation_list<Impls...>, F&& f) {
  (f.template operator()<Impls>(), ...);
}

/// One implementation for one element type, as the tools see it. Every function checks its
/// arguments (same rules as softlab::softmax) and follows the contract unless
/// facts.meets_contract is false.
template <class T>
struct kernel {
  implementation_facts facts;
  void (*softmax)(std::span<const T> x, std::span<T> y) = nullptr;
  void (*log_softmax)(std::span<const T> x, std::span<T> y) = nullptr;
  T (*logsumexp)(std::span<const T> x) = nullptr;
  /// weights = softmax(query * keys), the scores formed as the implementation forms them.
  void (*pairwise_attention)(const T& query, std::span<const T> keys,
                             std::span<T> weights) = nullptr;
  /// A 16-bit storage type in, float out (each weight rounded once to float); nullptr for the
  /// other types, and for an entry that does not offer it.
  void (*softmax_to_float)(std::span<const T> x, std::span<float> y) = nullptr;
  void (*log_softmax_to_float)(std::span<const T> x, std::span<float> y) = nullptr;
  /// One softmax (log_softmax) per row with softmax_options (scale, mask, causal, threads), as
  /// softlab::softmax_rows<Impl>; nullptr for a peer's entry, which softlab::softmax_rows(k,
  /// ...) (kernel_rows.hpp) runs as the separate operations: the scores formed in T, then
  /// k.softmax per row.
  void (*softmax_rows)(std::span<const T> x, std::size_t rows, std::size_t cols,
                       std::size_t x_stride, std::span<T> y, std::size_t y_stride,
                       const softmax_options& options) = nullptr;
  void (*log_softmax_rows)(std::span<const T> x, std::size_t rows, std::size_t cols,
                           std::size_t x_stride, std::span<T> y, std::size_t y_stride,
                           const softmax_options& options) = nullptr;
  /// One logsumexp per row into lse[r] with softmax_options, as softlab::logsumexp_rows<Impl>;
  /// nullptr for a peer's entry (softlab::logsumexp_rows(k, ...): the scores formed in T, then
  /// k.logsumexp per row).
  void (*logsumexp_rows)(std::span<const T> x, std::size_t rows, std::size_t cols,
                         std::size_t x_stride, std::span<T> lse,
                         const softmax_options& options) = nullptr;
  double (*softmax_bound_ulps)(const bound_inputs&) = nullptr;  ///< ULPs, no_bound_claimed if none
  double (*log_bound_a)(const bound_inputs&) = nullptr;         ///< a in a*u*max(1, |y|)
  std::string_view origin = "softlab";  ///< "softlab", or the peer library's name and version
  /// The instruction sets it has kernels for, chosen by softlab::active_isa() (the tools force
  /// each in turn: its `name@isa` variants); 0 for scalar code and for a library that
  /// dispatches on its own. Called while active_isa() is outside the set, it runs the widest
  /// of its set that the CPU has.
  isa_set isas = 0;
};

/// The instruction sets this CPU can run k on (isa_variants_of), narrowest first; empty when
/// k does not follow softlab::active_isa().
template <class T>
std::vector<isa> isa_variants_of(const kernel<T>& k) {
  std::vector<isa> result;
  for (isa which : available_isas())
    if ((k.isas & isa_bit(which)) != 0) result.push_back(which);
  return result;
}

template <class Impl, class T>
requires implementation_for<Impl, T> kernel<T> make_kernel() {
  kernel<T> result{
      .facts = Impl::facts,
      .softmax = &softmax_span<Impl, T>,
      .log_softmax = &log_softmax_span<Impl, T>,
      .logsumexp = &logsumexp_span<Impl, T>,
      .pairwise_attention = &pairwise_attention_span<Impl, T>,
      .softmax_rows = &softmax_rows_span<Impl, T>,
      .log_softmax_rows = &log_softmax_rows_span<Impl, T>,
      .logsumexp_rows = &logsumexp_rows_span<Impl, T>,
      .softmax_bound_ulps = &softmax_bound_ulps_of<Impl, T>,
      .log_bound_a = &log_bound_a_of<Impl, T>,
      .isas = Impl::facts.vectorized ? all_isas : isa_set{0},
  };
  if constexpr (is_storage_float<T>) {
    result.softmax_to_float = &softmax_span<Impl, T>;
    result.log_softmax_to_float = &log_softmax_span<Impl, T>;
  }
  return result;
}

/// weights = softmax(query * keys) through a registry entry: its own pairwise_attention when it
/// has one (peers registered at run time may not), else scores formed in T and its softmax.
template <class T>
void pairwise_attention(const kernel<T>& k, const T& query, std::span<const T> keys,
                        std::span<T> weights) {
  if (k.pairwise_attention != nullptr) return k.pairwise_attention(query, keys, weights);
  detail::require_same_size("pairwise_attention", "keys", keys.size(), "weights", weights.size());
  std::vector<T> scores(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) scores[i] = T(query * keys[i]);
  k.softmax(scores, weights);
}

/// The runtime view: per element type, the kernels in registration order.
class registry {
 public:
  template <class T>
  void add(kernel<T> entry) {
    auto& list = std::get<std::vector<kernel<T>>>(kernels_);
    const auto clash = std::find_if(list.begin(), list.end(), [&](const kernel<T>& k) {
      return k.facts.name == entry.facts.name;
    });
    if (clash != list.end())
      throw std::invalid_argument("softlab::registry: '" + std::string(entry.facts.name) +
                                  "' is already registered for " + std::string(type_token_v<T>));
    list.push_back(entry);
  }

  template <class T>
  std::span<const kernel<T>> kernels() const {
    return std::get<std::vector<kernel<T>>>(kernels_);
  }

  template <class T>
  const kernel<T>* find(std::string_view name) const {
    for (const auto& k : kernels<T>())
      if (k.facts.name == name) return &k;
    return nullptr;
  }

  /// Every implementation name, in first-registration order, each once.
  std::vector<std::string_view> names() const {
    std::vector<std::string_view> result;
    for_each_type(element_types{}, [&]<class T>() {
      for (const auto& k : kernels<T>())
        if (std::find(result.begin(), result.end(), k.facts.name) == result.end())
          result.push_back(k.facts.name);
    });
    return result;
  }

  /// The type tokens an implementation supports here.
  std::vector<std::string_view> types_of(std::string_view name) const {
    std::vector<std::string_view> result;
    for_each_type(element_types{}, [&]<class T>() {
      if (find<T>(name) != nullptr) result.push_back(type_token_v<T>);
    });
    return result;
  }

 private:
  template <class... Ts>
  static auto vectors_of(type_list<Ts...>) -> std::tuple<std::vector<kernel<Ts>>...>;
  decltype(vectors_of(element_types{})) kernels_;
};

/// A registry holding every builtin implementation for every type it supports. A value, not a
/// global: a tool builds one, and may add peers to it. Defined in impl/src/registry.cpp, the one
/// translation unit that instantiates every (implementation, type) of builtin_implementations:
/// code that only needs the runtime view compiles none of the algorithms again.
registry builtin_registry();

/// The registry of an implementation list; builtin_registry() is this over builtin_implementations.
/// A program that adds its own implementation types can build its registry the same way.
template <class... Impls>
registry registry_of(implementation_list<Impls...> list) {
  registry result;
  for_each_implementation(list, [&]<class Impl>() {
    for_each_type(element_types{}, [&]<class T>() {
      if constexpr (implementation_for<Impl, T>) result.add(make_kernel<Impl, T>());
    });
  });
  return result;
}

}  // namespace softlab
