// Every vectorized kernel for AVX-512 F, BW, DQ and VL (xsimd 8.1's avx512bw), compiled with
// cmake/SoftlabIsa.cmake's avx512 flags; called only when softlab::cpu_supports(isa::avx512).
#include "../kernel_tables.hpp"

#include <softlab_kernels/flash_kernel.hpp>

namespace softlab::simd::avx512 {
constinit const kernel_table<float> float_table = table_of<arch::avx512, float>;
constinit const kernel_table<double> double_table = table_of<arch::avx512, double>;
}  // namespace softlab::simd::avx512
