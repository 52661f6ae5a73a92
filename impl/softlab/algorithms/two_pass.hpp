// softlab::two_pass: Dukhan & Ablavatski's two-pass softmax (arXiv 2001.04438), with an argument
// reduction that is exact for every finite score.
//
// Algorithm: exp(x_i) = m_i * 2^(n_i) with n_i = round(x_i / ln 2) held in an integer type (64
//   bits for float and the simulated types, 128 for double and long double, Boost's fixed width
//   for bin50 and bin100; never in T, where it would round or overflow) and m_i = exp(r_i), r_i
//   = x_i - n_i ln 2 in [-ln2/2, ln2/2] to within 0.41u absolute (u = 2^-p) however large x_i
//   is. The sum is kept as (M, E) = M * 2^E, rescaled by a power of two (exact) when a larger n_i
//   arrives, so nothing overflows without a max pass. Second pass: y_i = (m_i / M) * 2^(n_i -
//   E), dividing before scaling so that a subnormal result is rounded once more at most, not
//   computed from an already-rounded subnormal.
//   A huge score, |x_i| > R = 2^s, gets no exp: T's spacing there is wider than the gap G below
//   the max beyond which a weight rounds to 0, so the max alone (which pass 1 finds along with
//   the sum) decides: if |max| > R the entries equal to the max share 1/k and the others get 0;
//   if not, every huge score is more than G below the max and gets 0. R = 2^30 (float), 2^62
//   (double), 2^77 (long double), 2^198 (bin50), 2^364 (bin100), 2^15 (binary16), 2^14 (bfloat16).
// Range reduction (derived below): Cody-Waite, ln 2 = hi + lo with n hi exact for |n| <= 2^b,
//   in double for T whose values are all doubles (float, fp16sim, bf16sim: b = 32, 17, 16, which
//   covers every |x| <= R), in T otherwise (b = 23 double, 29 long double, 81 bin50, 164
//   bin100). From 2^(b-1) ln 2 up to R: double and long double in two stages, first against ln 2
//   in three words with exact products (fma), leaving hi + lo below 2^(s+2-p), then Cody-Waite
//   on that; bin50 and bin100 in a Boost binary float of s + p + 48 bits.
// Passes: 2 (read x; read x, write y). exp is evaluated twice per element (log_softmax: once).
// Stated bound, results >= smallest normal: n - 1 + 4 E(0.35) + 2 ULP for every finite input,
//   E(|r|) the scalar exp's error (softlab::scalar_libm_error): n + 5 for an exp within 1 ULP.
//   No term in |x| or in the spread: no x - max is ever rounded, every reduced argument is
//   within 0.41u, and a huge score's weight is exact.
// Subnormal results: kept.
// -inf: weight exactly 0; all -inf: all 0. +inf: the k infinite entries share 1/k, others 0.
// NaN anywhere: all NaN. Empty: no-op.
//
// Derivation. p = T's precision, u = 2^-p; 2^t is the smallest positive T (2^-149 float, 2^-1074
// double, 2^-24 binary16; the smallest normal for cpp_bin_float, which has no subnormals).
//  - Huge scores. An exact weight exp(x_i - max) / S (S >= 1) below 2^(t-1) rounds to 0: every
//    x_i with max - x_i > G = (1 - t) ln 2 (104 float, 745 double, 11400 long double, 17.3
//    binary16, 92.9 bfloat16). s is the least integer with 2^(s-p+1) > G: the spacing of the
//    binade [2^s, 2^(s+1)). If |max| > R, every other T below max is at least 2^(s-p+1) below it
//    (just below a power of two 2^j the spacing halves, but then j >= s + 1): weight 0, and the
//    k entries at the max get 1 / (k + d), d < n 2^(t-1): 1/k rounded is within 0.5 + n 2^(t+p)
//    ULP of it. If |max| <= R, a score with |x_i| > R is below -R, at least 2^(s-p+1) > G below
//    the max: weight 0, and leaving it out changes S by less than 2^(t-1) each. Scores with
//    |x| <= R have |n| < 2^(s+1): the integer has s + 3 bits, so no difference of two overflows.
//  - Cody-Waite, |x| < L = 2^(b-1) ln 2, in F = double or T (precision P, u_F = 2^-P):
//    n = round(fl(x log2e)), |n| <= 2^b. hi = ln 2 truncated to P - b bits, so n hi is exact;
//    lo = fl(ln 2 - hi), |lo| < 2^(b-P). t = x - n hi is exact: with 2^(e-1) <= |x| < 2^e (e <=
//    b, and e >= -1 when n != 0), x and n hi are multiples of 2^(e-P), and |t| <= |r| + |n|
//    2^(b-P) < 2^e as b <= P - 4 (for e <= 0, n = +-1 and |t| < 0.37). r = fl(t - fl(n lo)) then
//    errs by at most u_F/4 (|r| < 1/2) + u_F |n lo| + |n| |lo - (ln 2 - hi)| <= u_F/4 + 2 u_F
//    2^(2b-P) (1 + u_F). b = min(s + 2, floor((2P - p)/2) - 3) makes 2 u_F 2^(2b-P) <= u/32; with
//    the rounding of r to T when F is double (u/4), the error is below 9u/32 + 2^-(P+2) < 0.29u.
//    Boost 1.74's cpp_bin_float (bin50, bin100) adds and subtracts within 0.75 ULP, not always to
//    nearest (measured; an exact result stays exact, products and narrowing round to nearest):
//    its last subtraction costs up to 3u/8, so 13u/32 < 0.41u there.
//  - From L to R, double and long double: n1 = round(fl(x log2e)), |x log2e - n1| <= 1/2 +
//    2^(s+2-P). ln 2 = C0 + C1 + C2 + O(2^-3P), each a T; n1 C0 = A0 + a0 and n1 C1 = A1 + a1
//    exactly (fma), A2 = fl(n1 C2); x - A0 is exact (Sterbenz: |x| >= L > 2^(s+4-P)), and (x -
//    A0) - a0 - A1 by two two-sums, the rest added to their errors and renormalized: d = hi + lo
//    = x - n1 ln 2 to within 2^(s+6-3P) (2^-90 in double), |hi| < 2^(s+2-P). Cody-Waite on it
//    with b2 = s + 3 - P and hi' of P - b2 bits: t = hi - n2 hi' is exact (the lemma above), w =
//    fl(lo - fl(n2 lo')) errs by u 2^(2b2+2-P) at most, and r = fl(t + w) by u/4: in all below
//    (1/4 + 2^-25) u. Error-free transformations need + and - rounded to nearest, so bin50 and
//    bin100 take n = round(x log2e) and r = x - n ln 2 in W, q = s + p + 48 bits, ln 2 and log2e
//    rounded to W: |n| < 2^(s+1), so every rounding in W is below 2^(s+3-q) = 2^-(p+45), and r
//    is rounded to T once (u/4). Every path: |r - (x - n ln 2)| < 0.41u.
//  - Softmax: the computed m_i is within E(0.35) ULP of exp(fl(r_i)), a relative 2E u (m_i in
//    [0.70, 1.42]), and exp(fl(r_i)) within a relative 0.41u of exp(r_i); M adds n terms scaled
//    by exact powers of two in n - 1 roundings; the quotient is rounded once and scaled exactly
//    (normal results). To first order: (n - 1) + 2E + 0.41 (M) + 2E + 0.41 (m_i) + 1 < n - 1 + 4E
//    + 1.82 ULP (softlab::beyond_first_order makes it hold for any n u). A term scaled into the
//    subnormal range is rounded (or dropped) by at most 2^(t-1), against M >= 0.70: n 2^(t+p-0.5)
//    ULP in all, below 2^-90 for n < 2^30 in every type but binary16, where the remaining 0.42
//    ULP (its reductions are within 0.29u; grown by beyond_first_order) covers its n 2^-13.5 at
//    every n.
//  - log_softmax: r_i + k ln 2 - log M, k = n_i - E, formed in F and rounded once to T: k is
//    exact in F for the narrow types (binary16's k ln 2 reaches 90,000, past its range, and
//    only the result is rounded to binary16), k hi is exact for |k| <= 2^b and rounded by a
//    relative u_F beyond: the large terms carry a relative u, and nothing of size |x| cancels. A
//    huge score below the max gets (x_i - max) - log(S / exp(max)), both terms rounded once.
//    logsumexp: max + log(S / exp(max)), where log(S / exp(max)) = log M - r + (E - n) ln 2
//    from the max's own reduction (n, r), every term small (E - n is 0 or 1).
#pragma once

#include <softlab/detail/reductions.hpp>
#include <softlab/facts.hpp>

#include <boost/math/constants/constants.hpp>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <boost/multiprecision/cpp_int.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

namespace softlab {
namespace detail {

/// Every value of T is a double: a binary type narrower than double in precision and range
/// (float, fp16sim, bf16sim). Their argument reduction is computed in double.
template <class T>
constexpr bool values_are_doubles() {
  using limits = std::numeric_limits<T>;
  using wide = std::numeric_limits<double>;
  const bool precision = limits::digits < wide::digits;
  const bool largest = limits::max_exponent <= wide::max_exponent;
  const bool smallest = limits::min_exponent - limits::digits >= wide::min_exponent - wide::digits;
  return limits::radix == 2 && precision && largest && smallest;
}

/// The type the Cody-Waite reduction is computed in: double for T whose values are all doubles,
/// T otherwise.
template <class T>
using reduction_float = std::conditional_t<values_are_doubles<T>(), double, T>;

/// t with 2^t the smallest positive T: 2^(min_exponent - digits) with subnormals, the smallest
/// normal 2^(min_exponent - 1) without (cpp_bin_float).
template <class T>
constexpr long smallest_positive_exponent() {
  using limits = std::numeric_limits<T>;
  return limits::has_denorm == std::denorm_present ? long(limits::min_exponent) - limits::digits
                                                   : long(limits::min_exponent) - 1;
}

/// s: scores with |x| > 2^s are huge. The least s whose binade [2^s, 2^(s+1)) is spaced wider
/// than G = (1 - t) ln 2, the gap below the max beyond which a weight rounds to 0 (the spacing
/// is 2^(s - p + 1); G gets a relative margin of 2^-30 for its rounding to double).
template <class T>
constexpr int huge_score_exponent() {
  const double zero_gap =
      double(1 - smallest_positive_exponent<T>()) * 0.6931471805599453 * (1 + 0x1p-30);
  int s = std::numeric_limits<T>::digits - 1;
  for (double spacing = 1; spacing <= zero_gap; spacing *= 2) ++s;
  return s;
}

__extension__ using int128 = __int128;  // GCC and Clang; no standard 128-bit integer

/// A signed integer type of at least `bits` bits: native up to 128, Boost's fixed width beyond.
template <int bits>
using signed_integer_of_bits = std::conditional_t<
    bits <= 64, std::int64_t,
    std::conditional_t<
        bits <= 128, int128,
        boost::multiprecision::number<boost::multiprecision::cpp_int_backend<
                                          bits, bits, boost::multiprecision::signed_magnitude,
                                          boost::multiprecision::unchecked, void>,
                                      boost::multiprecision::et_off>>>;

/// The type of n = round(x / ln 2) for |x| <= 2^s: |n| < 2^(s+1), and a difference of two such
/// n needs s + 3 bits with the sign. 64 bits for float, binary16 and bfloat16, 128 for double and
/// long double, 201 and 367 for bin50 and bin100.
template <class T>
using exponent_integer = signed_integer_of_bits<huge_score_exponent<T>() + 3>;

/// b: n * hi is exact for |n| <= 2^b in reduction_float<T> (precision P), and the reduced
/// argument errs by at most 9u/32 + 2^-(P+2) (see the derivation at the top): b = min(s + 2,
/// floor((2P - p)/2) - 3).
template <class T>
constexpr int cody_waite_bits() {
  constexpr int P = std::numeric_limits<reduction_float<T>>::digits;
  constexpr int p = std::numeric_limits<T>::digits;
  return std::min(huge_score_exponent<T>() + 2, (2 * P - p) / 2 - 3);
}

/// Whether some |x| <= 2^s lies beyond the Cody-Waite range 2^(b-1) ln 2 (double, long double,
/// bin50, bin100): those are reduced by reduce_large.
template <class T>
inline constexpr bool needs_large_score_reduction =
    cody_waite_bits<T>() < huge_score_exponent<T>() + 2;

/// ln 2 = hi + lo in F: hi is ln 2 truncated to hi_bits bits, lo is ln 2 - hi rounded to F (from
/// a constant carrying 2P + 64 bits, P = F's precision, so lo is the true remainder to P bits and
/// more, not the last bits of F's own rounded ln 2).
template <class F>
struct ln2_split {
  F hi;
  F lo;
};

template <class F>
ln2_split<F> split_ln2(int hi_bits) {
  namespace mp = boost::multiprecision;
  using wide =
      mp::number<mp::cpp_bin_float<2 * std::numeric_limits<F>::digits + 64, mp::digit_base_2>,
                 mp::et_off>;
  const wide ln2 = boost::math::constants::ln_two<wide>();
  const wide hi = ldexp(floor(ldexp(ln2, hi_bits)), -hi_bits);  // ln 2 < 1: hi_bits bits
  return {static_cast<F>(hi), static_cast<F>(wide(ln2 - hi))};
}

template <class T>
struct reduction_constants {
  using F = reduction_float<T>;
  F log2e;             ///< 1 / ln 2, rounded to F
  ln2_split<F> ln2;    ///< hi holds P - b bits: n * hi is exact for |n| <= 2^b
  T cody_waite_limit;  ///< L = 2^(b-1) ln 2: below it, |n| <= 2^b
  T huge;              ///< R = 2^s: beyond it a score gets no exp
};

template <class T>
const reduction_constants<T>& reduction_constants_for() {
  static const reduction_constants<T> constants = [] {
    using F = reduction_float<T>;
    using std::ldexp;
    constexpr int P = std::numeric_limits<F>::digits;
    constexpr int b = cody_waite_bits<T>();
    const ln2_split<F> ln2 = split_ln2<F>(P - b);
    const F log2e = F(F(1) / F(ln2.hi + ln2.lo));
    return reduction_constants<T>{
        log2e,
        ln2,
        T(ldexp(T(0.6931471805599453), b - 1)),  // |x| < L: |x log2e| < 2^(b-1) (1 + 2^-10)
        T(ldexp(T(1), huge_score_exponent<T>())),
    };
  }();
  return constants;
}

/// x = n ln 2 + r for |x| <= 2^s: n exactly, r within 0.41u of x - n ln 2.
template <class T>
struct reduced_argument {
  exponent_integer<T> exponent;  ///< n = round(x / ln 2), up to a tie
  T reduced;                     ///< r = x - n ln 2, |r| <= ln(2)/2 (1 + 2^-19)
};

/// What the two-stage reduction of a large score needs (double, long double): ln 2 in three
/// words of T (C0 + C1 + C2, within 2^-3P of ln 2) for the first stage, and a Cody-Waite split
/// for the second whose hi holds P - b2 bits, b2 = s + 3 - P (12 double, 16 long double), so
/// that n2 hi is exact for the second stage's |n2| <= 2^b2.
template <class T>
struct large_score_constants {
  T ln2_words[3];
  ln2_split<T> ln2_short;
};

template <class T>
const large_score_constants<T>& large_score_constants_for() {
  static const large_score_constants<T> constants = [] {
    namespace mp = boost::multiprecision;
    constexpr int P = std::numeric_limits<T>::digits;
    using wide = mp::number<mp::cpp_bin_float<3 * P + 64, mp::digit_base_2>, mp::et_off>;
    const wide ln2 = boost::math::constants::ln_two<wide>();
    const T c0 = static_cast<T>(ln2);
    const T c1 = static_cast<T>(wide(ln2 - wide(c0)));
    const T c2 = static_cast<T>(wide(wide(ln2 - wide(c0)) - wide(c1)));
    constexpr int b2 = huge_score_exponent<T>() + 3 - P;
    return large_score_constants<T>{{c0, c1, c2}, split_ln2<T>(P - b2)};
  }();
  return constants;
}

/// The binary float, s + p + 48 bits, in which the multiprecision types reduce their large scores.
template <class T>
using wide_reduction_float = boost::multiprecision::number<
    boost::multiprecision::cpp_bin_float<huge_score_exponent<T>() + std::numeric_limits<T>::digits +
                                             48,
                                         boost::multiprecision::digit_base_2>,
    boost::multiprecision::et_off>;

/// x exactly in W (wider than T): peeled into doubles, each the leading bits of what remains
/// (exact in T), summed exactly in W (Boost's own widening conversion trips GCC 12's
/// -Warray-bounds).
template <class W, class T>
W widen_exactly(const T& x) {
  using std::frexp;
  using std::ldexp;
  int exponent = 0;
  T rest = frexp(x, &exponent);
  W sum = 0;
  while (rest != 0) {
    const double lead = static_cast<double>(rest);
    sum += W(lead);
    rest = T(rest - T(lead));
  }
  return W(ldexp(sum, exponent));
}

/// n as exponent_integer<T>, from an integer-valued F with |n| <= 2^b.
template <class T, class F>
exponent_integer<T> exponent_from(const F& n) {
  if constexpr (cody_waite_bits<T>() <= 62) {
    return exponent_integer<T>(static_cast<std::int64_t>(n));
  } else {
    return static_cast<exponent_integer<T>>(n);
  }
}

/// The reduction of L <= |x| <= 2^s (see the derivation at the top). The IEEE types (double,
/// long double), in two stages: n1 = round(fl(x log2e)) and d = x - n1 ln 2 as an unevaluated
/// sum hi + lo, with ln 2 in three words, the two leading products exact by fma and x - n1 C0
/// exact (Sterbenz): |d| < 2^(s+2-P), within 2^(s+6-3P); then Cody-Waite on hi + lo: n2 =
/// round(hi log2e), r = (hi - n2 hi') + (lo - n2 lo'), the first difference exact; n = n1 + n2.
/// The multiprecision types, whose + and - are not always correctly rounded (the error-free
/// transformations need them to be): n = round(x log2e) and r = x - n ln 2 in
/// wide_reduction_float<T>, where every rounding is below 2^-(p+45).
template <class T>
reduced_argument<T> reduce_large(const T& x, const reduction_constants<T>& c) {
  using std::round;
  if constexpr (std::is_floating_point_v<T>) {
    const large_score_constants<T>& k = large_score_constants_for<T>();
    const T n1 = round(T(x * c.log2e));
    const rounded_and_error<T> p0 = two_product(n1, k.ln2_words[0]);
    const rounded_and_error<T> p1 = two_product(n1, k.ln2_words[1]);
    const T p2 = T(n1 * k.ln2_words[2]);
    const T leading = T(x - p0.value);  // exact
    const rounded_and_error<T> s1 = two_sum(leading, T(-p0.error));
    const rounded_and_error<T> s2 = two_sum(s1.value, T(-p1.value));
    const T tail = T(T(s1.error + s2.error) - T(p1.error + p2));
    const rounded_and_error<T> d = fast_two_sum(s2.value, tail);
    const T n2 = round(T(d.value * c.log2e));
    const T r = T(d.value - T(n2 * k.ln2_short.hi)) + T(d.error - T(n2 * k.ln2_short.lo));
    return {exponent_integer<T>(static_cast<exponent_integer<T>>(n1) +
                                exponent_integer<T>(static_cast<std::int64_t>(n2))),
            r};
  } else {
    using W = wide_reduction_float<T>;
    static const W ln2 = boost::math::constants::ln_two<W>();
    static const W log2e = W(1) / ln2;
    const W wide_x = widen_exactly<W>(x);
    const W n = round(W(wide_x * log2e));
    const W r = wide_x - W(n * ln2);
    return {static_cast<exponent_integer<T>>(n), static_cast<T>(r)};
  }
}

/// x = n ln 2 + r for a finite |x| <= 2^s (huge scores are never reduced).
template <class T>
reduced_argument<T> reduce(const T& x, const reduction_constants<T>& c) {
  using F = reduction_float<T>;
  using std::abs;
  using std::round;
  if constexpr (needs_large_score_reduction<T>) {
    if (!(abs(x) < c.cody_waite_limit)) return reduce_large(x, c);
  }
  const F x_in_f = static_cast<F>(x);  // exact
  const F n = round(F(x_in_f * c.log2e));
  const F r = F(x_in_f - F(n * c.ln2.hi)) - F(n * c.ln2.lo);  // x - n hi is exact
  return {exponent_from<T>(n), static_cast<T>(r)};
}

/// exp(x) = mantissa * 2^exponent for a finite |x| <= 2^s, mantissa in about [0.70, 1.42].
template <class T>
struct exp_parts {
  T mantissa;                    ///< exp(reduced)
  exponent_integer<T> exponent;  ///< n
};

template <class T>
exp_parts<T> split_exp(const T& x, const reduction_constants<T>& c) {
  using std::exp;
  const reduced_argument<T> a = reduce(x, c);
  return {T(exp(a.reduced)), a.exponent};
}

/// v * 2^k for k <= 0. Below 2^(t-2) (t: smallest_positive_exponent) the exact result rounds to
/// 0, which is returned without calling ldexp (k may not fit an int there).
template <class T>
T scale_by_power_of_two(const T& v, const exponent_integer<T>& k) {
  using std::ldexp;
  constexpr long zero_below = smallest_positive_exponent<T>() - 2;
  static_assert(zero_below > INT_MIN);
  if (k < exponent_integer<T>(zero_below)) return T(0);
  return T(ldexp(v, static_cast<int>(k)));
}

/// Whether x is finite and not huge (|x| <= 2^s): false for NaN and +-inf.
template <class T>
bool is_reduced(const T& x, const reduction_constants<T>& c) {
  using std::abs;
  return abs(x) <= c.huge;
}

/// Pass 1: the NaN-propagating max (for the limits and the huge scores) and sum exp(x_j) = sum *
/// 2^exponent over the scores that are not huge (sum is 0 until the first of them).
template <class T>
struct scaled_sum {
  T max = -infinity<T>();
  T sum = T(0);
  exponent_integer<T> exponent = 0;
};

template <class T>
scaled_sum<T> two_pass_sum(std::span<const T> x, const reduction_constants<T>& c) {
  scaled_sum<T> acc;
  for (const T& v : x) {
    update_max_propagating_nan(acc.max, v);
    if (!is_reduced(v, c)) continue;  // -inf adds 0; +inf, NaN and huge scores: from max
    const exp_parts<T> e = split_exp(v, c);
    if (acc.sum == T(0)) {
      acc.sum = e.mantissa;
      acc.exponent = e.exponent;
    } else if (e.exponent > acc.exponent) {
      acc.sum = T(scale_by_power_of_two(acc.sum, acc.exponent - e.exponent)) + e.mantissa;
      acc.exponent = e.exponent;
    } else {
      acc.sum += scale_by_power_of_two(e.mantissa, e.exponent - acc.exponent);
    }
  }
  return acc;
}

/// (a + k hi) + (k lo + b) for an integer k, formed in reduction_float<T> and rounded once to T:
/// k is exact there (|k| < 2^(s+2) <= 2^P for the narrow types; rounded by a relative 2^-P
/// beyond for the others), k hi is exact for |k| <= 2^b and rounded by u/2 of |k ln 2| beyond,
/// and a sum beyond T's range only when the result is (binary16: |k| ln 2 reaches 90,000).
template <class T>
T plus_multiple_of_ln2(const T& a, const exponent_integer<T>& k, const T& b,
                       const reduction_constants<T>& c) {
  using F = reduction_float<T>;
  const F multiple = static_cast<F>(k);
  const F high = F(static_cast<F>(a) + F(multiple * c.ln2.hi));
  const F low = F(F(multiple * c.ln2.lo) + static_cast<F>(b));
  return static_cast<T>(F(high + low));
}

/// log(sum_j exp(x_j - max)) = log(sum) + E ln 2 - max = log(sum) - r + (E - n) ln 2, with (n, r)
/// the reduction of the max (|max| <= 2^s): every term is small (E - n is 0 or 1), so nothing
/// of the size of max cancels.
template <class T>
T log_sum_relative_to_max(const scaled_sum<T>& acc, const T& log_sum,
                          const reduction_constants<T>& c) {
  const reduced_argument<T> at_max = reduce(acc.max, c);
  return plus_multiple_of_ln2(T(-at_max.reduced), acc.exponent - at_max.exponent, log_sum, c);
}

}  // namespace detail

struct two_pass {
  static constexpr implementation_facts facts{
      .name = "two_pass",
      .algorithm =
          "sum of exp kept as mantissa * 2^exponent, no max pass (Dukhan & Ablavatski 2020)",
      .passes = "2: read; read + write (exp computed twice)",
      .stated_bound = "n + 5 ULP for every finite input (exact argument reduction)",
      .vectorized = false,
      .meets_contract = true,
      .subnormals = subnormal_results::kept,
  };
  template <class T>
  static constexpr bool supports = true;

  template <class T>
  static void softmax(std::span<const T> x, std::span<T> y) {
    using std::abs;
    const auto& c = detail::reduction_constants_for<T>();
    const auto acc = detail::two_pass_sum(x, c);
    if (detail::write_limit_if_max_not_finite(acc.max, x, y, detail::output_scale::probability))
      return;
    if (abs(acc.max) > c.huge) {
      detail::write_dominant_max(acc.max, x, y, detail::output_scale::probability);
      return;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!detail::is_reduced(x[i], c)) {  // -inf, or huge and more than G below the max
        y[i] = T(0);
        continue;
      }
      const detail::exp_parts<T> e = detail::split_exp(x[i], c);
      T ratio = e.mantissa / acc.sum;
      y[i] = detail::scale_by_power_of_two(ratio, e.exponent - acc.exponent);
    }
  }
  /// log y_i = r_i + (n_i - E) ln 2 - log M, with (n_i - E) ln 2 split as hi + lo: the large
  /// terms are exact or rounded once, and nothing of size |x| cancels.
  template <class T>
  static void log_softmax(std::span<const T> x, std::span<T> y) {
    using std::abs;
    using std::log;
    const auto& c = detail::reduction_constants_for<T>();
    const auto acc = detail::two_pass_sum(x, c);
    if (detail::write_limit_if_max_not_finite(acc.max, x, y, detail::output_scale::log_probability))
      return;
    if (abs(acc.max) > c.huge) {
      detail::write_dominant_max(acc.max, x, y, detail::output_scale::log_probability);
      return;
    }
    const T log_sum = log(acc.sum);
    const T max = acc.max;
    const T log_relative_sum = detail::log_sum_relative_to_max(acc, log_sum, c);
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i] == -detail::infinity<T>()) {
        y[i] = -detail::infinity<T>();
      } else if (!detail::is_reduced(x[i], c)) {  // huge, more than G below the max
        y[i] = T(x[i] - max) - log_relative_sum;
      } else {
        const detail::reduced_argument<T> a = detail::reduce(x[i], c);
        y[i] = detail::plus_multiple_of_ln2(a.reduced, a.exponent - acc.exponent, T(-log_sum), c);
      }
    }
  }
  template <class T>
  static T logsumexp(std::span<const T> x) {
    using std::abs;
    using std::log;
    const auto& c = detail::reduction_constants_for<T>();
    const auto acc = detail::two_pass_sum(x, c);
    if (!detail::is_finite(acc.max)) return acc.max;  // NaN, +inf or all -inf: the max itself
    if (abs(acc.max) > c.huge) return acc.max + T(log(T(detail::count_equal(x, acc.max))));
    return acc.max + detail::log_sum_relative_to_max(acc, T(log(acc.sum)), c);
  }

  /// Every reduced argument is within 0.41u of exact, whatever the scores (see the derivation
  /// at the top): n - 1 additions, 2 E(0.35) for the exp in m_i and as much in the sum, 0.41 +
  /// 0.41 for the reductions and 1 for the division, within n - 1 + 4 E(0.35) + 2.
  static double softmax_bound_ulps(const bound_inputs& in) {
    return beyond_first_order(double(in.n) - 1 + 4 * in.exp_error(0.35) + 2, in);
  }
  /// log_softmax and logsumexp: error <= a u max(1, |y|), with no term in |x| either: k ln 2 and
  /// the max are the only large terms, each rounded once or twice (a relative 2u at most).
  static double log_bound_a(const bound_inputs& in) {
    return double(in.n) + 8 + (1 + 2 * in.log_ulps) * std::log(double(in.n)) +
           2 * (in.exp_error(0.35) - 1);
  }
};

}  // namespace softlab
