// src/softlab_kernels/accurate_kernel.hpp: the vectorized passes of softlab::accurate for float:
// every exp and sum in double lanes, one rounding to float at the end. Templates on the xsimd
// architecture, composed by the ISA-neutral dispatcher (impl/src/accurate.cpp). Included only by
// the per-ISA translation units (see src/softlab_kernels/lanes.hpp).
#pragma once

#include <softlab_kernels/exp_kernel.hpp>
#include <softlab_kernels/fast_kernel.hpp>
#include <softlab_kernels/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>

namespace softlab::simd {

/// What one ISA provides for accurate<float>. m is the row max; exps are exp(x_i - m) in double.
struct accurate_float_passes {
  /// The whole softmax of a row of n <= small_row_elements<float> elements in one call, its
  /// exps kept in double registers (or the stack); false, y untouched, when the max is not
  /// finite (the dispatcher then writes the limit).
  bool (*small_softmax)(const float* x, float* y, std::size_t n);
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

  /// max; exps exp(x_i - m) in double, summed in two double accumulators as exp_sum sums them;
  /// y_i = float(e_i / s): the same arithmetic, and so the same bits, as the dispatcher's
  /// passes. As in fast_kernel::small_softmax, only a row of one vector stays in registers; a
  /// longer one runs the passes here (its exps on the stack, 1 KiB of doubles at most), which
  /// were faster than an array of the row's vectors from two vectors on (64 rotating rows,
  /// medians, the Zen 5 VM, 2026-12-03, ns a call, array against passes: AVX-512 n = 32 21.2 /
  /// 19.6, 64 40.7 / 33.8, 256 125 / 104; AVX2 64 62.4 / 55.6; SSE2 16 41.1 / 36.4).
  static bool small_softmax(const float* x, float* y, std::size_t n) {
    return n <= width ? one_vector_softmax(x, y, n) : passes_softmax(x, y, n);
  }
  /// small_softmax of a row of more than one vector: a call of its own, so that the one-vector
  /// path pays none of its frame (fast_kernel::passes_softmax says why).
  [[gnu::noinline]] static bool passes_softmax(const float* x, float* y, std::size_t n) {
    const float m = lane::max(x, n);
    if (!(m - m == 0.0f)) return false;  // not finite (no ISA-neutral helper in this object)
    std::array<double, small_row_bytes / sizeof(float)> e;
    const double sum = store_exp_and_sum(x, m, e.data(), n);
    scale_to_float(e.data(), 1.0 / sum, y, n);
    return true;
  }
  /// small_softmax of a row of n <= width elements, padded with -inf to one vector.
  SOFTLAB_ALWAYS_INLINE static bool one_vector_softmax(const float* x, float* y, std::size_t n) {
    const floats row =
        n == width ? floats::load_unaligned(x) : lane::load_tail(x, n, -__builtin_inff());
    const float m = lane::horizontal_max(row);
    if (!(m - m == 0.0f)) return false;
    const shifted d(row, doubles(static_cast<double>(m)));
    std::array<doubles, 2> e{d.low, d.high};
    exp::of_exact(e);
    const doubles inverse(1.0 / ::xsimd::hadd(e[0] + e[1]));
    const floats scaled = widen::narrow(e[0] * inverse, e[1] * inverse);
    if (n == width)
      scaled.store_unaligned(y);
    else
      lane::store_tail(scaled, y, n);
    return true;
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
      &small_softmax,  &lane::max,           &store_exp_and_sum, &exp_sum,
      &scale_to_float, &exp_scaled_to_float, &log_softmax};
};

}  // namespace softlab::simd
