// bench/passes_sse2.cpp: the passes/ microbenchmark loops (passes_loops.hpp) for sse2, compiled
// with cmake/SoftlabIsa.cmake's sse2 flags (the x86-64 baseline: every CPU runs it).
#include "passes_loops.hpp"

namespace softlab::bench::passes::sse2 {
loops float_loops() { return loops_for<simd::arch::sse2>::table(); }
}  // namespace softlab::bench::passes::sse2
