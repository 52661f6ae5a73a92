// Every vectorized kernel for SSE2, compiled without any -m flag beyond the x86-64 baseline;
// tests/core/check_no_vex.cmake disassembles this object and fails on VEX code.
#include "../kernel_tables.hpp"

namespace softlab::simd::sse2 {
const kernel_table<float>& float_table() { return table_of<::xsimd::sse2, float>; }
const kernel_table<double>& double_table() { return table_of<::xsimd::sse2, double>; }
}  // namespace softlab::simd::sse2
