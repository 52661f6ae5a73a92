// The ISA-neutral half of softlab::fast: the pass structure by size, the limits, the running
// max of the two-pass structure, log. See softlab/simd/fast.hpp for the algorithm and bounds.
#include "compiled_definitions.hpp"
#include "dispatch.hpp"
#include "kernel_tables.hpp"

#include <softlab/detail/rows.hpp>
#include <softlab/simd/fast.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

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
/// With y (not x), the exps are also stored there, and stored_from is the first
/// element of the first block whose exps carry the final pivot: from it on, y_i times 1/s is
/// the weight, each exp computed once; before it (the blocks the max outgrew), y holds exps of
/// an older pivot (or nothing) and the caller recomputes them.
template <class T>
online online_max_and_sum(const simd::fast_passes<T>& passes, std::span<const T> x, T& max,
                          wide_sum& sum, T* y, std::size_t& stored_from) {
  constexpr T pivot_below = simd::exp_pivot_below < T, std::is_same_v<T, float> ? 6 : 11 > ;
  max = -detail::infinity<T>();
  sum = {};
  stored_from = x.size();
  for (std::size_t start = 0; start < x.size(); start += block_elements) {
    const std::size_t count = std::min(block_elements, x.size() - start);
    max = std::max(max, passes.max(x.data() + start, count));
    if (max == detail::infinity<T>()) return online::not_ordinary;
    if (max == -detail::infinity<T>()) continue;  // all -inf so far (stored_from is past it)
    if (!(max < pivot_below && max > -pivot_below)) return online::beyond_pivot;
    const wide_sum block =
        y != nullptr ? passes.store_exp_and_sum_prefetching(x.data() + start, max, y + start, count)
                     : passes.shifted_exp_sum(x.data() + start, max, count);
    if (stored_from == x.size() || block.pivot != sum.pivot) stored_from = start;
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

/// The rows fast::softmax_split splits: in cache, long enough for threads to pay.
template <class T>
bool split(std::span<const T> x) {
  return x.size() >= fast::split_from_elements<T> && !two_pass(x);
}

/// The three in-cache passes over fixed chunks, each pass split across threads (fast.hpp).
template <class T>
void split_softmax(std::span<const T> x, std::span<T> y, std::size_t threads) {
  const auto& passes = *simd::active_table<T>().fast;
  constexpr std::size_t chunk = fast::split_chunk_elements<T>;
  const std::size_t chunks = (x.size() + chunk - 1) / chunk;
  const auto length = [&](std::size_t c) { return std::min(chunk, x.size() - c * chunk); };
  threads = std::min(threads, chunks);
  std::vector<T> maxima(chunks);
  detail::for_row_blocks(chunks, threads, [&](std::size_t first, std::size_t last) {
    for (std::size_t c = first; c < last; ++c)
      maxima[c] = passes.max(x.data() + c * chunk, length(c));
  });
  T max = maxima[0];
  for (const T m : maxima) max = detail::is_nan(m) || m > max ? m : max;  // NaN wins
  if (detail::is_nan(max) || !ordinary(max))
    return write_not_ordinary(x, y, detail::output_scale::probability);
  std::vector<wide_sum> sums(chunks);
  detail::for_row_blocks(chunks, threads, [&](std::size_t first, std::size_t last) {
    for (std::size_t c = first; c < last; ++c)
      sums[c] =
          passes.store_exp_and_sum(x.data() + c * chunk, max, y.data() + c * chunk, length(c));
  });
  wide_sum total = sums[0];
  for (std::size_t c = 1; c < chunks; ++c) {  // every chunk has the row's pivot: no rescaling
    const auto hi = detail::two_sum(total.hi, sums[c].hi);
    total.lo += hi.error + sums[c].lo;
    total.hi = hi.value;
  }
  const simd::reciprocal<void, T> inverse(total);
  detail::for_row_blocks(chunks, threads, [&](std::size_t first, std::size_t last) {
    for (std::size_t c = first; c < last; ++c)
      passes.scale(y.data() + c * chunk, inverse.hi, inverse.lo, length(c));
  });
}

}  // namespace

void fast::softmax_split(std::span<const float> x, std::span<float> y, std::size_t threads) {
  if (split(x)) return split_softmax(x, y, threads);
  compiled<fast>::softmax(x, y);
}
void fast::softmax_split(std::span<const double> x, std::span<double> y, std::size_t threads) {
  if (split(x)) return split_softmax(x, y, threads);
  compiled<fast>::softmax(x, y);
}

template <>
struct detail::compiled_kernels<fast> {
  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    const auto& passes = *simd::active_table<T>().fast;
    if (x.size() <= simd::small_row_elements<T> &&
        passes.small_softmax(x.data(), y.data(), x.size()))
      return;
    T max;
    wide_sum sum;
    if (two_pass(x)) {
      // In place, y is x: its exps cannot be stored in the first pass (x is read again).
      T* const exps = y.data() != x.data() ? y.data() : nullptr;
      std::size_t stored_from = 0;
      switch (online_max_and_sum(passes, x, max, sum, exps, stored_from)) {
        case online::summed: {
          const simd::reciprocal<void, T> inverse(sum);
          if (exps == nullptr) stored_from = x.size();  // nothing stored: all recomputed
          // An exp of the final pivot is the same whichever pass computes it (the pivot's floor
          // differs only below max - 120, float, where every weight rounds to 0): the stored
          // ones are scaled, the older ones recomputed, and the bits do not depend on which.
          if (stored_from > 0)
            passes.stream_exp_scaled(x.data(), max, inverse.hi, inverse.lo, y.data(), stored_from);
          if (stored_from < x.size())
            passes.stream_scale(y.data() + stored_from, inverse.hi, inverse.lo,
                                x.size() - stored_from);
          return;
        }
        case online::not_ordinary:
          return write_not_ordinary(x, y, detail::output_scale::probability);
        case online::beyond_pivot:
          break;
      }
    }
    if (split(x)) return split_softmax(x, y, 1);
    max = passes.max(x.data(), x.size());
    if (!ordinary(max)) return write_not_ordinary(x, y, detail::output_scale::probability);
    sum = passes.store_exp_and_sum(x.data(), max, y.data(), x.size());
    const simd::reciprocal<void, T> inverse(sum);
    passes.scale(y.data(), inverse.hi, inverse.lo, y.size());
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
