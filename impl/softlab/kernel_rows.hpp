// softlab/kernel_rows.hpp: rows across threads through the runtime registry's view of an
// implementation (softlab::kernel<T>), for the tools and the benchmarks, which choose the
// implementation at run time.
//
//   const softlab::kernel<float>& k = *registry.find<float>("fast");
//   softlab::softmax_rows(k, x, rows, cols, cols, y, cols, {.threads = 2});
//
// The same checks, thread count and split as softlab::softmax_rows<Impl> (softlab.hpp), with
// k.softmax (k.log_softmax) called once per row: the output is the same bits for every thread
// count, and, for a builtin implementation, the same bits as softmax_rows<Impl>. A peer's entry
// (registered at run time) runs the same way: its per-row call must be safe to make from
// several threads at once, which the peers' tests check.
#pragma once

#include <softlab/detail/rows.hpp>
#include <softlab/options.hpp>
#include <softlab/registry.hpp>

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

namespace softlab {

namespace detail {

template <class T>
void kernel_rows(const char* function, void (*row)(std::span<const T>, std::span<T>),
                 std::span<const T> x, std::size_t rows, std::size_t cols, std::size_t x_stride,
                 std::span<T> y, std::size_t y_stride, const softmax_options& options) {
  if (row == nullptr)
    throw std::logic_error(std::string("softlab::") + function +
                           ": this registry entry has no such entry point");
  check_rows<T>(function, x, y, rows, cols, x_stride, y_stride);
  check_options(function, options);
  const std::size_t threads = threads_for_rows(options, rows, cols);
  for_row_blocks(rows, threads, [&](std::size_t first, std::size_t last) {
    for (std::size_t r = first; r < last; ++r)
      row(x.subspan(r * x_stride, cols), y.subspan(r * y_stride, cols));
  });
}

}  // namespace detail

/// One k.softmax per row of a row-major matrix (row r of x at x[r * x_stride]), the rows split
/// across options.threads threads. std::logic_error if k has no softmax.
template <class T>
void softmax_rows(const kernel<T>& k, std::span<const T> x, std::size_t rows, std::size_t cols,
                  std::size_t x_stride, std::span<T> y, std::size_t y_stride,
                  const softmax_options& options = {}) {
  detail::kernel_rows<T>("softmax_rows", k.softmax, x, rows, cols, x_stride, y, y_stride, options);
}

/// One k.log_softmax per row, likewise. std::logic_error if k has no log_softmax.
template <class T>
void log_softmax_rows(const kernel<T>& k, std::span<const T> x, std::size_t rows, std::size_t cols,
                      std::size_t x_stride, std::span<T> y, std::size_t y_stride,
                      const softmax_options& options = {}) {
  detail::kernel_rows<T>("log_softmax_rows", k.log_softmax, x, rows, cols, x_stride, y, y_stride,
                         options);
}

}  // namespace softlab
