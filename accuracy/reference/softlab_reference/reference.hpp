// softlab_reference: the exact softmax, log_softmax and logsumexp of values as stored in T,
// with MPFR at 2p + 64 bits (p = T's precision), and the error measures: the ULP metric
// (ulp_error, ulp_of), log_error_units and normwise_error. Their one implementation, shared by
// the core tests, the accuracy study (and so the softlab tool) and softlab-exp-exhaustive.
//
// "Exact" here means: the mathematical result for the input values exactly as stored in T
// (each converted to MPFR without rounding), evaluated with 2p + 64 bits; its own relative
// error (about n * 2^-(2p+64)) is far below anything measured in ULPs of T.
//
// ULP error follows SLEEF's tester: |y - exact| / ulp(exact), with ulp at the exact value's
// binary exponent (2^(e - p) for exact in [2^(e-1), 2^e)), floored at T's subnormal spacing, so
// a flushed subnormal result counts its true distance, and a result of 0 for an exact 0 is 0.
// A NaN where the exact value is not NaN (or the reverse), and a wrong infinity, score +inf.
#pragma once

#include <softlab/detail/reductions.hpp>
#include <softlab/facts.hpp>
#include <softlab/types.hpp>

#include <mpfr.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace softlab::reference {

/// An MPFR number that owns its storage.
class exact {
 public:
  explicit exact(mpfr_prec_t bits) { mpfr_init2(value_, bits); }
  exact(const exact& other) {
    mpfr_init2(value_, mpfr_get_prec(other.value_));
    mpfr_set(value_, other.value_, MPFR_RNDN);
  }
  exact& operator=(const exact& other) {
    if (this != &other) {
      mpfr_set_prec(value_, mpfr_get_prec(other.value_));
      mpfr_set(value_, other.value_, MPFR_RNDN);
    }
    return *this;
  }
  ~exact() { mpfr_clear(value_); }
  mpfr_ptr get() { return value_; }
  mpfr_srcptr get() const { return value_; }
  double to_double() const { return mpfr_get_d(value_, MPFR_RNDN); }

 private:
  mpfr_t value_;
};

/// 2p + 64 bits for a p-bit type: enough that double rounding to T is essentially never wrong.
template <class T>
constexpr mpfr_prec_t reference_bits() {
  return 2 * std::numeric_limits<T>::digits + 64;
}

/// v exactly (the precision must hold T's significand, which reference_bits<T> does).
template <class T>
void assign(mpfr_ptr out, const T& v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || is_narrow_format<T>) {
    mpfr_set_d(out, static_cast<double>(v), MPFR_RNDN);  // exact: each is a double
  } else if constexpr (std::is_same_v<T, long double>) {
    mpfr_set_ld(out, v, MPFR_RNDN);
  } else {
    // Any other binary type: peel it into doubles, each the leading bits of what remains; the
    // remainders are exact in T and their sum is exact at this precision.
    if (!(v == v)) {
      mpfr_set_nan(out);
      return;
    }
    if (v == std::numeric_limits<T>::infinity() || v == -std::numeric_limits<T>::infinity()) {
      mpfr_set_inf(out, v > 0 ? 1 : -1);
      return;
    }
    // Normalize first (the exponent range of T may exceed double's), then peel the mantissa.
    using std::frexp;
    int exponent = 0;
    T rest = frexp(v, &exponent);
    mpfr_set_zero(out, 1);
    for (int chunk = 0; rest != 0; ++chunk) {
      const double lead = static_cast<double>(rest);
      if (chunk > 64) throw std::logic_error("softlab_reference: conversion did not converge");
      mpfr_add_d(out, out, lead, MPFR_RNDN);
      rest = T(rest - T(lead));
    }
    mpfr_mul_2si(out, out, exponent, MPFR_RNDN);
  }
}

/// The exact value rounded to nearest in T (subnormals included for the hardware types).
template <class T>
T round_to(mpfr_srcptr v) {
  if constexpr (is_narrow_format<T>) {
    // MPFR's own emulation of a format with subnormals, independent of the simulation's chop:
    // round to p bits in the default exponent range, then narrow the range to T's (MPFR's
    // exponents are those of 0.1b * 2^e: emax = T's emax + 1, emin = that of the smallest
    // subnormal, 2^(emin_T - p + 1)) and let mpfr_check_range (overflow to inf, underflow to 0
    // or the smallest subnormal) and mpfr_subnormalize (fewer bits below 2^emin_T) finish. Both
    // take the ternary value of the first rounding, so the result is v rounded once, exactly;
    // the exponent range is restored before returning.
    constexpr int p = std::numeric_limits<T>::digits;
    exact rounded(p);
    int ternary = mpfr_set(rounded.get(), v, MPFR_RNDN);
    const mpfr_exp_t old_emin = mpfr_get_emin(), old_emax = mpfr_get_emax();
    mpfr_set_emin(std::numeric_limits<T>::min_exponent - p + 1);
    mpfr_set_emax(std::numeric_limits<T>::max_exponent);
    ternary = mpfr_check_range(rounded.get(), ternary, MPFR_RNDN);
    mpfr_subnormalize(rounded.get(), ternary, MPFR_RNDN);
    const double result = mpfr_get_d(rounded.get(), MPFR_RNDN);  // exact: p <= 53 bits
    mpfr_set_emin(old_emin);
    mpfr_set_emax(old_emax);
    return T::exactly(result);
  } else if constexpr (std::is_same_v<T, float>) {
    return mpfr_get_flt(v, MPFR_RNDN);
  } else if constexpr (std::is_same_v<T, double>) {
    return mpfr_get_d(v, MPFR_RNDN);
  } else if constexpr (std::is_same_v<T, long double>) {
    return mpfr_get_ld(v, MPFR_RNDN);
  } else {
    if (mpfr_nan_p(v)) return std::numeric_limits<T>::quiet_NaN();
    if (mpfr_inf_p(v))
      return mpfr_sgn(v) > 0 ? std::numeric_limits<T>::infinity()
                             : -std::numeric_limits<T>::infinity();
    if (mpfr_zero_p(v)) return T(0);
    // Binary significand digits plus two: the decimal string reads back to the nearest T.
    const int digits = std::numeric_limits<T>::max_digits10 + 2;
    mpfr_exp_t exponent = 0;
    char* text = mpfr_get_str(nullptr, &exponent, 10, digits, v, MPFR_RNDN);
    std::string s(text);
    mpfr_free_str(text);
    const bool negative = s[0] == '-';
    if (negative) s.erase(0, 1);
    T result(std::string("0.") + s + "e" + std::to_string(exponent));
    return negative ? T(-result) : result;
  }
}

/// The exponent of ulp(v) at T's precision for |v| in [2^(e-1), 2^e) (MPFR's and frexp's
/// convention), floored at T's subnormal spacing: ulp(v) = 2^(max(e, emin) - p). For an exact 0
/// pass emin (or anything below it).
template <class T>
constexpr long ulp_exponent(long e) {
  return std::max<long>(e, std::numeric_limits<T>::min_exponent) - std::numeric_limits<T>::digits;
}

/// ulp of an exact value at T's precision, floored at the subnormal spacing.
template <class T>
void ulp_of(mpfr_ptr out, mpfr_srcptr v) {
  const long e = mpfr_zero_p(v) ? std::numeric_limits<T>::min_exponent : mpfr_get_exp(v);
  mpfr_set_ui_2exp(out, 1, ulp_exponent<T>(e), MPFR_RNDN);
}

/// ulp at T's precision (T no wider than double) of a finite double v, read from v's exponent
/// bits without a library call: the exhaustive exp check takes it for each of 2^32 arguments.
template <class T>
double ulp_of(double v) {
  static_assert(std::numeric_limits<T>::digits <= 53);
  // A subnormal v or 0 gives e = -1022, below double's floor and any narrower type's.
  const long e = long((std::bit_cast<std::uint64_t>(v) >> 52) & 0x7ff) - 1022;
  const long u = ulp_exponent<T>(e);
  return u >= -1022 ? std::bit_cast<double>(std::uint64_t(u + 1023) << 52)
                    : std::ldexp(1.0, static_cast<int>(u));
}

/// ulp at T's precision of a finite long double v.
template <class T>
long double ulp_of(long double v) {
  const long e = v == 0 ? std::numeric_limits<T>::min_exponent : long(std::ilogb(v)) + 1;
  return std::ldexp(1.0L, static_cast<int>(ulp_exponent<T>(e)));
}

/// |d| as (mantissa in [0.5, 1) rounded to double, exponent); d must be regular (non-zero,
/// finite). With times_power_of_two, a quotient of MPFR values whose exponents lie beyond
/// double's range is formed in double from the mantissas, the exponents added apart.
inline double mantissa_and_exponent(mpfr_srcptr d, long& exponent) {
  return std::abs(mpfr_get_d_2exp(&exponent, d, MPFR_RNDN));
}

/// mantissa * 2^exponent, the exponent clamped to what ldexp takes (the result saturates to 0
/// or inf long before).
inline double times_power_of_two(double mantissa, long exponent) {
  return std::ldexp(mantissa, static_cast<int>(std::clamp(exponent, -100000L, 100000L)));
}

/// What ulp_error_in and log_error_units share, the cases that need no unit: a pair with a
/// NaN or an infinity on either side scores 0 when both sides agree (both NaN, or the same
/// infinity: is_finite and is_nan, not std::isfinite of a double, as a finite bin50 may exceed
/// double's range) and +inf otherwise; a finite pair sets y = computed and diff = computed -
/// expected and scores 0 if they are equal. nullopt: finite and different, the caller scales
/// |diff|. y and diff: scratch at least as precise as expected and V.
template <class V>
std::optional<double> error_without_unit(const V& computed, mpfr_srcptr expected, mpfr_ptr y,
                                         mpfr_ptr diff) {
  const bool computed_nan = softlab::detail::is_nan(computed);
  if (mpfr_nan_p(expected) || computed_nan)
    return mpfr_nan_p(expected) && computed_nan ? 0.0 : std::numeric_limits<double>::infinity();
  const bool computed_inf = !softlab::detail::is_finite(computed);
  if (mpfr_inf_p(expected) || computed_inf) {
    const bool same =
        mpfr_inf_p(expected) && computed_inf && (mpfr_sgn(expected) > 0) == (computed > V(0));
    return same ? 0.0 : std::numeric_limits<double>::infinity();
  }
  assign(y, computed);
  mpfr_sub(diff, y, expected, MPFR_RNDN);
  if (mpfr_zero_p(diff)) return 0.0;
  return std::nullopt;
}

/// Fractional ULPs of Precision between a computed value (of any type V that assign() takes,
/// e.g. the double result of a kernel bound for float) and the exact value: |computed - exact|
/// / ulp(exact) at the exact value's exponent, floored at Precision's subnormal spacing. NaN
/// against non-NaN, and an infinity that is not the exact one, score +inf.
/// Does not allocate: y and diff are scratch (see error_without_unit: when both values are
/// finite, y holds computed and diff computed - expected on return, which the study's metric
/// pass reads). |diff| is rounded to double once, then scaled exactly (unless the quotient is
/// below double's normal range).
template <class Precision, class V>
double ulp_error_in(const V& computed, mpfr_srcptr expected, mpfr_ptr y, mpfr_ptr diff) {
  if (const std::optional<double> error = error_without_unit(computed, expected, y, diff))
    return *error;
  const long e =
      mpfr_zero_p(expected) ? std::numeric_limits<Precision>::min_exponent : mpfr_get_exp(expected);
  long diff_exponent = 0;
  const double m = mantissa_and_exponent(diff, diff_exponent);
  return times_power_of_two(m, diff_exponent - ulp_exponent<Precision>(e));
}

/// Fractional ULPs of T between a computed T and the exact value (ulp_error_in<T>), with
/// caller-provided scratch y and diff (see there).
template <class T>
double ulp_error(const T& computed, mpfr_srcptr expected, mpfr_ptr y, mpfr_ptr diff) {
  return ulp_error_in<T>(computed, expected, y, diff);
}

/// Scratch for the metrics below at expected's precision (and at least T's reference's).
template <class T>
mpfr_prec_t scratch_bits(const exact& expected) {
  return std::max<mpfr_prec_t>(mpfr_get_prec(expected.get()), reference_bits<T>());
}

/// Fractional ULPs of T between a computed T and the exact value (allocates its scratch).
template <class T>
double ulp_error(const T& computed, const exact& expected) {
  exact y(scratch_bits<T>(expected)), diff(scratch_bits<T>(expected));
  return ulp_error_in<T>(computed, expected.get(), y.get(), diff.get());
}

/// |y - exact| / (u * max(1, |exact|)), u = 2^-p: the measure log_softmax and logsumexp are
/// bounded in (their results cross zero, where a relative measure means nothing). NaN against
/// non-NaN and a wrong infinity score +inf. y and diff: scratch, as for ulp_error_in.
template <class T>
double log_error_units(const T& computed, mpfr_srcptr expected, mpfr_ptr y, mpfr_ptr diff) {
  if (const std::optional<double> error = error_without_unit(computed, expected, y, diff))
    return *error;
  constexpr long p = std::numeric_limits<T>::digits;
  long diff_exponent = 0;
  const double m = mantissa_and_exponent(diff, diff_exponent);
  if (mpfr_zero_p(expected) || mpfr_cmpabs_ui(expected, 1) < 0)
    return times_power_of_two(m, diff_exponent + p);
  long expected_exponent = 0;
  const double scale = mantissa_and_exponent(expected, expected_exponent);
  return times_power_of_two(m / scale, diff_exponent - expected_exponent + p);
}

/// log_error_units, allocating its scratch.
template <class T>
double log_error_units(const T& computed, const exact& expected) {
  exact y(scratch_bits<T>(expected)), diff(scratch_bits<T>(expected));
  return log_error_units(computed, expected.get(), y.get(), diff.get());
}

/// The normwise error of Blanchard, Higham & Higham (2021), max_i |y_i - g_i| / (u max_i |g_i|),
/// from its two maxima; any difference from an all-zero g (a fully masked row) is +inf.
inline double normwise_error(long double largest_difference, long double largest_g, double u) {
  if (largest_difference == 0) return 0.0;
  if (largest_g == 0) return std::numeric_limits<double>::infinity();
  return static_cast<double>(largest_difference / (static_cast<long double>(u) * largest_g));
}

/// The shift and sum that every exact result below is built from.
struct exact_normalizer {
  enum class kind { finite, nan, positive_infinity, all_negative_infinity } what = kind::finite;
  std::size_t infinite_count = 0;
};

template <class T>
std::vector<exact> to_exact(std::span<const T> x) {
  std::vector<exact> values;
  values.reserve(x.size());
  for (const T& v : x) {
    values.emplace_back(reference_bits<T>());
    assign(values.back().get(), v);
  }
  return values;
}

/// Classifies the input and, when its max is finite, sets log_sum = log sum_j exp(x_j - max).
/// counts, when not empty, holds how many times each x_j occurs in the row (one exp per
/// distinct value: exact_softmax_by_value).
template <class T>
exact_normalizer normalize(const std::vector<exact>& xs, exact& max, exact& log_sum,
                           std::span<const std::size_t> counts = {}) {
  exact_normalizer result;
  mpfr_set_inf(max.get(), -1);
  for (std::size_t j = 0; j < xs.size(); ++j) {
    const exact& v = xs[j];
    if (mpfr_nan_p(v.get())) {
      result.what = exact_normalizer::kind::nan;
      return result;
    }
    if (mpfr_inf_p(v.get()) && mpfr_sgn(v.get()) > 0)
      result.infinite_count += counts.empty() ? 1 : counts[j];
    if (mpfr_cmp(v.get(), max.get()) > 0) mpfr_set(max.get(), v.get(), MPFR_RNDN);
  }
  if (result.infinite_count > 0) {
    result.what = exact_normalizer::kind::positive_infinity;
    return result;
  }
  if (mpfr_inf_p(max.get())) {
    result.what = exact_normalizer::kind::all_negative_infinity;
    return result;
  }
  const mpfr_prec_t bits = mpfr_get_prec(max.get());
  exact term(bits), sum(bits);
  mpfr_set_zero(sum.get(), 1);
  for (std::size_t j = 0; j < xs.size(); ++j) {
    mpfr_sub(term.get(), xs[j].get(), max.get(), MPFR_RNDN);  // exact or -inf: ample precision
    mpfr_exp(term.get(), term.get(), MPFR_RNDN);
    if (!counts.empty()) mpfr_mul_ui(term.get(), term.get(), counts[j], MPFR_RNDN);
    mpfr_add(sum.get(), sum.get(), term.get(), MPFR_RNDN);
  }
  mpfr_log(log_sum.get(), sum.get(), MPFR_RNDN);
  return result;
}

/// The exact softmax (log_scale false) or log_softmax (true) of x as stored in T, with the
/// contract's limits for non-finite inputs.
template <class T>
std::vector<exact> exact_softmax_of_values(const std::vector<exact>& xs, bool log_scale = false,
                                           std::span<const std::size_t> counts = {});

template <class T>
std::vector<exact> exact_softmax(std::span<const T> x, bool log_scale = false) {
  return exact_softmax_of_values<T>(to_exact(x), log_scale);
}

/// The same of exact values (the scores softmax_options forms, scale x + mask, held exactly),
/// at T's reference precision.
template <class T>
std::vector<exact> exact_softmax_of_values(const std::vector<exact>& xs, bool log_scale,
                                           std::span<const std::size_t> counts) {
  const mpfr_prec_t bits = reference_bits<T>();
  exact max(bits), log_sum(bits);
  const exact_normalizer norm = normalize<T>(xs, max, log_sum, counts);
  std::vector<exact> y(xs.size(), exact(bits));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    mpfr_ptr out = y[i].get();
    switch (norm.what) {
      case exact_normalizer::kind::nan:
        mpfr_set_nan(out);
        break;
      case exact_normalizer::kind::all_negative_infinity:
        log_scale ? mpfr_set_inf(out, -1) : mpfr_set_zero(out, 1);
        break;
      case exact_normalizer::kind::positive_infinity:
        if (mpfr_inf_p(xs[i].get()) && mpfr_sgn(xs[i].get()) > 0) {
          mpfr_set_ui(out, norm.infinite_count, MPFR_RNDN);
          if (log_scale) {
            mpfr_log(out, out, MPFR_RNDN);
            mpfr_neg(out, out, MPFR_RNDN);
          } else {
            mpfr_ui_div(out, 1, out, MPFR_RNDN);
          }
        } else {
          log_scale ? mpfr_set_inf(out, -1) : mpfr_set_zero(out, 1);
        }
        break;
      case exact_normalizer::kind::finite:
        mpfr_sub(out, xs[i].get(), max.get(), MPFR_RNDN);
        mpfr_sub(out, out, log_sum.get(), MPFR_RNDN);
        if (!log_scale) mpfr_exp(out, out, MPFR_RNDN);
        break;
    }
  }
  return y;
}

/// The exact softmax of a long row of few distinct values (a row drawn from a pool), one exp
/// per distinct value: weight(v) is the exact weight of every x_j equal to v. The same values
/// as exact_softmax, at a cost that does not grow with the row's length.
template <class T>
struct exact_softmax_table {
  std::vector<T> values;  ///< the distinct values, ascending
  std::vector<exact> weights;
  const exact& weight(const T& v) const {
    const auto at = std::lower_bound(values.begin(), values.end(), v);
    if (at == values.end() || !(*at == v))
      throw std::invalid_argument("exact_softmax_table: the value is not in the row");
    return weights[std::size_t(at - values.begin())];
  }
};

/// The table of a row without NaN (std::invalid_argument otherwise: NaN has no order).
template <class T>
exact_softmax_table<T> exact_softmax_by_value(std::span<const T> x) {
  exact_softmax_table<T> table;
  std::vector<T> sorted(x.begin(), x.end());
  for (const T& v : sorted)
    if (!(v == v)) throw std::invalid_argument("exact_softmax_by_value: the row holds a NaN");
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> counts;
  for (const T& v : sorted) {
    if (table.values.empty() || !(table.values.back() == v)) {
      table.values.push_back(v);
      counts.push_back(0);
    }
    ++counts.back();
  }
  table.weights =
      exact_softmax_of_values<T>(to_exact(std::span<const T>(table.values)), false, counts);
  return table;
}

template <class T>
exact exact_logsumexp_of_values(const std::vector<exact>& xs);

template <class T>
exact exact_logsumexp(std::span<const T> x) {
  return exact_logsumexp_of_values<T>(to_exact(x));
}

template <class T>
exact exact_logsumexp_of_values(const std::vector<exact>& xs) {
  const mpfr_prec_t bits = reference_bits<T>();
  exact max(bits), log_sum(bits);
  const exact_normalizer norm = normalize<T>(xs, max, log_sum);
  exact result(bits);
  switch (norm.what) {
    case exact_normalizer::kind::nan:
      mpfr_set_nan(result.get());
      break;
    case exact_normalizer::kind::positive_infinity:
      mpfr_set_inf(result.get(), 1);
      break;
    case exact_normalizer::kind::all_negative_infinity:
      mpfr_set_inf(result.get(), -1);
      break;
    case exact_normalizer::kind::finite:
      mpfr_add(result.get(), max.get(), log_sum.get(), MPFR_RNDN);
      break;
  }
  return result;
}

/// The quantities a stated bound depends on, for element i of a finite-max input, with the
/// exact softmax g as weights. -inf entries have g = 0 and are left out of min and the means.
/// x holds T, or (V = double) the scores softmax_options formed, as the bound functions see them.
template <class T, class V>
bound_inputs bound_inputs_for_values(std::span<const V> x, std::size_t i,
                                     std::span<const double> g) {
  bound_inputs in;
  in.n = x.size();
  in.precision_bits = std::numeric_limits<T>::digits;
  double max = -std::numeric_limits<double>::infinity();
  double min = std::numeric_limits<double>::infinity();
  for (const V& v : x) {
    const double d = static_cast<double>(v);
    if (d == -std::numeric_limits<double>::infinity()) continue;
    max = std::max(max, d);
    min = std::min(min, d);
  }
  in.max_value = max;
  in.min_value = min;
  for (std::size_t j = 0; j < x.size(); ++j) {
    const double d = static_cast<double>(x[j]);
    if (g[j] == 0) continue;
    in.mean_gap += g[j] * std::abs(d - max);
    in.mean_magnitude += g[j] * std::abs(d);
  }
  const double xi = static_cast<double>(x[i]);
  in.gap = std::abs(xi - max);
  in.magnitude = std::abs(xi);
  using std::log;
  in.log_max_finite = static_cast<double>(T(log(std::numeric_limits<T>::max())));
  in.log_min_normal = static_cast<double>(T(log(std::numeric_limits<T>::min())));
  in.exp_ulps = scalar_libm_error<T>.exp_ulps;
  in.exp_ulps_per_unit = scalar_libm_error<T>.exp_per_unit;
  in.log_ulps = scalar_libm_error<T>.log_ulps;
  return in;
}

template <class T>
bound_inputs bound_inputs_for(std::span<const T> x, std::size_t i, std::span<const double> g) {
  return bound_inputs_for_values<T, T>(x, i, g);
}

}  // namespace softlab::reference
