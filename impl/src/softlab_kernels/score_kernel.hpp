// src/softlab_kernels/score_kernel.hpp: the scores `fast` forms inside its own passes
// (impl/src/fast.cpp): a block of z_i = scale x_i + mask_i in the compute type C from x of the
// storage type (float, bfloat16 or float16 for C = float; double for C = double), and the
// rounding of float results to bfloat16 and float16. Templates on the xsimd architecture,
// included only by the per-ISA translation units (see src/softlab_kernels/lanes.hpp).
//
// The same bits as detail::row_transform (softlab/detail/scores.hpp), lane by lane:
//   widening: bfloat16 is float's upper half (a 16-bit shift, exact on every ISA); float16 by
//     F16C's VCVTPH2PS (AVX2, AVX-512: exact) or, on SSE2, by exponent arithmetic (exact:
//     the 10 fraction bits shifted into float's, the exponent rebiased by a multiplication by
//     2^112, which also normalizes float16's subnormals; inf and NaN get float's exponent);
//   z = fma(scale, x, mask) with one rounding (AVX2, AVX-512: VFMADD; SSE2, which has no fused
//     multiply-add: the correctly rounded scalar fma of the C library, lane by lane), scale * x
//     without a mask, x + mask without a scale; a double mask rounded to float first (C(mask));
//   a false keep-mask entry: -inf (whatever x holds). The causal columns are the caller's.
// Rounding float to the storage types as softlab/storage.hpp does: to nearest even, subnormals
// kept, overflow to inf, NaN to the quiet NaN of its sign (0x7fc0 / 0x7e00, payload dropped):
//   bfloat16: the integer rounding (bits + 0x7fff + lsb) >> 16, NaN lanes replaced first (the
//     carry would turn a low-payload NaN into inf);
//   float16: F16C's VCVTPS2PH with round-to-nearest-even (subnormal results kept) after NaN
//     lanes are made the canonical quiet NaN of their sign; SSE2: Giesen's exact rounding by
//     integer and float arithmetic (float_to_half_fast3_rtne, public domain).
#pragma once

#include <softlab/options.hpp>
#include <softlab_kernels/fast_kernel.hpp>
#include <softlab_kernels/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <immintrin.h>

namespace softlab::simd {

/// The element type of a row's stored scores x: the compute type itself, or a 16-bit format.
enum class score_storage { compute, bfloat16, float16 };

/// What forms a row's scores (detail::row_transform, type-erased for the kernel tables): x
/// (S = C, or 16-bit bits), the scale (1 when unscaled), and this row's mask.
template <class C>
struct score_source {
  const void* x = nullptr;
  score_storage storage = score_storage::compute;
  C scale = C(1);
  bool scaled = false;
  score_mask::kind mask = score_mask::kind::none;
  const void* mask_data = nullptr;  ///< this row's first element
  /// The end of the columns the caller forms: a block ending there prefetches no next block
  /// (past it lie other rows, or nothing).
  std::size_t formed_end = 0;
};

template <class C>
struct score_passes {
  /// z_k = the score of element start + k, for k < count (x and the mask read from start).
  void (*form)(const score_source<C>& source, std::size_t start, std::size_t count, C* z);
  /// The same, and their max: fast_passes::max(z, count)'s value up to which of equal zeros or
  /// of NaNs it gives (a NaN may be skipped where another lane is larger), which the callers do
  /// not see (a NaN score reaches their sums; exp(x - 0) = exp(x - -0)).
  C (*form_max)(const score_source<C>& source, std::size_t start, std::size_t count, C* z);
  /// y_i = z_i rounded to bfloat16 (float16), as bits. Null for C = double.
  void (*to_bfloat16)(const C* z, std::uint16_t* y, std::size_t n);
  void (*to_float16)(const C* z, std::uint16_t* y, std::size_t n);
  /// y_i = e_i (inverse_hi + inverse_lo) rounded to bfloat16 (float16): fast's scale pass and
  /// the rounding in one, e_i the stored exps (fast_kernel::scale's product, the same bits; a
  /// NaN weight a quiet NaN, half_lanes::weights_to).
  void (*scaled_to_bfloat16)(const C* e, C inverse_hi, C inverse_lo, std::uint16_t* y,
                             std::size_t n);
  void (*scaled_to_float16)(const C* e, C inverse_hi, C inverse_lo, std::uint16_t* y,
                            std::size_t n);
  /// The same with e_i the shifted exps of z against m, recomputed (fast_kernel::exp_scaled's
  /// values, the same bits). Plain stores, out of cache too: on the Zen 5 VM (2026-12-02,
  /// softlab-bench softmax/<bf16|f16>/fast@avx512/16777216, 5 repetitions, twice) streaming
  /// these 16-bit weights took 0.63 and 0.59 ns per element, plain stores 0.55 and 0.52 (x,
  /// read again by the same pass, and the streamed y competed; not measured on Zen 3).
  void (*exp_scaled_to_bfloat16)(const C* z, C m, C inverse_hi, C inverse_lo, std::uint16_t* y,
                                 std::size_t n);
  void (*exp_scaled_to_float16)(const C* z, C m, C inverse_hi, C inverse_lo, std::uint16_t* y,
                                std::size_t n);
  // The scores read where they lie, formed in registers (no formed row is stored and read
  // back): the max and the exp passes of fast_passes over them, with the bits those passes
  // give on the formed row. Only where reads(source) holds, and for columns that are all
  // formed (not a causal row's cut: the caller fills those).
  bool (*reads)(const score_source<C>& source);
  /// fast_passes::max of the scores start .. start + count.
  C (*max_of)(const score_source<C>& source, std::size_t start, std::size_t count);
  /// fast_passes::store_exp_and_add of the scores start .. start + count, stored at y.
  void (*store_exp_and_add_of)(const score_source<C>& source, std::size_t start, std::size_t count,
                               C m, C* y, sum_state& sum);
};

/// float lanes to and from the 16-bit storage formats, a vector of float's width at a time.
template <class Arch>
struct half_lanes {
  using floats = ::xsimd::batch<float, Arch>;
  static constexpr std::size_t width = floats::size;

  static floats from_bfloat16(const std::uint16_t* p) {
    if constexpr (vector_bits<Arch> == 128) {
      const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
      return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h));
    } else if constexpr (vector_bits<Arch> == 256) {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    } else {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
  }

  static floats from_float16(const std::uint16_t* p) {
    if constexpr (vector_bits<Arch> == 128) {
      const __m128i h = _mm_unpacklo_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)),
                                           _mm_setzero_si128());
      const __m128i magnitude = _mm_and_si128(h, _mm_set1_epi32(0x7fff));
      const __m128i sign = _mm_slli_epi32(_mm_xor_si128(h, magnitude), 16);
      // The fraction and exponent in float's places; times 2^112 rebiases the exponent (15 to
      // 127) and normalizes a subnormal, exactly.
      const __m128 scaled = _mm_mul_ps(_mm_castsi128_ps(_mm_slli_epi32(magnitude, 13)),
                                       _mm_castsi128_ps(_mm_set1_epi32((127 + 112) << 23)));
      const __m128i special = _mm_cmpgt_epi32(magnitude, _mm_set1_epi32(0x7bff));  // inf, NaN
      const __m128 special_exponent =
          _mm_and_ps(_mm_castsi128_ps(special), _mm_castsi128_ps(_mm_set1_epi32(255 << 23)));
      return _mm_or_ps(_mm_or_ps(scaled, special_exponent), _mm_castsi128_ps(sign));
    } else if constexpr (vector_bits<Arch> == 256) {
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    } else {
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
  }

  /// A vector of float's width rounded to a 16-bit format, before it is stored: 32-bit lanes
  /// holding the 16-bit values (0..0xffff) for bfloat16 on every ISA and for SSE2's float16;
  /// F16C's packed halves (128 or 256 bits) for float16 on AVX2 and AVX-512.
  static auto bfloat16_bits(const floats& v) {
    if constexpr (vector_bits<Arch> == 128) {
      const __m128i u = _mm_castps_si128(v);
      const __m128i lsb = _mm_and_si128(_mm_srli_epi32(u, 16), _mm_set1_epi32(1));
      const __m128i rounded =
          _mm_srli_epi32(_mm_add_epi32(_mm_add_epi32(u, _mm_set1_epi32(0x7fff)), lsb), 16);
      const __m128i nan_bits = _mm_or_si128(
          _mm_and_si128(_mm_srli_epi32(u, 16), _mm_set1_epi32(0x8000)), _mm_set1_epi32(0x7fc0));
      const __m128i is_nan = _mm_castps_si128(_mm_cmpunord_ps(v, v));
      return _mm_or_si128(_mm_and_si128(is_nan, nan_bits), _mm_andnot_si128(is_nan, rounded));
    } else if constexpr (vector_bits<Arch> == 256) {
      const __m256i u = _mm256_castps_si256(v);
      const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
      const __m256i rounded = _mm256_srli_epi32(
          _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
      const __m256i nan_bits =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x8000)),
                          _mm256_set1_epi32(0x7fc0));
      const __m256 is_nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
      return _mm256_castps_si256(
          _mm256_blendv_ps(_mm256_castsi256_ps(rounded), _mm256_castsi256_ps(nan_bits), is_nan));
    } else {
      const __m512i u = _mm512_castps_si512(v);
      const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
      const __m512i rounded = _mm512_srli_epi32(
          _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
      const __m512i nan_bits =
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x8000)),
                          _mm512_set1_epi32(0x7fc0));
      const __mmask16 is_nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      return _mm512_mask_blend_epi32(is_nan, rounded, nan_bits);
    }
  }

  /// float16 bits: 32-bit lanes on SSE2, packed halves on AVX2 and AVX-512.
  static auto float16_bits(const floats& v) {
    if constexpr (vector_bits<Arch> == 128) {
      // Giesen's float_to_half_fast3_rtne, SSE2.
      const __m128 sign = _mm_and_ps(v, _mm_castsi128_ps(_mm_set1_epi32(int(0x80000000u))));
      const __m128 magnitude = _mm_xor_ps(v, sign);
      const __m128i bits = _mm_castps_si128(magnitude);
      const __m128i is_nan = _mm_castps_si128(_mm_cmpunord_ps(magnitude, magnitude));
      // Below 2^16 (65520 and up round to inf): finite results; else inf or NaN.
      const __m128i regular = _mm_cmpgt_epi32(_mm_set1_epi32((127 + 16) << 23), bits);
      const __m128i special =
          _mm_or_si128(_mm_and_si128(is_nan, _mm_set1_epi32(0x200)), _mm_set1_epi32(0x7c00));
      // Below float16's smallest normal 2^-14: adding 0.5 (2^-1, whose ulp is 2^-24, the
      // float16 subnormal spacing) rounds to the subnormal grid, to nearest even.
      const __m128i subnormal_case = _mm_cmpgt_epi32(_mm_set1_epi32((127 - 14) << 23), bits);
      const __m128i magic = _mm_set1_epi32((127 - 1) << 23);
      const __m128i subnormal =
          _mm_sub_epi32(_mm_castps_si128(_mm_add_ps(magnitude, _mm_castsi128_ps(magic))), magic);
      // Normal: rebias the exponent and round the 13 dropped bits to nearest even.
      const __m128i odd = _mm_and_si128(_mm_srli_epi32(bits, 13), _mm_set1_epi32(1));
      const __m128i normal = _mm_srli_epi32(
          _mm_add_epi32(_mm_add_epi32(bits, _mm_set1_epi32(0xfff - ((127 - 15) << 23))), odd), 13);
      const __m128i finite = _mm_or_si128(_mm_and_si128(subnormal_case, subnormal),
                                          _mm_andnot_si128(subnormal_case, normal));
      const __m128i joined =
          _mm_or_si128(_mm_and_si128(regular, finite), _mm_andnot_si128(regular, special));
      return _mm_or_si128(joined, _mm_srli_epi32(_mm_castps_si128(sign), 16));
    } else if constexpr (vector_bits<Arch> == 256) {
      const __m256 sign =
          _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(int(0x80000000u))));
      const __m256 quiet = _mm256_or_ps(sign, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fc00000)));
      const __m256 canonical = _mm256_blendv_ps(v, quiet, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      return _mm256_cvtps_ph(canonical, _MM_FROUND_TO_NEAREST_INT);
    } else {
      const __m512 sign = _mm512_castsi512_ps(
          _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(int(0x80000000u))));
      const __m512 quiet = _mm512_castsi512_ps(
          _mm512_or_si512(_mm512_castps_si512(sign), _mm512_set1_epi32(0x7fc00000)));
      const __m512 canonical =
          _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v, quiet);
      return _mm512_cvtps_ph(canonical, _MM_FROUND_TO_NEAREST_INT);
    }
  }

  /// The rounding of weights (the scale passes' products e_i / s: finite and non-negative, or
  /// a row's quiet NaNs: arithmetic quiets every NaN): without the general rounding's NaN
  /// lanes. A NaN weight becomes a quiet NaN, not the storage types' quiet NaN of its sign (NaN
  /// rows' bits are not the contract; every weight that is a number keeps its bits). bfloat16:
  /// the unsigned min with 0x7fc00000 takes every quiet NaN of either sign (0x7fc00000 and
  /// above as unsigned) to the positive one and leaves 0 .. inf alone, then the integer
  /// rounding, whose upper halves are the result (the lower ones are dropped when packing).
  /// SSE2 has no unsigned min (SSE4.1): its general rounding. float16: VCVTPS2PH alone (a
  /// NaN stays a NaN). On the Zen 5 VM (softmax<fast> of 4096 normal(0, 4) scores, medians of
  /// interleaved calls, 16-bit in and out over float): bfloat16 1.10-1.12x -> 0.99x and float16
  /// 1.05x -> 0.93-0.95x on avx512; 1.24-1.26x -> 1.17-1.19x and 1.17-1.18x -> 1.04-1.05x on
  /// avx2.
  static auto bfloat16_upper_bits_of_weights(const floats& v) {
    if constexpr (vector_bits<Arch> == 256) {
      const __m256i u = _mm256_min_epu32(_mm256_castps_si256(v), _mm256_set1_epi32(0x7fc00000));
      const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
      return _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb);
    } else {
      static_assert(vector_bits<Arch> == 512);
      const __m512i u = _mm512_min_epu32(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fc00000));
      const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
      return _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
    }
  }

  template <bool bfloat>
  static void weights_to(const floats& v, std::uint16_t* p) {
    if constexpr (vector_bits<Arch> == 128)
      bfloat ? to_bfloat16(v, p) : to_float16(v, p);
    else if constexpr (!bfloat && vector_bits<Arch> == 256)
      store_packed_halves(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT), p);
    else if constexpr (!bfloat)
      store_packed_halves(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT), p);
    else if constexpr (vector_bits<Arch> == 256)
      store_low_halves(_mm256_srli_epi32(bfloat16_upper_bits_of_weights(v), 16), p);
    else
      store_low_halves(_mm512_srli_epi32(bfloat16_upper_bits_of_weights(v), 16), p);
  }

  /// Two vectors of weights, rounded as weights_to rounds them, stored as 2 width uint16.
  template <bool bfloat>
  static void weight_pair_to(const floats& a, const floats& b, std::uint16_t* p) {
    if constexpr (vector_bits<Arch> == 128) {
      pair_to<bfloat>(a, b, p);
    } else if constexpr (vector_bits<Arch> == 256) {
      __m256i joined;
      if constexpr (bfloat)
        joined = _mm256_permute4x64_epi64(
            _mm256_packus_epi32(_mm256_srli_epi32(bfloat16_upper_bits_of_weights(a), 16),
                                _mm256_srli_epi32(bfloat16_upper_bits_of_weights(b), 16)),
            0xd8);
      else
        joined = _mm256_set_m128i(_mm256_cvtps_ph(b, _MM_FROUND_TO_NEAREST_INT),
                                  _mm256_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), joined);
    } else {
      __m512i joined;
      if constexpr (bfloat) {
        // The upper 16 bits of every 32-bit lane, a's then b's, in one permute.
        const __m512i upper_halves =
            _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33, 31, 29,
                             27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
        joined = _mm512_permutex2var_epi16(bfloat16_upper_bits_of_weights(a), upper_halves,
                                           bfloat16_upper_bits_of_weights(b));
      } else {
        joined = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm512_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT)),
            _mm512_cvtps_ph(b, _MM_FROUND_TO_NEAREST_INT), 1);
      }
      _mm512_storeu_si512(reinterpret_cast<__m512i*>(p), joined);
    }
  }

  /// 32-bit lanes holding 16-bit values, stored as width uint16 (plain stores).
  template <class Ints>
  static void store_low_halves(const Ints& v, std::uint16_t* p) {
    if constexpr (vector_bits<Arch> == 128) {
      // Sign-extended, the signed saturation of PACKSSDW keeps every 16-bit pattern.
      const __m128i s = _mm_srai_epi32(_mm_slli_epi32(v, 16), 16);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi32(s, s));
    } else if constexpr (vector_bits<Arch> == 256) {
      // PACKUSDW saturates signed 32-bit lanes to 0..0xffff: every value here is in range.
      const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(v, v), 0x08);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
    } else {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(v));
    }
  }

  template <class Halves>
  static void store_packed_halves(const Halves& h, std::uint16_t* p) {
    if constexpr (vector_bits<Arch> == 512)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), h);
    else
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), h);
  }

  static void to_bfloat16(const floats& v, std::uint16_t* p) {
    store_low_halves(bfloat16_bits(v), p);
  }
  static void to_float16(const floats& v, std::uint16_t* p) {
    if constexpr (vector_bits<Arch> == 128)
      store_low_halves(float16_bits(v), p);
    else
      store_packed_halves(float16_bits(v), p);
  }

  /// Two vectors a, b rounded to bfloat16 (float16) and stored as the 2 width uint16 from p:
  /// one full vector on AVX2 and AVX-512 (one pack and one store for the two, where one vector
  /// at a time packs and stores each half); two stores on SSE2.
  template <bool bfloat>
  static void pair_to(const floats& a, const floats& b, std::uint16_t* p) {
    if constexpr (vector_bits<Arch> == 128) {
      if constexpr (bfloat) {
        to_bfloat16(a, p);
        to_bfloat16(b, p + width);
      } else {
        to_float16(a, p);
        to_float16(b, p + width);
      }
    } else if constexpr (vector_bits<Arch> == 256) {
      __m256i joined;
      if constexpr (bfloat)
        // PACKUSDW interleaves the 128-bit lanes (a0 b0 a1 b1 in 64-bit pieces): put a first.
        joined =
            _mm256_permute4x64_epi64(_mm256_packus_epi32(bfloat16_bits(a), bfloat16_bits(b)), 0xd8);
      else
        joined = _mm256_set_m128i(float16_bits(b), float16_bits(a));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), joined);
    } else {
      __m512i joined;
      if constexpr (bfloat)
        joined = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7),
                                          _mm512_packus_epi32(bfloat16_bits(a), bfloat16_bits(b)));
      else
        joined = _mm512_inserti64x4(_mm512_castsi256_si512(float16_bits(a)), float16_bits(b), 1);
      _mm512_storeu_si512(reinterpret_cast<__m512i*>(p), joined);
    }
  }
};

template <class Arch, class C>
struct score_kernel {
  using lane = lanes<Arch, C>;
  using batch = typename lane::batch;
  static constexpr std::size_t width = lane::width;
  using halves = half_lanes<Arch>;
  using mask_kind = score_mask::kind;

  /// A mask vector at p in C: float and double masks, converted to C (rounded to nearest).
  template <mask_kind K>
  static batch mask_at(const void* data, std::size_t i) {
    if constexpr (K == mask_kind::additive_float) {
      const float* p = static_cast<const float*>(data) + i;
      if constexpr (std::is_same_v<C, float>) {
        return batch::load_unaligned(p);
      } else if constexpr (vector_bits<Arch> == 128) {
        return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
      } else if constexpr (vector_bits<Arch> == 256) {
        return _mm256_cvtps_pd(_mm_loadu_ps(p));
      } else {
        return _mm512_cvtps_pd(_mm256_loadu_ps(p));
      }
    } else {
      const double* p = static_cast<const double*>(data) + i;
      if constexpr (std::is_same_v<C, double>) {
        return batch::load_unaligned(p);
      } else {
        using doubles = ::xsimd::batch<double, Arch>;
        return widen_float<Arch>::narrow(doubles::load_unaligned(p),
                                         doubles::load_unaligned(p + doubles::size));
      }
    }
  }

  template <score_storage S>
  static batch widened_at(const void* x, std::size_t i) {
    if constexpr (S == score_storage::compute) {
      return batch::load_unaligned(static_cast<const C*>(x) + i);
    } else if constexpr (S == score_storage::bfloat16) {
      return halves::from_bfloat16(static_cast<const std::uint16_t*>(x) + i);
    } else {
      return halves::from_float16(static_cast<const std::uint16_t*>(x) + i);
    }
  }

  /// The scores of the full vector at element i of x and mask (SSE2's scaled additive case: x
  /// alone, the fused multiply-add done after, lane by lane).
  template <score_storage S, mask_kind K, bool scaled>
  SOFTLAB_ALWAYS_INLINE static batch score_at(const void* x, const void* mask, std::size_t i,
                                              const batch& scale) {
    const batch v = widened_at<S>(x, i);
    if constexpr (K == mask_kind::additive_float || K == mask_kind::additive_double) {
      if constexpr (!scaled) {
        return v + mask_at<K>(mask, i);
      } else if constexpr (lane::fused) {
        return lane::fma(scale, v, mask_at<K>(mask, i));
      } else {
        return v;
      }
    } else if constexpr (scaled) {
      return scale * v;
    } else {
      return v;
    }
  }

  template <class E>
  static E* copy_padded(const void* from, std::size_t start, std::size_t count, E* buffer) {
    const E* p = static_cast<const E*>(from) + start;
    for (std::size_t k = 0; k < width; ++k) buffer[k] = k < count ? p[k] : E(0);
    return buffer;
  }

  /// A row's scores formed in registers, lane by lane (lanes::row_reader's interface), from
  /// element `start` of the source on. Complete for every kind but two, whose lanes form_block
  /// finishes after: a keep-mask's false entries, and SSE2's scaled additive mask (x alone here,
  /// its fma the C library's).
  template <score_storage S, mask_kind K, bool scaled>
  struct score_reader {
    using stored = std::conditional_t<S == score_storage::compute, C, std::uint16_t>;
    using mask_element = std::conditional_t<K == mask_kind::additive_double, double, float>;
    static constexpr bool additive =
        K == mask_kind::additive_float || K == mask_kind::additive_double;
    const stored* x;
    const mask_element* mask;  ///< null without an additive mask
    batch scale;

    score_reader(const score_source<C>& source, std::size_t start)
        : x(static_cast<const stored*>(source.x) + start),
          mask(additive ? static_cast<const mask_element*>(source.mask_data) + start : nullptr),
          scale(source.scale) {}

    SOFTLAB_ALWAYS_INLINE batch operator()(std::size_t i) const {
      return score_at<S, K, scaled>(x, mask, i, scale);
    }
    /// The count < width scores from i, the other lanes `pad`.
    batch tail(std::size_t i, std::size_t count, C pad) const {
      alignas(64) stored x_rest[width];
      alignas(64) mask_element mask_rest[width];
      copy_padded(x, i, count, x_rest);
      if constexpr (additive) copy_padded(mask, i, count, mask_rest);
      alignas(64) C z[width];
      score_at<S, K, scaled>(x_rest, mask_rest, 0, scale).store_aligned(z);
      return lane::load_tail(z, count, pad);
    }
  };

  template <score_storage S, mask_kind K, bool scaled>
  static C form_block(const score_source<C>& source, std::size_t start, std::size_t count, C* z,
                      bool with_max) {
    using stored = std::conditional_t<S == score_storage::compute, C, std::uint16_t>;
    const score_reader<S, K, scaled> read(source, start);
    const stored* x = read.x;
    const void* mask = read.mask;
    // The next block's x and mask are fetched while this block's vector pass runs (the pass
    // reads the buffer, not memory: without this the next block's loads would wait for memory
    // with the arithmetic idle). Addresses, not pointers: past the row's end they point nowhere.
    constexpr std::size_t mask_bytes = K == mask_kind::additive_float    ? sizeof(float)
                                       : K == mask_kind::additive_double ? sizeof(double)
                                       : K == mask_kind::keep            ? sizeof(bool)
                                                                         : 0;
    const std::uintptr_t x_ahead = reinterpret_cast<std::uintptr_t>(x) + count * sizeof(stored);
    const std::uintptr_t mask_ahead =
        mask_bytes == 0
            ? 0
            : reinterpret_cast<std::uintptr_t>(source.mask_data) + (start + count) * mask_bytes;
    auto prefetch_next = [&](std::size_t i) {
      constexpr std::size_t x_step = 2 * width * sizeof(stored);
      SOFTLAB_UNROLL for (std::size_t b = 0; b < x_step; b += 64) _mm_prefetch(
          reinterpret_cast<const char*>(x_ahead + i * sizeof(stored) + b), _MM_HINT_T0);
      if constexpr (mask_bytes != 0) {
        constexpr std::size_t mask_step = 2 * width * mask_bytes;
        SOFTLAB_UNROLL for (std::size_t b = 0; b < mask_step; b += 64) _mm_prefetch(
            reinterpret_cast<const char*>(mask_ahead + i * mask_bytes + b), _MM_HINT_T0);
      }
    };
    const bool next_block = start + count < source.formed_end;
    // The max as the scores are stored (a max in the loop costs nothing beside its loads and
    // stores), for the kinds the reader completes; the others after their lanes are finished.
    const batch minus_inf(-C(__builtin_inf()));
    batch max_a = minus_inf, max_b = minus_inf;
    std::size_t i = 0;
    for (; i + 2 * width <= count; i += 2 * width) {
      if (next_block) prefetch_next(i);
      const batch a = read(i);
      const batch b = read(i + width);
      a.store_unaligned(z + i);
      b.store_unaligned(z + i + width);
      max_a = ::xsimd::max(max_a, a);
      max_b = ::xsimd::max(max_b, b);
    }
    for (; i + width <= count; i += width) {
      const batch a = read(i);
      a.store_unaligned(z + i);
      max_a = ::xsimd::max(max_a, a);
    }
    if (i < count) {
      const batch a = read.tail(i, count - i, -C(__builtin_inf()));
      lane::store_tail(a, z + i, count - i);
      max_a = ::xsimd::max(max_a, a);
    }
    if constexpr ((K == mask_kind::additive_float || K == mask_kind::additive_double) && scaled &&
                  !lane::fused) {
      // SSE2: the one-rounding fma of the C library (correctly rounded), lane by lane.
      for (std::size_t k = 0; k < count; ++k) {
        C m;
        if constexpr (K == mask_kind::additive_float)
          m = C(static_cast<const float*>(mask)[k]);
        else
          m = C(static_cast<const double*>(mask)[k]);
        if constexpr (std::is_same_v<C, float>)
          z[k] = __builtin_fmaf(source.scale, z[k], m);
        else
          z[k] = __builtin_fma(source.scale, z[k], m);
      }
    }
    if constexpr (K == mask_kind::keep) {
      const bool* keep = static_cast<const bool*>(source.mask_data) + start;
      for (std::size_t k = 0; k < count; ++k)
        if (!keep[k]) z[k] = -C(__builtin_inf());
    }
    constexpr bool finished_after =
        K == mask_kind::keep ||
        ((K == mask_kind::additive_float || K == mask_kind::additive_double) && scaled &&
         !lane::fused);
    if constexpr (finished_after) return with_max ? lane::max(z, count) : -C(__builtin_inf());
    return lane::horizontal_max(::xsimd::max(max_a, max_b));
  }

  template <score_storage S, bool scaled>
  static C form_with(const score_source<C>& source, std::size_t start, std::size_t count, C* z,
                     bool with_max) {
    switch (source.mask) {
      case mask_kind::none:
        return form_block<S, mask_kind::none, scaled>(source, start, count, z, with_max);
      case mask_kind::keep:
        return form_block<S, mask_kind::keep, scaled>(source, start, count, z, with_max);
      case mask_kind::additive_float:
        return form_block<S, mask_kind::additive_float, scaled>(source, start, count, z, with_max);
      case mask_kind::additive_double:
        return form_block<S, mask_kind::additive_double, scaled>(source, start, count, z, with_max);
    }
    return -C(__builtin_inf());
  }

  template <score_storage S>
  static C form_from(const score_source<C>& source, std::size_t start, std::size_t count, C* z,
                     bool with_max) {
    if (source.scaled) return form_with<S, true>(source, start, count, z, with_max);
    return form_with<S, false>(source, start, count, z, with_max);
  }

  static C form_returning_max(const score_source<C>& source, std::size_t start, std::size_t count,
                              C* z, bool with_max) {
    if constexpr (std::is_same_v<C, float>) {
      switch (source.storage) {
        case score_storage::compute:
          return form_from<score_storage::compute>(source, start, count, z, with_max);
        case score_storage::bfloat16:
          return form_from<score_storage::bfloat16>(source, start, count, z, with_max);
        case score_storage::float16:
          return form_from<score_storage::float16>(source, start, count, z, with_max);
      }
    }
    return form_from<score_storage::compute>(source, start, count, z, with_max);
  }
  static void form(const score_source<C>& source, std::size_t start, std::size_t count, C* z) {
    form_returning_max(source, start, count, z, false);
  }
  static C form_max(const score_source<C>& source, std::size_t start, std::size_t count, C* z) {
    return form_returning_max(source, start, count, z, true);
  }

  template <bool bfloat>
  static void round_to(const C* z, std::uint16_t* y, std::size_t n) {
    auto one = [&](const batch& v, std::uint16_t* p) {
      if constexpr (bfloat)
        halves::to_bfloat16(v, p);
      else
        halves::to_float16(v, p);
    };
    std::size_t i = 0;
    for (; i + 2 * width <= n; i += 2 * width)
      halves::template pair_to<bfloat>(batch::load_unaligned(z + i),
                                       batch::load_unaligned(z + i + width), y + i);
    for (; i + width <= n; i += width) one(batch::load_unaligned(z + i), y + i);
    if (i < n) {
      alignas(64) std::uint16_t rest[width];
      one(lane::load_tail(z + i, n - i, C(0)), rest);
      for (std::size_t k = 0; k < n - i; ++k) y[i + k] = rest[k];
    }
  }

  /// y_i = round(e_i (hi + lo)), e_i = z_i (stored exps) or the shifted exps of z_i (exps);
  /// each group's four vectors stored as two full 16-bit vectors (half_lanes::pair_to).
  template <bool bfloat, bool exps>
  static void scaled_round(const C* z, C m, C inverse_hi, C inverse_lo, std::uint16_t* y,
                           std::size_t n) {
    using kernel = fast_kernel<Arch, C>;
    using exp = typename kernel::exp;
    const auto s = exp::pivot::shifted(m);
    const batch hi(inverse_hi), lo(inverse_lo);
    auto one = [&](const batch& v, std::uint16_t* p) { halves::template weights_to<bfloat>(v, p); };
    detail::for_each_block<width, kernel::group>(
        0, n,
        [&](std::size_t i) {
          std::array<batch, 4> e;
          SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) e[u] =
              batch::load_unaligned(z + i + u * width);
          if constexpr (exps) exp::of_row(e, s);
          SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; u += 2)
              halves::template weight_pair_to<bfloat>(
                  kernel::times(e[u], hi, lo), kernel::times(e[u + 1], hi, lo), y + i + u * width);
        },
        [&](std::size_t i) {
          batch e = batch::load_unaligned(z + i);
          if constexpr (exps) e = exp::of_row(e, s);
          one(kernel::times(e, hi, lo), y + i);
        },
        [&](std::size_t i, std::size_t count) {
          batch e = lane::load_tail(z + i, count, exps ? -C(__builtin_inf()) : C(0));
          if constexpr (exps) e = exp::of_row(e, s);
          alignas(64) std::uint16_t rest[width];
          one(kernel::times(e, hi, lo), rest);
          for (std::size_t k = 0; k < count; ++k) y[i + k] = rest[k];
        });
  }
  template <bool bfloat>
  static void exp_scaled_to(const C* z, C m, C inverse_hi, C inverse_lo, std::uint16_t* y,
                            std::size_t n) {
    scaled_round<bfloat, true>(z, m, inverse_hi, inverse_lo, y, n);
  }
  template <bool bfloat>
  static void scaled_to(const C* e, C inverse_hi, C inverse_lo, std::uint16_t* y, std::size_t n) {
    scaled_round<bfloat, false>(e, C(0), inverse_hi, inverse_lo, y, n);
  }

  /// Whether max_of and store_exp_and_add_of take the source: x of type C, scaled, without a
  /// mask. The other kinds are formed into an L1 buffer first, which measured faster on the
  /// Zen 5 VM (2026-12-02, softmax with options, medians of interleaved calls; ns per element,
  /// read in registers / formed): bfloat16 x 0.248 / 0.240 at 4096 elements and 0.364 / 0.184
  /// at 2^20; float x with a mask 0.212 / 0.205 and 0.383 / 0.313. Scale-only float rows: equal
  /// at 4096 (0.197), faster read from 2^18 on (0.251 / 0.289 at 2^18 and at 2^20).
  static bool reads(const score_source<C>& source) {
    return source.storage == score_storage::compute && source.mask == mask_kind::none &&
           source.scaled;
  }
  using scaled_reader = score_reader<score_storage::compute, mask_kind::none, true>;

  static C max_of(const score_source<C>& source, std::size_t start, std::size_t count) {
    return lane::max_of(scaled_reader(source, start), count);
  }

  static void store_exp_and_add_of(const score_source<C>& source, std::size_t start,
                                   std::size_t count, C m, C* y, sum_state& sum) {
    fast_kernel<Arch, C>::template exp_sum_of<true, true>(scaled_reader(source, start), m, y, count,
                                                          false, &sum);
  }

  static constexpr score_passes<C> passes() {
    if constexpr (std::is_same_v<C, float>)
      return {&form,
              &form_max,
              &round_to<true>,
              &round_to<false>,
              &scaled_to<true>,
              &scaled_to<false>,
              &exp_scaled_to<true>,
              &exp_scaled_to<false>,
              &reads,
              &max_of,
              &store_exp_and_add_of};
    else
      return {&form,
              &form_max,
              nullptr,
              nullptr,
              nullptr,
              nullptr,
              nullptr,
              nullptr,
              &reads,
              &max_of,
              &store_exp_and_add_of};
  }
  static constexpr score_passes<C> table = passes();
};

}  // namespace softlab::simd
