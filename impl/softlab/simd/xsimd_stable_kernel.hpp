// softlab/simd/xsimd_stable_kernel.hpp: the vectorized passes of softlab::xsimd_stable,
// templates on the xsimd architecture. Included only by the per-ISA translation units
// (impl/src/xsimd_stable_<isa>.cpp), each compiled with its own -m flags.
//
// Every function here is a template on Arch, and nothing here calls a non-template inline
// function or std:: scalar math: the linker merges identical inline symbols across objects and
// could otherwise keep an AVX2-encoded copy for the SSE2 path. The non-finite-max limits, log
// and the argument checks run in the ISA-neutral dispatcher (impl/src/xsimd_stable.cpp).
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>

namespace softlab::simd {

/// The passes one ISA provides for one element type; the dispatcher composes them.
template <class T>
struct stable_passes {
  T (*max)(const T* x, std::size_t n);  ///< ignores NaN ordering; the dispatcher rechecks
  T (*store_exp_and_sum)(const T* x, T shift, T* y, std::size_t n);
  T (*exp_sum)(const T* x, T shift, std::size_t n);
  void (*multiply)(T* y, T factor, std::size_t n);
  void (*shifted_minus)(const T* x, T shift, T log_sum, T* y, std::size_t n);  ///< (x - s) - l
};

template <class Arch, class T>
struct xsimd_stable_kernel {
  using batch = xsimd::batch<T, Arch>;
  static constexpr std::size_t width = batch::size;
  static constexpr std::size_t unroll = 4;  // independent accumulators: hide the add latency

  /// The last n % width elements, padded with `pad` (-inf: exp gives 0, max ignores it).
  static batch load_tail(const T* x, std::size_t count, T pad) {
    alignas(Arch::alignment()) T buffer[width];
    for (std::size_t i = 0; i < width; ++i) buffer[i] = i < count ? x[i] : pad;
    return batch::load_aligned(buffer);
  }
  static void store_tail(const batch& v, T* y, std::size_t count) {
    alignas(Arch::alignment()) T buffer[width];
    v.store_aligned(buffer);
    for (std::size_t i = 0; i < count; ++i) y[i] = buffer[i];
  }
  static T horizontal_max(const batch& v) {
    alignas(Arch::alignment()) T buffer[width];
    v.store_aligned(buffer);
    T m = buffer[0];
    for (std::size_t i = 1; i < width; ++i) m = buffer[i] > m ? buffer[i] : m;
    return m;
  }

  static T max(const T* x, std::size_t n) {
    const T minus_inf = -T(__builtin_inf());
    batch acc[unroll];
    for (auto& a : acc) a = batch(minus_inf);
    std::size_t i = 0;
    for (; i + unroll * width <= n; i += unroll * width)
      for (std::size_t u = 0; u < unroll; ++u)
        acc[u] = xsimd::max(acc[u], batch::load_unaligned(x + i + u * width));
    for (; i + width <= n; i += width) acc[0] = xsimd::max(acc[0], batch::load_unaligned(x + i));
    if (i < n) acc[1] = xsimd::max(acc[1], load_tail(x + i, n - i, minus_inf));
    return horizontal_max(xsimd::max(xsimd::max(acc[0], acc[1]), xsimd::max(acc[2], acc[3])));
  }

  template <bool store>
  static T exp_sum_impl(const T* x, T shift, T* y, std::size_t n) {
    const batch s(shift);
    batch acc[unroll];
    for (auto& a : acc) a = batch(T(0));
    std::size_t i = 0;
    for (; i + unroll * width <= n; i += unroll * width)
      for (std::size_t u = 0; u < unroll; ++u) {
        const batch e = xsimd::exp(batch::load_unaligned(x + i + u * width) - s);
        if constexpr (store) e.store_unaligned(y + i + u * width);
        acc[u] += e;
      }
    for (; i + width <= n; i += width) {
      const batch e = xsimd::exp(batch::load_unaligned(x + i) - s);
      if constexpr (store) e.store_unaligned(y + i);
      acc[0] += e;
    }
    if (i < n) {
      const batch e = xsimd::exp(load_tail(x + i, n - i, -T(__builtin_inf())) - s);
      if constexpr (store) store_tail(e, y + i, n - i);
      acc[1] += e;
    }
    return xsimd::hadd((acc[0] + acc[1]) + (acc[2] + acc[3]));
  }
  static T store_exp_and_sum(const T* x, T shift, T* y, std::size_t n) {
    return exp_sum_impl<true>(x, shift, y, n);
  }
  static T exp_sum(const T* x, T shift, std::size_t n) {
    return exp_sum_impl<false>(x, shift, nullptr, n);
  }

  static void multiply(T* y, T factor, std::size_t n) {
    const batch f(factor);
    std::size_t i = 0;
    for (; i + width <= n; i += width) (batch::load_unaligned(y + i) * f).store_unaligned(y + i);
    if (i < n) store_tail(load_tail(y + i, n - i, T(0)) * f, y + i, n - i);
  }

  static void shifted_minus(const T* x, T shift, T log_sum, T* y, std::size_t n) {
    const batch s(shift), l(log_sum);
    std::size_t i = 0;
    for (; i + width <= n; i += width)
      ((batch::load_unaligned(x + i) - s) - l).store_unaligned(y + i);
    if (i < n) store_tail((load_tail(x + i, n - i, T(0)) - s) - l, y + i, n - i);
  }

  static constexpr stable_passes<T> passes{&max, &store_exp_and_sum, &exp_sum, &multiply,
                                           &shifted_minus};
};

}  // namespace softlab::simd
