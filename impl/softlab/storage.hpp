// softlab/storage.hpp: the 16-bit storage types, softlab::bfloat16 and softlab::float16.
//
// Storage, not arithmetic: a value is 16 bits in memory; softmax computes it in a wider type
// and rounds once to the storage type at the end. (fp16sim and bf16sim, softlab/simulated.hpp,
// are the opposite: every operation rounded to the format, for studying algorithms at low
// precision.)
//
//   float16   IEEE binary16: 1 sign, 5 exponent, 10 fraction bits; p = 11, max 65504,
//             normal from 2^-14, subnormals to 2^-24
//   bfloat16  1 sign, 8 exponent, 7 fraction bits: float's upper half; p = 8, max ~3.39e38,
//             normal from 2^-126, subnormals to 2^-133
//
// Conversions. To float and double: exact (implicit to float, so a stored value reads as the
// number it is). From any number (float, double, long double, Boost.Multiprecision, the simulated
// formats): explicit, rounded once from the exact value to nearest, ties to even, subnormals
// kept (never flushed), overflow to +-inf; a NaN stays a NaN of the same sign (quiet). Two
// well-known shortcuts get these wrong and are not used: rounding float to bfloat16 by adding
// 0x7fff + lsb to the bits and shifting turns a NaN whose payload sits in the low bits into
// +-inf (the carry reaches the exponent), and AVX-512 BF16's VCVTNEPS2BF16 flushes subnormal
// inputs to zero.
// Arithmetic on the storage types themselves is deliberately absent: a + b is float + float
// (the implicit widening), and a T-typed accumulator of a generic algorithm does not compile
// for them (the constructor from float is explicit), so nothing sums in 16 bits by accident
// (a bfloat16 running sum stops growing at 256: 256 + 1 rounds to 256).
//
// How softmax runs on them (softlab/entry_points.hpp): every implementation computes in its
// storage compute type, float (accurate: double), with the scores widened exactly and each
// result rounded once to the output type; the output may be the storage type or float.
#pragma once

#include <softlab/simulated.hpp>

#include <bit>
#include <cmath>
#include <compare>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <type_traits>

namespace softlab {

/// A 16-bit binary floating-point storage format with p significand bits (p - 1 stored) and
/// normal exponents emin..emax (bias emax); see the top of this file.
template <int P, int Emin, int Emax>
class storage_float {
 public:
  static constexpr int precision = P;
  static constexpr int min_normal_exponent = Emin;
  static constexpr int max_exponent = Emax;
  static constexpr int fraction_bits = P - 1;
  static constexpr std::uint16_t sign_bit = 0x8000;
  static constexpr std::uint16_t exponent_mask = std::uint16_t(0x7fff & ~((1u << (P - 1)) - 1));
  static constexpr std::uint16_t quiet_bit = std::uint16_t(1u << (P - 2));
  static_assert(1 + (15 - fraction_bits) == 1 + std::bit_width(unsigned(2 * Emax + 1)),
                "exponent field must hold emin..emax with the bias emax");

  /// The simulated format with the same values: its rounding (chop) is the one used here.
  using same_values = simulated_float<P, Emin, Emax>;

  constexpr storage_float() = default;  ///< +0

  /// Any number, rounded once from its exact value (see the top of this file).
  template <class U>
  requires(!std::is_same_v<U, storage_float> &&
           std::is_constructible_v<same_values, const U&>) explicit storage_float(const U& v)
      : bits_(encode(double(same_values(v)))) {}  // chop keeps a NaN a NaN
  /// float, the compute type of most kernels: the same rounding, without the detour.
  explicit storage_float(float v) : bits_(from_float(v)) {}

  static constexpr storage_float from_bits(std::uint16_t bits) {
    storage_float result;
    result.bits_ = bits;
    return result;
  }
  /// A double the caller knows to be exactly representable.
  static storage_float exactly(double representable) { return from_bits(encode(representable)); }
  /// v rounded once, given d = v rounded to the nearest double and the sign of v - d (parsers).
  static storage_float from_nearest_double(double d, int sign_of_rest) {
    return exactly(same_values::from_nearest_double(d, sign_of_rest).value());
  }

  constexpr std::uint16_t bits() const { return bits_; }
  /// The value, exactly.
  double value() const { return decode(bits_); }
  operator float() const { return widen(bits_); }  // NOLINT: exact widening
  explicit operator double() const { return decode(bits_); }
  explicit operator long double() const { return decode(bits_); }

  friend constexpr storage_float operator-(storage_float v) {
    return from_bits(std::uint16_t(v.bits_ ^ sign_bit));
  }
  friend constexpr storage_float operator+(storage_float v) { return v; }
  /// IEEE comparisons (NaN unordered, -0 == +0), on the values.
  friend bool operator==(storage_float a, storage_float b) { return a.value() == b.value(); }
  friend std::partial_ordering operator<=>(storage_float a, storage_float b) {
    return a.value() <=> b.value();
  }
  friend std::ostream& operator<<(std::ostream& out, storage_float v) { return out << v.value(); }

  friend constexpr storage_float abs(storage_float v) {
    return from_bits(std::uint16_t(v.bits_ & ~sign_bit));
  }
  friend constexpr bool isnan(storage_float v) {
    return (v.bits_ & exponent_mask) == exponent_mask && (v.bits_ & ~(sign_bit | exponent_mask));
  }
  friend constexpr bool isinf(storage_float v) { return (v.bits_ & ~sign_bit) == exponent_mask; }
  friend constexpr bool isfinite(storage_float v) {
    return (v.bits_ & exponent_mask) != exponent_mask;
  }
  friend constexpr bool signbit(storage_float v) { return (v.bits_ & sign_bit) != 0; }

 private:
  static constexpr double quantum = detail::power_of_two(Emin - (P - 1));  // subnormal spacing

  static constexpr std::uint16_t nan_bits(bool negative) {
    return std::uint16_t((negative ? sign_bit : 0) | exponent_mask | quiet_bit);
  }

  /// The bits of a value that is exactly representable (NaN: a quiet NaN of its sign).
  static std::uint16_t encode(double v) {
    const bool negative = std::signbit(v);
    const std::uint16_t sign = negative ? sign_bit : 0;
    if (v != v) return nan_bits(negative);
    const double magnitude = negative ? -v : v;
    if (magnitude > detail::format_max<P, Emax>) return std::uint16_t(sign | exponent_mask);
    // Subnormals and zero: the fraction counts quanta; the exponent field is 0.
    if (magnitude < detail::power_of_two(Emin))
      return std::uint16_t(sign | std::uint16_t(magnitude / quantum));
    int e = 0;
    const double half_significand = std::frexp(magnitude, &e);  // magnitude in [2^(e-1), 2^e)
    const auto fraction = std::uint16_t(std::ldexp(2 * half_significand - 1, P - 1));
    return std::uint16_t(sign | (std::uint16_t(e - 1 + Emax) << fraction_bits) | fraction);
  }

  static double decode(std::uint16_t bits) {
    const double sign = (bits & sign_bit) != 0 ? -1.0 : 1.0;
    const unsigned field = unsigned(bits & exponent_mask) >> fraction_bits;
    const unsigned fraction = bits & ((1u << fraction_bits) - 1);
    if (field == unsigned(exponent_mask) >> fraction_bits)
      return std::copysign(fraction != 0 ? std::numeric_limits<double>::quiet_NaN()
                                         : std::numeric_limits<double>::infinity(),
                           sign);
    if (field == 0) return sign * double(fraction) * quantum;
    return sign * (1 + double(fraction) / detail::power_of_two(P - 1)) *
           detail::power_of_two(int(field) - Emax);
  }

  /// The value as a float, exactly, by moving the bit fields (the scalar paths widen every K
  /// and V element this way: decode's double arithmetic was ~10 times slower). Inf and NaN keep
  /// their sign and fraction (a NaN stays a NaN), subnormals are scaled by the quantum (exact:
  /// fraction < 2^(P-1) and the quantum a power of two within float's range).
  static float widen(std::uint16_t bits) {
    static_assert(P <= std::numeric_limits<float>::digits && Emax <= 127 && Emin >= -126,
                  "every value of the format is a float");
    constexpr int shift = std::numeric_limits<float>::digits - P;
    const std::uint32_t sign = std::uint32_t(bits & sign_bit) << 16;
    const std::uint32_t field = unsigned(bits & exponent_mask) >> fraction_bits;
    const std::uint32_t fraction = bits & ((1u << fraction_bits) - 1);
    if (field == unsigned(exponent_mask) >> fraction_bits)
      return std::bit_cast<float>(sign | 0x7f800000u | (fraction << shift));
    if (field == 0) {
      const float magnitude = float(fraction) * float(quantum);
      return sign != 0 ? -magnitude : magnitude;
    }
    return std::bit_cast<float>(sign | ((field - Emax + 127) << 23) | (fraction << shift));
  }

  /// float to the format: bfloat16 keeps float's exponents, so rounding the 32 bits to their
  /// upper 16 is the whole conversion (subnormals included: both share the grid below 2^-126);
  /// NaN is handled before the rounding carry can reach the exponent. Other formats go through
  /// double, which holds every float exactly: one rounding.
  static std::uint16_t from_float(float v) {
    if constexpr (P == 8 && Emin == -126 && Emax == 127) {
      const auto u = std::bit_cast<std::uint32_t>(v);
      if (v != v) return nan_bits(std::signbit(v));
      const std::uint32_t rounding = 0x7fff + ((u >> 16) & 1);  // ties to even
      return std::uint16_t((u + rounding) >> 16);  // a carry into the exponent is right: up to inf
    } else {
      if (v != v) return nan_bits(std::signbit(v));
      return encode(same_values(v).value());
    }
  }

  std::uint16_t bits_ = 0;
};

template <class T>
inline constexpr bool is_storage_float = false;
template <int P, int Emin, int Emax>
inline constexpr bool is_storage_float<storage_float<P, Emin, Emax>> = true;

/// bfloat16: float's upper half.
using bfloat16 = storage_float<8, -126, 127>;
/// IEEE binary16.
using float16 = storage_float<11, -14, 15>;

}  // namespace softlab

/// The limits, as for the simulated formats (the same values).
namespace std {
template <int P, int Emin, int Emax>
struct numeric_limits<softlab::storage_float<P, Emin, Emax>> {
 private:
  using T = softlab::storage_float<P, Emin, Emax>;
  using values = numeric_limits<softlab::simulated_float<P, Emin, Emax>>;

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
  static constexpr bool is_iec559 = P == 11;  // binary16 is an IEEE interchange format
  static constexpr bool is_bounded = true;
  static constexpr bool is_modulo = false;
  static constexpr int digits = P;
  static constexpr int digits10 = values::digits10;
  static constexpr int max_digits10 = values::max_digits10;
  static constexpr int radix = 2;
  static constexpr int min_exponent = values::min_exponent;
  static constexpr int min_exponent10 = values::min_exponent10;
  static constexpr int max_exponent = values::max_exponent;
  static constexpr int max_exponent10 = values::max_exponent10;
  static constexpr bool traps = false;
  static constexpr bool tinyness_before = false;

  static T min() noexcept { return T::exactly(values::min().value()); }
  static T max() noexcept { return T::exactly(values::max().value()); }
  static T lowest() noexcept { return T::exactly(values::lowest().value()); }
  static T epsilon() noexcept { return T::exactly(values::epsilon().value()); }
  static T round_error() noexcept { return T::exactly(0.5); }
  static constexpr T infinity() noexcept { return T::from_bits(T::exponent_mask); }
  static constexpr T quiet_NaN() noexcept { return T::from_bits(T::exponent_mask | T::quiet_bit); }
  static constexpr T signaling_NaN() noexcept { return quiet_NaN(); }
  static T denorm_min() noexcept { return T::exactly(values::denorm_min().value()); }
};
}  // namespace std
