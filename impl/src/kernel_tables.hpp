// What each instruction set's translation unit (kernels_<isa>.cpp) provides, and the choice of
// one by softlab::active_isa(). Internal to the library.
#pragma once

#include <softlab/simd/isa.hpp>
#include <softlab_kernels/accurate_double_kernel.hpp>
#include <softlab_kernels/accurate_kernel.hpp>
#include <softlab_kernels/fast_kernel.hpp>
#include <softlab_kernels/score_kernel.hpp>
#include <softlab_kernels/xsimd_kernel.hpp>

#include <type_traits>

namespace softlab::simd {

/// accurate's passes differ by type: float computes in double lanes, double in pairs.
template <class T>
using accurate_passes =
    std::conditional_t<std::is_same_v<T, float>, accurate_float_passes, accurate_double_passes>;

// flash attention's kernels (softlab_kernels/flash_kernel.hpp), included by the per-ISA
// translation units and flash.cpp only: the softmax sources do not recompile with them.
struct flash_passes;
template <class Arch>
struct flash_kernel;

template <class T>
struct kernel_table {
  const xsimd_passes<T>* xsimd;
  const fast_passes<T>* fast;
  const accurate_passes<T>* accurate;
  const score_passes<T>* scores;  ///< fast's fused scores (16-bit storage, softmax_options)
  const flash_passes* flash;      ///< flash attention's kernels (float tables only; else null)
};

template <class Arch, class T>
constexpr const accurate_passes<T>* accurate_passes_of() {
  if constexpr (std::is_same_v<T, float>)
    return &accurate_float_kernel<Arch>::passes;
  else
    return &accurate_double_kernel<Arch>::passes;
}

/// One ISA's table, built from the kernel templates (used by kernels_<isa>.cpp only).
template <class Arch, class T>
inline constexpr kernel_table<T> table_of{
    &xsimd_kernel<Arch, T>::passes, &fast_kernel<Arch, T>::passes, accurate_passes_of<Arch, T>(),
    &score_kernel<Arch, T>::table,
    std::is_same_v<T, float> ? &flash_kernel<Arch>::passes : nullptr};

// One namespace per instruction set, each defined (constinit: no static initialization order to
// worry about) by its kernels_<isa>.cpp. Objects, not functions returning them: active_table
// then costs a load and a branch, no call.
#define SOFTLAB_DECLARE_KERNEL_TABLES(isa_namespace) \
  namespace isa_namespace {                          \
  extern const kernel_table<float> float_table;      \
  extern const kernel_table<double> double_table;    \
  }
SOFTLAB_DECLARE_KERNEL_TABLES(sse2)
SOFTLAB_DECLARE_KERNEL_TABLES(avx2)
SOFTLAB_DECLARE_KERNEL_TABLES(avx512)
#undef SOFTLAB_DECLARE_KERNEL_TABLES

template <class T>
const kernel_table<T>& active_table() {
  constexpr bool is_float = std::is_same_v<T, float>;
  switch (active_isa()) {
    case isa::sse2:
      break;
    case isa::avx2:
      if constexpr (is_float)
        return avx2::float_table;
      else
        return avx2::double_table;
    case isa::avx512:
      if constexpr (is_float)
        return avx512::float_table;
      else
        return avx512::double_table;
  }
  if constexpr (is_float)
    return sse2::float_table;
  else
    return sse2::double_table;
}

}  // namespace softlab::simd
