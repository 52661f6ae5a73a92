// bench/roofline_avx512.cpp: the roofline loops in AVX-512, 16 floats a vector; compiled with
// cmake/SoftlabIsa.cmake's avx512 flags, called only when the CPU has them
// (softlab::available_isas()).
#include "roofline_loops.hpp"

#include <immintrin.h>

namespace softlab::bench::roofline {
namespace {

struct avx512_vector {
  using type = __m512;
  static constexpr std::size_t width = 16;
  static type zero() { return _mm512_setzero_ps(); }
  static type set1(float f) { return _mm512_set1_ps(f); }
  static type fma(type a, type b, type c) { return _mm512_fmadd_ps(a, b, c); }
  static type load(const float* p) { return _mm512_loadu_ps(p); }
  static type add(type a, type b) { return _mm512_add_ps(a, b); }
  static float horizontal_sum(type v) {
    const __m256 halves = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    const __m128 quarters =
        _mm_add_ps(_mm256_castps256_ps128(halves), _mm256_extractf128_ps(halves, 1));
    const __m128 pairs = _mm_add_ps(quarters, _mm_movehl_ps(quarters, quarters));
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
  }
  static void store(float* p, type v) { _mm512_storeu_ps(p, v); }
  static void stream(float* p, type v) { _mm512_stream_ps(p, v); }
  static void store_fence() { _mm_sfence(); }
};

}  // namespace

loops avx512_loops() { return loops_of<avx512_vector>(); }

}  // namespace softlab::bench::roofline
