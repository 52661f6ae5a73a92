// bench/passes_avx512.cpp: the passes/ microbenchmark loops (passes_loops.hpp) for avx512, compiled
// with cmake/SoftlabIsa.cmake's avx512 flags; called only when the CPU has them.
#include "passes_loops.hpp"

namespace softlab::bench::passes::avx512 {
loops float_loops() { return loops_for<simd::arch::avx512>::table(); }
}  // namespace softlab::bench::passes::avx512
