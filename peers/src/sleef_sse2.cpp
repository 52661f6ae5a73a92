// The sleef peer's SSE2 kernels (4 floats, 2 doubles a vector), compiled for the x86-64
// baseline; tests/isa/check_isa_object.cmake fails on any VEX or EVEX instruction here.
// sleef_softmax.hpp has the algorithm.
#include "sleef_softmax.hpp"

#include <emmintrin.h>
#include <sleef.h>

namespace softlab::peers::sleef_sse2 {
namespace {

struct sse2_float {
  using value = float;
  using type = __m128;
  static constexpr std::size_t width = 4;
  static type zero() { return _mm_setzero_ps(); }
  static type broadcast(value v) { return _mm_set1_ps(v); }
  static type load(const value* p) { return _mm_loadu_ps(p); }
  static void store(value* p, type v) { _mm_storeu_ps(p, v); }
  static type add(type a, type b) { return _mm_add_ps(a, b); }
  static type sub(type a, type b) { return _mm_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm_mul_ps(a, b); }
  static type maximum(type a, type b) { return _mm_or_ps(_mm_max_ps(a, b), _mm_cmpunord_ps(a, b)); }
  static type exp(type v) { return Sleef_expf4_u10sse2(v); }
};

struct sse2_double {
  using value = double;
  using type = __m128d;
  static constexpr std::size_t width = 2;
  static type zero() { return _mm_setzero_pd(); }
  static type broadcast(value v) { return _mm_set1_pd(v); }
  static type load(const value* p) { return _mm_loadu_pd(p); }
  static void store(value* p, type v) { _mm_storeu_pd(p, v); }
  static type add(type a, type b) { return _mm_add_pd(a, b); }
  static type sub(type a, type b) { return _mm_sub_pd(a, b); }
  static type mul(type a, type b) { return _mm_mul_pd(a, b); }
  static type maximum(type a, type b) { return _mm_or_pd(_mm_max_pd(a, b), _mm_cmpunord_pd(a, b)); }
  static type exp(type v) { return Sleef_expd2_u10sse2(v); }
};

constexpr detail::isa_tables sse2_tables{sleef_detail::kernels_of<sse2_float>(),
                                         sleef_detail::kernels_of<sse2_double>()};

}  // namespace

const detail::isa_tables* tables() { return &sse2_tables; }

}  // namespace softlab::peers::sleef_sse2
