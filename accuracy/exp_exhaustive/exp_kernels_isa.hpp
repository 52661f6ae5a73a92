// exp_exhaustive/exp_kernels_isa.hpp: the loops behind exp_kernels.hpp's kernel_set, templates
// on the xsimd architecture, included only by the per-ISA translation units exp_sse2.cpp and
// exp_avx2.cpp.
//
// As in src/softlab_kernels/lanes.hpp, every function here is a template on Arch and calls nothing
// but templates on Arch: the linker merges identical inline symbols across objects and could
// otherwise keep an AVX2-encoded copy for the SSE2 path, and the "sse2" figures would then be
// AVX2's (tests/accuracy checks the SSE2 object for VEX code, as tests/core does the library's).
#pragma once

#include "exp_kernels.hpp"

#include <softlab_kernels/exp_kernel.hpp>
#include <softlab_kernels/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>

namespace softlab::exp_exhaustive {

template <class Arch>
struct kernels_for {
  static constexpr std::size_t unroll = 4;  // the softmax kernels' of_exact<4>

  /// y = kernel(d) where the argument and the result have the kernel's lane type.
  template <class T, int Degree>
  static void same_lanes(const T* d, T* y, std::size_t n, entry how) {
    using kernel = simd::exp_kernel<Arch, T, Degree>;
    using batch = typename kernel::batch;
    using lane = simd::lanes<Arch, T>;
    constexpr std::size_t width = batch::size;
    std::size_t i = 0;
    if (how == entry::unrolled) {
      for (; i + unroll * width <= n; i += unroll * width) {
        std::array<batch, unroll> v;
        for (std::size_t u = 0; u < unroll; ++u) v[u] = batch::load_unaligned(d + i + u * width);
        kernel::of_exact(v);
        for (std::size_t u = 0; u < unroll; ++u) v[u].store_unaligned(y + i + u * width);
      }
    }
    for (; i + width <= n; i += width)
      kernel::of_exact(batch::load_unaligned(d + i)).store_unaligned(y + i);
    if (i < n)
      lane::store_tail(kernel::of_exact(lane::load_tail(d + i, n - i, T(0))), y + i, n - i);
  }

  static void float_exp(const float* d, float* y, std::size_t n, entry how) {
    same_lanes<float, 6>(d, y, n, how);
  }

  static int float_exp_pivoted(const float* x, float m, float* y, std::size_t n, entry how) {
    using kernel = simd::exp_kernel<Arch, float, 6>;
    using batch = typename kernel::batch;
    using lane = simd::lanes<Arch, float>;
    constexpr std::size_t width = batch::size;
    const auto p = kernel::pivot::shifted(m);
    std::size_t i = 0;
    if (how == entry::unrolled) {
      for (; i + unroll * width <= n; i += unroll * width) {
        std::array<batch, unroll> v;
        for (std::size_t u = 0; u < unroll; ++u) v[u] = batch::load_unaligned(x + i + u * width);
        kernel::of_row(v, p);
        for (std::size_t u = 0; u < unroll; ++u) v[u].store_unaligned(y + i + u * width);
      }
    }
    for (; i + width <= n; i += width)
      kernel::of_row(batch::load_unaligned(x + i), p).store_unaligned(y + i);
    if (i < n) lane::store_tail(kernel::of_row(lane::load_tail(x + i, n - i, m), p), y + i, n - i);
    return int(p.j);
  }
  static void double_exp(const double* d, double* y, std::size_t n, entry how) {
    same_lanes<double, 11>(d, y, n, how);
  }

  /// y = exp(double(d)): each float vector widened to two double vectors (widen_float, as
  /// softlab::accurate does), two float vectors per of_exact<4> call.
  static void float_exp_in_double(const float* d, double* y, std::size_t n, entry how) {
    using kernel = simd::exp_kernel<Arch, double, 7>;
    using floats = ::xsimd::batch<float, Arch>;
    using widen = simd::widen_float<Arch>;
    constexpr std::size_t width = floats::size;  // floats per vector: two double vectors
    constexpr std::size_t half = width / 2;
    std::size_t i = 0;
    if (how == entry::unrolled) {
      for (; i + 2 * width <= n; i += 2 * width) {
        const floats a = floats::load_unaligned(d + i), b = floats::load_unaligned(d + i + width);
        std::array<typename kernel::batch, 4> v{widen::low(a), widen::high(a), widen::low(b),
                                                widen::high(b)};
        kernel::of_exact(v);
        for (std::size_t u = 0; u < 4; ++u) v[u].store_unaligned(y + i + u * half);
      }
    }
    for (; i + width <= n; i += width) {
      const floats a = floats::load_unaligned(d + i);
      kernel::of_exact(widen::low(a)).store_unaligned(y + i);
      kernel::of_exact(widen::high(a)).store_unaligned(y + i + half);
    }
    if (i < n) {
      const std::size_t count = n - i;
      const floats a = simd::lanes<Arch, float>::load_tail(d + i, count, 0.0f);
      using lane = simd::lanes<Arch, double>;
      lane::store_tail(kernel::of_exact(widen::low(a)), y + i, count < half ? count : half);
      if (count > half)
        lane::store_tail(kernel::of_exact(widen::high(a)), y + i + half, count - half);
    }
  }

  template <class T, int Degree>
  static constexpr kernel_constants constants_of() {
    using constants = simd::exp_constants<T, Degree>;
    return {int(constants::headroom), double(constants::lowest_argument),
            simd::exp_kernel<Arch, T, Degree>::clamped_to_zero};
  }

  static kernel_set table() {
    return {&float_exp,
            &float_exp_in_double,
            &float_exp_pivoted,
            &double_exp,
            constants_of<float, 6>(),
            constants_of<double, 7>(),
            constants_of<double, 11>()};
  }
};

}  // namespace softlab::exp_exhaustive
