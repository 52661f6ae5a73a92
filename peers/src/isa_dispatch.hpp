// isa_dispatch.hpp (private to softlab_peers): the registry entries of a peer with per-ISA code,
// compiled in its ISA-neutral translation unit (<peer>_peer.cpp). Each entry checks its
// arguments as softlab does, then runs the kernels of softlab::active_isa() when the peer has
// them, else the widest of the peer's own that the CPU has (kernel::isas).
#pragma once

#include "isa_kernels.hpp"

#include <softlab/detail/arguments.hpp>
#include <softlab/registry.hpp>
#include <softlab/simd/isa.hpp>

#include <array>
#include <limits>
#include <span>
#include <stdexcept>
#include <string_view>
#include <type_traits>

namespace softlab::peers::detail {

/// A peer's tables indexed by softlab::isa (sse2, avx2, avx512); nullptr where it has none.
using tables_by_isa = std::array<const isa_tables*, every_isa.size()>;

/// The instruction sets a peer has kernels for.
inline isa_set isas_of(const tables_by_isa& tables) {
  isa_set set = 0;
  for (isa which : every_isa)
    if (tables[static_cast<std::size_t>(which)] != nullptr) set |= isa_bit(which);
  return set;
}

/// Whether this CPU runs at least one of the peer's ISAs (else the peer is not registered).
inline bool runs_here(const tables_by_isa& tables) {
  for (isa which : every_isa)
    if (tables[static_cast<std::size_t>(which)] != nullptr && cpu_supports(which)) return true;
  return false;
}

/// The tables to run now: active_isa()'s, else the widest of the peer's that the CPU has.
inline const isa_tables& current_tables(const tables_by_isa& tables) {
  if (const isa_tables* active = tables[static_cast<std::size_t>(active_isa())]) return *active;
  for (auto which = every_isa.rbegin(); which != every_isa.rend(); ++which)
    if (tables[static_cast<std::size_t>(*which)] != nullptr && cpu_supports(*which))
      return *tables[static_cast<std::size_t>(*which)];
  throw std::logic_error("softlab peers: no kernels for this CPU");  // not registered then
}

template <class T>
const isa_kernels<T>& current_kernels(const tables_by_isa& tables) {
  if constexpr (std::is_same_v<T, float>)
    return current_tables(tables).for_float;
  else
    return current_tables(tables).for_double;
}

/// Tables: a function returning the peer's tables_by_isa (built once).
template <class T, const tables_by_isa& (*Tables)()>
void softmax_entry(std::span<const T> x, std::span<T> y) {
  softlab::detail::check_elementwise<T>("softmax", x, std::span<const T>(y));
  if (x.empty()) return;
  current_kernels<T>(Tables()).softmax(x.data(), y.data(), x.size());
}

template <class T, const tables_by_isa& (*Tables)()>
void log_softmax_entry(std::span<const T> x, std::span<T> y) {
  softlab::detail::check_elementwise<T>("log_softmax", x, std::span<const T>(y));
  if (x.empty()) return;
  current_kernels<T>(Tables()).log_softmax(x.data(), y.data(), x.size());
}

template <class T, const tables_by_isa& (*Tables)()>
T logsumexp_entry(std::span<const T> x) {
  if (x.empty()) return -std::numeric_limits<T>::infinity();  // log of an empty sum, as softlab
  return current_kernels<T>(Tables()).logsumexp(x.data(), x.size());
}

inline double no_bound(const bound_inputs&) { return no_bound_claimed; }

/// The registry entry of a peer with per-ISA kernels, for T.
template <class T, const tables_by_isa& (*Tables)()>
kernel<T> isa_dispatched_kernel(const implementation_facts& facts, std::string_view origin) {
  return kernel<T>{
      .facts = facts,
      .softmax = &softmax_entry<T, Tables>,
      .log_softmax = &log_softmax_entry<T, Tables>,
      .logsumexp = &logsumexp_entry<T, Tables>,
      .pairwise_attention = nullptr,
      .softmax_bound_ulps = &no_bound,
      .log_bound_a = &no_bound,
      .origin = origin,
      .isas = isas_of(Tables()),
  };
}

}  // namespace softlab::peers::detail
