// highway_softmax.hpp (private; included only by highway_avx2.cpp and highway_avx512.cpp):
// gemma.cpp's softmax on Highway 1.0.3, for the one target the including TU is compiled for
// (HWY_STATIC_TARGET: AVX2 or AVX3, from the TU's -m flags; HWY_COMPILE_ONLY_STATIC). Everything
// here has internal linkage (an anonymous namespace), so each ISA's object has its own copy and
// the linker cannot merge an AVX-512 copy into the AVX2 path; Highway's own ops are static
// inline (HWY_API) or always-inline (its math functions).
//
// gemma.cpp's Softmax (ops.h), on one row, with its exp pass fused with its sum:
//   max:     from hwy::LowestValue (the lowest finite value, not -inf), by Highway's Max;
//   exp:     y = hn::Exp(x - max), stored; the exps summed in double (a float row's exps are
//            promoted, lower and upper halves, into two double accumulators);
//   scale:   y *= T(1) / T(sum).
// log_softmax: (x - max) - T(log sum); logsumexp: T(log(sum) + max), both with the double sum.
// Highway's Exp (math-inl.h) is stated to 1 ULP on [-FLT_MAX, +104] (float) and [-DBL_MAX, +706]
// (double) and returns 0 where x is below its lower bound, and also for NaN (its lanes fail the
// x >= bound test): a NaN input becomes a weight of 0. A tail shorter than a vector is copied into
// a local vector padded with LowestValue (max) or -inf (exp: 0), so nothing past x + n is read.
#pragma once

#include "isa_kernels.hpp"

#include <hwy/contrib/math/math-inl.h>  // includes hwy/highway.h

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

HWY_BEFORE_NAMESPACE();
namespace softlab::peers {
namespace {
namespace highway_kernels {

namespace hn = hwy::HWY_NAMESPACE;

template <class T>
struct lanes {
  alignas(64) T v[64 / sizeof(T)];  // the widest x86 vector
};

template <class D, class T>
hn::Vec<D> load_padded(D d, const T* x, std::size_t count, T pad) {
  lanes<T> padded;
  for (std::size_t i = 0; i < hn::Lanes(d); ++i) padded.v[i] = i < count ? x[i] : pad;
  return hn::Load(d, padded.v);
}

template <class T>
T max_of(const T* x, std::size_t n) {
  const hn::ScalableTag<T> d;
  const std::size_t width = hn::Lanes(d);
  const T lowest = hwy::LowestValue<T>();
  auto max = hn::Set(d, lowest);
  std::size_t i = 0;
  for (; i + width <= n; i += width) max = hn::Max(max, hn::LoadU(d, x + i));
  if (i < n) max = hn::Max(max, load_padded(d, x + i, n - i, lowest));
  return hn::GetLane(hn::MaxOfLanes(d, max));
}

/// sum exp(x - max) in double, storing each exp (in T) into y when Store.
template <bool Store, class T>
double exp_sum(const T* x, T* y, std::size_t n, T max) {
  const hn::ScalableTag<T> d;
  const std::size_t width = hn::Lanes(d);
  const auto shift = hn::Set(d, max);
  const T minus_inf = -std::numeric_limits<T>::infinity();
  if constexpr (std::is_same_v<T, float>) {
    const hn::Half<decltype(d)> half;
    const hn::Rebind<double, decltype(half)> wide;
    auto low = hn::Zero(wide), high = hn::Zero(wide);
    auto add = [&](hn::Vec<decltype(d)> e) {
      low = hn::Add(low, hn::PromoteTo(wide, hn::LowerHalf(half, e)));
      high = hn::Add(high, hn::PromoteTo(wide, hn::UpperHalf(half, e)));
    };
    std::size_t i = 0;
    for (; i + width <= n; i += width) {
      const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), shift));
      if constexpr (Store) hn::StoreU(e, d, y + i);
      add(e);
    }
    if (i < n) {
      const auto e = hn::Exp(d, hn::Sub(load_padded(d, x + i, n - i, minus_inf), shift));
      add(e);
      if constexpr (Store) {
        lanes<T> l;
        hn::Store(e, d, l.v);
        for (std::size_t j = 0; j < n - i; ++j) y[i + j] = l.v[j];
      }
    }
    return hn::GetLane(hn::SumOfLanes(wide, hn::Add(low, high)));
  } else {
    auto sum = hn::Zero(d);
    std::size_t i = 0;
    for (; i + width <= n; i += width) {
      const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), shift));
      if constexpr (Store) hn::StoreU(e, d, y + i);
      sum = hn::Add(sum, e);
    }
    if (i < n) {
      const auto e = hn::Exp(d, hn::Sub(load_padded(d, x + i, n - i, minus_inf), shift));
      sum = hn::Add(sum, e);
      if constexpr (Store) {
        lanes<T> l;
        hn::Store(e, d, l.v);
        for (std::size_t j = 0; j < n - i; ++j) y[i + j] = l.v[j];
      }
    }
    return hn::GetLane(hn::SumOfLanes(d, sum));
  }
}

template <class T>
void softmax(const T* x, T* y, std::size_t n) {
  const T max = max_of(x, n);
  const T scale = T(1) / static_cast<T>(exp_sum<true>(x, y, n, max));
  const hn::ScalableTag<T> d;
  const std::size_t width = hn::Lanes(d);
  const auto s = hn::Set(d, scale);
  std::size_t i = 0;
  for (; i + width <= n; i += width) hn::StoreU(hn::Mul(hn::LoadU(d, y + i), s), d, y + i);
  for (; i < n; ++i) y[i] *= scale;
}

template <class T>
void log_softmax(const T* x, T* y, std::size_t n) {
  const T max = max_of(x, n);
  const T log_sum = static_cast<T>(std::log(exp_sum<false>(x, y, n, max)));
  const hn::ScalableTag<T> d;
  const std::size_t width = hn::Lanes(d);
  const auto m = hn::Set(d, max), l = hn::Set(d, log_sum);
  std::size_t i = 0;
  for (; i + width <= n; i += width)
    hn::StoreU(hn::Sub(hn::Sub(hn::LoadU(d, x + i), m), l), d, y + i);
  for (; i < n; ++i) y[i] = (x[i] - max) - log_sum;
}

template <class T>
T logsumexp(const T* x, std::size_t n) {
  const T max = max_of(x, n);
  return static_cast<T>(std::log(exp_sum<false>(x, static_cast<T*>(nullptr), n, max)) +
                        static_cast<double>(max));
}

constexpr detail::isa_tables tables{{&softmax<float>, &log_softmax<float>, &logsumexp<float>},
                                    {&softmax<double>, &log_softmax<double>, &logsumexp<double>}};

}  // namespace highway_kernels
}  // namespace
}  // namespace softlab::peers
HWY_AFTER_NAMESPACE();
