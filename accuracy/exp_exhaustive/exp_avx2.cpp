// exp_exhaustive/exp_avx2.cpp: the exp kernels for AVX2 + FMA (xsimd 8.1's fma3<avx2>), compiled
// with -mavx2 -mfma, as impl/src/kernels_avx2.cpp is. Called only when the CPU has both
// (softlab::available_isas()). Only the instantiation lives here; what is measured and why
// (the domain d <= 0, the headroom, the reference protocol) is in exp_exhaustive.cpp and
// exp_reference.hpp.
#include "exp_kernels_isa.hpp"

namespace softlab::exp_exhaustive::avx2 {
kernel_set kernels() { return kernels_for<simd::arch::avx2>::table(); }
}  // namespace softlab::exp_exhaustive::avx2
