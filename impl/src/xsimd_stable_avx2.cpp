// AVX2 + FMA instantiation (xsimd 8.1's fma3<avx2>), compiled with -mavx2 -mfma.
#include <softlab/simd/xsimd_stable_kernel.hpp>

namespace softlab::simd::avx2 {
using arch = xsimd::fma3<xsimd::avx2>;
const stable_passes<float>& float_passes() { return xsimd_stable_kernel<arch, float>::passes; }
const stable_passes<double>& double_passes() { return xsimd_stable_kernel<arch, double>::passes; }
}  // namespace softlab::simd::avx2
