// bench/roofline_sse2.cpp: the roofline loops in SSE2 (the x86-64 baseline), 4 floats a vector.
#include "roofline_loops.hpp"

#include <immintrin.h>

namespace softlab::bench::roofline {
namespace {

struct sse2_vector {
  using type = __m128;
  static constexpr std::size_t width = 4;
  static type zero() { return _mm_setzero_ps(); }
  static type set1(float f) { return _mm_set1_ps(f); }
  static type fma(type a, type b, type c) {
    return _mm_add_ps(_mm_mul_ps(a, b), c);
  }  // no FMA in SSE2
  static type load(const float* p) { return _mm_loadu_ps(p); }
  static type add(type a, type b) { return _mm_add_ps(a, b); }
  static float horizontal_sum(type v) {
    const type pairs = _mm_add_ps(v, _mm_movehl_ps(v, v));  // {v0 + v2, v1 + v3, ...}
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
  }
  static void store(float* p, type v) { _mm_storeu_ps(p, v); }
  static void stream(float* p, type v) { _mm_stream_ps(p, v); }
  static void store_fence() { _mm_sfence(); }
};

}  // namespace

loops sse2_loops() { return loops_of<sse2_vector>(); }

}  // namespace softlab::bench::roofline
