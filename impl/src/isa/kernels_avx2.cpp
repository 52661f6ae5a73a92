// Every vectorized kernel for AVX2 + FMA (xsimd 8.1's fma3<avx2>), compiled with -mavx2 -mfma.
#include "../kernel_tables.hpp"

#include <softlab_kernels/flash_kernel.hpp>

namespace softlab::simd::avx2 {
constinit const kernel_table<float> float_table = table_of<arch::avx2, float>;
constinit const kernel_table<double> double_table = table_of<arch::avx2, double>;
}  // namespace softlab::simd::avx2
