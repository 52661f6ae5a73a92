// src/softlab_kernels/fast_kernel.hpp: the vectorized passes of softlab::fast, templates on the
// xsimd architecture and the lane type, composed by the ISA-neutral dispatcher (impl/src/fast.cpp).
// Included only by the per-ISA translation units (see src/softlab_kernels/lanes.hpp).
#pragma once

#include <softlab_kernels/exp_kernel.hpp>
#include <softlab_kernels/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace softlab::simd {

/// A sum as an unevaluated pair hi + lo (lo = 0 for float, whose sums are double), and the
/// pivot exponent j of its terms (exp_kernel::pivot::shifted; 0 for exact differences).
struct wide_sum {
  double hi = 0, lo = 0;
  int pivot = 0;
};

/// A running sum carried from one call of a pass to the next (the fused scores' blocks,
/// impl/src/fast.cpp): drift_free_sum's two double vectors, so that summing a row block by block
/// adds the same terms in the same lanes and order as one call over the whole row (the same
/// bits). Zero-initialized: the empty sum.
struct sum_state {
  alignas(64) double first[8]{};
  alignas(64) double second[8]{};
};

/// 1 / (hi + lo) as a T pair, so that the final product y_i = e_i (inverse_hi + inverse_lo) is
/// the only rounding. float: the double reciprocal (2^-53) already holds the pair (2^-48).
/// double: one Newton correction gives the pair to about 2^-100. Arch is the calling
/// translation unit's architecture (void for the ISA-neutral dispatcher), so that every object
/// has its own copy (lanes.hpp says why).
template <class Arch, class T>
struct reciprocal {
  T hi, lo;
  explicit reciprocal(const wide_sum& s) {
    if constexpr (std::is_same_v<T, float>) {
      const double inverse = 1.0 / (s.hi + s.lo);
      hi = T(inverse);
      lo = T(inverse - double(hi));
    } else {
      const auto inverse = detail::reciprocal_pair(s.hi, s.lo);
      hi = inverse.value;
      lo = inverse.error;
    }
  }
};

/// The passes one ISA provides for one element type. "Shifted" exps are 2^headroom exp(x_i -
/// m) F(m), F the row's factor of exp_kernel::pivot::shifted, which cancels in softmax's
/// normalization; "exact" ones have F = 1 (src/softlab_kernels/exp_kernel.hpp).
template <class T>
struct fast_passes {
  /// The whole softmax of a row of n <= small_row_elements<T> (small_row_bytes) elements in one
  /// call, the row kept in registers (or the stack, beyond the register file) between its max,
  /// exps, sum and scaling; false, y untouched, when its max is not ordinary (the dispatcher's
  /// general path then writes the limit).
  bool (*small_softmax)(const T* x, T* y, std::size_t n);
  T (*max)(const T* x, std::size_t n);
  /// y_i = the shifted exps, and their sum.
  wide_sum (*store_exp_and_sum)(const T* x, T m, T* y, std::size_t n);
  /// The sum of the exact exps (log_softmax, logsumexp).
  wide_sum (*exp_sum)(const T* x, T m, std::size_t n);
  /// The sum of the shifted exps (the online max: the caller rescales by 2^(j_old - j_new)),
  /// prefetching the n elements after x.
  wide_sum (*shifted_exp_sum)(const T* x, T m, std::size_t n);
  /// y_i *= (inverse_hi + inverse_lo), one rounding: the reciprocal's own rounding is not paid.
  void (*scale)(T* y, T inverse_hi, T inverse_lo, std::size_t n);
  /// y_i = the shifted exps and their sum, prefetching the n elements after x: the two-pass
  /// structure's first pass when y is not x.
  wide_sum (*store_exp_and_sum_prefetching)(const T* x, T m, T* y, std::size_t n);
  /// y_i *= (inverse_hi + inverse_lo) in place, stored past the cache: its second pass, over the
  /// exps the first pass stored with the final pivot.
  void (*stream_scale)(T* y, T inverse_hi, T inverse_lo, std::size_t n);
  /// y_i = the shifted exps times (inverse_hi + inverse_lo), aligned stores bypassing the cache.
  void (*stream_exp_scaled)(const T* x, T m, T inverse_hi, T inverse_lo, T* y, std::size_t n);
  void (*shifted_minus)(const T* x, T shift, T log_sum, T* y, std::size_t n);  ///< (x - s) - l
  // The fused scores' passes (impl/src/fast.cpp): a row's scores formed block by block into an
  // L1 buffer, each block's terms added to a sum carried across the blocks (sum_state), so that
  // the sum has the bits of one call over the whole row (blocks start at multiples of 64).
  /// y_i = the shifted exps, their sum added to s (store_exp_and_sum, carried).
  void (*store_exp_and_add)(const T* x, T m, T* y, std::size_t n, sum_state& s);
  /// The shifted exps' sum added to s.
  void (*shifted_exp_add)(const T* x, T m, std::size_t n, sum_state& s);
  /// The exact exps' sum added to s (exp_sum, carried).
  void (*exact_exp_add)(const T* x, T m, std::size_t n, sum_state& s);
  /// The sum s carries (pivot 0: the caller knows it).
  wide_sum (*total)(const sum_state& s);
  /// y_i = the shifted exps times (inverse_hi + inverse_lo), plain stores (y may be x).
  void (*exp_scaled)(const T* x, T m, T inverse_hi, T inverse_lo, T* y, std::size_t n);
};

/// The rows small_softmax takes: 1 KiB (256 floats, 128 doubles). The rows of mixture-of-experts
/// routers (8 to 256 experts) and short attention heads, run millions of times, where the three
/// passes' calls, tails and reloads cost more than their arithmetic.
inline constexpr std::size_t small_row_bytes = 1024;
template <class T>
inline constexpr std::size_t small_row_elements = small_row_bytes / sizeof(T);

/// A running sum of positive T vectors that does not drift with n. float: each group of four
/// vectors is added as a tree (depth 2) and folded into double lanes, whose 2^-53 rounding is
/// 2^-29 of a float ULP per term. double: the same tree, folded into a compensated sum
/// (Knuth's two-sum per fold: the error stays O(u) however many terms).
template <class Arch, class T>
struct drift_free_sum;

template <class Arch>
struct drift_free_sum<Arch, float> {
  using doubles = ::xsimd::batch<double, Arch>;
  doubles low = doubles(0.0), high = doubles(0.0);
  void add(const ::xsimd::batch<float, Arch>& v) {
    low += widen_float<Arch>::low(v);
    high += widen_float<Arch>::high(v);
  }
  wide_sum total() const { return {::xsimd::hadd(low + high), 0.0}; }
  void load(const sum_state& s) {
    low = doubles::load_aligned(s.first);
    high = doubles::load_aligned(s.second);
  }
  void save(sum_state& s) const {
    low.store_aligned(s.first);
    high.store_aligned(s.second);
  }
};

template <class Arch>
struct drift_free_sum<Arch, double> {
  using doubles = ::xsimd::batch<double, Arch>;
  doubles sum = doubles(0.0), compensation = doubles(0.0);
  void add(const doubles& v) {
    const auto s = detail::two_sum(sum, v);
    compensation += s.error;
    sum = s.value;
  }
  wide_sum total() const { return {::xsimd::hadd(sum), ::xsimd::hadd(compensation)}; }
  void load(const sum_state& s) {
    sum = doubles::load_aligned(s.first);
    compensation = doubles::load_aligned(s.second);
  }
  void save(sum_state& s) const {
    sum.store_aligned(s.first);
    compensation.store_aligned(s.second);
  }
};

template <class Arch, class T>
struct fast_kernel {
  using lane = lanes<Arch, T>;
  using batch = typename lane::batch;
  using exp = exp_kernel<Arch, T, std::is_same_v<T, float> ? 6 : 11>;
  static constexpr std::size_t width = lane::width;
  static constexpr std::size_t group = 4 * width;  // four vectors in flight per iteration

  /// Prefetches the group of elements `ahead` bytes past `at`. Addresses, not pointers: past
  /// the row's end they point nowhere (a prefetch never faults, and no out-of-bounds pointer
  /// is formed).
  static void prefetch(const T* at, std::size_t ahead) {
    const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(at) + ahead;
    SOFTLAB_UNROLL for (std::size_t line = 0; line < group * sizeof(T); line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(start + line), _MM_HINT_T0);
  }

  /// The shifted exps (store them when `store`), or the exact ones (`!shifted`: the rounding
  /// of x - m carried), and their sum. `prefetch_next`: the online max's blocks, where the
  /// next n elements are the next block, fetched from memory while these exps are computed
  /// (its max pass would otherwise wait for memory with the FMA units idle).
  template <bool store, bool shifted, bool prefetch_next = false>
  static wide_sum exp_sum_impl(const T* x, T m, T* y, std::size_t n, bool stream = false,
                               sum_state* carried = nullptr) {
    return exp_sum_of<store, shifted, prefetch_next>(typename lane::row_reader{x}, m, y, n, stream,
                                                     carried);
  }
  /// The same over the n elements `read` gives (lanes::row_reader: x itself). The reader is
  /// taken by value: a reference would be reloaded after every store to y (which might alias
  /// it).
  template <bool store, bool shifted, bool prefetch_next = false, class Reader>
  SOFTLAB_ALWAYS_INLINE static wide_sum exp_sum_of(const Reader read, T m, T* y, std::size_t n,
                                                   bool stream = false,
                                                   sum_state* carried = nullptr) {
    constexpr bool carry = !shifted;
    const auto p = shifted ? exp::pivot::shifted(m) : exp::pivot::difference(m);
    drift_free_sum<Arch, T> sum;
    if (carried != nullptr) sum.load(*carried);
    detail::for_each_block<width, group>(
        0, n,
        [&](std::size_t i) {
          if constexpr (prefetch_next) {
            prefetch(read.x + i, n * sizeof(T));
          }
          std::array<batch, 4> e;
          SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) e[u] = read(i + u * width);
          exp::template of_row<carry>(e, p);
          if constexpr (store) {
            SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u)
                lane::store(e[u], y + i + u * width, stream);
          }
          sum.add((e[0] + e[1]) + (e[2] + e[3]));
        },
        [&](std::size_t i) {
          const batch e = exp::template of_row<carry>(read(i), p);
          if constexpr (store) lane::store(e, y + i, stream);
          sum.add(e);
        },
        [&](std::size_t i, std::size_t count) {
          const batch e = exp::template of_row<carry>(read.tail(i, count, -T(__builtin_inf())), p);
          if constexpr (store) lane::store_tail(e, y + i, count);
          sum.add(e);
        });
    if (carried != nullptr) sum.save(*carried);
    wide_sum total = sum.total();
    total.pivot = int(p.j);
    return total;
  }
  static wide_sum store_exp_and_sum(const T* x, T m, T* y, std::size_t n) {
    return exp_sum_impl<true, true>(x, m, y, n);
  }
  static wide_sum exp_sum(const T* x, T m, std::size_t n) {
    return exp_sum_impl<false, false>(x, m, nullptr, n);
  }
  static wide_sum shifted_exp_sum(const T* x, T m, std::size_t n) {
    return exp_sum_impl<false, true, true>(x, m, nullptr, n);
  }
  static void store_exp_and_add(const T* x, T m, T* y, std::size_t n, sum_state& s) {
    exp_sum_impl<true, true>(x, m, y, n, false, &s);
  }
  static void shifted_exp_add(const T* x, T m, std::size_t n, sum_state& s) {
    exp_sum_impl<false, true>(x, m, nullptr, n, false, &s);
  }
  static void exact_exp_add(const T* x, T m, std::size_t n, sum_state& s) {
    exp_sum_impl<false, false>(x, m, nullptr, n, false, &s);
  }
  static wide_sum total(const sum_state& s) {
    drift_free_sum<Arch, T> sum;
    sum.load(s);
    return sum.total();
  }

  /// max x; m ordinary (finite, and m + lowest_argument != m: dispatch's other rows); e_i =
  /// the shifted exps, summed as store_exp_and_sum sums them (groups of four as a tree); y_i =
  /// e_i (1/s). The same arithmetic, and so the same bits, as the dispatcher's three passes.
  ///
  /// Only a row of one vector (up to 16 floats on AVX-512: routers' experts) stays in
  /// registers from max to scaling: with its count known at compile time nothing leaves them.
  /// A longer row runs the three in-cache passes here, in one call. Keeping a row of 2 to 16
  /// vectors in an array (on the stack: its count is known only at run time) was slower than
  /// the passes, whose loops keep four chains in flight and whose stores and reloads hit L1:
  /// 64 rotating rows, medians, the Zen 5 VM (2026-12-03), in ns a call, array against passes:
  /// float AVX-512 n = 32 22.1 / 21.7, 64 26.3 / 24.4, 256 77.2 / 61.0; AVX2 64 37.5 / 35.5,
  /// 256 117 / 99; SSE2 16 47.6 / 26.8, 256 266 / 242; double AVX-512 128 82.3 / 73.7, SSE2 8
  /// 49.4 / 33.3. One vector, array against passes: float AVX-512 16 12.0 / 17.9, AVX2 8 10.6 /
  /// 17.4; double AVX-512 8 12.9 / 20.9.
  static bool small_softmax(const T* x, T* y, std::size_t n) {
    return n <= width ? one_vector_softmax(x, y, n) : passes_softmax(x, y, n);
  }
  /// small_softmax of a row of more than one vector: a call of its own, so that the one-vector
  /// path pays none of its frame (inlined here, it took 0.75 of the passes' time at 16 floats on
  /// AVX-512, against 0.67 apart).
  [[gnu::noinline]] static bool passes_softmax(const T* x, T* y, std::size_t n) {
    const T m = lane::max(x, n);
    // m - m is 0 exactly when m is finite (written out: no ISA-neutral helper in this object).
    if (!(m - m == T(0)) || m + T(exp::constants::lowest_argument) == m) return false;
    const reciprocal<Arch, T> inverse(store_exp_and_sum(x, m, y, n));
    scale(y, inverse.hi, inverse.lo, n);
    return true;
  }
  /// small_softmax of a row of n <= width elements, padded with -inf to one vector.
  SOFTLAB_ALWAYS_INLINE static bool one_vector_softmax(const T* x, T* y, std::size_t n) {
    const batch row =
        n == width ? batch::load_unaligned(x) : lane::load_tail(x, n, -T(__builtin_inf()));
    const T m = lane::horizontal_max(row);
    if (!(m - m == T(0)) || m + T(exp::constants::lowest_argument) == m) return false;
    const batch e = exp::of_row(row, exp::pivot::shifted(m));
    drift_free_sum<Arch, T> sum;
    sum.add(e);
    const reciprocal<Arch, T> inverse(sum.total());
    const batch scaled = times(e, batch(inverse.hi), batch(inverse.lo));
    if (n == width)
      scaled.store_unaligned(y);
    else
      lane::store_tail(scaled, y, n);
    return true;
  }

  static batch times(const batch& v, const batch& hi, const batch& lo) {
    return lane::fma(v, hi, v * lo);
  }

  static void scale(T* y, T inverse_hi, T inverse_lo, std::size_t n) {
    const batch hi(inverse_hi), lo(inverse_lo);
    lane::template transform<2 * width>(y, y, n, T(0),
                                        [&](const batch& v) { return times(v, hi, lo); });
  }

  /// y_i = e_i (inverse_hi + inverse_lo), streamed: e_i the shifted exps of x (exps), or y_i
  /// itself (in place, the exps stored by the first pass). Plain stores up to the first
  /// vector-aligned y, streaming stores from there.
  template <bool exps, bool streamed = true>
  static void stream_scaled(const T* x, T m, T inverse_hi, T inverse_lo, T* y, std::size_t n) {
    const auto s = exp::pivot::shifted(m);
    const batch hi(inverse_hi), lo(inverse_lo);
    const T* const from = exps ? x : y;
    auto values = [&](const batch& v) { return exps ? exp::of_row(v, s) : v; };
    detail::for_each_block_aligned_to<width, group, width * sizeof(T)>(
        y, n, streamed,
        [&](std::size_t i, bool aligned) {
          std::array<batch, 4> e;
          SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) e[u] =
              batch::load_unaligned(from + i + u * width);
          if constexpr (exps) exp::of_row(e, s);
          SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u)
              lane::store(times(e[u], hi, lo), y + i + u * width, aligned);
        },
        [&](std::size_t i, bool aligned) {
          lane::store(times(values(batch::load_unaligned(from + i)), hi, lo), y + i, aligned);
        },
        [&](std::size_t i, std::size_t count) {
          const T pad = exps ? -T(__builtin_inf()) : T(0);
          lane::store_tail(times(values(lane::load_tail(from + i, count, pad)), hi, lo), y + i,
                           count);
        });
    if constexpr (streamed)
      _mm_sfence();  // streamed stores are weakly ordered: make them visible before returning
  }
  static void stream_exp_scaled(const T* x, T m, T inverse_hi, T inverse_lo, T* y, std::size_t n) {
    stream_scaled<true>(x, m, inverse_hi, inverse_lo, y, n);
  }
  static void stream_scale(T* y, T inverse_hi, T inverse_lo, std::size_t n) {
    stream_scaled<false>(y, T(0), inverse_hi, inverse_lo, y, n);
  }
  static void exp_scaled(const T* x, T m, T inverse_hi, T inverse_lo, T* y, std::size_t n) {
    stream_scaled<true, false>(x, m, inverse_hi, inverse_lo, y, n);
  }

  /// The sum grouped as shifted_exp_sum groups it (from x's first element, whatever y's
  /// alignment): the sum's bits, and so every weight's, do not depend on where y is or on
  /// whether the exps are stored. The stores bypass the cache when y is aligned to the vector
  /// (every full vector's address then is), else they are plain.
  static wide_sum store_exp_and_sum_prefetching(const T* x, T m, T* y, std::size_t n) {
    const bool stream = reinterpret_cast<std::uintptr_t>(y) % (width * sizeof(T)) == 0;
    const wide_sum total = exp_sum_impl<true, true, true>(x, m, y, n, stream);
    if (stream) _mm_sfence();  // streamed stores are weakly ordered
    return total;
  }

  static constexpr fast_passes<T> passes{&small_softmax,
                                         &lane::max,
                                         &store_exp_and_sum,
                                         &exp_sum,
                                         &shifted_exp_sum,
                                         &scale,
                                         &store_exp_and_sum_prefetching,
                                         &stream_scale,
                                         &stream_exp_scaled,
                                         &lane::shifted_minus,
                                         &store_exp_and_add,
                                         &shifted_exp_add,
                                         &exact_exp_add,
                                         &total,
                                         &exp_scaled};
};

}  // namespace softlab::simd
