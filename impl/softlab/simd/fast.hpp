// softlab::fast (registry name "fast"): the fastest softmax softlab makes that still keeps the
// contract, float and double, vectorized with runtime ISA dispatch (SSE2; AVX2 + FMA; AVX-512).
//
// Algorithm: m = max x; e_i = 2^h exp(x_i - m) F by softlab's own exp (softlab/simd/
//   exp_kernel.hpp): the rounding of x_i - m, which costs the libraries users ship 60 ULP on
//   scores spread over [-80, 80], never happens: for |m| < 240 (float; double 1520) m is
//   subtracted in the exponent bits, e_i = 2^(h - j) exp(x_i) with j = round(m / ln 2), and
//   the row's factor F = e^(m - j ln 2) cancels in e_i / s; beyond, x_i - m is exact; a
//   degree-6 (float) or 11 (double) polynomial; 2^k by exponent bits; the 2^h headroom keeps
//   every e_i normal. s = sum e_i, four vectors added as a tree and folded into double lanes
//   (float) or a compensated double sum (double), so the sum does not drift with n;
//   y_i = e_i (1/s as a hi + lo pair): one rounding, gradual underflow included. log_softmax,
//   logsumexp and the out-of-cache sums (whose m changes) take exp(x_i - m) exactly (F = 1),
//   the rounding of x_i - m carried into the reduced argument by a two-sum.
// Passes, chosen by size (fast::two_pass_from_elements: double from 4 MiB, float from 8 MiB, as
//   measured):
//   a row of one vector (16 floats on AVX-512, 8 on AVX2, 4 on SSE2; MoE routers' experts),
//   1 read + 1 write: it stays in registers from max to scaling;
//   in cache, 3: read x (max); read x, write e (y) and sum; read + write y (scale); up to 1 KiB
//   (short attention heads) in one call of the ISA's kernel (a row of several vectors held in
//   registers or on the stack measured slower than these passes: fast_kernel.hpp);
//   out of cache, 2: read x once, block by block (the block max then its exps from L1 while
//   the next block is prefetched, the running sum rescaled by 2^(j_old - j_new) when the max
//   grows, as in Milakov & Gimelshein's online softmax), the exps written to y (past the cache
//   when y is aligned); then y scaled in place with non-temporal stores, each exp computed
//   once. The blocks written before the max last moved the pivot (ascending scores: nearly
//   all; shuffled ones: the first few) are recomputed from x instead; either way the same bits.
//   In place (y is x) every exp is recomputed: read x, write y. A row whose max reaches +-240
//   (float; double 1520) goes back to three passes (its exps carry no pivot to rescale by).
// 16-bit storage (bfloat16, float16) and softmax_options (scale, additive or keep mask, causal):
//   the scores z_i = scale x_i + mask_i are formed inside the same passes (impl/src/fast.cpp,
//   src/softlab_kernels/score_kernel.hpp) into a 16 KiB buffer on the stack, which stays in L1
//   (widened from 16 bits exactly: a shift for bfloat16, F16C for float16 on AVX2 and AVX-512,
//   exact integer arithmetic on SSE2; the scale by one fused multiply-add with the mask, one
//   rounding, as options.hpp states; a false keep entry -inf): a row whose scores fit (4096
//   floats, 2048 doubles) is formed once, whole, and the passes below run on the buffer; a
//   longer row is formed block by block (2048) by each pass that reads x, which runs its
//   vector pass on the block, its sum carried from block to block in the same lanes and order
//   as over the whole row. No extra pass over memory, no scratch row.
//   A causal row's columns past its last kept one are neither read nor formed (their weights
//   are written as 0, log-weights -inf). Passes with a 16-bit output: the exps cannot be stored
//   in y, so the last pass recomputes them from x (reading 16-bit x again moves fewer bytes
//   than a float y) and rounds each weight once to the output type in the vector registers
//   (bfloat16: integer round to nearest even after the NaN lanes are made quiet NaNs of their
//   sign; float16: F16C's VCVTPS2PH, or SSE2's exact integer rounding; subnormals kept):
//     small rows (<= 1 KiB of the compute type), 1: read x, write y;
//     rows up to 16 KiB of the compute type, 1: read x (formed once), write y;
//     in cache beyond, 3: read x (max); read x (+ write y's exps when y holds float); read x
//       or y, write y;
//     out of cache, 2: read x (online max and sum; exps stored in a float y); read x or y,
//       write y (streaming for a float y).
//   A mask is one more read stream in every pass that reads x (4 bytes a score for a float
//   mask, 8 for a double, 1 for a keep mask); in cache, with an additive mask, the first pass
//   stores the scores it forms in y (or the float scratch row) and the second reads them there. The
//   results have the bits of the generic path (z formed in the compute type first, the kernel above
//   on it, each result rounded once to the output type), tested bit for bit
//   (tests/core/fused_scores_tests.cpp; a NaN row is NaN with either path's payload), so the bound
//   above holds with the score rounding (softlab::softmax_bound_ulps_of) on top. Rows that are not
//   ordinary (NaN, +inf, all -inf, a dominant max) take the generic path itself, with its scratch
//   row.
// No allocation, no virtual call: one indirect call per pass, through the ISA's table.
// Stated bound, every result >= the smallest normal: 2E + 3 ULP, E the exp kernel's largest
//   relative error in units of u (measured: 1.63 float, 1.69 double; exp_error_u): E in e_i, E + 2
//   in s (its terms and the tree), 1 for the final product. Independent of n and of the spread of
//   x.
// Subnormal results: kept (the product with 2^-h / s rounds once, to the subnormal grid).
// -inf: weight exactly 0; all -inf: all 0. +inf: the k infinite entries share 1/k, others 0.
// NaN anywhere: all NaN. Empty: no-op. A max so large that T's spacing below it exceeds 240
//   (float; double 1520), the lowest finite T included: the k entries equal to it share 1/k
//   (every other exp is 0 in T).
#pragma once

#include <softlab/detail/compiled.hpp>
#include <softlab/detail/scores.hpp>
#include <softlab/facts.hpp>
#include <softlab/simd/isa.hpp>
#include <softlab/storage.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

namespace softlab {

namespace detail {
/// The (stored, output, compute) types whose scores fast forms inside its own passes: float,
/// bfloat16 and float16 scores computed in float, out in float or the stored type; double.
template <class S, class Out, class C>
concept fast_fused_types =
    (std::is_same_v<C, float> &&
     (std::is_same_v<S, float> || std::is_same_v<S, bfloat16> ||
      std::is_same_v<S, float16>)&&(std::is_same_v<Out, S> || std::is_same_v<Out, float>)) ||
    (std::is_same_v<C, double> && std::is_same_v<S, double> && std::is_same_v<Out, double>);
}  // namespace detail

struct fast : detail::compiled<fast> {
  static constexpr implementation_facts facts{
      .name = "fast",
      .algorithm =
          "softlab's own exp with max subtracted in the exponent bits (no rounded x - max), "
          "drift-free sum, hi/lo reciprocal; 3 passes in cache, 2 with streaming stores beyond",
      .passes =
          "1 for a row of one vector (read + write, in registers), 3 in cache (read; read + "
          "write; read + write), 2 beyond (read; read + write NT); 16-bit storage and "
          "scale/mask/causal formed inside these passes",
      .stated_bound = "2E + 3 ULP, E = the exp kernel's measured relative error in u",
      .vectorized = true,
      .meets_contract = true,
      .subnormals = subnormal_results::kept,
  };

  /// From this n on, the two-pass structure with streaming stores (and the online max).
  /// Measured with softlab-bench (release, AVX2, 3 repetitions, 2026-11-28): double: at n = 2^20
  /// two passes took 3.8 ms where three took 4.2-4.4 (the peers' and xsimd's structure); float:
  /// at n = 2^20 (4 MiB, in the 32 MiB L3) three passes 0.76 ms, two 0.87; at 2^22 three 5.9
  /// ms, two 4.2; at 2^24 three 22 ms, two 16.4 (the online pass prefetching its next block).
  template <class T>
  static constexpr std::size_t two_pass_from_elements = std::is_same_v<T, double>
                                                            ? (std::size_t(4) << 20) /
                                                                  sizeof(double)
                                                            : (std::size_t(8) << 20) /
                                                                  sizeof(float);

  /// One long row on several threads: from split_from_elements<T> (256 KiB) up to
  /// two_pass_from_elements<T>, softmax runs in fixed chunks of split_chunk_elements<T> (64
  /// KiB): the chunks' maxima (one parallel pass), the shifted exps of every chunk against the
  /// row's max stored and summed per chunk (a second), the chunk sums folded in chunk order by
  /// two-sum, and the scaling (a third): the same three passes as in cache, each split, so the
  /// bits do not depend on the thread count (softmax without threads is this on one thread).
  /// The rows beyond (the two-pass structure's) and log_softmax and logsumexp are not split.
  template <class T>
  static constexpr std::size_t split_from_elements = (std::size_t(256) << 10) / sizeof(T);
  template <class T>
  static constexpr std::size_t split_chunk_elements = (std::size_t(64) << 10) / sizeof(T);
  /// True for the rows softmax_split splits (from split_from_elements, below the two-pass
  /// structure's length).
  template <class T>
  static constexpr bool splits(std::size_t n) {
    return n >= split_from_elements<T> && n < two_pass_from_elements<T>;
  }
  /// softmax of one row on up to `threads` threads (at most one per chunk), the same bits as
  /// softmax(x, y) for every thread count. Arguments checked by the caller.
  static void softmax_split(std::span<const float> x, std::span<float> y, std::size_t threads);
  static void softmax_split(std::span<const double> x, std::span<double> y, std::size_t threads);

  /// E: the exp kernel's largest relative error in units of u, as measured by
  /// softlab-exp-exhaustive (accuracy/exp_exhaustive, 2026-11-28, SSE2 and AVX2): float, every
  /// float argument of both the plain and the pivoted kernel, 1.630 u at most (1.170 ULP);
  /// double, 2^28 random and special arguments, 1.685 u (1.227 ULP), a sample, not every double.
  /// The contract suite checks the resulting bound on every family and both ISAs.
  static double exp_error_u(const bound_inputs& in) {
    return in.precision_bits <= 24 ? 1.63 : 1.69;
  }
  static double softmax_bound_ulps(const bound_inputs& in) { return 2 * exp_error_u(in) + 3; }
  /// log_softmax and logsumexp: s's relative error E + 2 becomes an absolute error in log s;
  /// the roundings of log s, of x_i - m (<= |y| + ln n) and of the result add |y| + 2 ln n + 2.
  static double log_bound_a(const bound_inputs& in) {
    return exp_error_u(in) + 4 + 2 * std::log(double(in.n));
  }

  /// softmax (log_softmax) of the scores t makes of x (softlab/options.hpp; the identity for
  /// a plain 16-bit row), formed inside the passes (see the top of this file: the whole row,
  /// or a block of 2048 per pass, in an L1 buffer); a 16-bit output is rounded in the last
  /// pass's registers. The same bits as forming z in C first and running softmax<C> on it, each
  /// result rounded once to Out (entry_points.hpp's detail::scored_row calls these instead).
  /// The rows softmax_split splits are split as it splits them, on up to `threads` threads.
  template <class S, class Out, class C>
  requires detail::fast_fused_types<S, Out, C>
  static void scored_softmax(std::span<const S> x, std::span<Out> y,
                             const detail::row_transform<C>& t, std::size_t threads = 1);
  template <class S, class Out, class C>
  requires detail::fast_fused_types<S, Out, C>
  static void scored_log_softmax(std::span<const S> x, std::span<Out> y,
                                 const detail::row_transform<C>& t);
};

extern template struct detail::compiled<fast>;  // instantiated in impl/src/fast.cpp

}  // namespace softlab
