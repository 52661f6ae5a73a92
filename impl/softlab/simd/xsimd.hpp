// softlab::xsimd (registry name "xsimd"): the three-pass stable softmax, vectorized with
// xsimd 8.1 and its xsimd::exp, float and double.
//
// Algorithm: as `stable` (max; e = exp(x - max) stored and summed; scale), in vectors of W
//   lanes (SSE2: 4 floats or 2 doubles; AVX2+FMA: 8 or 4), with 4 independent accumulators
//   per reduction and a tail padded with -inf. The last pass multiplies by 1/sum, as the
//   libraries users ship do: one more rounding than a division, for a multiply's throughput.
// Dispatch: one translation unit per instruction set (impl/src/kernels_<isa>.cpp) fills a
//   table of function pointers; the choice is softlab::active_isa() (softlab/simd/isa.hpp).
//   Arguments are checked before dispatch.
// Passes: 3 (read; read + write; read + write).
// Stated bound, results >= smallest normal:
//   |x_i - max| + sum_j g_j|x_j - max| + n/(2W_sse2) + 14 ULP, W_sse2 = 4 (float), 2 (double).
//   The gaps as for `stable`; the sum runs in 4 W-lane accumulators, each a sequential sum of
//   n/(4W) terms, folded pairwise (the n term, counted for the narrowest ISA); xsimd::exp's
//   error (measured by the tests at <= 3 ULP) counted in e_i and in the sum; the reciprocal
//   and the multiply 1 each.
// Subnormal results: flushed to zero: xsimd 8.1's exp returns 0 below the smallest normal.
// -inf: weight exactly 0; all -inf: all 0. +inf: the k infinite entries share 1/k, others 0.
// NaN anywhere: all NaN. Empty: no-op.
#pragma once

#include <softlab/detail/compiled.hpp>
#include <softlab/facts.hpp>
#include <softlab/simd/isa.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

namespace softlab {

struct xsimd : detail::compiled<xsimd> {
  static constexpr implementation_facts facts{
      .name = "xsimd",
      .algorithm =
          "stable three-pass softmax vectorized with xsimd 8.1 (::xsimd::exp), runtime ISA "
          "dispatch",
      .passes = "3: read; read + write; read + write",
      .stated_bound =
          "|x_i - max| + sum_j y_j|x_j - max| + n/(2W) + 14 ULP (W = 4 float, 2 double)",
      .vectorized = true,
      .meets_contract = true,
      .subnormals = subnormal_results::flushed_to_zero,
  };

  /// Lanes of the narrowest compiled ISA (SSE2), where the sequential part of the sum is longest.
  static double narrowest_lanes(const bound_inputs& in) { return in.precision_bits <= 24 ? 4 : 2; }
  static double softmax_bound_ulps(const bound_inputs& in) {
    return in.gap + in.mean_gap + double(in.n) / (2 * narrowest_lanes(in)) + 14;
  }
  static double log_bound_a(const bound_inputs& in) {
    return double(in.n) / (2 * narrowest_lanes(in)) + in.mean_gap + 3 * std::log(double(in.n)) + 10;
  }
};

extern template struct detail::compiled<xsimd>;  // instantiated in impl/src/xsimd.cpp

}  // namespace softlab
