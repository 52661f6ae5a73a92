// softlab/detail/wide_softmax.hpp: softmax computed in a wider type W and rounded once to T:
// softlab::accurate's pairwise attention (float and double; its softmax kernels are vectorized,
// impl/src/softlab_kernels/accurate_kernel.hpp and accurate_double_kernel.hpp).
#pragma once

#include <softlab/detail/float_blocks.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

namespace softlab::detail {

/// The type accurate<T> computes in: 2^-53 (double) carries a float result's exps and sums
/// with 29 bits to spare; x87 extended (64 bits) carries a double's with 11.
template <class T>
struct wider;
template <>
struct wider<float> {
  using type = double;
};
template <>
struct wider<double> {
  using type = long double;
  static_assert(
      std::numeric_limits<long double>::digits >= 64,
      "softlab::accurate<double> needs an extended long double (x87, 64-bit significand)");
};
template <class T>
using wider_t = typename wider<T>::type;

/// weights_i = T(exp(s_i - m) / sum_j exp(s_j - m)), s_i = score(i) in W, with the contract's
/// limits taken in W: a NaN score makes every weight NaN; +inf scores share 1/k; all -inf
/// scores give 0. weights may alias the storage score(i) reads, as long as score(i) reads
/// only element i (the last pass reads s_i before writing weight i).
template <class T, class W, class Score>
void wide_softmax(std::size_t n, Score&& score, std::span<T> weights) {
  using std::exp;
  W max = -infinity<W>();
  for (std::size_t i = 0; i < n && !is_nan(max); ++i) update_max_propagating_nan(max, score(i));
  if (write_limit_if_max_not_finite(max, n, score, weights, output_scale::probability)) return;
  compensated_sum<W> sum;
  for (std::size_t i = 0; i < n; ++i) sum.add(exp(score(i) - max));
  const W total = sum.total();
  for (std::size_t i = 0; i < n; ++i) weights[i] = T(exp(score(i) - max) / total);
}

}  // namespace softlab::detail
