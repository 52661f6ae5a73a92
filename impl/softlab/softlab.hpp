// softlab/softlab.hpp: the one include. The interface and its contract, stated once.
//
//   softlab::softmax<Impl>(x, y)            y_i = exp(x_i) / sum_j exp(x_j)
//   softlab::log_softmax<Impl>(x, y)        y_i = x_i - logsumexp(x)
//   softlab::logsumexp<Impl>(x)             log sum_j exp(x_j)   (empty x: -inf)
//   softlab::softmax_rows<Impl>(x, rows, cols, y [, x_stride, y_stride [, options]])
//                                            one softmax per row, rows across threads
//   softlab::log_softmax_rows<Impl>(...)     likewise
//   softlab::logsumexp_rows<Impl>(x, rows, cols, x_stride, lse [, options])
//                                            one logsumexp per row, into lse[r]
//   softlab::pairwise_attention<Impl>(query, keys, weights)  weights = softmax(query * keys)
//
// x (and keys) is any contiguous range of T (std::span, std::vector, std::array); y (and
// weights) a writable contiguous range of the same T and length. Impl is an implementation type
// (softlab::naive, stable, online, two_pass, divfree, xsimd); T is float, double,
// long double, softlab::bin50, softlab::bin100, the simulated low-precision softlab::fp16sim
// and softlab::bf16sim, or the 16-bit storage types softlab::bfloat16 and softlab::float16
// (computed in float, accurate in double, and rounded once at the end; their input may also
// give a float output: softmax(bf16_logits, float_weights)). The vectorized implementations
// compute float and double (and through them the storage types).
//
// THE CONTRACT, met by every implementation except `naive` (whose failures are the point):
//  - finite input: every output in [0, 1], no NaN, each within the implementation's stated
//    bound (ULPs of T, for results >= the smallest normal T) of the exact softmax of the values
//    as stored in T; hence their sum within n times that bound of 1;
//  - -inf entries get weight exactly 0; a fully masked row (all -inf) gives all zeros, the
//    "safe softmax" convention (PyTorch issue 55056; oneDNN's softmax_accurate_inf_as_zero);
//  - +inf entries: the limit: the k entries equal to +inf share weight 1/k, every other 0;
//  - any NaN in the input: every output NaN;
//  - empty input: no-op; x and y of different sizes: std::invalid_argument naming both;
//  - y may be the same memory as x (in place); a partial overlap is std::invalid_argument;
//  - log_softmax and logsumexp take the same limits in the log domain: log 0 = -inf, log(1/k)
//    for the k infinite entries, NaN for NaN; their stated bound is a * u * max(1, |result|),
//    u = 2^-p, with a given by each implementation.
// ULP error is |y - exact| / ulp(exact), ulp at the exact value's exponent and floored at the
// subnormal spacing, against MPFR at >= 2p + 64 bits (tests/ and accuracy/ check every bound).
//
// Options: softmax, log_softmax, logsumexp and the rows take a last, optional
// softlab::softmax_options (softlab/options.hpp); without it, or with its defaults, they compute
// what they always have. Its scale and mask (and, for rows, causal offset) are fused: softmax of
// z = scale x + mask, the contract holding for z (a row masked entirely gives zeros). Its
// `threads` splits the rows across threads, and one long row where the implementation splits
// it in fixed chunks (`fast`): the bits never depend on the thread count.
//
// Thread safety: every call is reentrant and keeps no state between calls. The only global
// state is the instruction set chosen for the vectorized kernels (see softlab/simd/isa.hpp).
#pragma once

// Every implementation's header comes through the registry, the one list of them.
#include <softlab/detail/arguments.hpp>
#include <softlab/detail/reductions.hpp>
#include <softlab/detail/rows.hpp>
#include <softlab/entry_points.hpp>
#include <softlab/options.hpp>
#include <softlab/registry.hpp>
#include <softlab/types.hpp>

#include <cstddef>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace softlab {

template <class R>
using range_element_t = std::remove_cv_t<std::ranges::range_value_t<R>>;

template <class X>
auto as_input_span(const X& x) {
  using T = range_element_t<X>;
  return std::span<const T>(std::ranges::data(x), std::ranges::size(x));
}

template <class Y>
auto as_output_span(Y&& y) {
  using T = range_element_t<Y>;
  static_assert(!std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<Y>>>,
                "softlab: the output range must be writable");
  return std::span<T>(std::ranges::data(y), std::ranges::size(y));
}

template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires std::same_as<range_element_t<X>, range_element_t<Y>>
void softmax(const X& x, Y&& y) { softmax_span<Impl>(as_input_span(x), as_output_span(y)); }

template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires std::same_as<range_element_t<X>, range_element_t<Y>>
void log_softmax(const X& x, Y&& y) { log_softmax_span<Impl>(as_input_span(x), as_output_span(y)); }

/// 16-bit storage in, float out: y_i = the weight rounded once to float.
template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires is_storage_float<range_element_t<X>> && std::same_as < range_element_t<Y>,
float > void softmax(const X& x, Y&& y) { softmax_span<Impl>(as_input_span(x), as_output_span(y)); }

template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires is_storage_float<range_element_t<X>> && std::same_as < range_element_t<Y>,
float > void log_softmax(const X& x, Y&& y) {
  log_softmax_span<Impl>(as_input_span(x), as_output_span(y));
}

template <class Impl, std::ranges::contiguous_range X>
range_element_t<X> logsumexp(const X& x) {
  return logsumexp_span<Impl>(as_input_span(x));
}

/// The element types softmax and log_softmax take: the same T in and out, or 16-bit storage in
/// and float out.
template <class X, class Y>
concept softmax_ranges = std::same_as<range_element_t<X>, range_element_t<Y>> ||
    (is_storage_float<range_element_t<X>>&& std::same_as<range_element_t<Y>, float>);

// The same with the options argument (softlab/options.hpp): a scale, a mask, the threads. One
// row runs on the calling thread unless the implementation splits long rows with the same bits
// for every thread count (`fast`); options.threads is checked either way, so that a bad value
// fails the same way everywhere.
template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires softmax_ranges<X, Y>
void softmax(const X& x, Y&& y, const softmax_options& options) {
  softmax_span<Impl>(as_input_span(x), as_output_span(y), options);
}

template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires softmax_ranges<X, Y>
void log_softmax(const X& x, Y&& y, const softmax_options& options) {
  log_softmax_span<Impl>(as_input_span(x), as_output_span(y), options);
}

template <class Impl, std::ranges::contiguous_range X>
range_element_t<X> logsumexp(const X& x, const softmax_options& options) {
  return logsumexp_span<Impl>(as_input_span(x), options);
}

/// One softmax per row of a row-major matrix; row r of x starts at x[r * x_stride]. In place
/// (same data, same stride) is allowed; the rows of y must not overlap the rows of x otherwise.
/// The rows are split across options.threads threads (softlab/options.hpp); each row is computed
/// by the code one thread runs on it, so y is the same bits for every thread count. The options'
/// mask is rows * cols (packed) or cols (every row alike); its causal offset keeps columns
/// c <= r + offset of row r. Every argument is checked before anything is written.
template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires std::same_as<range_element_t<X>, range_element_t<Y>>
void softmax_rows(const X& x, std::size_t rows, std::size_t cols, std::size_t x_stride, Y&& y,
                  std::size_t y_stride, const softmax_options& options) {
  softmax_rows_span<Impl, range_element_t<X>>(as_input_span(x), rows, cols, x_stride,
                                              as_output_span(y), y_stride, options);
}

template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires std::same_as<range_element_t<X>, range_element_t<Y>>
void softmax_rows(const X& x, std::size_t rows, std::size_t cols, std::size_t x_stride, Y&& y,
                  std::size_t y_stride) {
  softmax_rows<Impl>(x, rows, cols, x_stride, std::forward<Y>(y), y_stride, softmax_options{});
}

/// One log_softmax per row, likewise.
template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires std::same_as<range_element_t<X>, range_element_t<Y>>
void log_softmax_rows(const X& x, std::size_t rows, std::size_t cols, std::size_t x_stride, Y&& y,
                      std::size_t y_stride, const softmax_options& options = {}) {
  log_softmax_rows_span<Impl, range_element_t<X>>(as_input_span(x), rows, cols, x_stride,
                                                  as_output_span(y), y_stride, options);
}

/// Packed rows (stride cols).
template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
requires std::same_as<range_element_t<X>, range_element_t<Y>>
void softmax_rows(const X& x, std::size_t rows, std::size_t cols, Y&& y,
                  const softmax_options& options = {}) {
  softmax_rows<Impl>(x, rows, cols, cols, std::forward<Y>(y), cols, options);
}

/// One logsumexp per row of a row-major matrix into lse[r] (row r of x at x[r * x_stride]),
/// with options: the rows split across options.threads threads (the same bits at any count),
/// an empty or fully masked row -inf. lse (rows elements) must not overlap x.
template <class Impl, std::ranges::contiguous_range X, std::ranges::contiguous_range L>
requires std::same_as<range_element_t<X>, range_element_t<L>>
void logsumexp_rows(const X& x, std::size_t rows, std::size_t cols, std::size_t x_stride, L&& lse,
                    const softmax_options& options = {}) {
  logsumexp_rows_span<Impl, range_element_t<X>>(as_input_span(x), rows, cols, x_stride,
                                                as_output_span(lse), options);
}

/// The seed example of attention: scores_i = query * keys_i, weights = softmax(scores).
/// weights may be the same memory as keys.
template <class Impl, class Q, std::ranges::contiguous_range K, std::ranges::contiguous_range W>
requires std::same_as<range_element_t<K>, range_element_t<W>> &&
    std::convertible_to<Q, range_element_t<K>>
void pairwise_attention(const Q& query, const K& keys, W&& weights) {
  using T = range_element_t<K>;
  pairwise_attention_span<Impl, T>(static_cast<T>(query), as_input_span(keys),
                                   as_output_span(weights));
}

}  // namespace softlab
