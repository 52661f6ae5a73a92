// softlab/detail/rows.hpp: what every batched entry point shares: the checks of a row-major
// batch, the thread count for it, and the split of its rows across threads.
//
// The OpenMP region itself is compiled into the library (impl/src/threads.cpp): a header-only
// pragma would run serially in every consumer not built with -fopenmp, and would tie the
// consumer's compiler to an OpenMP runtime. Here the rows of one block are a type-erased call.
#pragma once

#include <softlab/detail/arguments.hpp>
#include <softlab/options.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace softlab::detail {

/// The elements a batch of `rows` rows of `cols` with that stride spans.
constexpr std::size_t rows_extent(std::size_t rows, std::size_t cols, std::size_t stride) {
  return rows == 0 ? 0 : (rows - 1) * stride + cols;
}

/// rows_extent, or nullopt when it exceeds size_t (no buffer is that long): a stride near
/// SIZE_MAX would otherwise wrap the product around to a small extent that passes the checks.
constexpr std::optional<std::size_t> checked_rows_extent(std::size_t rows, std::size_t cols,
                                                         std::size_t stride) {
  if (rows == 0) return 0;
  std::size_t product = 0;
  std::size_t sum = 0;
  if (__builtin_mul_overflow(rows - 1, stride, &product) ||
      __builtin_add_overflow(product, cols, &sum))
    return std::nullopt;
  return sum;
}

/// Strides at least cols, x and y long enough, y not partially overlapping x (in place, same
/// data and stride, is allowed). std::invalid_argument naming the function and the sizes.
template <class T>
void check_rows(const char* function, std::span<const T> in, std::span<const T> out,
                std::size_t rows, std::size_t cols, std::size_t x_stride, std::size_t y_stride) {
  // Built only when a check fails: these checks run on every call, however short the row.
  const auto name = [function] { return std::string("softlab::") + function; };
  if (x_stride < cols || y_stride < cols)
    throw std::invalid_argument(name() + ": stride (x " + std::to_string(x_stride) + ", y " +
                                std::to_string(y_stride) + ") is less than cols (" +
                                std::to_string(cols) + ")");
  const auto too_short = [&](const char* which, std::size_t size, std::size_t stride,
                             std::optional<std::size_t> extent) {
    return std::invalid_argument(
        name() + ": " + which + " has " + std::to_string(size) + " elements but " +
        std::to_string(rows) + " rows of " + std::to_string(cols) + " with stride " +
        std::to_string(stride) + " need " +
        (extent ? std::to_string(*extent) : std::string("more than SIZE_MAX")));
  };
  const std::optional<std::size_t> x_extent = checked_rows_extent(rows, cols, x_stride);
  const std::optional<std::size_t> y_extent = checked_rows_extent(rows, cols, y_stride);
  if (!x_extent || in.size() < *x_extent) throw too_short("x", in.size(), x_stride, x_extent);
  if (!y_extent || out.size() < *y_extent) throw too_short("y", out.size(), y_stride, y_extent);
  const bool in_place = in.data() == out.data() && x_stride == y_stride;
  if (!in_place && rows > 0)
    require_no_partial_overlap<T>(function, in.first(rows_extent(rows, cols, x_stride)),
                                  out.first(rows_extent(rows, cols, y_stride)));
}

/// check_rows for a reduction with one result per row (logsumexp_rows): x holds rows rows of
/// cols at x_stride, out holds rows results and does not overlap x. std::invalid_argument naming
/// the values otherwise.
template <class T>
void check_reduced_rows(const char* function, std::span<const T> in, std::size_t rows,
                        std::size_t cols, std::size_t x_stride, std::span<const T> out) {
  // Built only when a check fails: these checks run on every call, however short the row.
  const auto name = [function] { return std::string("softlab::") + function; };
  if (x_stride < cols)
    throw std::invalid_argument(name() + ": stride (x " + std::to_string(x_stride) +
                                ") is less than cols (" + std::to_string(cols) + ")");
  const std::optional<std::size_t> x_extent = checked_rows_extent(rows, cols, x_stride);
  if (!x_extent || in.size() < *x_extent)
    throw std::invalid_argument(
        name() + ": x has " + std::to_string(in.size()) + " elements but " + std::to_string(rows) +
        " rows of " + std::to_string(cols) + " with stride " + std::to_string(x_stride) + " need " +
        (x_extent ? std::to_string(*x_extent) : std::string("more than SIZE_MAX")));
  if (out.size() < rows)
    throw std::invalid_argument(name() + ": lse has " + std::to_string(out.size()) +
                                " elements but there are " + std::to_string(rows) + " rows");
  if (rows == 0 || cols == 0) return;
  // A result written over a row not yet read would change it: no overlap at all.
  const std::span<const T> read = in.first(rows_extent(rows, cols, x_stride));
  const std::less<const T*> before;
  if (before(out.data(), read.data() + read.size()) && before(read.data(), out.data() + rows))
    throw std::invalid_argument(name() +
                                ": lse overlaps x (each result would overwrite input "
                                "still to be read)");
}

/// The fewest elements (rows * cols) a thread is given: below it, waking one more thread costs
/// about what its share of the work saves (measured in impl/src/threads.cpp: 2 threads gain at
/// least 1.4x from 2 x 16K elements on, even woken from sleep).
inline constexpr std::size_t min_elements_per_thread = 16384;

/// std::invalid_argument for options.threads == 0, naming the function and the value.
void check_options(const char* function, const softmax_options& options);

/// The threads a batch of rows x cols runs on: 1 when it is too small to pay for waking
/// threads or has one row; otherwise options.threads (or default_threads()), capped so that
/// every thread gets at least min_elements_per_thread elements, and at the row count. Throws
/// what default_threads() throws; call after check_options.
std::size_t threads_for_rows(const softmax_options& options, std::size_t rows, std::size_t cols);

/// The threads one row of n elements may be split across by an implementation that splits
/// long rows (softlab::fast): 1 below 2 * min_elements_per_thread, without reading the
/// environment (a short row pays nothing for it); beyond, options.threads (or
/// default_threads()) capped so that every thread gets min_elements_per_thread elements.
inline std::size_t threads_for_row(const softmax_options& options, std::size_t n) {
  if (n < 2 * min_elements_per_thread) return 1;
  return threads_for_rows(options, n / min_elements_per_thread, min_elements_per_thread);
}

/// Runs run(context, first, last) over consecutive ranges covering rows [0, rows), on
/// `threads` threads (one contiguous block each, OpenMP's static schedule); threads <= 1 calls
/// it once, on this thread. The workers take the caller's floating-point environment (rounding
/// mode, flush-to-zero and denormals-are-zero) for the call, and the exception flags they raise
/// are raised on the caller, as if it had computed every row. An exception thrown by run is
/// caught on its thread and the first one rethrown here once every thread is done.
void run_row_blocks(std::size_t rows, std::size_t threads,
                    void (*run)(void* context, std::size_t first, std::size_t last), void* context);

/// run_row_blocks in phases: run(context, phase, first, last) for phase = 0, 1, ..., phases - 1
/// in one region, each thread on the same block of rows in every phase, every thread done with
/// a phase (its writes visible) before any starts the next. One region for the passes of one
/// split row: on the 2-core Zen 5 VM (a /tmp program, medians of 2000 back to back) three
/// two-thread regions took 8.6-9.4 us, one region with two barriers 5.6-6.3 us. An
/// exception skips the phases after it on every thread and is rethrown as run_row_blocks does.
void run_row_phases(std::size_t rows, std::size_t threads, std::size_t phases,
                    void (*run)(void* context, std::size_t phase, std::size_t first,
                                std::size_t last),
                    void* context);

/// run_row_phases over a callable f(phase, first, last).
template <class F>
void for_row_phases(std::size_t rows, std::size_t threads, std::size_t phases, F&& f) {
  run_row_phases(
      rows, threads, phases,
      [](void* context, std::size_t phase, std::size_t first, std::size_t last) {
        (*static_cast<std::remove_reference_t<F>*>(context))(phase, first, last);
      },
      const_cast<void*>(static_cast<const void*>(&f)));
}

/// run_row_blocks over a callable f(first, last).
template <class F>
void for_row_blocks(std::size_t rows, std::size_t threads, F&& f) {
  if (threads <= 1) return f(std::size_t{0}, rows);
  run_row_blocks(
      rows, threads,
      [](void* context, std::size_t first, std::size_t last) {
        (*static_cast<std::remove_reference_t<F>*>(context))(first, last);
      },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace softlab::detail
