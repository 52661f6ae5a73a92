// bench/passes_loops.hpp: the loops of the passes/ microbenchmarks (passes.hpp), templates on the
// xsimd architecture, instantiated once per instruction set by passes_sse2.cpp, passes_avx2.cpp
// and passes_avx512.cpp (compiled with that ISA's flags, as the library's kernels are).
//
// They take softlab::fast's streaming passes apart: the same loops as
// impl/src/softlab_kernels/fast_kernel.hpp (the same exp, sum and stores), with knobs the library
// fixes: the prefetch distance in bytes, the exp replaced by one multiply (what is left is the
// memory traffic and the loop), plain or non-temporal stores. fast's own passes are here too,
// as shipped, so each variant is read against them in the same run.
//
// Include only from the passes_<isa>.cpp files: every function here is a template on the
// architecture, so no code symbol is shared between the objects (tests/isa/check_isa_object.cmake).
#pragma once

#include <softlab_kernels/exp_kernel.hpp>
#include <softlab_kernels/fast_kernel.hpp>
#include <softlab_kernels/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

#include "passes_table.hpp"

namespace softlab::bench::passes {

template <class Arch>
struct loops_for {
  using lane = simd::lanes<Arch, float>;
  using batch = typename lane::batch;
  using exp = simd::exp_kernel<Arch, float, 6>;
  using shipped = simd::fast_kernel<Arch, float>;
  static constexpr std::size_t width = lane::width;
  static constexpr std::size_t group = 4 * width;  // fast_kernel's four vectors per iteration

  static block_sum from(const simd::wide_sum& s) { return {s.hi, s.lo, s.pivot}; }

  /// One software prefetch per cache line of the group `ahead` bytes past `at` (as
  /// fast_kernel::prefetch), or none when ahead is 0.
  static void prefetch(const float* at, std::size_t ahead) {
    if (ahead == 0) return;
    const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(at) + ahead;
    SOFTLAB_UNROLL for (std::size_t line = 0; line < group * sizeof(float); line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(start + line), _MM_HINT_T0);
  }

  /// The four vectors of a group in place: the shifted exps of pivot p (with_exp), or one
  /// multiply each (what is left of the pass without the exp's arithmetic).
  template <bool with_exp>
  static void apply(std::array<batch, 4>& e, const typename exp::pivot& p, const batch& factor) {
    if constexpr (with_exp) {
      exp::of_row(e, p);
    } else {
      SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) e[u] *= factor;
    }
  }

  /// Pass 1's block loop: the sum of the shifted exps of x (or of x times 1/2), prefetching
  /// `ahead` bytes past every group.
  template <bool with_exp>
  static block_sum sum(const float* x, float m, std::size_t n, std::size_t ahead) {
    const auto p = exp::pivot::shifted(m);
    const batch half(0.5f);
    simd::drift_free_sum<Arch, float> total;
    detail::for_each_block<width, group>(
        0, n,
        [&](std::size_t i) {
          prefetch(x + i, ahead);
          std::array<batch, 4> e;
          SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) e[u] =
              batch::load_unaligned(x + i + u * width);
          apply<with_exp>(e, p, half);
          total.add((e[0] + e[1]) + (e[2] + e[3]));
        },
        [&](std::size_t i) {
          std::array<batch, 4> e{batch::load_unaligned(x + i), batch(0.0f), batch(0.0f),
                                 batch(0.0f)};
          apply<with_exp>(e, p, half);
          total.add(e[0]);
        },
        [&](std::size_t i, std::size_t count) {
          std::array<batch, 4> e{lane::load_tail(x + i, count, -float(__builtin_inf())),
                                 batch(0.0f), batch(0.0f), batch(0.0f)};
          apply<with_exp>(e, p, half);
          total.add(e[0]);
        });
    block_sum result = from(total.total());
    result.pivot = with_exp ? int(p.j) : 0;
    return result;
  }

  /// Pass 2: y = the shifted exps (or x times 1/2) times (hi + lo), with non-temporal stores
  /// from the first aligned y on (`stream`) or plain ones, prefetching x `ahead` bytes on.
  template <bool with_exp>
  static void write(const float* x, float m, float hi, float lo, float* y, std::size_t n,
                    bool stream, std::size_t ahead) {
    const auto p = exp::pivot::shifted(m);
    const batch inverse_hi(hi), inverse_lo(lo), half(0.5f);
    auto times = [&](const batch& v) { return shipped::times(v, inverse_hi, inverse_lo); };
    detail::for_each_block_aligned_to<width, group, width * sizeof(float)>(
        y, n, stream,
        [&](std::size_t i, bool aligned) {
          prefetch(x + i, ahead);
          std::array<batch, 4> e;
          SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) e[u] =
              batch::load_unaligned(x + i + u * width);
          apply<with_exp>(e, p, half);
          SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u)
              lane::store(times(e[u]), y + i + u * width, aligned);
        },
        [&](std::size_t i, bool aligned) {
          std::array<batch, 4> e{batch::load_unaligned(x + i), batch(0.0f), batch(0.0f),
                                 batch(0.0f)};
          apply<with_exp>(e, p, half);
          lane::store(times(e[0]), y + i, aligned);
        },
        [&](std::size_t i, std::size_t count) {
          std::array<batch, 4> e{lane::load_tail(x + i, count, -float(__builtin_inf())),
                                 batch(0.0f), batch(0.0f), batch(0.0f)};
          apply<with_exp>(e, p, half);
          lane::store_tail(times(e[0]), y + i, count);
        });
    if (stream) _mm_sfence();
  }

  static block_sum shipped_block_sum(const float* x, float m, std::size_t n) {
    return from(shipped::passes.shifted_exp_sum(x, m, n));
  }

  static loops table() {
    return {.max = &lane::max,
            .exp_sum = &sum<true>,
            .mul_sum = &sum<false>,
            .exp_write = &write<true>,
            .mul_write = &write<false>,
            .shipped_block_sum = &shipped_block_sum,
            .shipped_write = shipped::passes.stream_exp_scaled};
  }
};

}  // namespace softlab::bench::passes
