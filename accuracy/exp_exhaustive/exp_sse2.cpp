// exp_exhaustive/exp_sse2.cpp: the exp kernels for SSE2, compiled with no -m flag beyond the
// x86-64 baseline, as impl/src/kernels_sse2.cpp is. Only the instantiation lives here; the loops
// are in exp_kernels_isa.hpp; what is measured and why (the domain d <= 0, the
// headroom, the reference protocol) is in exp_exhaustive.cpp and exp_reference.hpp.
#include "exp_kernels_isa.hpp"

namespace softlab::exp_exhaustive::sse2 {
kernel_set kernels() { return kernels_for<simd::arch::sse2>::table(); }
}  // namespace softlab::exp_exhaustive::sse2
