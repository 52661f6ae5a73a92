// The definitions of detail::compiled<Impl>'s entry points (softlab/detail/compiled.hpp), for
// impl/src/<name>.cpp only: it specializes compiled_kernels<Impl> with its softmax, log_softmax
// and logsumexp for float and double, then instantiates detail::compiled<Impl>. Internal to the
// library.
#pragma once

#include <softlab/detail/compiled.hpp>

#include <span>

namespace softlab::detail {

/// An implementation's kernels; each impl/src/<name>.cpp specializes it for its Impl.
template <class Impl>
struct compiled_kernels;

template <class Impl>
void compiled<Impl>::softmax(std::span<const float> x, std::span<float> y) {
  compiled_kernels<Impl>::softmax(x, y);
}
template <class Impl>
void compiled<Impl>::softmax(std::span<const double> x, std::span<double> y) {
  compiled_kernels<Impl>::softmax(x, y);
}
template <class Impl>
void compiled<Impl>::log_softmax(std::span<const float> x, std::span<float> y) {
  compiled_kernels<Impl>::log_softmax(x, y);
}
template <class Impl>
void compiled<Impl>::log_softmax(std::span<const double> x, std::span<double> y) {
  compiled_kernels<Impl>::log_softmax(x, y);
}
template <class Impl>
float compiled<Impl>::logsumexp(std::span<const float> x) {
  return compiled_kernels<Impl>::logsumexp(x);
}
template <class Impl>
double compiled<Impl>::logsumexp(std::span<const double> x) {
  return compiled_kernels<Impl>::logsumexp(x);
}

}  // namespace softlab::detail
