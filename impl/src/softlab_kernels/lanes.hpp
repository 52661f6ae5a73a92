// src/softlab_kernels/lanes.hpp: what every vectorized kernel needs around its arithmetic: padded
// tails, horizontal reductions, the max pass, widening and streaming stores. Templates on the
// xsimd architecture, included only by the per-ISA translation units (impl/src/kernels_<isa>.cpp).
//
// Every function here is a template on Arch, and nothing here calls a non-template inline
// function or std:: scalar math: the linker merges identical inline symbols across objects and
// could otherwise keep an AVX2-encoded copy for the SSE2 path (tests/core/check_no_vex.cmake).
// The loops over a row are detail::for_each_block's (softlab/detail/float_blocks.hpp), given
// lambdas of these templates, so their instantiations are specific to the ISA too.
//
// The struct softlab::xsimd (softlab/simd/xsimd.hpp) hides the xsimd library's namespace inside
// namespace softlab: the library is named ::xsimd here and in every kernel.
#pragma once

#include <softlab/detail/float_blocks.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <immintrin.h>

/// Fully unrolls the loop that follows (the kernels' stage loops over independent vectors).
#if defined(__clang__)
#define SOFTLAB_UNROLL _Pragma("unroll")
#else
#define SOFTLAB_UNROLL _Pragma("GCC unroll 16")
#endif

// SOFTLAB_ALWAYS_INLINE (softlab/detail/float_blocks.hpp) on a kernel's per-vector arithmetic
// inlines it into its loops even past GCC's -O2 size limits: a call would pass the vectors
// through memory and keep the four chains of a group from overlapping.

namespace softlab::simd {

/// The xsimd architecture of each softlab::isa, for every per-ISA translation unit.
namespace arch {
using sse2 = ::xsimd::sse2;
using avx2 = ::xsimd::fma3<::xsimd::avx2>;
using avx512 = ::xsimd::avx512bw;
}  // namespace arch

/// The register width of an xsimd architecture softlab compiles for: 128 (sse2), 256
/// (fma3<avx2>) or 512 (avx512bw), for the few operations written with intrinsics.
template <class Arch>
inline constexpr int vector_bits = std::is_same_v<Arch, arch::sse2>     ? 128
                                   : std::is_same_v<Arch, arch::avx512> ? 512
                                                                        : 256;

template <class Arch, class T>
struct lanes {
  using batch = ::xsimd::batch<T, Arch>;
  static constexpr std::size_t width = batch::size;
  static constexpr std::size_t unroll = 4;  // independent accumulators: hide the add latency

  /// The first count of width lanes set: AVX2's masked loads and stores take it as a vector of
  /// all-ones lanes, read from ones_then_zeros at width - count.
  using mask_bits = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  static constexpr std::array<mask_bits, 2 * width> ones_then_zeros = [] {
    std::array<mask_bits, 2 * width> lanes{};
    for (std::size_t i = 0; i < width; ++i) lanes[i] = -1;
    return lanes;
  }();
  static __m256i avx2_mask(std::size_t count) {
    return _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(ones_then_zeros.data() + width - count));
  }

  /// The last count < width elements, padded with `pad` (-inf: exp gives 0, max ignores it).
  /// AVX2 and AVX-512 load only the count elements (masked loads never fault on the lanes they
  /// leave out); SSE2 has no masked load and copies through a buffer.
  static batch load_tail(const T* x, std::size_t count, T pad) {
    if constexpr (vector_bits<Arch> == 512) {
      const auto keep = static_cast<std::uint16_t>((1u << count) - 1);
      if constexpr (std::is_same_v<T, float>)
        return _mm512_mask_loadu_ps(_mm512_set1_ps(pad), keep, x);
      else
        return _mm512_mask_loadu_pd(_mm512_set1_pd(pad), static_cast<std::uint8_t>(keep), x);
    } else if constexpr (vector_bits<Arch> == 256) {
      const __m256i keep = avx2_mask(count);
      if constexpr (std::is_same_v<T, float>)
        return _mm256_blendv_ps(_mm256_set1_ps(pad), _mm256_maskload_ps(x, keep),
                                _mm256_castsi256_ps(keep));
      else
        return _mm256_blendv_pd(_mm256_set1_pd(pad), _mm256_maskload_pd(x, keep),
                                _mm256_castsi256_pd(keep));
    } else {
      alignas(Arch::alignment()) T buffer[width];
      for (std::size_t i = 0; i < width; ++i) buffer[i] = i < count ? x[i] : pad;
      return batch::load_aligned(buffer);
    }
  }
  static void store_tail(const batch& v, T* y, std::size_t count) {
    if constexpr (vector_bits<Arch> == 512) {
      const auto keep = static_cast<std::uint16_t>((1u << count) - 1);
      if constexpr (std::is_same_v<T, float>)
        _mm512_mask_storeu_ps(y, keep, v);
      else
        _mm512_mask_storeu_pd(y, static_cast<std::uint8_t>(keep), v);
    } else if constexpr (vector_bits<Arch> == 256) {
      if constexpr (std::is_same_v<T, float>)
        _mm256_maskstore_ps(y, avx2_mask(count), v);
      else
        _mm256_maskstore_pd(y, avx2_mask(count), v);
    } else {
      alignas(Arch::alignment()) T buffer[width];
      v.store_aligned(buffer);
      for (std::size_t i = 0; i < count; ++i) y[i] = buffer[i];
    }
  }
  /// A full vector at y, past the cache when `streaming` (y is then aligned: see
  /// detail::for_each_block_aligned_to and store_streaming).
  static void store(const batch& v, T* y, bool streaming) {
    if (streaming)
      store_streaming(v, y);
    else
      v.store_unaligned(y);
  }

  /// y_i = f(x_i), Group elements per step (Group / width independent vectors), the tail padded
  /// with `pad`. y may be x.
  template <std::size_t Group = width, class F>
  static void transform(const T* x, T* y, std::size_t n, T pad, F&& f) {
    auto one = [&](std::size_t i) { f(batch::load_unaligned(x + i)).store_unaligned(y + i); };
    detail::for_each_block<width, Group>(
        0, n,
        [&](std::size_t i) {
          for (std::size_t u = 0; u < Group; u += width) one(i + u);
        },
        one,
        [&](std::size_t i, std::size_t count) {
          store_tail(f(load_tail(x + i, count, pad)), y + i, count);
        });
  }
  /// a b + c with one rounding. xsimd 8.1 has no AVX-512 fma (its generic one is a b + c, two
  /// roundings under -ffp-contract=off), so AVX-512 calls the instruction itself; SSE2 has no
  /// FMA and the kernels' exactness arguments hold without it.
  static batch fma(const batch& a, const batch& b, const batch& c) {
    if constexpr (vector_bits<Arch> == 512) {
      if constexpr (std::is_same_v<T, float>)
        return _mm512_fmadd_ps(a, b, c);
      else
        return _mm512_fmadd_pd(a, b, c);
    } else {
      return ::xsimd::fma(a, b, c);
    }
  }
  /// c - a b with one rounding (see fma).
  static batch fnma(const batch& a, const batch& b, const batch& c) {
    if constexpr (vector_bits<Arch> == 512) {
      if constexpr (std::is_same_v<T, float>)
        return _mm512_fnmadd_ps(a, b, c);
      else
        return _mm512_fnmadd_pd(a, b, c);
    } else {
      return ::xsimd::fnma(a, b, c);
    }
  }

  /// AVX-512: the lanes where x >= floor or x is NaN (not below floor), as a k-mask.
  using kept_lanes = std::conditional_t<sizeof(T) == 4, __mmask16, __mmask8>;
  static kept_lanes not_below(const batch& x, const batch& floor) {
    static_assert(vector_bits<Arch> == 512);
    if constexpr (std::is_same_v<T, float>)
      return _mm512_cmp_ps_mask(x, floor, _CMP_NLT_UQ);
    else
      return _mm512_cmp_pd_mask(x, floor, _CMP_NLT_UQ);
  }
  /// AVX-512: fma(a, b, c) in the kept lanes, +0 in the others (one zero-masked instruction).
  static batch fma_where(kept_lanes kept, const batch& a, const batch& b, const batch& c) {
    static_assert(vector_bits<Arch> == 512);
    if constexpr (std::is_same_v<T, float>)
      return _mm512_maskz_fmadd_ps(kept, a, b, c);
    else
      return _mm512_maskz_fmadd_pd(kept, a, b, c);
  }

  /// Whether fma and fnma round once (AVX2, AVX-512): SSE2 has no fused multiply-add.
  static constexpr bool fused = vector_bits<Arch> != 128;

  /// a b = value + error exactly (unless the error underflows): by one fused multiply-add where
  /// the ISA has it, else by Veltkamp's splitting and Dekker's product (detail::
  /// two_product_by_splitting; |a|, |b| below 2^995).
  static detail::rounded_and_error<batch> two_product(const batch& a, const batch& b) {
    if constexpr (fused) {
      const batch value = a * b;
      return {value, fma(a, b, -value)};
    } else {
      constexpr T splitter = std::is_same_v<T, float> ? T(4097) : T(134217729);  // 2^ceil(p/2)+1
      return detail::two_product_by_splitting(a, b, batch(splitter));
    }
  }

  /// table[index_i] in lane i; every index must lie in the table.
  static batch gather(const T* table, const ::xsimd::batch<std::int64_t, Arch>& index) requires
      std::is_same_v<T, double> {
    if constexpr (vector_bits<Arch> == 128) {
      const __m128i i = index;
      return _mm_set_pd(table[_mm_cvtsi128_si64(_mm_unpackhi_epi64(i, i))],
                        table[_mm_cvtsi128_si64(i)]);
    } else if constexpr (vector_bits<Arch> == 512) {
      return _mm512_i64gather_pd(index, table, sizeof(double));
    } else {
      return _mm256_i64gather_pd(table, index, sizeof(double));
    }
  }

  /// Lane k of the result: the sum of the lanes of rows[k], k < width (xsimd::haddp's
  /// reduction). xsimd 8.1's AVX-512 float haddp returns those sums in the lane order 0 1 4 5 2
  /// 3 6 7 8 9 12 13 10 11 14 15 (an involution: measured on a Zen 5, the double one is right):
  /// the same permutation puts them back.
  static batch sums_of_each(const batch* rows) {
    const batch sums = ::xsimd::haddp(rows);
    if constexpr (vector_bits<Arch> == 512 && std::is_same_v<T, float>)
      return _mm512_permutexvar_ps(
          _mm512_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15), sums);
    else
      return sums;
  }

  /// The largest lane, by halving shuffles: a spill to memory and a scalar loop would put a
  /// store-forwarding stall and width - 1 dependent compares on every row's critical path.
  static T horizontal_max(const batch& v) {
    if constexpr (std::is_same_v<T, float>) {
      __m128 m;
      if constexpr (vector_bits<Arch> == 128) {
        m = v;
      } else {
        __m256 h;
        if constexpr (vector_bits<Arch> == 512)
          h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
        else
          h = v;
        m = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
      }
      m = _mm_max_ps(m, _mm_movehl_ps(m, m));
      m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
      return _mm_cvtss_f32(m);
    } else {
      __m128d m;
      if constexpr (vector_bits<Arch> == 128) {
        m = v;
      } else {
        __m256d h;
        if constexpr (vector_bits<Arch> == 512)
          h = _mm256_max_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
        else
          h = v;
        m = _mm_max_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
      }
      m = _mm_max_sd(m, _mm_unpackhi_pd(m, m));
      return _mm_cvtsd_f64(m);
    }
  }

  /// Where a pass reads its row: the elements of x, a vector at a time. The passes are
  /// templates on their reader, so that score_kernel's reader (scores formed in registers from
  /// x, a scale and a mask) runs the same loops, with the same bits, without a formed row.
  struct row_reader {
    const T* x;
    batch operator()(std::size_t i) const { return batch::load_unaligned(x + i); }
    batch tail(std::size_t i, std::size_t count, T pad) const {
      return load_tail(x + i, count, pad);
    }
  };

  /// max of the n elements `read` gives; a NaN may be skipped (the callers recheck a
  /// non-finite max, and a NaN under a finite max reaches their sums).
  template <class Reader>
  SOFTLAB_ALWAYS_INLINE static T max_of(const Reader read, std::size_t n) {
    const T minus_inf = -T(__builtin_inf());
    batch acc[unroll];
    for (auto& a : acc) a = batch(minus_inf);
    detail::for_each_block<width, unroll * width>(
        0, n,
        [&](std::size_t i) {
          for (std::size_t u = 0; u < unroll; ++u)
            acc[u] = ::xsimd::max(acc[u], read(i + u * width));
        },
        [&](std::size_t i) { acc[0] = ::xsimd::max(acc[0], read(i)); },
        [&](std::size_t i, std::size_t count) {
          acc[1] = ::xsimd::max(acc[1], read.tail(i, count, minus_inf));
        });
    return horizontal_max(::xsimd::max(::xsimd::max(acc[0], acc[1]), ::xsimd::max(acc[2], acc[3])));
  }
  static T max(const T* x, std::size_t n) { return max_of(row_reader{x}, n); }

  /// y_i = (x_i - shift) - log_sum: log_softmax's last pass.
  static void shifted_minus(const T* x, T shift, T log_sum, T* y, std::size_t n) {
    const batch s(shift), l(log_sum);
    transform(x, y, n, T(0), [&](const batch& v) { return (v - s) - l; });
  }

  /// max(floor, v) that keeps a NaN of v: the x86 max instructions return their second operand
  /// when either is NaN, and xsimd::max(a, b) is (MAXPS a, b).
  static batch max_keeping_nan(const batch& floor, const batch& v) {
    return ::xsimd::max(floor, v);
  }

  /// Stores that bypass the cache (MOVNTPS/MOVNTPD) for outputs larger than it: the line is
  /// not read first, so a streamed pass moves 8 bytes per float element instead of 12. y must
  /// be aligned to the vector; the caller fences (softlab::simd::stream_fence) before returning.
  static void store_streaming(const batch& v, T* y) {
    if constexpr (vector_bits<Arch> == 128) {
      if constexpr (std::is_same_v<T, float>)
        _mm_stream_ps(y, v);
      else
        _mm_stream_pd(y, v);
    } else if constexpr (vector_bits<Arch> == 512) {
      if constexpr (std::is_same_v<T, float>)
        _mm512_stream_ps(y, v);
      else
        _mm512_stream_pd(y, v);
    } else {
      if constexpr (std::is_same_v<T, float>)
        _mm256_stream_ps(y, v);
      else
        _mm256_stream_pd(y, v);
    }
  }
};

/// The two halves of a float vector as double vectors of the same ISA (lossless).
template <class Arch>
struct widen_float {
  using floats = ::xsimd::batch<float, Arch>;
  using doubles = ::xsimd::batch<double, Arch>;
  static doubles low(const floats& v) {
    if constexpr (vector_bits<Arch> == 128)
      return _mm_cvtps_pd(v);
    else if constexpr (vector_bits<Arch> == 512)
      return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    else
      return _mm256_cvtps_pd(_mm256_castps256_ps128(v));
  }
  static doubles high(const floats& v) {
    if constexpr (vector_bits<Arch> == 128)
      return _mm_cvtps_pd(_mm_movehl_ps(v, v));
    else if constexpr (vector_bits<Arch> == 512)
      return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    else
      return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  }
  /// The doubles of low and high rounded to float (to nearest, subnormal results included),
  /// in one float vector: the inverse of low() and high().
  static floats narrow(const doubles& low, const doubles& high) {
    if constexpr (vector_bits<Arch> == 128)
      return _mm_movelh_ps(_mm_cvtpd_ps(low), _mm_cvtpd_ps(high));
    else if constexpr (vector_bits<Arch> == 512)
      return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(low)), _mm512_cvtpd_ps(high),
                                1);
    else
      return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(low)),
                                  _mm256_cvtpd_ps(high), 1);
  }
};

}  // namespace softlab::simd
