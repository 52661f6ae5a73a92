// softlab_accuracy/format.hpp: numbers as the study's CSV, JSON and tables print them.
//
//   format_value(v, hex)    T values: printf's %a of the double value (%La for long double) for
//                           types of at most 53 bits; decimal for wider ones (bin50, bin100)
//   format_value(v, dec)    the shortest decimal that reads back to v (float, double, long
//                           double); max_digits10 significant digits for other types
//   format_exact(g, p, f)   an exact MPFR value with p + 24 bits (hex) or max_digits10 + 3
//                           digits (dec): enough to see how far a result of p bits is from it
//   format_metric(d)        a metric: %.6g, and "inf", "-inf", "nan"
#pragma once

#include <softlab/types.hpp>

#include <mpfr.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace softlab::accuracy {

enum class value_format { hex, dec };

/// True when v converts to double exactly (the type's values are a subset of double's).
template <class T>
constexpr bool fits_in_double =
    std::numeric_limits<T>::digits <= 53 && std::numeric_limits<T>::max_exponent <= 1024 &&
    std::numeric_limits<T>::min_exponent >= -1021;

template <class T>
std::string format_value(const T& v, value_format format) {
  if (!(v == v)) return "nan";
  if (v == std::numeric_limits<T>::infinity()) return "inf";
  if (v == -std::numeric_limits<T>::infinity()) return "-inf";
  char buffer[160];
  if constexpr (std::is_same_v<T, long double>) {
    if (format == value_format::hex) {
      const int n = std::snprintf(buffer, sizeof buffer, "%La", v);
      return std::string(buffer, static_cast<std::size_t>(n));
    }
    int n = 0;
    for (int precision = 17; precision <= 21; ++precision) {
      n = std::snprintf(buffer, sizeof buffer, "%.*Lg", precision, v);
      if (std::strtold(buffer, nullptr) == v) break;
    }
    return std::string(buffer, static_cast<std::size_t>(n));
  } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (format == value_format::hex) {
      const int n = std::snprintf(buffer, sizeof buffer, "%a", static_cast<double>(v));
      return std::string(buffer, static_cast<std::size_t>(n));
    }
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
    return std::string(buffer, result.ptr);
  } else if constexpr (fits_in_double<T>) {
    const double d = static_cast<double>(v);
    if (format == value_format::hex) {
      const int n = std::snprintf(buffer, sizeof buffer, "%a", d);
      return std::string(buffer, static_cast<std::size_t>(n));
    }
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
    return std::string(buffer, result.ptr);
  } else {
    std::ostringstream out;
    out.precision(std::numeric_limits<T>::max_digits10);
    out << v;
    return out.str();
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
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof buffer, "%.6g", d);
  return std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace softlab::accuracy
