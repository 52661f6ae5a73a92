// bench/roofline_avx2.cpp: the roofline loops in AVX2, 8 floats a vector; compiled with -mavx2
// -mfma, called only when the CPU has them (softlab::available_isas()).
#include "roofline_loops.hpp"

#include <immintrin.h>

namespace softlab::bench::roofline {
namespace {

struct avx2_vector {
  using type = __m256;
  static constexpr std::size_t width = 8;
  static type zero() { return _mm256_setzero_ps(); }
  static type set1(float f) { return _mm256_set1_ps(f); }
  static type fma(type a, type b, type c) { return _mm256_fmadd_ps(a, b, c); }
  static type load(const float* p) { return _mm256_loadu_ps(p); }
  static type add(type a, type b) { return _mm256_add_ps(a, b); }
  static float horizontal_sum(type v) {
    const __m128 halves = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 pairs = _mm_add_ps(halves, _mm_movehl_ps(halves, halves));
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
  }
  static void store(float* p, type v) { _mm256_storeu_ps(p, v); }
  static void stream(float* p, type v) { _mm256_stream_ps(p, v); }
  static void store_fence() { _mm_sfence(); }
};

}  // namespace

loops avx2_loops() { return loops_of<avx2_vector>(); }

}  // namespace softlab::bench::roofline
