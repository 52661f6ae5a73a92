// eigen_softmax.hpp (private; included only by eigen_sse2.cpp, eigen_avx2.cpp, eigen_avx512.cpp):
// softmax as a C++ user writes it with Eigen 3.4 arrays, vectorized by Eigen for the ISA the TU
// is compiled for (EIGEN_VECTORIZE_SSE2, _AVX2, _AVX512 from the -m flags).
//
// Eigen is a header-only template library: compiled for three ISAs in one binary, its inline
// functions and templates (packet math, reductions, assignment loops) would be COMDAT symbols
// with the same names in the three objects, and the linker keeps one of them for all: an AVX-512
// copy on the SSE2 path is a SIGILL. So each TU renames the namespace before including Eigen
// (#define Eigen softlab_eigen_<isa>, as SOFTLAB_EIGEN_NAMESPACE): every Eigen symbol then
// carries the ISA's name, which tests/isa/check_isa_object.cmake checks (isa:..._objects).
//   softmax:     a = Map(x); y = (a - a.maxCoeff()).exp(); y /= y.sum()
//   log_softmax: m = a.maxCoeff(); y = a - m - log((a - m).exp().sum())
//   logsumexp:   m + log((a - m).exp().sum())
#pragma once

#ifndef SOFTLAB_EIGEN_NAMESPACE
#error "define SOFTLAB_EIGEN_NAMESPACE (and Eigen as it) before including eigen_softmax.hpp"
#endif

#include "isa_kernels.hpp"

#include <Eigen/Core>

#include <cmath>
#include <cstddef>

namespace softlab::peers {
namespace {
namespace eigen_kernels {

template <class T>
using column = SOFTLAB_EIGEN_NAMESPACE::Array<T, SOFTLAB_EIGEN_NAMESPACE::Dynamic, 1>;
template <class T>
using input = SOFTLAB_EIGEN_NAMESPACE::Map<const column<T>>;
template <class T>
using output = SOFTLAB_EIGEN_NAMESPACE::Map<column<T>>;

inline SOFTLAB_EIGEN_NAMESPACE::Index size(std::size_t n) {
  return static_cast<SOFTLAB_EIGEN_NAMESPACE::Index>(n);
}

// In place (y == x) is safe: maxCoeff() and sum() are scalars, evaluated before the
// coefficient-wise assignment that overwrites x.
template <class T>
void softmax(const T* x, T* y, std::size_t n) {
  const input<T> a(x, size(n));
  output<T> out(y, size(n));
  out = (a - a.maxCoeff()).exp();
  out /= out.sum();
}

template <class T>
void log_softmax(const T* x, T* y, std::size_t n) {
  const input<T> a(x, size(n));
  output<T> out(y, size(n));
  const T max = a.maxCoeff();
  const T log_sum = std::log((a - max).exp().sum());
  out = a - max - log_sum;
}

template <class T>
T logsumexp(const T* x, std::size_t n) {
  const input<T> a(x, size(n));
  const T max = a.maxCoeff();
  return max + std::log((a - max).exp().sum());
}

constexpr detail::isa_tables tables{{&softmax<float>, &log_softmax<float>, &logsumexp<float>},
                                    {&softmax<double>, &log_softmax<double>, &logsumexp<double>}};

}  // namespace eigen_kernels
}  // namespace
}  // namespace softlab::peers
