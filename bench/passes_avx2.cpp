// bench/passes_avx2.cpp: the passes/ microbenchmark loops (passes_loops.hpp) for avx2, compiled
// with cmake/SoftlabIsa.cmake's avx2 flags; called only when the CPU has them.
#include "passes_loops.hpp"

namespace softlab::bench::passes::avx2 {
loops float_loops() { return loops_for<simd::arch::avx2>::table(); }
}  // namespace softlab::bench::passes::avx2
