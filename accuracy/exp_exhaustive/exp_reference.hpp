// exp_exhaustive/exp_reference.hpp: the correctly rounded 2^s exp(d) the exhaustive check
// compares the kernels with, fast enough for every float, and the ULP measure.
//
// The protocol (float results, 2^32 arguments: MPFR on each would take hours):
//   v = exp(double(d)) * 2^s with glibc's exp in double (error < 1 ULP of double, 2^-52
//   relative; the scaling by 2^s is exact). If no float rounding boundary (a midpoint between
//   two adjacent floats, subnormal ones included, or the overflow threshold) lies within 2^-40
//   relative of v, the true value lies on the same side of every boundary as v and float(v) is
//   the correctly rounded result. Otherwise (about 2^-15 of the arguments) it is recomputed
//   with MPFR: mpfr_exp at 200 bits, mpfr_mul_2si by s, mpfr_get_flt to nearest (which rounds
//   to the subnormal grid itself, once).
// For double results the same with long double: v = expl(d) * 2^s (x87, error a few ULPs of
// long double, 2^-63 relative each), margin 2^-60 relative (about 1% of the arguments go to
// MPFR), MPFR rounded with mpfr_get_d.
// The test "no boundary within the margin" is: v (1 - margin) and v (1 + margin) round to the
// same T; rounding is monotonic, so then every value between them rounds alike.
// A sample of the arguments is also checked against MPFR outright (reference_check below): a
// disagreement would mean the protocol above is wrong, and fails the run.
//
// ULP error, as reference.hpp and SLEEF count it: |y - exact| / ulp(exact), ulp at the exact
// value's binary exponent at T's precision, floored at T's subnormal spacing (2^-149 for float,
// 2^-1074 for double). In the sweeps the exact value is v, the double (long double) above: its
// own error is below 2^-28 float ULP (2^-9 double ULP) and only chooses the worst argument; the
// worst figure the program prints is recomputed from MPFR (exact_ulp_error).
#pragma once

#include <softlab_reference/reference.hpp>

#include <mpfr.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace softlab::exp_exhaustive {

inline constexpr mpfr_prec_t reference_bits = 200;
inline constexpr double float_margin = 0x1p-40;
inline constexpr long double double_margin = 0x1p-60L;

/// A reference value: `value` within 2^-52 (2^-60 for Wide = long double) of the exact
/// 2^s exp(d), and `rounded`, the exact value correctly rounded to T.
template <class T, class Wide>
struct reference_value {
  Wide value;
  T rounded;
  bool from_mpfr;
};

/// ulp of a float-precision value at v's binary exponent (v >= 0, a finite double), floored at
/// the float subnormal spacing 2^-149.
inline double float_ulp(double v) {
  const int e = int(std::bit_cast<std::uint64_t>(v) >> 52) - 1023;  // v < 2^-1022: e = -1023
  return std::bit_cast<double>(std::uint64_t(std::max(e, -126) - 23 + 1023) << 52);
}

/// ulp of a double-precision value at v's binary exponent, floored at 2^-1074.
inline double double_ulp(double v) {
  const int e = int(std::bit_cast<std::uint64_t>(v) >> 52) - 1023;
  return std::ldexp(1.0, std::max(e, -1022) - 52);
}
inline long double double_ulp(long double v) {
  const int e = v == 0 ? -1022 : std::ilogb(v);
  return std::ldexp(1.0L, std::max(e, -1022) - 52);
}

/// One thread's reference: MPFR variables are per thread.
class exp_reference {
 public:
  exp_reference() : x_(reference_bits), y_(reference_bits) {}

  /// 2^s exp(d) at 200 bits, d exactly as given.
  const reference::exact& exact(double d, int s) {
    mpfr_set_d(x_.get(), d, MPFR_RNDN);
    mpfr_exp(y_.get(), x_.get(), MPFR_RNDN);
    mpfr_mul_2si(y_.get(), y_.get(), s, MPFR_RNDN);
    return y_;
  }

  /// 2^s exp(d) to float; exp_d = std::exp(d) (shared by the two float kernels), two_to_s = 2^s.
  reference_value<float, double> to_float(float d, double exp_d, double two_to_s, int s) {
    const double v = exp_d * two_to_s;
    const float below = float(v * (1 - float_margin)), above = float(v * (1 + float_margin));
    if (below == above) return {v, below, false};
    ++mpfr_calls;
    const reference::exact& e = exact(d, s);
    return {mpfr_get_d(e.get(), MPFR_RNDN), mpfr_get_flt(e.get(), MPFR_RNDN), true};
  }

  /// 2^s exp(d) to double.
  reference_value<double, long double> to_double(double d, long double two_to_s, int s) {
    const long double v = std::exp(static_cast<long double>(d)) * two_to_s;
    const double below = double(v * (1 - double_margin)), above = double(v * (1 + double_margin));
    if (below == above) return {v, below, false};
    ++mpfr_calls;
    const reference::exact& e = exact(d, s);
    return {mpfr_get_ld(e.get(), MPFR_RNDN), mpfr_get_d(e.get(), MPFR_RNDN), true};
  }

  /// Fractional ULPs of T between y and the exact 2^s exp(d).
  template <class T>
  double exact_ulp_error(long double y, double d, int s) {
    return ulp_error_against<T>(y, exact(d, s));
  }

  /// Fractional ULPs of T between y and e (ulp at e's exponent, floored at T's subnormals).
  template <class T>
  static double ulp_error_against(long double y, const reference::exact& e) {
    reference::exact diff(reference_bits), ulp(reference_bits);
    mpfr_set_ld(diff.get(), y, MPFR_RNDN);  // exact: 64 bits
    mpfr_sub(diff.get(), diff.get(), e.get(), MPFR_RNDN);
    mpfr_abs(diff.get(), diff.get(), MPFR_RNDN);
    reference::ulp_of<T>(ulp.get(), e.get());
    mpfr_div(diff.get(), diff.get(), ulp.get(), MPFR_RNDN);
    return diff.to_double();
  }

  std::uint64_t mpfr_calls = 0;  ///< arguments that needed MPFR (near a rounding boundary)

 private:
  reference::exact x_, y_;
};

}  // namespace softlab::exp_exhaustive
