// What each instruction set's translation unit (kernels_<isa>.cpp) provides, and the choice of
// one by softlab::active_isa(). Internal to the library.
#pragma once

#include <softlab/simd/isa.hpp>
#include <softlab_kernels/accurate_kernel.hpp>
#include <softlab_kernels/fast_kernel.hpp>
#include <softlab_kernels/xsimd_kernel.hpp>

#include <type_traits>

namespace softlab::simd {

template <class T>
struct kernel_table {
  const xsimd_passes<T>* xsimd;
  const fast_passes<T>* fast;
  const accurate_float_passes* accurate;  ///< float only (double: scalar long double)
};

/// One ISA's table, built from the kernel templates (used by kernels_<isa>.cpp only).
template <class Arch, class T>
inline constexpr kernel_table<T> table_of{
    &xsimd_kernel<Arch, T>::passes, &fast_kernel<Arch, T>::passes,
    std::is_same_v<T, float> ? &accurate_float_kernel<Arch>::passes : nullptr};

namespace sse2 {
const kernel_table<float>& float_table();
const kernel_table<double>& double_table();
}  // namespace sse2
namespace avx2 {
const kernel_table<float>& float_table();
const kernel_table<double>& double_table();
}  // namespace avx2

template <class T>
const kernel_table<T>& active_table() {
  const bool wide = active_isa() == isa::avx2;
  if constexpr (std::is_same_v<T, float>)
    return wide ? avx2::float_table() : sse2::float_table();
  else
    return wide ? avx2::double_table() : sse2::double_table();
}

}  // namespace softlab::simd
