// softlab/simd/accurate_kernel.hpp: the vectorized passes of softlab::accurate for float: every
// exp and sum in double lanes, one rounding to float at the end. Templates on the xsimd
// architecture, composed by the ISA-neutral dispatcher (impl/src/accurate.cpp). Included only by
// the per-ISA translation units (see softlab/simd/lanes.hpp).
#pragma once

#include <softlab/simd/exp_kernel.hpp>
#include <softlab/simd/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

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

  /// Runs f(index, exp_low, exp_high) over every step of `width` elements, the tail padded
  /// with -inf (exp 0); f gets the number of valid elements.
  template <class F>
  static void for_each_exp(const float* x, float m, std::size_t n, F&& f) {
    const doubles dm(static_cast<double>(m));
    std::size_t i = 0;
    for (; i + 2 * width <= n; i += 2 * width) {
      const shifted a(floats::load_unaligned(x + i), dm),
          b(floats::load_unaligned(x + i + width), dm);
      std::array<doubles, 4> e{a.low, a.high, b.low, b.high};
      exp::of_exact(e);
      f(i, e[0], e[1], width);
      f(i + width, e[2], e[3], width);
    }
    for (; i + width <= n; i += width) {
      const shifted d(floats::load_unaligned(x + i), dm);
      std::array<doubles, 2> e{d.low, d.high};
      exp::of_exact(e);
      f(i, e[0], e[1], width);
    }
    if (i < n) {
      const shifted d(lane::load_tail(x + i, n - i, -__builtin_inff()), dm);
      f(i, exp::of_exact(d.low), exp::of_exact(d.high), n - i);
    }
  }

  static double store_exp_and_sum(const float* x, float m, double* e, std::size_t n) {
    doubles sum_low(0.0), sum_high(0.0);
    for_each_exp(x, m, n, [&](std::size_t i, const doubles& lo, const doubles& hi, std::size_t c) {
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
    for_each_exp(x, m, n, [&](std::size_t, const doubles& lo, const doubles& hi, std::size_t) {
      sum_low += lo;
      sum_high += hi;
    });
    return ::xsimd::hadd(sum_low + sum_high);
  }

  static void scale_to_float(const double* e, double inverse, float* y, std::size_t n) {
    const doubles f(inverse);
    std::size_t i = 0;
    for (; i + width <= n; i += width)
      widen::narrow(doubles::load_unaligned(e + i) * f, doubles::load_unaligned(e + i + half) * f)
          .store_unaligned(y + i);
    for (; i < n; ++i) y[i] = static_cast<float>(e[i] * inverse);
  }

  static void exp_scaled_to_float(const float* x, float m, double inverse, float* y, std::size_t n,
                                  bool stream) {
    const doubles f(inverse);
    std::size_t head = 0;  // elements before the first vector-aligned y, stored plainly
    if (stream) {
      const std::size_t misaligned = reinterpret_cast<std::uintptr_t>(y) % (width * sizeof(float));
      head = misaligned == 0 ? 0 : (width * sizeof(float) - misaligned) / sizeof(float);
      stream = misaligned % sizeof(float) == 0 && head < n;
    }
    if (!stream) head = 0;
    if (head > 0) exp_scaled_to_float(x, m, inverse, y, head, false);
    float* out = y + head;
    for_each_exp(x + head, m, n - head,
                 [&](std::size_t i, const doubles& lo, const doubles& hi, std::size_t c) {
                   const floats v = widen::narrow(lo * f, hi * f);
                   if (c < width)
                     lane::store_tail(v, out + i, c);
                   else if (stream)
                     lane::store_streaming(v, out + i);
                   else
                     v.store_unaligned(out + i);
                 });
    if (stream) _mm_sfence();
  }

  static void log_softmax(const float* x, float m, double log_sum, float* y, std::size_t n) {
    const doubles dm(static_cast<double>(m)), l(log_sum);
    std::size_t i = 0;
    for (; i + width <= n; i += width) {
      const shifted d(floats::load_unaligned(x + i), dm);
      widen::narrow(d.low - l, d.high - l).store_unaligned(y + i);
    }
    if (i < n) {
      const shifted d(lane::load_tail(x + i, n - i, 0.0f), dm);
      lane::store_tail(widen::narrow(d.low - l, d.high - l), y + i, n - i);
    }
  }

  static constexpr accurate_float_passes passes{
      &lane::max,      &store_exp_and_sum,   &exp_sum,
      &scale_to_float, &exp_scaled_to_float, &log_softmax};
};

}  // namespace softlab::simd
