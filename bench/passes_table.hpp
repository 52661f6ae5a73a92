// bench/passes_table.hpp: what each instruction set's passes_<isa>.cpp gives the passes/
// microbenchmarks (passes.hpp): its loops on float rows, as plain function pointers, so that
// passes.cpp needs no xsimd and no ISA flags.
#pragma once

#include <cstddef>

namespace softlab::bench::passes {

/// A partial sum of one block as the kernels return it: hi + lo, the terms scaled by 2^-pivot.
struct block_sum {
  double hi = 0, lo = 0;
  int pivot = 0;
};

struct loops {
  float (*max)(const float* x, std::size_t n);
  /// Pass 1's block loop, prefetching `ahead` bytes past each group (0: no prefetch): the sum
  /// of fast's shifted exps (exp_sum) or of x / 2 (mul_sum: the exp replaced by a multiply).
  block_sum (*exp_sum)(const float* x, float m, std::size_t n, std::size_t ahead);
  block_sum (*mul_sum)(const float* x, float m, std::size_t n, std::size_t ahead);
  /// Pass 2: y = the shifted exps (exp_write) or x / 2 (mul_write) times (hi + lo), with
  /// non-temporal stores when `stream`, else plain ones, prefetching x `ahead` bytes on.
  void (*exp_write)(const float* x, float m, float hi, float lo, float* y, std::size_t n,
                    bool stream, std::size_t ahead);
  void (*mul_write)(const float* x, float m, float hi, float lo, float* y, std::size_t n,
                    bool stream, std::size_t ahead);
  /// fast's own loops as the library ships them (fast_kernel::passes).
  block_sum (*shipped_block_sum)(const float* x, float m, std::size_t n);
  void (*shipped_write)(const float* x, float m, float hi, float lo, float* y, std::size_t n);
};

namespace sse2 {
loops float_loops();
}
namespace avx2 {
loops float_loops();  ///< only for a CPU with AVX2 + FMA
}
namespace avx512 {
loops float_loops();  ///< only for a CPU with AVX-512
}

}  // namespace softlab::bench::passes
