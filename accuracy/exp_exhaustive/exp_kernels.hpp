// exp_exhaustive/exp_kernels.hpp: the three exp kernels of src/softlab_kernels/exp_kernel.hpp as
// plain functions over arrays, one set per instruction set (exp_sse2.cpp, exp_avx2.cpp). This
// header is ISA-neutral: it names no xsimd type, so the main program (exp_exhaustive.cpp) is
// compiled for the x86-64 baseline and calls the AVX2 set only after softlab::available_isas() says
// the CPU has AVX2 and FMA.
//
// Each function evaluates exp_kernel<Arch, T, Degree>::of_exact, the entry point the softmax
// kernels use for an exact argument d = x - max: 2^headroom exp(d), d clamped below at
// exp_constants<T, Degree>::lowest_argument. Its domain in softmax is d <= 0; the headroom
// scales every result that is not 0 in the caller's type to a normal number, so that gradual
// underflow happens once, in the caller's final multiply by 2^-headroom / sum.
#pragma once

#include <softlab/simd/isa.hpp>

#include <cstddef>

namespace softlab::exp_exhaustive {

/// Which of of_exact's two entry points runs: of_exact(std::array<batch, 4>&), four vectors
/// interleaved as the softmax kernels call it, or of_exact(const batch&), one vector at a time.
/// Both must give the same bits (the program checks it on every input).
enum class entry { unrolled, single };

/// A kernel's exp_constants, for the ISA-neutral code (which includes no xsimd header).
struct kernel_constants {
  int headroom;            ///< the result is 2^headroom exp(d)
  double lowest_argument;  ///< d below it (and -inf) is clamped to it
  bool clamped_to_zero;    ///< a clamped d gives exactly 0, not the exp at lowest_argument
};

/// One instruction set's kernels. n is any count: the tail is padded with 0 and not stored.
struct kernel_set {
  /// y = 2^64 exp(d) in float lanes: exp_kernel<Arch, float, 6> (softlab::fast, float).
  void (*float_exp)(const float* d, float* y, std::size_t n, entry how);
  /// y = exp(d) in double lanes, d widened from float: exp_kernel<Arch, double, 7>, headroom 0
  /// (softlab::accurate, float: the result is rounded to float afterwards).
  void (*float_exp_in_double)(const float* d, double* y, std::size_t n, entry how);
  /// y = 2^(64 - j) exp(x) in float lanes, the shifted exps of softlab::fast's in-cache float
  /// softmax: exp_kernel<Arch, float, 6>::of_row with pivot::shifted(m) for a row max m with
  /// |m| < 240, x <= m. Returns the pivot exponent j = round(m / ln 2).
  int (*float_exp_pivoted)(const float* x, float m, float* y, std::size_t n, entry how);
  /// y = 2^512 exp(d) in double lanes: exp_kernel<Arch, double, 11> (softlab::fast, double).
  void (*double_exp)(const double* d, double* y, std::size_t n, entry how);
  kernel_constants float_constants, float_in_double_constants, double_constants;
};

namespace sse2 {
kernel_set kernels();  // exp_sse2.cpp: x86-64 baseline, no -m flag
}
namespace avx2 {
kernel_set kernels();  // exp_avx2.cpp: -mavx2 -mfma; call only when the CPU has both
}
namespace avx512 {
kernel_set kernels();  // exp_avx512.cpp: AVX-512 F/BW/DQ/VL; call only when the CPU has them
}

/// The kernels of one instruction set.
inline kernel_set kernels_of(isa which) {
  switch (which) {
    case isa::avx512:
      return avx512::kernels();
    case isa::avx2:
      return avx2::kernels();
    case isa::sse2:
      break;
  }
  return sse2::kernels();
}

}  // namespace softlab::exp_exhaustive
