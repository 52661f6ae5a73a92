// The sleef peer's AVX2 + FMA kernels (8 floats, 4 doubles a vector), compiled with -mavx2 -mfma,
// which is what makes sleef.h declare its avx2 functions. sleef_softmax.hpp has the algorithm.
#include "sleef_softmax.hpp"

#include <immintrin.h>
#include <sleef.h>

namespace softlab::peers::sleef_avx2 {
namespace {

struct avx2_float {
  using value = float;
  using type = __m256;
  static constexpr std::size_t width = 8;
  static type zero() { return _mm256_setzero_ps(); }
  static type broadcast(value v) { return _mm256_set1_ps(v); }
  static type load(const value* p) { return _mm256_loadu_ps(p); }
  static void store(value* p, type v) { _mm256_storeu_ps(p, v); }
  static type add(type a, type b) { return _mm256_add_ps(a, b); }
  static type sub(type a, type b) { return _mm256_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm256_mul_ps(a, b); }
  static type maximum(type a, type b) {
    return _mm256_or_ps(_mm256_max_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
  static type exp(type v) { return Sleef_expf8_u10avx2(v); }
};

struct avx2_double {
  using value = double;
  using type = __m256d;
  static constexpr std::size_t width = 4;
  static type zero() { return _mm256_setzero_pd(); }
  static type broadcast(value v) { return _mm256_set1_pd(v); }
  static type load(const value* p) { return _mm256_loadu_pd(p); }
  static void store(value* p, type v) { _mm256_storeu_pd(p, v); }
  static type add(type a, type b) { return _mm256_add_pd(a, b); }
  static type sub(type a, type b) { return _mm256_sub_pd(a, b); }
  static type mul(type a, type b) { return _mm256_mul_pd(a, b); }
  static type maximum(type a, type b) {
    return _mm256_or_pd(_mm256_max_pd(a, b), _mm256_cmp_pd(a, b, _CMP_UNORD_Q));
  }
  static type exp(type v) { return Sleef_expd4_u10avx2(v); }
};

constexpr detail::isa_tables avx2_tables{sleef_detail::kernels_of<avx2_float>(),
                                         sleef_detail::kernels_of<avx2_double>()};

}  // namespace

const detail::isa_tables* tables() { return &avx2_tables; }

}  // namespace softlab::peers::sleef_avx2
