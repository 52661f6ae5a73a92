// softlab/detail/reductions.hpp: the reductions the generic algorithms share (sums of exps,
// the online normalizer) and what they finish with. The contract's limits (a row whose max is
// not finite) are written by softlab/detail/float_blocks.hpp, so that every implementation
// gives them identically.
#pragma once

#include <softlab/detail/float_blocks.hpp>

#include <cmath>
#include <cstddef>
#include <span>

namespace softlab::detail {

/// y_i = exp(x_i - shift), returns their sequential sum (y may be x).
template <class T>
T store_shifted_exp_and_sum(std::span<const T> x, const T& shift, std::span<T> y) {
  using std::exp;
  T sum = T(0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    T shifted = x[i] - shift;
    y[i] = exp(shifted);
    sum += y[i];
  }
  return sum;
}

/// sum_i exp(x_i - shift), sequential, nothing stored.
template <class T>
T shifted_exp_sum(std::span<const T> x, const T& shift) {
  using std::exp;
  T sum = T(0);
  for (const T& v : x) {
    T shifted = v - shift;
    sum += T(exp(shifted));
  }
  return sum;
}

/// y_i = exp(x_i - shift) / sum: one rounding for the quotient (division, not a reciprocal
/// multiply, which would add a second rounding).
template <class T>
void write_shifted_exp_over_sum(std::span<const T> x, const T& shift, const T& sum,
                                std::span<T> y) {
  using std::exp;
  for (std::size_t i = 0; i < x.size(); ++i) {
    T shifted = x[i] - shift;
    T e = exp(shifted);
    y[i] = e / sum;
  }
}

template <class T>
void divide_in_place(std::span<T> y, const T& sum) {
  for (T& v : y) v = T(v / sum);
}

/// log_softmax_i = (x_i - shift) - log(sum). x_i - shift is exact by Sterbenz's lemma for the
/// entries within a factor 2 of the shift, which are the ones near 0 where a relative bound bites.
template <class T>
void write_log_softmax(std::span<const T> x, const T& shift, const T& log_sum, std::span<T> y) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    T shifted = x[i] - shift;
    y[i] = shifted - log_sum;
  }
}

/// A row reduced to its NaN-propagating max m and s = sum_j exp(x_j - m) (s only when m is
/// finite): what log_softmax and logsumexp need, however the row was reduced.
template <class T>
struct max_and_sum {
  T max = -infinity<T>();
  T sum = T(0);
};

/// `stable`'s reduction: the max, then the sum against it (two reads).
template <class T>
max_and_sum<T> max_then_sum(std::span<const T> x) {
  max_and_sum<T> row;
  row.max = max_propagating_nan(x);
  if (is_finite(row.max)) row.sum = shifted_exp_sum(x, row.max);
  return row;
}

/// Milakov & Gimelshein's online normalizer (arXiv 1805.02867, Algorithm 3): one read pass
/// keeping the running max m and s = sum exp(x_j - m), rescaled by exp(m_old - m_new) when m
/// grows. max is NaN-propagating, so the caller resolves the limits exactly as for `stable`.
template <class T>
max_and_sum<T> online_normalizer(std::span<const T> x) {
  using std::exp;
  max_and_sum<T> state;
  for (const T& v : x) {
    if (is_nan(v)) {
      state.max = v;
      return state;
    }
    if (v > state.max) {
      // Rescale only on growth: the exp of the (non-positive) old-minus-new difference.
      // state.max == -inf on the first finite entry gives exp(-inf) = 0, which is right.
      T rescale_arg = state.max - v;
      if (v == infinity<T>()) {
        state.max = v;  // the caller resolves the +inf limit; keep scanning for NaN
        continue;
      }
      state.sum = T(state.sum * T(exp(rescale_arg))) + T(1);
      state.max = v;
    } else if (is_finite(state.max)) {  // all -inf so far, or a +inf seen: nothing to add
      T shifted = v - state.max;
      state.sum += T(exp(shifted));
    }
  }
  return state;
}

/// log_softmax from a reduced row: the limits of a max that is not finite, else
/// (x_i - m) - log s.
template <class T>
void write_log_softmax_or_limit(std::span<const T> x, const max_and_sum<T>& row, std::span<T> y) {
  using std::log;
  if (write_limit_if_max_not_finite(row.max, x, y, output_scale::log_probability)) return;
  write_log_softmax(x, row.max, T(log(row.sum)), y);
}

/// logsumexp from a reduced row: its limit (NaN, +inf, -inf), else m + log s.
template <class T>
T logsumexp_of(const max_and_sum<T>& row) {
  using std::log;
  if (!is_finite(row.max)) return row.max;  // NaN, +inf or all -inf: the max itself
  return row.max + T(log(row.sum));
}

}  // namespace softlab::detail
