// softlab::two_pass: Dukhan & Ablavatski's two-pass softmax (arXiv 2001.04438).
//
// Algorithm: exp(x_i) = m_i * 2^(n_i) with n_i = round(x_i / ln 2) and m_i = exp(r_i),
//   r_i = x_i - n_i ln 2 in [-ln2/2, ln2/2]. The sum is kept as (M, E) = M * 2^E, rescaled by a
//   power of two (exact) when a larger n_i arrives, so nothing overflows without a max pass.
//   Second pass: y_i = (m_i / M) * 2^(n_i - E), dividing before scaling so that a subnormal
//   result is rounded once more at most, not computed from an already-rounded subnormal.
// Passes: 2 (read x; read x, write y). exp is evaluated twice per element.
// Range reduction: Cody-Waite with ln 2 = hi + lo, hi holding p - b bits, b = min(12, p/2)
//   (from a constant carrying p + 64 bits), so n_i * hi is exact and r_i nearly so while
//   |n_i| <= 2^b, i.e. |x_i| < L = 2^b ln 2: 2839 for p >= 24 (float and wider), 22 for
//   binary16 (b = 5: every x whose exp is a nonzero finite binary16), 11 for bfloat16 (b = 4;
//   lo keeps p bits of ln 2 - hi, so r_i is still accurate to about u). Beyond L, n_i * hi
//   rounds (absolute error ~u|x_i|); a reduced argument that lands outside [-ln2, ln2] is
//   reduced again, so exp never overflows. n_i is held in T: x_i * log2(e) must not overflow T
//   (|x_i| < max T / 1.45: 45403 for binary16), or the result is wrong (not NaN).
// Stated bound, results >= smallest normal: n + 5 ULP while max|x| < L, independent of the
//   spread (no x - max is ever rounded); add |x_i| (if |x_i| >= L) and sum_j g_j|x_j| (if
//   max|x| >= L) beyond.
// Subnormal results: kept.
// -inf: weight exactly 0; all -inf: all 0. +inf: the k infinite entries share 1/k, others 0.
// NaN anywhere: all NaN. Empty: no-op.
#pragma once

#include <softlab/detail/reductions.hpp>
#include <softlab/facts.hpp>

#include <boost/math/constants/constants.hpp>
#include <boost/multiprecision/cpp_bin_float.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <span>

namespace softlab {
namespace detail {

/// Bits of n for which n * ln2_hi is exact: b = min(12, p/2), leaving p - b >= b bits to hi
/// (hi = ln 2 to p - b bits, lo = the rest to p bits) for a p-bit type.
constexpr int exact_reduction_bits(int precision_bits) { return std::min(12, precision_bits / 2); }

template <class T>
struct ln2_split {
  T hi;
  T lo;
  T log2e;
  T ln2;
};

/// ln 2 split for Cody-Waite reduction in T, from a constant carrying p + 64 bits so that lo is
/// the true remainder ln 2 - hi rounded to T (not the last bits of T's own rounded ln 2).
template <class T>
const ln2_split<T>& ln2_split_for() {
  static const ln2_split<T> split = [] {
    namespace mp = boost::multiprecision;
    using wide =
        mp::number<mp::cpp_bin_float<std::numeric_limits<T>::digits + 64, mp::digit_base_2>,
                   mp::et_off>;
    const wide ln2 = boost::math::constants::ln_two<wide>();
    constexpr int p = std::numeric_limits<T>::digits;
    constexpr int hi_bits = p - exact_reduction_bits(p);
    const wide hi = ldexp(floor(ldexp(ln2, hi_bits)), -hi_bits);  // ln 2 < 1: hi_bits bits
    const wide lo = ln2 - hi;
    const wide log2e = wide(1) / ln2;
    return ln2_split<T>{static_cast<T>(hi), static_cast<T>(lo), static_cast<T>(log2e),
                        static_cast<T>(ln2)};
  }();
  return split;
}

/// v * 2^k for an integer-valued k <= 0. Below the smallest subnormal the exact result rounds
/// to 0, which is returned without calling ldexp (k may not fit an int there).
template <class T>
T scale_by_power_of_two(const T& v, const T& k) {
  using std::ldexp;
  constexpr long long zero_below = std::max<long long>(
      (long long)std::numeric_limits<T>::min_exponent - std::numeric_limits<T>::digits - 2,
      (long long)INT_MIN / 2);
  if (!(k >= T(zero_below))) return T(0);
  return T(ldexp(v, static_cast<int>(k)));
}

/// exp(x) = mantissa * 2^exponent for finite x, mantissa in about [0.7, 1.42].
template <class T>
struct exp_parts {
  T mantissa;  ///< exp(reduced)
  T exponent;  ///< n, integer-valued
  T reduced;   ///< r = x - n ln 2
};

template <class T>
exp_parts<T> split_exp(const T& x, const ln2_split<T>& c) {
  using std::abs;
  using std::exp;
  using std::round;
  T n = round(T(x * c.log2e));
  T r = T(x - T(n * c.hi)) - T(n * c.lo);
  // Only when n * hi was inexact (|x| >= 2^b ln 2): reduce the remainder again. Each round
  // shrinks |r| by about a factor u, so this ends within a few rounds even at x = FLT_MAX.
  while (abs(r) > c.ln2) {
    T more = round(T(r * c.log2e));
    r = T(r - T(more * c.hi)) - T(more * c.lo);
    n += more;
  }
  return {T(exp(r)), n, r};
}

/// Pass 1: the NaN-propagating max (for the limits) and sum exp(x_j) = sum * 2^exponent.
template <class T>
struct scaled_sum {
  T max = -infinity<T>();
  T sum = T(0);
  T exponent = -infinity<T>();
};

template <class T>
scaled_sum<T> two_pass_sum(std::span<const T> x) {
  const auto& c = ln2_split_for<T>();
  scaled_sum<T> acc;
  for (const T& v : x) {
    update_max_propagating_nan(acc.max, v);
    if (!is_finite(v)) continue;  // -inf adds 0; +inf and NaN are resolved from max
    const exp_parts<T> e = split_exp(v, c);
    if (e.exponent > acc.exponent) {
      acc.sum = T(scale_by_power_of_two(acc.sum, T(acc.exponent - e.exponent))) + e.mantissa;
      acc.exponent = e.exponent;
    } else {
      acc.sum += scale_by_power_of_two(e.mantissa, T(e.exponent - acc.exponent));
    }
  }
  return acc;
}

}  // namespace detail

struct two_pass {
  static constexpr implementation_facts facts{
      .name = "two_pass",
      .algorithm =
          "sum of exp kept as mantissa * 2^exponent, no max pass (Dukhan & Ablavatski 2020)",
      .passes = "2: read; read + write (exp computed twice)",
      .stated_bound =
          "n + 5 ULP while max|x| < L = 2^min(12,p/2) ln 2 (2839 for p >= 24); beyond, + |x_i| "
          "+ sum_j y_j|x_j|",
      .vectorized = false,
      .meets_contract = true,
      .subnormals = subnormal_results::kept,
  };
  template <class T>
  static constexpr bool supports = true;

  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    const auto acc = detail::two_pass_sum(x);
    if (detail::write_limit_if_max_not_finite(acc.max, x, y, detail::output_scale::probability))
      return;
    const auto& c = detail::ln2_split_for<T>();
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i] == -detail::infinity<T>()) {
        y[i] = T(0);
        continue;
      }
      const detail::exp_parts<T> e = detail::split_exp(x[i], c);
      T ratio = e.mantissa / acc.sum;
      y[i] = detail::scale_by_power_of_two(ratio, T(e.exponent - acc.exponent));
    }
  }
  /// log y_i = r_i + (n_i - E) ln 2 - log M, with (n_i - E) ln 2 split as hi + lo: the large
  /// terms are exact and nothing of size |x| cancels.
  template <class T>
  static void log_softmax(std::span<const T> x, std::span<T> y) {
    using std::log;
    const auto acc = detail::two_pass_sum(x);
    if (detail::write_limit_if_max_not_finite(acc.max, x, y, detail::output_scale::log_probability))
      return;
    const auto& c = detail::ln2_split_for<T>();
    const T log_sum = log(acc.sum);
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i] == -detail::infinity<T>()) {
        y[i] = -detail::infinity<T>();
        continue;
      }
      const detail::exp_parts<T> e = detail::split_exp(x[i], c);
      const T k = e.exponent - acc.exponent;
      y[i] = T(e.reduced + T(k * c.hi)) + T(T(k * c.lo) - log_sum);
    }
  }
  template <class T>
  static T logsumexp(std::span<const T> x) {
    using std::log;
    const auto acc = detail::two_pass_sum(x);
    if (!detail::is_finite(acc.max)) return acc.max;  // NaN, +inf or all -inf: the max itself
    const auto& c = detail::ln2_split_for<T>();
    return T(acc.exponent * c.hi) + T(T(acc.exponent * c.lo) + T(log(acc.sum)));
  }

  /// L = 2^b ln 2 rounded down (b = detail::exact_reduction_bits): 2839 for p >= 24, 22 for
  /// binary16, 11 for bfloat16. Below it, n_i * hi is exact.
  static double exact_reduction_limit(int precision_bits) {
    return std::floor(std::ldexp(0.6931471805599453, detail::exact_reduction_bits(precision_bits)));
  }
  static double softmax_bound_ulps(const bound_inputs& in) {
    const double limit = exact_reduction_limit(in.precision_bits);
    const double max_magnitude = std::max(std::abs(in.max_value), std::abs(in.min_value));
    // exp of a reduced argument, |r| <= ln2/2 (< 0.35), in e_i and inside the sum.
    double bound = double(in.n) - 1 + 4 * in.exp_error(0.35) + 2;
    if (in.magnitude >= limit) bound += in.magnitude;
    if (max_magnitude >= limit) bound += in.mean_magnitude;
    return beyond_first_order(bound, in);
  }
  static double log_bound_a(const bound_inputs& in) {
    const double max_magnitude = std::max(std::abs(in.max_value), std::abs(in.min_value));
    double a = double(in.n) + 8 + (1 + 2 * in.log_ulps) * std::log(double(in.n)) +
               2 * (in.exp_error(0.35) - 1);
    if (max_magnitude >= exact_reduction_limit(in.precision_bits))
      a += in.magnitude + in.mean_magnitude;
    return a;
  }
};

}  // namespace softlab
