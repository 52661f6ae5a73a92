// SSE2 instantiation of the vectorized stable softmax. Compiled without any -m flag beyond the
// x86-64 baseline; tests/check_no_vex.cmake disassembles this object and fails on VEX code.
#include <softlab/simd/xsimd_stable_kernel.hpp>

namespace softlab::simd::sse2 {
const stable_passes<float>& float_passes() {
  return xsimd_stable_kernel<xsimd::sse2, float>::passes;
}
const stable_passes<double>& double_passes() {
  return xsimd_stable_kernel<xsimd::sse2, double>::passes;
}
}  // namespace softlab::simd::sse2
