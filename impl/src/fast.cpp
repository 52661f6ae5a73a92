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
#include <cstdint>
#include <memory>
#include <span>
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
  return fast::splits<T>(x.size());
}

/// The chunks' sums of a split row folded in chunk order (Knuth's two-sum: the fold loses
/// nothing, and its order, so its bits, do not depend on the thread count). Every chunk has the
/// row's pivot: no rescaling.
inline wide_sum folded_in_order(std::span<const wide_sum> sums) {
  wide_sum total = sums[0];
  for (std::size_t c = 1; c < sums.size(); ++c) {
    const auto hi = detail::two_sum(total.hi, sums[c].hi);
    total.lo += hi.error + sums[c].lo;
    total.hi = hi.value;
  }
  return total;
}

/// The max of the chunks' maxima, NaN if any is.
template <class T>
T max_of_chunks(std::span<const T> maxima) {
  T max = maxima[0];
  for (const T m : maxima) max = detail::is_nan(m) || m > max ? m : max;  // NaN wins
  return max;
}

/// The three in-cache passes over fixed chunks, each pass split across threads (fast.hpp), in
/// one parallel region: the maxima; the exps and each chunk's sum; the scaling. Between the
/// passes every thread folds the shared results itself (the same bits on each: the fold's order
/// is fixed).
template <class T>
void split_softmax(std::span<const T> x, std::span<T> y, std::size_t threads) {
  const auto& passes = *simd::active_table<T>().fast;
  constexpr std::size_t chunk = fast::split_chunk_elements<T>;
  const std::size_t chunks = (x.size() + chunk - 1) / chunk;
  const auto length = [&](std::size_t c) { return std::min(chunk, x.size() - c * chunk); };
  threads = std::min(threads, chunks);
  std::vector<T> maxima(chunks);
  std::vector<wide_sum> sums(chunks);
  detail::for_row_phases(chunks, threads, 3,
                         [&](std::size_t phase, std::size_t first, std::size_t last) {
                           if (phase == 0) {
                             for (std::size_t c = first; c < last; ++c)
                               maxima[c] = passes.max(x.data() + c * chunk, length(c));
                             return;
                           }
                           const T max = max_of_chunks<T>(maxima);
                           if (detail::is_nan(max) || !ordinary(max))
                             return;  // written after the region
                           if (phase == 1) {
                             for (std::size_t c = first; c < last; ++c)
                               sums[c] = passes.store_exp_and_sum(x.data() + c * chunk, max,
                                                                  y.data() + c * chunk, length(c));
                             return;
                           }
                           const simd::reciprocal<void, T> inverse(folded_in_order(sums));
                           for (std::size_t c = first; c < last; ++c)
                             passes.scale(y.data() + c * chunk, inverse.hi, inverse.lo, length(c));
                         });
  const T max = max_of_chunks<T>(maxima);
  if (detail::is_nan(max) || !ordinary(max))
    write_not_ordinary(x, y, detail::output_scale::probability);
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

namespace {

/// A row that small_softmax leaves: out of line, so that a small row's call pays for none of
/// this function's stack frame and saved registers (at 16 floats the call took ~1 ns less).
template <class T>
[[gnu::noinline]] void softmax_beyond_small(const simd::fast_passes<T>& passes,
                                            std::span<const T> x, std::span<T> y) {
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

}  // namespace

template <>
struct detail::compiled_kernels<fast> {
  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    const auto& passes = *simd::active_table<T>().fast;
    if (x.size() <= simd::small_row_elements<T> &&
        passes.small_softmax(x.data(), y.data(), x.size()))
      return;
    softmax_beyond_small(passes, x, y);
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

// ---- the fused scores: z = scale x + mask (and 16-bit x) formed inside the passes ----
namespace {

/// A causal row's formed columns end at the first multiple of this past its kept columns: a
/// multiple of every ISA's group of four vectors, so that the blocks' sums group their terms as
/// a pass over the whole row does (the columns after are -inf: exps of exactly 0, which add
/// nothing), and a divisor of block_elements.
constexpr std::size_t formed_multiple = 64;

/// Rows whose formed scores take at most this (4096 floats, 2048 doubles: half of Zen 3's 32
/// KiB L1) are formed once, whole, into the buffer, and fast's passes run on it as on a float
/// row: one exp per score even with a 16-bit output, one forming pass instead of one per pass.
constexpr std::size_t whole_row_bytes = 16384;
template <class C>
constexpr std::size_t whole_row_elements = whole_row_bytes / sizeof(C);
static_assert(whole_row_elements<double> >= block_elements);

template <class C, class S>
simd::score_source<C> source_of(const S* x, const detail::row_transform<C>& t,
                                std::size_t formed_end) {
  simd::score_source<C> source;
  source.x = x;
  source.formed_end = formed_end;
  if constexpr (std::is_same_v<S, bfloat16>)
    source.storage = simd::score_storage::bfloat16;
  else if constexpr (std::is_same_v<S, float16>)
    source.storage = simd::score_storage::float16;
  source.scale = t.scaled ? t.scale : C(1);
  source.scaled = t.scaled;
  source.mask = t.mask.which();
  switch (t.mask.which()) {
    case score_mask::kind::none:
      break;
    case score_mask::kind::additive_float:
      source.mask_data = t.mask.additive_float();
      break;
    case score_mask::kind::additive_double:
      source.mask_data = t.mask.additive_double();
      break;
    case score_mask::kind::keep:
      source.mask_data = t.mask.keep();
      break;
  }
  return source;
}

/// One row's scores, read where they lie by the max and exp passes (score_passes::reads), or
/// formed a block at a time into an L1 buffer.
template <class C>
struct score_blocks {
  // A constructor, not an aggregate: aggregate initialization would zero the buffer each call.
  score_blocks(const simd::score_passes<C>& passes, const simd::score_source<C>& source,
               std::size_t kept)
      : passes(passes),
        source(source),
        kept(kept),
        reads(reads_where_they_lie(passes, source, kept)) {}

  static bool reads_where_they_lie(const simd::score_passes<C>& passes,
                                   const simd::score_source<C>& source, std::size_t kept) {
    return kept >= source.formed_end && passes.reads(source);
  }

  const simd::score_passes<C>& passes;
  simd::score_source<C> source;
  std::size_t kept;  ///< columns from kept on (causal) are -inf, never read
  /// The max and exp passes read the scores where they lie (a scale-only row of C: see
  /// score_kernel::reads for the measurements that chose which), every formed column kept.
  bool reads;
  alignas(64) C z[whole_row_elements<C>];  ///< a block, or a whole row (not initialized)

  C* form(std::size_t start, std::size_t count) { return form_into(start, count, z); }
  /// The same into `out` (a row of C that is not x).
  C* form_into(std::size_t start, std::size_t count, C* out) {
    const std::size_t formed = start >= kept ? 0 : std::min(count, kept - start);
    if (formed > 0) passes.form(source, start, formed, out);
    for (std::size_t k = formed; k < count; ++k) out[k] = -detail::infinity<C>();
    return out;
  }

  /// The max of the scores start .. start + count: read, or taken as they are formed into
  /// `formed_at` (the buffer when null).
  C max(std::size_t start, std::size_t count, C* formed_at = nullptr) {
    if (reads) return passes.max_of(source, start, count);
    C* const out = formed_at != nullptr ? formed_at : z;
    const std::size_t formed = start >= kept ? 0 : std::min(count, kept - start);
    for (std::size_t k = formed; k < count; ++k) out[k] = -detail::infinity<C>();
    return formed > 0 ? passes.form_max(source, start, formed, out) : -detail::infinity<C>();
  }
  /// Their shifted exps stored at y and added to sum: read, or formed into the buffer first,
  /// or already formed at `formed` (by max's formed_at).
  void store_exp_and_add(const simd::fast_passes<C>& fast, std::size_t start, std::size_t count,
                         C m, C* y, simd::sum_state& sum, const C* formed = nullptr) {
    if (reads) return passes.store_exp_and_add_of(source, start, count, m, y, sum);
    fast.store_exp_and_add(formed != nullptr ? formed : form(start, count), m, y, count, sum);
  }
};

/// y = z rounded to Out (a 16-bit type: the kernels' vector rounding).
template <class C, class Out>
void write_rounded(const simd::score_passes<C>& passes, const C* z, Out* y, std::size_t n) {
  if constexpr (std::is_same_v<Out, bfloat16>)
    passes.to_bfloat16(z, reinterpret_cast<std::uint16_t*>(y), n);
  else if constexpr (std::is_same_v<Out, float16>)
    passes.to_float16(z, reinterpret_cast<std::uint16_t*>(y), n);
  else
    std::copy(z, z + n, y);
}

/// y_i = e_i (hi + lo) rounded to the 16-bit Out: the scale pass and the rounding in one.
template <class C, class Out>
void write_scaled(const simd::score_passes<C>& passes, const C* e,
                  const simd::reciprocal<void, C>& inverse, Out* y, std::size_t n) {
  auto* bits = reinterpret_cast<std::uint16_t*>(y);
  if constexpr (std::is_same_v<Out, bfloat16>)
    passes.scaled_to_bfloat16(e, inverse.hi, inverse.lo, bits, n);
  else
    passes.scaled_to_float16(e, inverse.hi, inverse.lo, bits, n);
}
/// y_i = the shifted exps of z against m, times (hi + lo), rounded to the 16-bit Out.
template <class C, class Out>
void write_exp_scaled(const simd::score_passes<C>& passes, const C* z, C m,
                      const simd::reciprocal<void, C>& inverse, Out* y, std::size_t n) {
  auto* bits = reinterpret_cast<std::uint16_t*>(y);
  if constexpr (std::is_same_v<Out, bfloat16>)
    passes.exp_scaled_to_bfloat16(z, m, inverse.hi, inverse.lo, bits, n);
  else
    passes.exp_scaled_to_float16(z, m, inverse.hi, inverse.lo, bits, n);
}

/// The reference the fused passes equal: z formed in C by row_transform, fast's own kernel on
/// it, each result rounded once to Out (entry_points.hpp's generic path). Taken by the rows
/// that are not ordinary (NaN, +inf, all -inf, a dominant max), which are rare and scalar.
template <bool log, class C, class S, class Out>
void formed_first(std::span<const S> x, std::span<Out> y, const detail::row_transform<C>& t) {
  auto kernel = [](std::span<const C> in, std::span<C> out) {
    if constexpr (log)
      detail::compiled_kernels<fast>::log_softmax<C>(in, out);
    else
      detail::compiled_kernels<fast>::softmax<C>(in, out);
  };
  if constexpr (std::is_same_v<Out, C>) {
    detail::form_scores<C>(x, t, y.data());
    kernel(std::span<const C>(y), y);
  } else {
    std::vector<C> z(x.size());
    detail::form_scores<C>(x, t, z.data());
    kernel(std::span<const C>(z), std::span<C>(z));
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = Out(z[i]);
  }
}

/// Whether a pass that stores exps should have its scores formed there by the pass before
/// (instead of forming them again from x): with an additive mask. Storing them costs one
/// write and one read of C a score, forming them again reads x and the mask (8 bytes a float
/// score): the same bytes, less arithmetic. Without one (4 bytes of float x, 2 of 16-bit, 1 of a
/// keep mask) forming again moves fewer. Measured on the Zen 5 VM (softmax_rows, one row of
/// 256000 floats, medians of 400 calls over 8 buffer pairs, three runs each): at scale 1/0.7,
/// 0.32-0.39 ns per element with the scores stored, 0.28-0.38 formed again; with an additive
/// float mask, 0.34-0.44 stored, 0.43-0.54 formed again.
template <class C>
bool keeps_formed_scores(const detail::row_transform<C>& t) {
  const auto kind = t.mask.which();
  return kind == score_mask::kind::additive_float || kind == score_mask::kind::additive_double;
}

/// The columns a row forms: all, or (causal) its kept ones rounded up to formed_multiple.
inline std::size_t formed_columns(std::size_t n, std::size_t kept) {
  if (kept >= n) return n;
  return std::min(n, (kept + formed_multiple - 1) / formed_multiple * formed_multiple);
}

/// Where a row's exps are stored for the last pass: y itself when it holds C, else a scratch
/// row of C (uninitialized: every element is written before it is read).
template <class C, class Out>
struct exps_row {
  std::unique_ptr<C[]> scratch;
  C* data;
  exps_row(std::span<Out> y, std::size_t n) {
    if constexpr (std::is_same_v<Out, C>) {
      data = y.data();
    } else {
      scratch = std::make_unique_for_overwrite<C[]>(n);
      data = scratch.get();
    }
  }
};

/// split_softmax's three passes over the formed scores, each split across the threads by
/// chunks: the chunks' maxima; each chunk's shifted exps (stored in y when it holds C) summed
/// block by block into the chunk's carried sum (blocks start at multiples of block_elements,
/// so the chunk's sum has the bits of split_softmax's one call over it); the chunk sums folded
/// in chunk order; the weights. Each thread forms its blocks in its own L1 buffer. False, x
/// untouched, when the max is not ordinary (the caller's reference writes the row).
template <class C, class S, class Out>
bool fused_split_softmax(std::span<const S> x, std::span<Out> y, const detail::row_transform<C>& t,
                         std::size_t formed_n, std::size_t threads) {
  constexpr bool out_is_c = std::is_same_v<Out, C>;
  const auto& table = simd::active_table<C>();
  const auto& passes = *table.fast;
  const simd::score_source<C> source = source_of(x.data(), t, formed_n);
  const std::size_t kept = std::min(x.size(), t.kept);
  constexpr std::size_t chunk = fast::split_chunk_elements<C>;
  static_assert(chunk % block_elements == 0);
  const std::size_t chunks = (formed_n + chunk - 1) / chunk;
  threads = std::min(threads, chunks);
  // The exps are stored (in y, or for a 16-bit y in a float scratch row, in cache at these
  // lengths) and the last pass scales them: one exp per score, as fast's kernel on z. Where the
  // scores are not read where they lie but formed, and with an additive mask
  // (keeps_formed_scores), the first pass forms them there too (unless y is x, read again by
  // the second), and the second reads them back instead of x and the mask.
  const exps_row<C, Out> exps(y, formed_n);
  const bool in_place = static_cast<const void*>(y.data()) == static_cast<const void*>(x.data());
  const bool formed_in_exps = !score_blocks<C>::reads_where_they_lie(*table.scores, source, kept) &&
                              keeps_formed_scores(t) && !(out_is_c && in_place);
  // f(c, blocks, start, count) for every block of chunks [first, last), on this thread's
  // score_blocks (its own L1 buffer).
  const auto for_blocks = [&](std::size_t first, std::size_t last, auto&& f) {
    score_blocks<C> blocks(*table.scores, source, kept);
    for (std::size_t c = first; c < last; ++c) {
      const std::size_t end = std::min(formed_n, (c + 1) * chunk);
      for (std::size_t start = c * chunk; start < end; start += block_elements)
        f(c, blocks, start, std::min(block_elements, end - start));
    }
  };
  std::vector<C> maxima(chunks, -detail::infinity<C>());
  std::vector<wide_sum> sums(chunks);
  // The three passes in one parallel region (split_softmax's phases).
  detail::for_row_phases(
      chunks, threads, 3, [&](std::size_t phase, std::size_t first, std::size_t last) {
        if (phase == 0) {
          for_blocks(
              first, last,
              [&](std::size_t c, score_blocks<C>& blocks, std::size_t start, std::size_t count) {
                const C m = blocks.max(start, count, formed_in_exps ? exps.data + start : nullptr);
                if (detail::is_nan(m) || m > maxima[c]) maxima[c] = m;  // NaN stays
              });
          return;
        }
        const C max = max_of_chunks<C>(maxima);
        if (detail::is_nan(max) || !ordinary(max)) return;  // the caller's reference writes y
        if (phase == 1) {
          simd::sum_state state;
          std::size_t summing = first;
          for_blocks(
              first, last,
              [&](std::size_t c, score_blocks<C>& blocks, std::size_t start, std::size_t count) {
                if (c != summing) {
                  sums[summing] = passes.total(state);
                  state = {};
                  summing = c;
                }
                blocks.store_exp_and_add(passes, start, count, max, exps.data + start, state,
                                         formed_in_exps ? exps.data + start : nullptr);
              });
          sums[summing] = passes.total(state);
          return;
        }
        const simd::reciprocal<void, C> inverse(folded_in_order(sums));
        for (std::size_t c = first; c < last; ++c) {
          const std::size_t start = c * chunk, count = std::min(chunk, formed_n - start);
          if constexpr (out_is_c)
            passes.scale(y.data() + start, inverse.hi, inverse.lo, count);
          else
            write_scaled(*table.scores, exps.data + start, inverse, y.data() + start, count);
        }
      });
  const C max = max_of_chunks<C>(maxima);
  if (detail::is_nan(max) || !ordinary(max)) return false;
  const simd::reciprocal<void, C> inverse(folded_in_order(sums));
  for (std::size_t i = formed_n; i < x.size(); ++i)
    y[i] = Out(C(0) * inverse.hi + C(0) * inverse.lo);
  return true;
}

template <class C, class S, class Out>
void fused_softmax(std::span<const S> x, std::span<Out> y, const detail::row_transform<C>& t,
                   std::size_t threads) {
  constexpr bool out_is_c = std::is_same_v<Out, C>;
  const auto& table = simd::active_table<C>();
  const auto& passes = *table.fast;
  const std::size_t n = x.size();
  const std::size_t formed_n = formed_columns(n, std::min(n, t.kept));
  score_blocks<C> blocks(*table.scores, source_of(x.data(), t, formed_n), std::min(n, t.kept));
  const auto reference = [&] { formed_first<false>(x, y, t); };
  // In place (y is x): nothing may be written before the last read of x.
  const bool in_place = static_cast<const void*>(y.data()) == static_cast<const void*>(x.data());

  if (n <= simd::small_row_elements<C>) {
    C* const z = blocks.form(0, n);
    C* const out = [&] {
      if constexpr (out_is_c)
        return y.data();
      else
        return z;
    }();
    if (!passes.small_softmax(z, out, n)) return reference();
    if constexpr (!out_is_c) write_rounded(*table.scores, z, y.data(), n);
    return;
  }

  // The rows softmax_split takes apart, split as it splits them (the bits of its kernel on z).
  if (fast::splits<C>(n)) {
    if (!fused_split_softmax(x, y, t, formed_n, threads)) reference();
    return;
  }
  // The weight of the columns past formed_n (-inf scores): 0 times the reciprocal.
  const auto fill_rest = [&](const simd::reciprocal<void, C>& inverse) {
    const C rest = C(0) * inverse.hi + C(0) * inverse.lo;
    for (std::size_t i = formed_n; i < n; ++i) y[i] = Out(rest);
  };
  C max;
  wide_sum sum;
  if (formed_n <= whole_row_elements<C> && n < fast::two_pass_from_elements<C>) {
    // The exps go to y when it holds C and is not x, else to the buffer, then are scaled in
    // place and rounded or copied to y; x stays intact for the reference. The scores are read
    // where they lie, or formed once, whole, where the exps go (in y, three rows in L1, not
    // four: x, the mask and y).
    C* const e = [&] {
      if constexpr (out_is_c)
        if (!in_place) return y.data();
      return blocks.z;
    }();
    max = blocks.max(0, formed_n, e);
    if (!ordinary(max)) return reference();
    simd::sum_state state;
    blocks.store_exp_and_add(passes, 0, formed_n, max, e, state, blocks.reads ? nullptr : e);
    sum = passes.total(state);
    if (detail::is_nan(sum.hi)) return reference();  // x is intact
    const simd::reciprocal<void, C> inverse(sum);
    if constexpr (out_is_c) {
      passes.scale(e, inverse.hi, inverse.lo, formed_n);
      if (e != y.data()) std::copy(e, e + formed_n, y.data());
    } else {
      write_scaled(*table.scores, e, inverse, y.data(), formed_n);
    }
    fill_rest(inverse);
    return;
  }
  if (n >= fast::two_pass_from_elements<C>) {
    constexpr C pivot_below = simd::exp_pivot_below < C, std::is_same_v<C, float> ? 6 : 11 > ;
    C* const exps = [&]() -> C* {
      if constexpr (out_is_c)
        return in_place ? nullptr : y.data();
      else
        return nullptr;
    }();
    max = -detail::infinity<C>();
    sum = {};
    std::size_t stored_from = formed_n;
    bool beyond_pivot = false;
    for (std::size_t start = 0; start < formed_n; start += block_elements) {
      const std::size_t count = std::min(block_elements, formed_n - start);
      const C* z = blocks.form(start, count);
      max = std::max(max, passes.max(z, count));
      if (max == detail::infinity<C>()) return reference();
      if (max == -detail::infinity<C>()) continue;
      if (!(max < pivot_below && max > -pivot_below)) {
        beyond_pivot = true;
        break;
      }
      const wide_sum block = exps != nullptr
                                 ? passes.store_exp_and_sum_prefetching(z, max, exps + start, count)
                                 : passes.shifted_exp_sum(z, max, count);
      if (stored_from == formed_n || block.pivot != sum.pivot) stored_from = start;
      const int rescale = sum.pivot - block.pivot;
      const auto hi = detail::two_sum(std::ldexp(sum.hi, rescale), block.hi);
      sum.lo = std::ldexp(sum.lo, rescale) + (hi.error + block.lo);
      sum.hi = hi.value;
      sum.pivot = block.pivot;
    }
    if (!beyond_pivot) {
      // Not ordinary, or a NaN score under a finite max (its sum is NaN): the reference writes
      // the row (x is intact: exps were stored only where y is not x).
      if (!ordinary(max) || detail::is_nan(sum.hi)) return reference();
      const simd::reciprocal<void, C> inverse(sum);
      if (exps == nullptr) stored_from = formed_n;
      for (std::size_t start = 0; start < stored_from; start += block_elements) {
        const std::size_t count = std::min(block_elements, stored_from - start);
        C* const z = blocks.form(start, count);
        if constexpr (out_is_c) {
          passes.stream_exp_scaled(z, max, inverse.hi, inverse.lo, y.data() + start, count);
        } else {
          // Plain stores (score_passes::exp_scaled_to_bfloat16 says why).
          write_exp_scaled(*table.scores, z, max, inverse, y.data() + start, count);
        }
      }
      if constexpr (out_is_c) {
        if (stored_from < formed_n)
          passes.stream_scale(y.data() + stored_from, inverse.hi, inverse.lo,
                              formed_n - stored_from);
      }
      fill_rest(inverse);
      return;
    }
  }

  // Three passes: max; exps (stored in y when it holds C) and their sum; the weights.
  // A 16-bit y in cache: the exps kept in a float scratch row and scaled by the last pass (one
  // exp per score); beyond (a max past the pivot's limit in a two-pass row), recomputed. Where
  // the exps are kept, y is not x and an additive mask is read (keeps_formed_scores), the first
  // pass forms the scores there, and the second reads them back.
  const bool keeps_exps = out_is_c || n < fast::two_pass_from_elements<C>;
  const exps_row<C, Out> exps(y, keeps_exps ? formed_n : 0);
  const bool formed_in_exps =
      keeps_exps && !blocks.reads && keeps_formed_scores(t) && !(out_is_c && in_place);
  max = -detail::infinity<C>();
  for (std::size_t start = 0; start < formed_n; start += block_elements) {
    const std::size_t count = std::min(block_elements, formed_n - start);
    max = std::max(max, blocks.max(start, count, formed_in_exps ? exps.data + start : nullptr));
  }
  if (!ordinary(max)) return reference();
  simd::sum_state state;
  for (std::size_t start = 0; start < formed_n; start += block_elements) {
    const std::size_t count = std::min(block_elements, formed_n - start);
    if (keeps_exps)
      blocks.store_exp_and_add(passes, start, count, max, exps.data + start, state,
                               formed_in_exps ? exps.data + start : nullptr);
    else
      passes.shifted_exp_add(blocks.form(start, count), max, count, state);
  }
  sum = passes.total(state);
  // A NaN score under a finite max: the reference writes the row, unless x is gone (the exps
  // stored over it in place, where the arithmetic below gives the NaN row).
  if (detail::is_nan(sum.hi) && !(out_is_c && in_place)) return reference();
  const simd::reciprocal<void, C> inverse(sum);
  if constexpr (out_is_c) {
    passes.scale(y.data(), inverse.hi, inverse.lo, formed_n);
  } else if (keeps_exps) {
    write_scaled(*table.scores, exps.data, inverse, y.data(), formed_n);
  } else {
    for (std::size_t start = 0; start < formed_n; start += block_elements) {
      const std::size_t count = std::min(block_elements, formed_n - start);
      write_exp_scaled(*table.scores, blocks.form(start, count), max, inverse, y.data() + start,
                       count);
    }
  }
  fill_rest(inverse);
}

template <class C, class S, class Out>
void fused_log_softmax(std::span<const S> x, std::span<Out> y, const detail::row_transform<C>& t) {
  const auto& table = simd::active_table<C>();
  const auto& passes = *table.fast;
  const std::size_t n = x.size();
  const std::size_t formed_n = formed_columns(n, std::min(n, t.kept));
  score_blocks<C> blocks(*table.scores, source_of(x.data(), t, formed_n), std::min(n, t.kept));
  const auto reference = [&] { formed_first<true>(x, y, t); };
  const auto fill_rest = [&](C max, C log_sum) {
    const C rest = (-detail::infinity<C>() - max) - log_sum;
    for (std::size_t i = formed_n; i < n; ++i) y[i] = Out(rest);
  };
  if (formed_n <= whole_row_elements<C>) {
    // The whole row formed once, then the passes on the buffer.
    C* const z = blocks.form(0, formed_n);
    const C max = passes.max(z, formed_n);
    if (!ordinary(max)) return reference();
    const wide_sum sum = passes.exp_sum(z, max, formed_n);
    if (detail::is_nan(sum.hi)) return reference();
    const C log_sum = C(log_unscaled<C>(sum));
    if constexpr (std::is_same_v<Out, C>) {
      passes.shifted_minus(z, max, log_sum, y.data(), formed_n);
    } else {
      passes.shifted_minus(z, max, log_sum, z, formed_n);
      write_rounded(*table.scores, z, y.data(), formed_n);
    }
    return fill_rest(max, log_sum);
  }
  C max = -detail::infinity<C>();
  for (std::size_t start = 0; start < formed_n; start += block_elements) {
    const std::size_t count = std::min(block_elements, formed_n - start);
    max = std::max(max, passes.max(blocks.form(start, count), count));
  }
  if (!ordinary(max)) return reference();
  simd::sum_state state;
  for (std::size_t start = 0; start < formed_n; start += block_elements) {
    const std::size_t count = std::min(block_elements, formed_n - start);
    passes.exact_exp_add(blocks.form(start, count), max, count, state);
  }
  const wide_sum sum = passes.total(state);
  if (detail::is_nan(sum.hi)) return reference();  // nothing written yet
  const C log_sum = C(log_unscaled<C>(sum));
  for (std::size_t start = 0; start < formed_n; start += block_elements) {
    const std::size_t count = std::min(block_elements, formed_n - start);
    C* const z = blocks.form(start, count);
    if constexpr (std::is_same_v<Out, C>) {
      passes.shifted_minus(z, max, log_sum, y.data() + start, count);
    } else {
      passes.shifted_minus(z, max, log_sum, z, count);
      write_rounded(*table.scores, z, y.data() + start, count);
    }
  }
  fill_rest(max, log_sum);
}

}  // namespace

template <class S, class Out, class C>
requires detail::fast_fused_types<S, Out, C>
void fast::scored_softmax(std::span<const S> x, std::span<Out> y, const detail::row_transform<C>& t,
                          std::size_t threads) {
  fused_softmax<C>(x, y, t, threads);
}

template <class S, class Out, class C>
requires detail::fast_fused_types<S, Out, C>
void fast::scored_log_softmax(std::span<const S> x, std::span<Out> y,
                              const detail::row_transform<C>& t) {
  fused_log_softmax<C>(x, y, t);
}

#define SOFTLAB_FAST_FUSED(S, Out, C)                                                          \
  template void fast::scored_softmax<S, Out, C>(std::span<const S>, std::span<Out>,            \
                                                const detail::row_transform<C>&, std::size_t); \
  template void fast::scored_log_softmax<S, Out, C>(std::span<const S>, std::span<Out>,        \
                                                    const detail::row_transform<C>&);
SOFTLAB_FAST_FUSED(float, float, float)
SOFTLAB_FAST_FUSED(bfloat16, bfloat16, float)
SOFTLAB_FAST_FUSED(bfloat16, float, float)
SOFTLAB_FAST_FUSED(float16, float16, float)
SOFTLAB_FAST_FUSED(float16, float, float)
SOFTLAB_FAST_FUSED(double, double, double)
#undef SOFTLAB_FAST_FUSED

}  // namespace softlab
