// The ISA-neutral half of softlab::fast: the pass structure by size, the limits, the running
// max of the two-pass structure, log. See softlab/simd/fast.hpp for the algorithm and bounds.
#include "compiled_definitions.hpp"
#include "dispatch.hpp"
#include "kernel_tables.hpp"

#include <softlab/simd/fast.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

namespace softlab {
namespace {

using simd::wide_sum;

template <class T>
bool two_pass(std::span<const T> x) {
  return x.size() >= fast::two_pass_from_elements<T>;
}
/// The two-pass structure's blocks: the block is read from memory for its max, then from L1.
constexpr std::size_t block_elements = 2048;

template <class T>
using exp_constants = simd::exp_constants<T, std::is_same_v<T, float> ? 6 : 11>;
template <class T>
constexpr double headroom = double(exp_constants<T>::headroom);

/// 1 / (hi + lo) as a T pair, so that the final product is the only rounding. float: the
/// double reciprocal (2^-53) already holds the pair (2^-48). double: one Newton correction
/// gives the pair to about 2^-100.
template <class T>
void reciprocal(const wide_sum& s, T& inverse_hi, T& inverse_lo) {
  if constexpr (std::is_same_v<T, float>) {
    const double hi = 1.0 / (s.hi + s.lo);
    inverse_hi = T(hi);
    inverse_lo = T(hi - double(inverse_hi));
  } else {
    const auto inverse = detail::reciprocal_pair(s.hi, s.lo);
    inverse_hi = inverse.value;
    inverse_lo = inverse.error;
  }
}

/// A max that the vector passes handle: finite, and not so large that max + the exp kernel's
/// lowest argument rounds to max (detail::write_dominant_max).
template <class T>
bool ordinary(T max) {
  return detail::is_finite(max) && max + T(exp_constants<T>::lowest_argument) != max;
}

enum class online { summed, not_ordinary, beyond_pivot };

/// max and the shifted sum in one read of x from memory: block by block, the block's max
/// (loading it into L1), then its exps against the running max, as in Milakov & Gimelshein's
/// online softmax. The running max only grows, and with it the pivot exponent j of the shifted
/// exps, 2^(h - j) exp(x_i): the sum is brought to the new j by 2^(j_old - j_new), exactly.
/// beyond_pivot: a max with |max| >= the pivot's limit (scores beyond +-240 in float), whose
/// exps carry no pivot; the caller takes three passes.
template <class T>
online online_max_and_sum(const simd::fast_passes<T>& passes, std::span<const T> x, T& max,
                          wide_sum& sum) {
  constexpr T pivot_below = simd::exp_pivot_below < T, std::is_same_v<T, float> ? 6 : 11 > ;
  max = -detail::infinity<T>();
  sum = {};
  for (std::size_t start = 0; start < x.size(); start += block_elements) {
    const std::size_t count = std::min(block_elements, x.size() - start);
    max = std::max(max, passes.max(x.data() + start, count));
    if (max == detail::infinity<T>()) return online::not_ordinary;
    if (max == -detail::infinity<T>()) continue;  // all -inf so far
    if (!(max < pivot_below && max > -pivot_below)) return online::beyond_pivot;
    const wide_sum block = passes.shifted_exp_sum(x.data() + start, max, count);
    const int rescale = sum.pivot - block.pivot;  // <= 0: j grows with the max
    // Knuth's two-sum: the fold loses nothing.
    const auto hi = detail::two_sum(std::ldexp(sum.hi, rescale), block.hi);
    sum.lo = std::ldexp(sum.lo, rescale) + (hi.error + block.lo);
    sum.hi = hi.value;
    sum.pivot = block.pivot;
  }
  return ordinary(max) ? online::summed : online::not_ordinary;
}

/// A row that is not ordinary, exactly: its NaN, +inf or all -inf limit, or the shares of the
/// entries at a dominant max.
template <class T>
void write_not_ordinary(std::span<const T> x, std::span<T> y, detail::output_scale scale) {
  const T max = detail::max_propagating_nan(x);
  if (!detail::write_limit_if_max_not_finite(max, x, y, scale))
    detail::write_dominant_max(max, x, y, scale);
}

/// The max and the sum of the exact exps 2^headroom exp(x_i - m) (two reads of x); false when
/// the row is not ordinary.
template <class T>
bool max_and_exact_sum(std::span<const T> x, T& max, wide_sum& sum) {
  const auto& passes = *simd::active_table<T>().fast;
  max = passes.max(x.data(), x.size());
  if (!ordinary(max)) return false;
  sum = passes.exp_sum(x.data(), max, x.size());
  return true;
}

/// log s of the unscaled sum: the kernels sum 2^headroom exp(x_i - m). The scaling is undone
/// exactly before the log (subtracting headroom ln 2 after it would cancel ~headroom ln 2 u).
template <class T>
double log_unscaled(const wide_sum& s) {
  return std::log(std::ldexp(s.hi, -int(headroom<T>))) + std::log1p(s.lo / s.hi);
}

}  // namespace

template <>
struct detail::compiled_kernels<fast> {
  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    const auto& passes = *simd::active_table<T>().fast;
    T max, inverse_hi, inverse_lo;
    wide_sum sum;
    if (two_pass(x)) {
      switch (online_max_and_sum(passes, x, max, sum)) {
        case online::summed:
          reciprocal(sum, inverse_hi, inverse_lo);
          return passes.stream_exp_scaled(x.data(), max, inverse_hi, inverse_lo, y.data(),
                                          x.size());
        case online::not_ordinary:
          return write_not_ordinary(x, y, detail::output_scale::probability);
        case online::beyond_pivot:
          break;
      }
    }
    max = passes.max(x.data(), x.size());
    if (!ordinary(max)) return write_not_ordinary(x, y, detail::output_scale::probability);
    sum = passes.store_exp_and_sum(x.data(), max, y.data(), x.size());
    reciprocal(sum, inverse_hi, inverse_lo);
    passes.scale(y.data(), inverse_hi, inverse_lo, y.size());
  }

  template <class T>
  static void log_softmax(std::span<const T> x, std::span<T> y) {
    T max;
    wide_sum sum;
    if (!max_and_exact_sum(x, max, sum))
      return write_not_ordinary(x, y, detail::output_scale::log_probability);
    simd::active_table<T>().fast->shifted_minus(x.data(), max, T(log_unscaled<T>(sum)), y.data(),
                                                x.size());
  }

  template <class T>
  static T logsumexp(std::span<const T> x) {
    T max;
    wide_sum sum;
    if (max_and_exact_sum(x, max, sum)) return T(double(max) + log_unscaled<T>(sum));
    const T exact = detail::max_propagating_nan(x);  // NaN, +inf, -inf or a dominant max
    if (!detail::is_finite(exact)) return exact;
    return T(double(exact) + std::log(double(detail::count_equal(x, exact))));
  }
};

template struct detail::compiled<fast>;

}  // namespace softlab
