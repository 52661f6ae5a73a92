// exp_exhaustive/exp_avx512.cpp: the exp kernels for AVX-512 F, BW, DQ and VL (xsimd 8.1's
// avx512bw), compiled with cmake/SoftlabIsa.cmake's avx512 flags, as impl/src/kernels_avx512.cpp
// is. Called only when the CPU has them (softlab::available_isas()). Only the instantiation lives
// here (see exp_avx2.cpp).
#include "exp_kernels_isa.hpp"

namespace softlab::exp_exhaustive::avx512 {
kernel_set kernels() { return kernels_for<simd::arch::avx512>::table(); }
}  // namespace softlab::exp_exhaustive::avx512
