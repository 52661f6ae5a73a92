// sleef_softmax.hpp (private; included only by sleef_sse2.cpp, sleef_avx2.cpp, sleef_avx512.cpp):
// PyTorch's CPU softmax on SLEEF's vector exp, as templates over one ISA's vector type V. Each TU
// instantiates them with a V from its anonymous namespace, so every instantiation has internal
// linkage and no two ISAs share a symbol the linker could merge.
//
// V provides: value (float or double), type, width, zero(), broadcast(v), load(p), store(p, v),
// add, sub, mul, maximum (NaN-propagating: ATen's vec::maximum ORs the unordered mask into the
// max, since the SSE/AVX max instructions return their second operand when either is NaN) and
// exp (SLEEF's 1.0-ULP exp, _u10).
//
// The algorithm, after ATen 1.13's _vec_softmax_lastdim / _vec_log_softmax_lastdim
// (aten/src/ATen/native/cpu/SoftMaxKernel.cpp) at its best: one row, no dispatch, no allocation,
// and the exp pass fused with the sum as vec::map_reduce_all would do:
//   softmax:     m = max x; y = exp(x - m) stored, summed in a vector accumulator; y *= 1/sum
//   log_softmax: m = max x; s = sum exp(x - m); y = (x - m) - log s
//   logsumexp:   m = max x, 0 if infinite (as at::logsumexp); log(sum exp(x - m)) + m
// The vector accumulator's lanes are added in lane order at the end, as ATen's vec_reduce_all.
// A tail shorter than a vector goes through a local copy padded with -inf (exp(-inf) = 0, and
// -inf is neutral for the max), so nothing past x + n is read.
#pragma once

#include "isa_kernels.hpp"

#include <cmath>
#include <cstddef>
#include <limits>

namespace softlab::peers::sleef_detail {

template <class V>
struct lanes {
  alignas(64) typename V::value v[V::width];
};

/// x[0, count) then -inf, as one vector.
template <class V>
typename V::type load_padded(const typename V::value* x, std::size_t count) {
  lanes<V> padded;
  for (std::size_t i = 0; i < V::width; ++i)
    padded.v[i] = i < count ? x[i] : -std::numeric_limits<typename V::value>::infinity();
  return V::load(padded.v);
}

template <class V>
typename V::value lane_sum(typename V::type v) {
  lanes<V> l;
  V::store(l.v, v);
  typename V::value sum = l.v[0];
  for (std::size_t i = 1; i < V::width; ++i) sum += l.v[i];
  return sum;
}

template <class V>
typename V::value lane_max(typename V::type v) {
  lanes<V> l;
  V::store(l.v, v);
  typename V::value max = l.v[0];
  for (std::size_t i = 1; i < V::width; ++i)
    max = (std::isnan(max) || std::isnan(l.v[i])) ? max + l.v[i] : (l.v[i] > max ? l.v[i] : max);
  return max;
}

/// max x; NaN if any x is NaN.
template <class V>
typename V::value max_of(const typename V::value* x, std::size_t n) {
  auto acc = V::broadcast(-std::numeric_limits<typename V::value>::infinity());
  std::size_t i = 0;
  for (; i + V::width <= n; i += V::width) acc = V::maximum(acc, V::load(x + i));
  if (i < n) acc = V::maximum(acc, load_padded<V>(x + i, n - i));
  return lane_max<V>(acc);
}

/// sum exp(x - max), storing each exp into y when Store.
template <class V, bool Store>
typename V::value exp_sum(const typename V::value* x, typename V::value* y, std::size_t n,
                          typename V::value max) {
  const auto shift = V::broadcast(max);
  auto sum = V::zero();
  std::size_t i = 0;
  for (; i + V::width <= n; i += V::width) {
    const auto e = V::exp(V::sub(V::load(x + i), shift));
    if constexpr (Store) V::store(y + i, e);
    sum = V::add(sum, e);
  }
  if (i < n) {
    const auto e = V::exp(V::sub(load_padded<V>(x + i, n - i), shift));
    sum = V::add(sum, e);
    if constexpr (Store) {
      lanes<V> l;
      V::store(l.v, e);
      for (std::size_t j = 0; j < n - i; ++j) y[i + j] = l.v[j];
    }
  }
  return lane_sum<V>(sum);
}

template <class V>
void softmax(const typename V::value* x, typename V::value* y, std::size_t n) {
  const auto max = max_of<V>(x, n);
  const auto scale = typename V::value(1) / exp_sum<V, true>(x, y, n, max);
  const auto s = V::broadcast(scale);
  std::size_t i = 0;
  for (; i + V::width <= n; i += V::width) V::store(y + i, V::mul(V::load(y + i), s));
  for (; i < n; ++i) y[i] *= scale;
}

template <class V>
void log_softmax(const typename V::value* x, typename V::value* y, std::size_t n) {
  const auto max = max_of<V>(x, n);
  const auto log_sum = std::log(exp_sum<V, false>(x, nullptr, n, max));
  const auto m = V::broadcast(max), l = V::broadcast(log_sum);
  std::size_t i = 0;
  for (; i + V::width <= n; i += V::width) V::store(y + i, V::sub(V::sub(V::load(x + i), m), l));
  for (; i < n; ++i) y[i] = (x[i] - max) - log_sum;
}

template <class V>
typename V::value logsumexp(const typename V::value* x, std::size_t n) {
  auto max = max_of<V>(x, n);
  if (std::isinf(max)) max = 0;  // at::logsumexp: an all -inf row gives log 0 = -inf, not NaN
  return std::log(exp_sum<V, false>(x, nullptr, n, max)) + max;
}

template <class V>
constexpr detail::isa_kernels<typename V::value> kernels_of() {
  return {&softmax<V>, &log_softmax<V>, &logsumexp<V>};
}

}  // namespace softlab::peers::sleef_detail
