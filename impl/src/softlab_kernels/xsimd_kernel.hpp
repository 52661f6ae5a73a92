// src/softlab_kernels/xsimd_kernel.hpp: the vectorized passes of softlab::xsimd,
// templates on the xsimd architecture. Included only by the per-ISA translation units
// (impl/src/kernels_<isa>.cpp), each compiled with its own -m flags.
//
// The non-finite-max limits, log and the argument checks run in the ISA-neutral dispatcher
// (impl/src/xsimd.cpp); see src/softlab_kernels/lanes.hpp for the rules of these headers.
#pragma once

#include <softlab_kernels/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <cstddef>

namespace softlab::simd {

/// The passes one ISA provides for one element type; the dispatcher composes them.
template <class T>
struct xsimd_passes {
  T (*max)(const T* x, std::size_t n);  ///< ignores NaN ordering; the dispatcher rechecks
  T (*store_exp_and_sum)(const T* x, T shift, T* y, std::size_t n);
  T (*exp_sum)(const T* x, T shift, std::size_t n);
  void (*multiply)(T* y, T factor, std::size_t n);
  void (*shifted_minus)(const T* x, T shift, T log_sum, T* y, std::size_t n);  ///< (x - s) - l
};

template <class Arch, class T>
struct xsimd_kernel {
  using batch = ::xsimd::batch<T, Arch>;
  static constexpr std::size_t width = batch::size;
  using lane = lanes<Arch, T>;
  static constexpr std::size_t unroll = lane::unroll;

  /// exp(v), its argument kept where xsimd 8.1's exp is defined: it converts v / log 2 to an
  /// integer, for double without AVX-512 in scalar code, where +-inf (a -inf score, the -inf
  /// padding of a tail, an overflowed difference) or NaN to int64 is undefined behaviour
  /// (UBSan's float-cast-overflow in clang's sanitize build). v is clamped to [-1000, 1000]
  /// (exp is 0 below and inf above in float and double alike) with NaN as -1000, and a NaN v
  /// comes back out as itself: the same results, bit for bit.
  static batch exp_of(const batch& v) {
    const batch lowest(T(-1000)), highest(T(1000));
    const batch clamped =
        ::xsimd::select(v >= lowest, ::xsimd::select(v <= highest, v, highest), lowest);
    return ::xsimd::select(v == v, ::xsimd::exp(clamped), v);
  }

  template <bool store>
  static T exp_sum_impl(const T* x, T shift, T* y, std::size_t n) {
    const batch s(shift);
    batch acc[unroll];
    for (auto& a : acc) a = batch(T(0));
    detail::for_each_block<width, unroll * width>(
        0, n,
        [&](std::size_t i) {
          for (std::size_t u = 0; u < unroll; ++u) {
            const batch e = exp_of(batch::load_unaligned(x + i + u * width) - s);
            if constexpr (store) e.store_unaligned(y + i + u * width);
            acc[u] += e;
          }
        },
        [&](std::size_t i) {
          const batch e = exp_of(batch::load_unaligned(x + i) - s);
          if constexpr (store) e.store_unaligned(y + i);
          acc[0] += e;
        },
        [&](std::size_t i, std::size_t count) {
          const batch e = exp_of(lane::load_tail(x + i, count, -T(__builtin_inf())) - s);
          if constexpr (store) lane::store_tail(e, y + i, count);
          acc[1] += e;
        });
    return ::xsimd::hadd((acc[0] + acc[1]) + (acc[2] + acc[3]));
  }
  static T store_exp_and_sum(const T* x, T shift, T* y, std::size_t n) {
    return exp_sum_impl<true>(x, shift, y, n);
  }
  static T exp_sum(const T* x, T shift, std::size_t n) {
    return exp_sum_impl<false>(x, shift, nullptr, n);
  }

  static void multiply(T* y, T factor, std::size_t n) {
    const batch f(factor);
    lane::transform(y, y, n, T(0), [&](const batch& v) { return v * f; });
  }

  static constexpr xsimd_passes<T> passes{&lane::max, &store_exp_and_sum, &exp_sum, &multiply,
                                          &lane::shifted_minus};
};

}  // namespace softlab::simd
