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
// ULP error is reference.hpp's (as SLEEF counts it): |y - exact| / ulp(exact), ulp at the exact
// value's binary exponent at T's precision, floored at T's subnormal spacing (2^-149 for float,
// 2^-1074 for double); reference::ulp_of<T>(double) gives that ulp from a double's bits. In the
// sweeps the exact value is v, the double (long double) above: its own error is below 2^-28 float
// ULP (2^-9 double ULP) and only chooses the worst argument; the worst figure the program prints is
// recomputed from MPFR (exact_ulp_error).
#pragma once

#include <softlab_reference/reference.hpp>

#include <mpfr.h>

#include <cmath>
#include <cstdint>

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

/// One thread's reference: MPFR variables are per thread.
class exp_reference {
 public:
  exp_reference()
      : x_(reference_bits),
        y_(reference_bits),
        scratch_y_(reference_bits),
        scratch_diff_(reference_bits) {}

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

  /// Fractional ULPs of T between y and e (reference::ulp_error_in: ulp at e's exponent, floored
  /// at T's subnormals); y is a double or long double result, e.g. a double bound for float.
  template <class T>
  double ulp_error_against(long double y, const reference::exact& e) {
    return reference::ulp_error_in<T>(y, e.get(), scratch_y_.get(), scratch_diff_.get());
  }

  std::uint64_t mpfr_calls = 0;  ///< arguments that needed MPFR (near a rounding boundary)

 private:
  reference::exact x_, y_, scratch_y_, scratch_diff_;
};

}  // namespace softlab::exp_exhaustive
