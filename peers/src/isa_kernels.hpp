// isa_kernels.hpp (private to softlab_peers): what a peer with per-ISA code (sleef, highway,
// eigen) compiles once per instruction set. Each ISA's translation unit (<peer>_sse2.cpp,
// <peer>_avx2.cpp, <peer>_avx512.cpp, built by softlab_isa_objects with that ISA's flags) defines
// `tables()` in its own namespace <peer>_<isa>, so every code symbol it defines carries the ISA's
// name (tests/isa/check_isa_object.cmake). This header defines types only, no function: it is
// included by those TUs, and an inline function here would be one COMDAT symbol shared by them.
#pragma once

#include <cstddef>

namespace softlab::peers::detail {

/// One ISA's kernels of one peer for T, on raw pointers: the arguments are checked by the
/// ISA-neutral entry (isa_dispatch.hpp) before any of these runs. n > 0; y == x is allowed.
template <class T>
struct isa_kernels {
  void (*softmax)(const T* x, T* y, std::size_t n) = nullptr;
  void (*log_softmax)(const T* x, T* y, std::size_t n) = nullptr;
  T (*logsumexp)(const T* x, std::size_t n) = nullptr;
};

/// Both element types' kernels of one peer for one ISA.
struct isa_tables {
  isa_kernels<float> for_float;
  isa_kernels<double> for_double;
};

}  // namespace softlab::peers::detail

// The per-ISA tables; nullptr where the peer has no kernels for that ISA (Highway has no SSE2
// target). Returning a pointer to constant data runs none of the ISA's instructions.
#define SOFTLAB_PEER_ISA_TABLES(peer)       \
  namespace softlab::peers::peer##_sse2 {   \
    const detail::isa_tables* tables();     \
  }                                         \
  namespace softlab::peers::peer##_avx2 {   \
    const detail::isa_tables* tables();     \
  }                                         \
  namespace softlab::peers::peer##_avx512 { \
    const detail::isa_tables* tables();     \
  }

SOFTLAB_PEER_ISA_TABLES(sleef)
SOFTLAB_PEER_ISA_TABLES(highway)
SOFTLAB_PEER_ISA_TABLES(eigen)

#undef SOFTLAB_PEER_ISA_TABLES
