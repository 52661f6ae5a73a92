// The sleef peer's AVX-512 kernels (16 floats, 8 doubles a vector), compiled with the avx512
// flags of cmake/SoftlabIsa.cmake (which make sleef.h declare its avx512f functions); run only
// when softlab::cpu_supports(isa::avx512). sleef_softmax.hpp has the algorithm.
#include "sleef_softmax.hpp"

#include <immintrin.h>
#include <sleef.h>

namespace softlab::peers::sleef_avx512 {
namespace {

// AVX-512 compares into a mask register; a + b is NaN exactly where either is, so the masked add
// puts the NaN where ATen's OR of the unordered mask would.
struct avx512_float {
  using value = float;
  using type = __m512;
  static constexpr std::size_t width = 16;
  static type zero() { return _mm512_setzero_ps(); }
  static type broadcast(value v) { return _mm512_set1_ps(v); }
  static type load(const value* p) { return _mm512_loadu_ps(p); }
  static void store(value* p, type v) { _mm512_storeu_ps(p, v); }
  static type add(type a, type b) { return _mm512_add_ps(a, b); }
  static type sub(type a, type b) { return _mm512_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm512_mul_ps(a, b); }
  static type maximum(type a, type b) {
    return _mm512_mask_add_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), a, b);
  }
  static type exp(type v) { return Sleef_expf16_u10avx512f(v); }
};

struct avx512_double {
  using value = double;
  using type = __m512d;
  static constexpr std::size_t width = 8;
  static type zero() { return _mm512_setzero_pd(); }
  static type broadcast(value v) { return _mm512_set1_pd(v); }
  static type load(const value* p) { return _mm512_loadu_pd(p); }
  static void store(value* p, type v) { _mm512_storeu_pd(p, v); }
  static type add(type a, type b) { return _mm512_add_pd(a, b); }
  static type sub(type a, type b) { return _mm512_sub_pd(a, b); }
  static type mul(type a, type b) { return _mm512_mul_pd(a, b); }
  static type maximum(type a, type b) {
    return _mm512_mask_add_pd(_mm512_max_pd(a, b), _mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q), a, b);
  }
  static type exp(type v) { return Sleef_expd8_u10avx512f(v); }
};

constexpr detail::isa_tables avx512_tables{sleef_detail::kernels_of<avx512_float>(),
                                           sleef_detail::kernels_of<avx512_double>()};

}  // namespace

const detail::isa_tables* tables() { return &avx512_tables; }

}  // namespace softlab::peers::sleef_avx512
