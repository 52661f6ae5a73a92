// softlab/simulated.hpp: simulated low-precision element types, fp16sim and bf16sim.
//
// The model is Higham & Pranesh's `chop` (N. J. Higham and S. Pranesh, "Simulating low
// precision floating-point arithmetic", SIAM J. Sci. Comput. 41(5), C585-C602, 2019): a value
// is a double that is always exactly representable in the target format, and every operation
// is computed in double and then rounded once to the format: round to nearest, ties to even,
// with the format's precision p, gradual underflow to its subnormals, overflow to +-inf.
//
//   fp16sim  IEEE binary16: p = 11, normal exponents -14..15, max 65504, subnormals to 2^-24
//   bf16sim  bfloat16:      p = 8, float's exponents -126..127, max ~3.39e38, subnormals to 2^-133
//
// + - * / and sqrt: double has 53 >= 2p + 2 bits, so rounding the double result again to p bits
//   gives the correctly rounded p-bit result: the double rounding is innocuous (S. A. Figueroa,
//   "When is double rounding innocuous?", SIGNUM Newsletter 30(3), 1995; formally proved by
//   P. Roux, "Innocuous double rounding of basic arithmetic operations", J. Formalized
//   Reasoning 7(1), 2014). Double's exponent range holds every product and
//   quotient of two values of either format as a normal double, so underflow happens only in
//   the second rounding, at the format's own subnormal spacing. So + - * / sqrt give exactly
//   what an IEEE-style binary16 / bfloat16 unit (round to nearest even, subnormals kept) gives
//   (checked against MPFR on 4 million random operand pairs of each format).
// exp, log, log1p: glibc's double function (< 1 ULP of double), rounded once to the format: at most
//   0.5 ULP of the format plus a sliver of a double ULP. Measured against MPFR over every finite
//   input of both formats, both are correctly rounded (max 0.49999 ULP; exp's overflow to inf
//   aside), so softlab::scalar_libm_error = {1, 0, 1} holds with a margin of 2. round, floor,
//   abs, frexp are exact; ldexp is one rounding (into the subnormals). Conversions from other
//   types round once, from the exact value (chop's tail below).
//
// Everything here assumes the default floating-point environment (round to nearest), as the
// rest of the library does.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <compare>
#include <limits>
#include <ostream>
#include <type_traits>

namespace softlab {
namespace detail {

/// 2^e as a constant expression (std::ldexp is not constexpr in C++20).
constexpr double power_of_two(int e) {
  double result = 1;
  for (; e > 0; --e) result *= 2;
  for (; e < 0; ++e) result /= 2;
  return result;
}

/// The largest finite value of a format with p significand bits and largest exponent emax.
template <int p, int emax>
inline constexpr double format_max = (2 - power_of_two(1 - p)) * power_of_two(emax);

/// Higham & Pranesh's chop: x rounded to nearest, ties to even, in the format with p significand
/// bits and normal exponents emin..emax (value = 1.f * 2^e), subnormals below 2^emin, overflow
/// to +-inf. When x is itself a double rounding of some value v, `tail` is the sign of v - x;
/// it breaks a tie (x exactly halfway between two format values) the way v itself would, so
/// that v is rounded once (a tie of x that is not a tie of v lies on v's side of it).
template <int p, int emin, int emax>
double chop(double x, int tail = 0) {
  if (!(std::abs(x) <= DBL_MAX) || x == 0) return x;  // NaN, +-inf, +-0
  int e = 0;
  (void)std::frexp(x, &e);                              // |x| in [2^(e-1), 2^e)
  const int quantum = std::max(e - 1, emin) - (p - 1);  // the format's spacing at x: 2^quantum
  const double scaled = std::ldexp(x, -quantum);        // exact, |scaled| < 2^p
  double rounded = std::nearbyint(scaled);              // ties to even
  if (tail != 0 && std::abs(scaled - std::trunc(scaled)) == 0.5)
    rounded = tail > 0 ? std::ceil(scaled) : std::floor(scaled);
  const double y = std::ldexp(rounded, quantum);
  return std::abs(y) <= format_max<p, emax> ? y : std::copysign(HUGE_VAL, x);
}

/// The sign of v - d, for d = static_cast<double>(v) (finite).
template <class U>
int sign_of_remainder(const U& v, double d) {
  if constexpr (std::is_integral_v<U>) {
    // d may have rounded up to 2^digits, just past U's largest value: then v < d.
    if (d >= power_of_two(std::numeric_limits<U>::digits)) return -1;
  }
  const U back = static_cast<U>(d);
  return (back < v) - (v < back);
}

}  // namespace detail

/// A binary floating-point format with p significand bits and normal exponents emin..emax,
/// simulated in double (see the top of this file). Construction from and conversion to other
/// types is explicit; arithmetic is between values of the same format.
template <int P, int Emin, int Emax>
class simulated_float {
 public:
  static constexpr int precision = P;
  static constexpr int min_normal_exponent = Emin;
  static constexpr int max_exponent = Emax;

  constexpr simulated_float() = default;  ///< +0

  /// Any number (arithmetic types, Boost.Multiprecision numbers, other simulated formats),
  /// rounded once to this format from its exact value.
  template <class U>
  requires(!std::is_same_v<U, simulated_float> &&
           requires(const U& u, double d) {
             static_cast<double>(u);
             static_cast<U>(d);
             { u < u } -> std::convertible_to<bool>;
           }) explicit simulated_float(const U& v)
      : value_(round_from(v)) {}

  /// A double the caller knows to be exactly representable: no rounding (and constexpr).
  static constexpr simulated_float exactly(double representable) {
    simulated_float result;
    result.value_ = representable;
    return result;
  }

  /// v rounded once to this format, given d = v rounded to the nearest double and the sign of
  /// v - d (0 if d is v): for a parser that knows no more than that (see chop's tail).
  static simulated_float from_nearest_double(double d, int sign_of_rest) {
    return exactly(detail::chop<P, Emin, Emax>(d, sign_of_rest));
  }

  /// The stored value, exact in double (and in float: both formats fit in float).
  constexpr double value() const { return value_; }
  explicit constexpr operator double() const { return value_; }
  explicit constexpr operator float() const { return static_cast<float>(value_); }
  explicit constexpr operator long double() const { return value_; }
  /// Truncation toward zero, as for double (undefined if out of the target's range).
  explicit constexpr operator int() const { return static_cast<int>(value_); }
  explicit constexpr operator long() const { return static_cast<long>(value_); }
  explicit constexpr operator long long() const { return static_cast<long long>(value_); }

  friend simulated_float operator+(simulated_float a, simulated_float b) {
    return rounded(a.value_ + b.value_);
  }
  friend simulated_float operator-(simulated_float a, simulated_float b) {
    return rounded(a.value_ - b.value_);
  }
  friend simulated_float operator*(simulated_float a, simulated_float b) {
    return rounded(a.value_ * b.value_);
  }
  friend simulated_float operator/(simulated_float a, simulated_float b) {
    return rounded(a.value_ / b.value_);
  }
  friend constexpr simulated_float operator-(simulated_float a) { return exactly(-a.value_); }
  friend constexpr simulated_float operator+(simulated_float a) { return a; }
  simulated_float& operator+=(simulated_float b) { return *this = *this + b; }
  simulated_float& operator-=(simulated_float b) { return *this = *this - b; }
  simulated_float& operator*=(simulated_float b) { return *this = *this * b; }
  simulated_float& operator/=(simulated_float b) { return *this = *this / b; }

  /// IEEE comparisons: NaN is unordered (every comparison but != is false), -0 == +0.
  friend constexpr bool operator==(simulated_float a, simulated_float b) {
    return a.value_ == b.value_;
  }
  friend constexpr std::partial_ordering operator<=>(simulated_float a, simulated_float b) {
    return a.value_ <=> b.value_;
  }

  /// For messages (Catch's INFO, CAPTURE): the value as a double.
  friend std::ostream& operator<<(std::ostream& out, simulated_float v) { return out << v.value_; }

  // The scalar functions the generic algorithms call, found by argument-dependent lookup.
  friend simulated_float exp(simulated_float v) { return rounded(std::exp(v.value_)); }
  friend simulated_float log(simulated_float v) { return rounded(std::log(v.value_)); }
  friend simulated_float log1p(simulated_float v) { return rounded(std::log1p(v.value_)); }
  friend simulated_float sqrt(simulated_float v) { return rounded(std::sqrt(v.value_)); }
  friend simulated_float round(simulated_float v) { return exactly(std::round(v.value_)); }
  friend simulated_float floor(simulated_float v) { return exactly(std::floor(v.value_)); }
  friend simulated_float abs(simulated_float v) { return exactly(std::abs(v.value_)); }
  friend simulated_float fabs(simulated_float v) { return exactly(std::abs(v.value_)); }
  friend simulated_float ldexp(simulated_float v, int e) {
    return rounded(std::ldexp(v.value_, e));
  }
  friend simulated_float frexp(simulated_float v, int* e) {
    return exactly(std::frexp(v.value_, e));
  }
  friend bool isnan(simulated_float v) { return std::isnan(v.value_); }
  friend bool isinf(simulated_float v) { return std::isinf(v.value_); }
  friend bool isfinite(simulated_float v) { return std::isfinite(v.value_); }
  friend bool signbit(simulated_float v) { return std::signbit(v.value_); }

 private:
  static simulated_float rounded(double v) { return exactly(detail::chop<P, Emin, Emax>(v)); }

  template <class U>
  static double round_from(const U& v) {
    const double d = static_cast<double>(v);
    if constexpr (std::is_same_v<U, double> || std::is_same_v<U, float> ||
                  (std::is_integral_v<U> && std::numeric_limits<U>::digits <= DBL_MANT_DIG)) {
      return detail::chop<P, Emin, Emax>(d);  // d is v exactly
    } else {
      if (!std::isfinite(d)) return d;  // NaN; or beyond double's range, so beyond the format's
      return detail::chop<P, Emin, Emax>(d, detail::sign_of_remainder(v, d));
    }
  }

  double value_ = 0;
};

template <class T>
inline constexpr bool is_simulated_float = false;
template <int P, int Emin, int Emax>
inline constexpr bool is_simulated_float<simulated_float<P, Emin, Emax>> = true;

/// IEEE binary16, simulated.
using fp16sim = simulated_float<11, -14, 15>;
/// bfloat16 (float's exponent range, 8 significand bits), simulated.
using bf16sim = simulated_float<8, -126, 127>;

}  // namespace softlab

/// The limits, with C's conventions (min_exponent - 1 is the exponent of min(), as FLT_MIN_EXP).
namespace std {
template <int P, int Emin, int Emax>
struct numeric_limits<softlab::simulated_float<P, Emin, Emax>> {
 private:
  using T = softlab::simulated_float<P, Emin, Emax>;
  static constexpr double two_to(int e) { return softlab::detail::power_of_two(e); }

 public:
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = true;
  static constexpr bool is_integer = false;
  static constexpr bool is_exact = false;
  static constexpr bool has_infinity = true;
  static constexpr bool has_quiet_NaN = true;
  static constexpr bool has_signaling_NaN = false;
  static constexpr std::float_denorm_style has_denorm = std::denorm_present;
  static constexpr bool has_denorm_loss = false;
  static constexpr std::float_round_style round_style = std::round_to_nearest;
  static constexpr bool is_iec559 = false;  // a simulation, not an IEEE hardware type
  static constexpr bool is_bounded = true;
  static constexpr bool is_modulo = false;
  static constexpr int digits = P;
  static constexpr int digits10 = (P - 1) * 30103 / 100000;    // floor((p-1) log10 2)
  static constexpr int max_digits10 = 2 + P * 30103 / 100000;  // ceil(1 + p log10 2)
  static constexpr int radix = 2;
  static constexpr int min_exponent = Emin + 1;
  static constexpr int min_exponent10 = -((-Emin) * 30103 / 100000);  // ceil(Emin log10 2)
  static constexpr int max_exponent = Emax + 1;
  static constexpr int max_exponent10 = (Emax + 1) * 30103 / 100000;  // floor(log10 max)
  static constexpr bool traps = false;
  static constexpr bool tinyness_before = false;

  static constexpr T min() noexcept { return T::exactly(two_to(Emin)); }
  static constexpr T max() noexcept { return T::exactly(softlab::detail::format_max<P, Emax>); }
  static constexpr T lowest() noexcept { return T::exactly(-softlab::detail::format_max<P, Emax>); }
  static constexpr T epsilon() noexcept { return T::exactly(two_to(1 - P)); }
  static constexpr T round_error() noexcept { return T::exactly(0.5); }
  static constexpr T infinity() noexcept { return T::exactly(HUGE_VAL); }
  static constexpr T quiet_NaN() noexcept {
    return T::exactly(std::numeric_limits<double>::quiet_NaN());
  }
  static constexpr T signaling_NaN() noexcept { return quiet_NaN(); }
  static constexpr T denorm_min() noexcept { return T::exactly(two_to(Emin - P + 1)); }
};
}  // namespace std
