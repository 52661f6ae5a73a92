// Every vectorized kernel for SSE2, compiled without any -m flag beyond the x86-64 baseline;
// tests/isa/check_isa_object.cmake disassembles this object and fails on VEX or EVEX code.
#include "../kernel_tables.hpp"

#include <softlab_kernels/flash_kernel.hpp>

namespace softlab::simd::sse2 {
constinit const kernel_table<float> float_table = table_of<arch::sse2, float>;
constinit const kernel_table<double> double_table = table_of<arch::sse2, double>;
}  // namespace softlab::simd::sse2
