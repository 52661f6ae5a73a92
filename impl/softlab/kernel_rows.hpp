// softlab/kernel_rows.hpp: rows across threads through the runtime registry's view of an
// implementation (softlab::kernel<T>), for the tools and the benchmarks, which choose the
// implementation at run time.
//
//   const softlab::kernel<float>& k = *registry.find<float>("fast");
//   softlab::softmax_rows(k, x, rows, cols, cols, y, cols, {.threads = 2});
//   softlab::logsumexp_rows(k, x, rows, cols, cols, lse, {.scale = 0.125});
//
// The same checks, thread count and split as softlab::softmax_rows<Impl> (softlab.hpp), with
// k.softmax (k.log_softmax) called once per row: the output is the same bits for every thread
// count, and, for a builtin implementation, the same bits as softmax_rows<Impl>. A peer's entry
// (registered at run time) runs the same way: its per-row call must be safe to make from
// several threads at once, which the peers' tests check.
#pragma once

#include <softlab/detail/rows.hpp>
#include <softlab/detail/scores.hpp>
#include <softlab/options.hpp>
#include <softlab/registry.hpp>

#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace softlab {

namespace detail {

/// f(r, z) for every row r, z its scores as the options make them, formed in T (x's own row
/// when the options leave it as it is); the rows split across threads. The arguments are
/// checked by the caller, cols > 0.
template <class T, class F>
void for_scored_rows_in_t(std::span<const T> x, std::size_t rows, std::size_t cols,
                          std::size_t x_stride, const softmax_options& options, F f) {
  using C = std::conditional_t<is_storage_float<T>, float, T>;
  for_row_blocks(rows, threads_for_rows(options, rows, cols),
                 [&](std::size_t first, std::size_t last) {
                   std::vector<T> z;
                   for (std::size_t r = first; r < last; ++r) {
                     const auto in = x.subspan(r * x_stride, cols);
                     const row_transform<C> t = transform_of_row<C>(options, r, cols);
                     if (t.identity(cols)) {
                       f(r, in);
                       continue;
                     }
                     z.resize(cols);
                     for (std::size_t i = 0; i < cols; ++i) z[i] = T(t(in.data(), i));
                     f(r, std::span<const T>(z));
                   }
                 });
}

/// A registry entry without its own rows entry point (a peer): the options' scores formed in T
/// (compute type C = T for the hardware types, float for the 16-bit storage types, rounded to
/// T: what a framework's separate scale, mask-add and softmax ops store between them), then
/// row(z) per row, the rows split across threads.
template <class T>
void kernel_rows(const char* function, void (*row)(std::span<const T>, std::span<T>),
                 std::span<const T> x, std::size_t rows, std::size_t cols, std::size_t x_stride,
                 std::span<T> y, std::size_t y_stride, const softmax_options& options) {
  if (row == nullptr)
    throw std::logic_error(std::string("softlab::") + function +
                           ": this registry entry has no such entry point");
  using C = std::conditional_t<is_storage_float<T>, float, T>;
  check_rows<T>(function, x, y, rows, cols, x_stride, y_stride);
  check_options(function, options);
  check_score_options<C>(function, options, rows, cols, true);
  if (cols == 0) return;
  for_scored_rows_in_t<T>(
      x, rows, cols, x_stride, options,
      [&](std::size_t r, std::span<const T> z) { row(z, y.subspan(r * y_stride, cols)); });
}

}  // namespace detail

/// One softmax per row of a row-major matrix (row r of x at x[r * x_stride]) through a
/// registry entry, with options: k.softmax_rows when k has it (every builtin: the same bits as
/// softlab::softmax_rows<Impl>), else the separate operations (detail::kernel_rows). The rows
/// are split across options.threads threads. std::logic_error if k has no softmax.
template <class T>
void softmax_rows(const kernel<T>& k, std::span<const T> x, std::size_t rows, std::size_t cols,
                  std::size_t x_stride, std::span<T> y, std::size_t y_stride,
                  const softmax_options& options = {}) {
  if (k.softmax_rows != nullptr)
    return k.softmax_rows(x, rows, cols, x_stride, y, y_stride, options);
  detail::kernel_rows<T>("softmax_rows", k.softmax, x, rows, cols, x_stride, y, y_stride, options);
}

/// One log_softmax per row, likewise. std::logic_error if k has no log_softmax.
template <class T>
void log_softmax_rows(const kernel<T>& k, std::span<const T> x, std::size_t rows, std::size_t cols,
                      std::size_t x_stride, std::span<T> y, std::size_t y_stride,
                      const softmax_options& options = {}) {
  if (k.log_softmax_rows != nullptr)
    return k.log_softmax_rows(x, rows, cols, x_stride, y, y_stride, options);
  detail::kernel_rows<T>("log_softmax_rows", k.log_softmax, x, rows, cols, x_stride, y, y_stride,
                         options);
}

/// One logsumexp per row into lse[r], likewise: k.logsumexp_rows when k has it (every builtin),
/// else the separate operations (the scores formed in T, then k.logsumexp per row).
/// std::logic_error if k has no logsumexp.
template <class T>
void logsumexp_rows(const kernel<T>& k, std::span<const T> x, std::size_t rows, std::size_t cols,
                    std::size_t x_stride, std::span<T> lse, const softmax_options& options = {}) {
  if (k.logsumexp_rows != nullptr) return k.logsumexp_rows(x, rows, cols, x_stride, lse, options);
  if (k.logsumexp == nullptr)
    throw std::logic_error("softlab::logsumexp_rows: this registry entry has no logsumexp");
  using C = std::conditional_t<is_storage_float<T>, float, T>;
  detail::check_reduced_rows<T>("logsumexp_rows", x, rows, cols, x_stride, lse);
  detail::check_options("logsumexp_rows", options);
  detail::check_score_options<C>("logsumexp_rows", options, rows, cols, true);
  if (cols == 0) {
    for (std::size_t r = 0; r < rows; ++r) lse[r] = -std::numeric_limits<T>::infinity();
    return;
  }
  detail::for_scored_rows_in_t<T>(
      x, rows, cols, x_stride, options,
      [&](std::size_t r, std::span<const T> z) { lse[r] = k.logsumexp(z); });
}

}  // namespace softlab
