// softlab/detail/reductions.hpp: the building blocks the generic algorithms share.
//
// Every algorithm ends in one of two situations: the maximum of x is finite (the ordinary path)
// or it is not (NaN, +inf, or every entry -inf). The second is resolved once, here, so that all
// implementations give the contract's limits identically.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

namespace softlab::detail {

template <class T>
bool is_nan(const T& v) {
  return !(v == v);
}

template <class T>
T infinity() {
  return std::numeric_limits<T>::infinity();
}

template <class T>
T quiet_nan() {
  return std::numeric_limits<T>::quiet_NaN();
}

template <class T>
bool is_finite(const T& v) {
  return !is_nan(v) && v != infinity<T>() && v != -infinity<T>();
}

/// max that absorbs NaN: once a NaN is seen the running maximum stays NaN, so one value tells
/// "some input was NaN" without a second flag.
template <class T>
void update_max_propagating_nan(T& running_max, const T& v) {
  if (v > running_max || is_nan(v)) running_max = v;
}

template <class T>
T max_propagating_nan(std::span<const T> x) {
  T running_max = -infinity<T>();
  for (const T& v : x) {
    update_max_propagating_nan(running_max, v);
    if (is_nan(running_max)) break;
  }
  return running_max;
}

/// The kind of output an elementwise limit is written for.
enum class output_scale { probability, log_probability };

/// When max x is not finite the softmax is a limit, written here:
///   NaN anywhere  -> every output NaN;
///   max is +inf   -> the k entries equal to +inf share 1/k, every other entry 0;
///   max is -inf   -> every entry is -inf (fully masked): all zeros ("safe softmax").
/// log_probability writes the logarithms (log 0 = -inf). Returns false when max is finite.
/// In place (y == x) is safe: every x_i is read before y_i is written.
template <class T>
bool write_limit_if_max_not_finite(const T& max, std::span<const T> x, std::span<T> y,
                                   output_scale scale) {
  using std::log;
  const bool log_scale = scale == output_scale::log_probability;
  if (is_nan(max)) {
    for (T& v : y) v = quiet_nan<T>();
    return true;
  }
  if (max == -infinity<T>()) {
    for (T& v : y) v = log_scale ? -infinity<T>() : T(0);
    return true;
  }
  if (max != infinity<T>()) return false;
  std::size_t infinite_count = 0;
  for (const T& v : x) infinite_count += v == infinity<T>() ? 1 : 0;
  const T share = log_scale ? T(-log(T(infinite_count))) : T(T(1) / T(infinite_count));
  const T rest = log_scale ? -infinity<T>() : T(0);
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] == infinity<T>() ? share : rest;
  return true;
}

/// logsumexp's limits: NaN -> NaN, +inf -> +inf, all -inf -> -inf. Returns false when finite.
template <class T>
bool logsumexp_limit_if_max_not_finite(const T& max, T& result) {
  if (is_finite(max)) return false;
  result = max;
  return true;
}

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

/// Milakov & Gimelshein's online normalizer (arXiv 1805.02867, Algorithm 3): one read pass
/// keeping the running max m and s = sum exp(x_j - m), rescaled by exp(m_old - m_new) when m
/// grows. max is NaN-propagating, so the caller resolves the limits exactly as for `stable`.
template <class T>
struct running_normalizer {
  T max = -infinity<T>();
  T sum = T(0);
};

template <class T>
running_normalizer<T> online_normalizer(std::span<const T> x) {
  using std::exp;
  running_normalizer<T> state;
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

}  // namespace softlab::detail
