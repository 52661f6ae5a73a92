// softlab_accuracy/format.hpp: numbers as text, the one formatter of the project: the study's
// CSV, JSON and tables, the softlab tool's output and softlab-exp-exhaustive's report.
//
//   format_value(v, hex)    T values: printf's %a of the double value (%La for long double) for
//                           types of at most 64 bits (supports_format); none for wider ones
//                           (bin50, bin100: std::invalid_argument)
//   format_value(v, dec)    the shortest decimal that reads back to v in T (float, double, long
//                           double, fp16sim, bf16sim); max_digits10 significant digits for the
//                           multiprecision types
//   format_exact(g, p, f)   an exact MPFR value with p + 24 bits (hex) or max_digits10 + 3
//                           digits (dec): enough to see how far a result of p bits is from it
//   format_metric(d)        a metric: %.6g, and "inf", "-inf", "nan"
//   format_hex(d)           printf's %a as it is (NaN and infinities spelt as printf does)
//   format_significant(d, k)  printf's %.*g with k significant digits, as it is
#pragma once

#include <softlab/types.hpp>

#include <mpfr.h>

#include <cfenv>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace softlab::accuracy {

enum class value_format { hex, dec };

/// printf's %a of v: exact, and what the hexfloat readers (strtod, from_chars, Python's
/// float.fromhex) take back.
inline std::string format_hex(double v) {
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof buffer, "%a", v);
  return std::string(buffer, static_cast<std::size_t>(n));
}

/// printf's %La of v (x87 long double: a leading hex digit of 8 to f).
inline std::string format_hex(long double v) {
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof buffer, "%La", v);
  return std::string(buffer, static_cast<std::size_t>(n));
}

/// printf's %.*g of v: `digits` significant decimal digits.
inline std::string format_significant(double v, int digits) {
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
  return std::string(buffer, static_cast<std::size_t>(n));
}

/// A decimal or hexfloat magnitude (validated; C locale) into a simulated format T, rounded once
/// from its exact value (the tool's reader, and format_value's read-back test). Through the nearest
/// double alone a value just off a midpoint of the format could land on it and round again, the
/// wrong way (e.g. 1.00048828125000001, just above the binary16 midpoint 1 + 2^-11, would give 1).
/// So strtod also rounds down and up (glibc's strtod honours the rounding mode): equal, the double
/// is the exact value; otherwise they bracket it, and the nearest one tells on which side of it the
/// exact value lies.
template <class T>
T nearest_simulated(const std::string& magnitude) {
  const int mode = std::fegetround();
  std::fesetround(FE_DOWNWARD);
  const double below = std::strtod(magnitude.c_str(), nullptr);
  std::fesetround(FE_UPWARD);
  const double above = std::strtod(magnitude.c_str(), nullptr);
  std::fesetround(mode);
  const double nearest = std::strtod(magnitude.c_str(), nullptr);
  const int sign_of_rest = below == above ? 0 : nearest == below ? 1 : -1;
  return T::from_nearest_double(nearest, sign_of_rest);
}

/// True when format_value can print T in format: hex needs a type printf's %a knows, or one
/// whose values are doubles.
template <class T>
constexpr bool supports_format(value_format format) {
  return format == value_format::dec || is_hardware_float<T> || is_narrow_format<T>;
}

/// v as text (see the top of this file). NaN is always "nan", infinities "inf" and "-inf".
/// Throws std::invalid_argument if !supports_format<T>(format).
template <class T>
std::string format_value(const T& v, value_format format) {
  if (!(v == v)) return "nan";
  if (v == std::numeric_limits<T>::infinity()) return "inf";
  if (v == -std::numeric_limits<T>::infinity()) return "-inf";
  if constexpr (std::is_same_v<T, long double>) {
    if (format == value_format::hex) return format_hex(v);
    char buffer[64];
    int n = 0;
    for (int precision = 17; precision <= 21; ++precision) {
      n = std::snprintf(buffer, sizeof buffer, "%.*Lg", precision, v);
      if (std::strtold(buffer, nullptr) == v) break;
    }
    return std::string(buffer, static_cast<std::size_t>(n));
  } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (format == value_format::hex) return format_hex(static_cast<double>(v));
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
    return std::string(buffer, result.ptr);
  } else if constexpr (is_narrow_format<T>) {
    const double d = static_cast<double>(v);
    if (format == value_format::hex) return format_hex(d);
    std::string text;
    for (int precision = 1; precision <= std::numeric_limits<T>::max_digits10; ++precision) {
      text = format_significant(d, precision);
      if (nearest_simulated<T>(text[0] == '-' ? text.substr(1) : text) == abs(v)) break;
    }
    return text;
  } else {
    if (format == value_format::hex)
      throw std::invalid_argument("no hexadecimal format for " + std::string(type_token_v<T>));
    return v.str(std::numeric_limits<T>::max_digits10);
  }
}

/// An exact value next to results of `precision_bits` bits: hex (p <= 64) with p + 24 bits,
/// else decimal with enough digits to tell apart neighbours of T.
inline std::string format_exact(mpfr_srcptr g, int precision_bits, value_format format) {
  if (mpfr_nan_p(g)) return "nan";
  if (mpfr_inf_p(g)) return mpfr_sgn(g) > 0 ? "inf" : "-inf";
  char* text = nullptr;
  if (format == value_format::hex && precision_bits <= 64) {
    const int digits = (precision_bits + 24 + 3) / 4;
    mpfr_asprintf(&text, "%.*Ra", digits, g);
  } else {
    // max_digits10 of a p-bit type is ceil(1 + p log10 2); three more show the gap.
    const int digits = static_cast<int>(std::ceil(1 + precision_bits * 0.30102999566398120)) + 3;
    mpfr_asprintf(&text, "%.*Rg", digits, g);
  }
  std::string result = text != nullptr ? text : "?";
  mpfr_free_str(text);
  return result;
}

/// The parts (anything a std::string_view takes) appended in order. Used instead of chains that
/// start with a literal ("a" + std::string(b)): GCC 12 at -O3 reports a false -Wrestrict in
/// libstdc++'s insert for those (GCC bug 105329), and warnings are errors here.
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::string result;
  (result.append(std::string_view(parts)), ...);
  return result;
}

inline std::string format_metric(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  return format_significant(d, 6);
}

// Instantiated once, in src/format.cpp, for every element type.
#define SOFTLAB_ACCURACY_FORMAT(T) \
  extern template std::string format_value<T>(const T&, value_format);
SOFTLAB_FOR_EACH_ELEMENT_TYPE(SOFTLAB_ACCURACY_FORMAT)
#undef SOFTLAB_ACCURACY_FORMAT

}  // namespace softlab::accuracy
