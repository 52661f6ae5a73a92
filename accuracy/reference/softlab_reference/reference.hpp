// softlab_reference: the exact softmax, log_softmax and logsumexp of values as stored in T,
// with MPFR at 2p + 64 bits (p = T's precision), and the ULP metric. One module, shared by the
// core tests and the accuracy study.
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

#include <softlab/facts.hpp>
#include <softlab/types.hpp>

#include <mpfr.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
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
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || is_simulated_float<T>) {
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
  if constexpr (is_simulated_float<T>) {
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

/// ulp of an exact value at T's precision, floored at the subnormal spacing: 2^(max(e, emin) - p).
template <class T>
void ulp_of(mpfr_ptr out, mpfr_srcptr v) {
  constexpr long p = std::numeric_limits<T>::digits;
  constexpr long emin = std::numeric_limits<T>::min_exponent;  // FLT_MIN = 2^(emin - 1)
  long e = mpfr_zero_p(v) ? emin : std::max<long>(mpfr_get_exp(v), emin);
  mpfr_set_ui_2exp(out, 1, e - p, MPFR_RNDN);
}

/// Fractional ULPs of T between a computed value and the exact one.
template <class T>
double ulp_error(const T& computed, const exact& expected) {
  const mpfr_srcptr e = expected.get();
  const bool computed_nan = !(computed == computed);
  if (mpfr_nan_p(e) || computed_nan)
    return mpfr_nan_p(e) && computed_nan ? 0.0 : std::numeric_limits<double>::infinity();
  const bool computed_inf = computed == std::numeric_limits<T>::infinity() ||
                            computed == -std::numeric_limits<T>::infinity();
  if (mpfr_inf_p(e) || computed_inf) {
    const bool same = mpfr_inf_p(e) && computed_inf && (mpfr_sgn(e) > 0) == (computed > T(0));
    return same ? 0.0 : std::numeric_limits<double>::infinity();
  }
  const mpfr_prec_t bits = mpfr_get_prec(e);
  exact y(bits), diff(bits), ulp(bits);
  assign(y.get(), computed);
  mpfr_sub(diff.get(), y.get(), e, MPFR_RNDN);
  mpfr_abs(diff.get(), diff.get(), MPFR_RNDN);
  ulp_of<T>(ulp.get(), e);
  mpfr_div(diff.get(), diff.get(), ulp.get(), MPFR_RNDN);
  return diff.to_double();
}

/// |y - exact| / (u * max(1, |exact|)), u = 2^-p: the measure log_softmax and logsumexp are
/// bounded in (their results cross zero, where a relative measure means nothing).
template <class T>
double log_error_units(const T& computed, const exact& expected) {
  const mpfr_srcptr e = expected.get();
  const bool computed_nan = !(computed == computed);
  if (mpfr_nan_p(e) || computed_nan)
    return mpfr_nan_p(e) && computed_nan ? 0.0 : std::numeric_limits<double>::infinity();
  if (mpfr_inf_p(e) || !std::isfinite(static_cast<double>(computed))) {
    const bool same = mpfr_inf_p(e) && computed == static_cast<T>(mpfr_get_d(e, MPFR_RNDN));
    return same ? 0.0 : std::numeric_limits<double>::infinity();
  }
  const mpfr_prec_t bits = mpfr_get_prec(e);
  exact y(bits), diff(bits), scale(bits);
  assign(y.get(), computed);
  mpfr_sub(diff.get(), y.get(), e, MPFR_RNDN);
  mpfr_abs(diff.get(), diff.get(), MPFR_RNDN);
  mpfr_abs(scale.get(), e, MPFR_RNDN);
  if (mpfr_cmp_ui(scale.get(), 1) < 0) mpfr_set_ui(scale.get(), 1, MPFR_RNDN);
  mpfr_mul_2si(scale.get(), scale.get(), -long(std::numeric_limits<T>::digits), MPFR_RNDN);
  mpfr_div(diff.get(), diff.get(), scale.get(), MPFR_RNDN);
  return diff.to_double();
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
template <class T>
exact_normalizer normalize(const std::vector<exact>& xs, exact& max, exact& log_sum) {
  exact_normalizer result;
  mpfr_set_inf(max.get(), -1);
  for (const exact& v : xs) {
    if (mpfr_nan_p(v.get())) {
      result.what = exact_normalizer::kind::nan;
      return result;
    }
    if (mpfr_inf_p(v.get()) && mpfr_sgn(v.get()) > 0) ++result.infinite_count;
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
  for (const exact& v : xs) {
    mpfr_sub(term.get(), v.get(), max.get(), MPFR_RNDN);  // exact or -inf: ample precision
    mpfr_exp(term.get(), term.get(), MPFR_RNDN);
    mpfr_add(sum.get(), sum.get(), term.get(), MPFR_RNDN);
  }
  mpfr_log(log_sum.get(), sum.get(), MPFR_RNDN);
  return result;
}

/// The exact softmax (log_scale false) or log_softmax (true) of x as stored in T, with the
/// contract's limits for non-finite inputs.
template <class T>
std::vector<exact> exact_softmax(std::span<const T> x, bool log_scale = false) {
  const mpfr_prec_t bits = reference_bits<T>();
  const std::vector<exact> xs = to_exact(x);
  exact max(bits), log_sum(bits);
  const exact_normalizer norm = normalize<T>(xs, max, log_sum);
  std::vector<exact> y(x.size(), exact(bits));
  for (std::size_t i = 0; i < x.size(); ++i) {
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

template <class T>
exact exact_logsumexp(std::span<const T> x) {
  const mpfr_prec_t bits = reference_bits<T>();
  const std::vector<exact> xs = to_exact(x);
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
template <class T>
bound_inputs bound_inputs_for(std::span<const T> x, std::size_t i, std::span<const double> g) {
  bound_inputs in;
  in.n = x.size();
  in.precision_bits = std::numeric_limits<T>::digits;
  double max = -std::numeric_limits<double>::infinity();
  double min = std::numeric_limits<double>::infinity();
  for (const T& v : x) {
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

}  // namespace softlab::reference
