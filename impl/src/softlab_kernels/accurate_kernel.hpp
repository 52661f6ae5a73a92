// src/softlab_kernels/accurate_kernel.hpp: the vectorized passes of softlab::accurate for float:
// every exp and sum in double lanes, one rounding to float at the end. Templates on the xsimd
// architecture, composed by the ISA-neutral dispatcher (impl/src/accurate.cpp). Included only by
// the per-ISA translation units (see src/softlab_kernels/lanes.hpp).
#pragma once

#include <softlab_kernels/exp_kernel.hpp>
#include <softlab_kernels/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>

namespace softlab::simd {

/// What one ISA provides for accurate<float>. m is the row max; exps are exp(x_i - m) in double.
struct accurate_float_passes {
  float (*max)(const float* x, std::size_t n);
  double (*store_exp_and_sum)(const float* x, float m, double* e, std::size_t n);
  double (*exp_sum)(const float* x, float m, std::size_t n);
  /// y_i = float(e_i * inverse)
  void (*scale_to_float)(const double* e, double inverse, float* y, std::size_t n);
  /// y_i = float(exp(x_i - m) * inverse), streaming stores when `stream` (y need not be aligned)
  void (*exp_scaled_to_float)(const float* x, float m, double inverse, float* y, std::size_t n,
                              bool stream);
  /// y_i = float((x_i - m) - log_sum), the difference exact in double
  void (*log_softmax)(const float* x, float m, double log_sum, float* y, std::size_t n);
};

template <class Arch>
struct accurate_float_kernel {
  using floats = ::xsimd::batch<float, Arch>;
  using doubles = ::xsimd::batch<double, Arch>;
  using widen = widen_float<Arch>;
  using lane = lanes<Arch, float>;
  using exp = exp_kernel<Arch, double, 7>;
  static constexpr std::size_t width = floats::size;  // floats per step: two double vectors
  static constexpr std::size_t half = doubles::size;

  /// x - m in double: exact when the exponents of x and m are within 29 of each other, else
  /// rounded by 2^-53 |x - m|, 2^-30 of a float ULP for every exp that is not 0 in float.
  struct shifted {
    doubles low, high;
    shifted(const floats& x, const doubles& m) : low(widen::low(x) - m), high(widen::high(x) - m) {}
  };

  /// f(i, exp_low, exp_high, count, aligned) on every step of `width` elements, i from 0, the
  /// tail padded with -inf (exp 0) and given its count: the walk of
  /// detail::for_each_block_aligned_to, two steps at a time where it can. aligned: y + i is
  /// vector-aligned and `stream` was asked for (y is read only then).
  template <class F>
  static void for_each_exp(const float* x, float m, std::size_t n, const float* y, bool stream,
                           F&& f) {
    const doubles dm(static_cast<double>(m));
    detail::for_each_block_aligned_to<width, 2 * width, width * sizeof(float)>(
        y, n, stream,
        [&](std::size_t i, bool aligned) {
          const shifted a(floats::load_unaligned(x + i), dm),
              b(floats::load_unaligned(x + i + width), dm);
          std::array<doubles, 4> e{a.low, a.high, b.low, b.high};
          exp::of_exact(e);
          f(i, e[0], e[1], width, aligned);
          f(i + width, e[2], e[3], width, aligned);
        },
        [&](std::size_t i, bool aligned) {
          const shifted d(floats::load_unaligned(x + i), dm);
          std::array<doubles, 2> e{d.low, d.high};
          exp::of_exact(e);
          f(i, e[0], e[1], width, aligned);
        },
        [&](std::size_t i, std::size_t count) {
          const shifted d(lane::load_tail(x + i, count, -__builtin_inff()), dm);
          f(i, exp::of_exact(d.low), exp::of_exact(d.high), count, false);
        });
  }

  static double store_exp_and_sum(const float* x, float m, double* e, std::size_t n) {
    doubles sum_low(0.0), sum_high(0.0);
    for_each_exp(x, m, n, nullptr, false,
                 [&](std::size_t i, const doubles& lo, const doubles& hi, std::size_t c, bool) {
                   sum_low += lo;
                   sum_high += hi;
                   if (c == width) {
                     lo.store_unaligned(e + i);
                     hi.store_unaligned(e + i + half);
                   } else {
                     alignas(Arch::alignment()) double buffer[width];
                     lo.store_aligned(buffer);
                     hi.store_aligned(buffer + half);
                     for (std::size_t k = 0; k < c; ++k) e[i + k] = buffer[k];
                   }
                 });
    return ::xsimd::hadd(sum_low + sum_high);
  }

  static double exp_sum(const float* x, float m, std::size_t n) {
    doubles sum_low(0.0), sum_high(0.0);
    for_each_exp(x, m, n, nullptr, false,
                 [&](std::size_t, const doubles& lo, const doubles& hi, std::size_t, bool) {
                   sum_low += lo;
                   sum_high += hi;
                 });
    return ::xsimd::hadd(sum_low + sum_high);
  }

  static void scale_to_float(const double* e, double inverse, float* y, std::size_t n) {
    const doubles f(inverse);
    detail::for_each_vector<width>(
        n,
        [&](std::size_t i) {
          widen::narrow(doubles::load_unaligned(e + i) * f,
                        doubles::load_unaligned(e + i + half) * f)
              .store_unaligned(y + i);
        },
        [&](std::size_t i, std::size_t count) {
          for (std::size_t k = i; k < i + count; ++k) y[k] = static_cast<float>(e[k] * inverse);
        });
  }

  static void exp_scaled_to_float(const float* x, float m, double inverse, float* y, std::size_t n,
                                  bool stream) {
    const doubles f(inverse);
    // Plain stores up to the first vector-aligned y, streaming stores from there when `stream`.
    for_each_exp(
        x, m, n, y, stream,
        [&](std::size_t i, const doubles& lo, const doubles& hi, std::size_t c, bool aligned) {
          const floats v = widen::narrow(lo * f, hi * f);
          if (c < width)
            lane::store_tail(v, y + i, c);
          else
            lane::store(v, y + i, aligned);
        });
    if (stream) _mm_sfence();  // streamed stores are weakly ordered: visible before returning
  }

  static void log_softmax(const float* x, float m, double log_sum, float* y, std::size_t n) {
    const doubles dm(static_cast<double>(m)), l(log_sum);
    lane::transform(x, y, n, 0.0f, [&](const floats& v) {
      const shifted d(v, dm);
      return widen::narrow(d.low - l, d.high - l);
    });
  }

  static constexpr accurate_float_passes passes{
      &lane::max,      &store_exp_and_sum,   &exp_sum,
      &scale_to_float, &exp_scaled_to_float, &log_softmax};
};

}  // namespace softlab::simd
