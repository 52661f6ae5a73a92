// softlab/options.hpp: the one options argument of softmax, log_softmax, logsumexp and
// softmax_rows, and the thread counts its `threads` field defaults to.
//
//   softlab::softmax_rows<softlab::fast>(x, rows, cols, y, {.scale = 0.125, .causal = 0});
//   softlab::softmax<softlab::fast>(logits, p, {.scale = 1 / temperature});
//   softlab::softmax<softlab::fast>(scores, w, {.mask = padding});  // additive or boolean
//
// Every field is optional, and an unset field leaves the call exactly as the overload without
// options computes it: a default-constructed softmax_options is the same as no options.
//
// What the fields compute: softmax (log_softmax, logsumexp) of the scores
//     z_i = scale * x_i + mask_i
// in the implementation's compute type C (T; float for the 16-bit storage types, double for
// `accurate` on them), with scale and mask_i converted to C first (once, rounded to nearest: the
// exact reference uses those converted values) and z_i rounded once (a fused multiply-add) when
// the scale or an additive mask makes it inexact. A boolean keep-mask and the causal mask leave
// scores out (z_i = -inf: weight exactly 0, log-weight -inf) without reading them: a NaN or
// +inf left out is not seen. A row left with no score gives zeros (log_softmax: -inf; logsumexp:
// -inf), the contract's fully masked row. Otherwise z takes the contract like any input: a NaN
// in z (a NaN score, or +inf + -inf) makes the row NaN; +inf scores share the weight.
// Where the scores are formed: `fast` forms them inside its vector passes, a block of 2048 at a
// time in an L1 buffer (no extra pass over memory, no scratch row; softlab/simd/fast.hpp), for
// softmax and log_softmax (logsumexp: a first pass); the other implementations, `accurate`
// included for now, form them in a first pass of their own into y (or a scratch row when y is
// not of the compute type), then run their kernel on them.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

namespace softlab {

/// A mask over the scores, as a view (softlab does not copy or own it): additive (float or
/// double, -inf allowed: z_i = scale x_i + mask_i) or a boolean keep-mask (false: score i is left
/// out). Its size is the number of scores (rows * cols for softmax_rows, packed row-major
/// whatever the scores' stride), or, for softmax_rows, cols: the same mask for every row (a
/// padding mask over the keys). Any other size is std::invalid_argument naming both sizes.
class score_mask {
 public:
  enum class kind { none, additive_float, additive_double, keep };

  score_mask() = default;
  score_mask(std::span<const float> additive)
      : kind_(kind::additive_float), data_(additive.data()), size_(additive.size()) {}
  score_mask(std::span<const double> additive)
      : kind_(kind::additive_double), data_(additive.data()), size_(additive.size()) {}
  score_mask(std::span<const bool> keep)
      : kind_(kind::keep), data_(keep.data()), size_(keep.size()) {}
  /// Any contiguous range of float, double or bool (std::vector<float>, std::array<bool, N>).
  template <class R>
  requires requires(const R& r) {
    std::span(r);
  } &&(!std::is_same_v<std::remove_cvref_t<R>, score_mask>)score_mask(const R& r)
      : score_mask(std::span<const typename decltype(std::span(r))::value_type>(std::span(r))) {
  }

  kind which() const { return kind_; }
  bool empty_kind() const { return kind_ == kind::none; }
  std::size_t size() const { return size_; }
  const float* additive_float() const { return static_cast<const float*>(data_); }
  const double* additive_double() const { return static_cast<const double*>(data_); }
  const bool* keep() const { return static_cast<const bool*>(data_); }
  /// The same mask starting `offset` elements in (a row of a mask over rows).
  score_mask from(std::size_t offset) const {
    score_mask result = *this;
    switch (kind_) {
      case kind::none:
        return result;
      case kind::additive_float:
        result.data_ = additive_float() + offset;
        break;
      case kind::additive_double:
        result.data_ = additive_double() + offset;
        break;
      case kind::keep:
        result.data_ = keep() + offset;
        break;
    }
    result.size_ = size_ - offset;
    return result;
  }
  /// "additive float", "additive double", "boolean keep" or "no", for messages.
  std::string description() const {
    switch (kind_) {
      case kind::additive_float:
        return "additive float";
      case kind::additive_double:
        return "additive double";
      case kind::keep:
        return "boolean keep";
      case kind::none:
        break;
    }
    return "no";
  }

 private:
  kind kind_ = kind::none;
  const void* data_ = nullptr;
  std::size_t size_ = 0;
};

struct softmax_options {
  /// z_i = scale x_i (+ mask_i): attention's 1/sqrt(d), sampling's 1/temperature. Any finite
  /// non-zero value, negative included (the max is taken over z, so a negative scale makes the
  /// smallest score the largest); 0, NaN, +-inf, and a value that converts to 0 or inf in the
  /// compute type, are std::invalid_argument naming the value.
  std::optional<double> scale;
  /// An additive or boolean mask (score_mask), or none.
  score_mask mask;
  /// softmax_rows only: row r keeps the columns c <= r + causal (any offset: 0 is the square
  /// causal mask, cols - rows the last rows of a longer sequence, negative leaves the first rows
  /// with nothing: zeros). Set on softmax, log_softmax or logsumexp (one row, no row index):
  /// std::invalid_argument.
  std::optional<std::ptrdiff_t> causal;
  /// The threads softmax_rows may split its rows across; unset: default_threads(); 0:
  /// std::invalid_argument naming the value, checked before anything is written. Rows are
  /// dealt to threads in contiguous blocks (OpenMP's static schedule, GCC's libgomp) and each
  /// row is computed, whole, by the code one thread would run on it, so the output is the same
  /// bits for every thread count. Work too small to pay for waking threads (rows * cols below
  /// a measured threshold per thread, see impl/src/threads.cpp) runs on the calling thread.
  /// One long row (softmax, or softmax_rows of one row) is split only by an implementation
  /// that splits it in fixed chunks with the same bits for every thread count (`fast`, from
  /// 256 KiB, see its header); every other row runs on the calling thread.
  std::optional<std::size_t> threads;

  /// True when the options change the scores (scale, mask or causal set).
  bool transforms_scores() const {
    return scale.has_value() || !mask.empty_kind() || causal.has_value();
  }
};

/// The CPUs this process may use: the size of its affinity mask (sched_getaffinity), capped by
/// the CPU quota of its cgroup (v2 cpu.max "quota period", v1 cpu.cfs_quota_us and
/// cpu.cfs_period_us; ceil(quota / period); no quota: no cap), at least 1. A container limited
/// to 2 CPUs on a 64-core host gets 2: more threads than that would only take turns.
std::size_t available_cpus();

/// The thread count softmax_rows uses when softmax_options::threads is unset: the environment
/// variable SOFTLAB_THREADS when set (a positive decimal integer; anything else, "" included, is
/// std::invalid_argument naming the variable and its value), otherwise available_cpus(). Read
/// on every call, so a program may change it between calls.
std::size_t default_threads();

}  // namespace softlab
