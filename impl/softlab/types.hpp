// softlab/types.hpp: the element types every generic algorithm supports, and their tokens.
//
// A token is the one spelling of a type used by the CLI, benchmark names, CSV and JSON:
// float, double, long-double, bin50, bin100.
#pragma once

#include <boost/multiprecision/cpp_bin_float.hpp>

#include <cstddef>
#include <limits>
#include <string_view>
#include <tuple>

namespace softlab {

/// 50 and 100 decimal digits of binary floating point (Boost.Multiprecision). Expression
/// templates are on, as in Boost's own typedefs: write `T e = exp(d);`, never `auto e = ...`.
using bin50 = boost::multiprecision::cpp_bin_float_50;
using bin100 = boost::multiprecision::cpp_bin_float_100;

template <class... Ts>
struct type_list {
  static constexpr std::size_t size = sizeof...(Ts);
  using tuple = std::tuple<Ts...>;
};

/// Every element type of the generic algorithms, in the order tools print them.
using element_types = type_list<float, double, long double, bin50, bin100>;

template <class T>
struct type_token;
template <>
struct type_token<float> {
  static constexpr std::string_view value = "float";
};
template <>
struct type_token<double> {
  static constexpr std::string_view value = "double";
};
template <>
struct type_token<long double> {
  static constexpr std::string_view value = "long-double";
};
template <>
struct type_token<bin50> {
  static constexpr std::string_view value = "bin50";
};
template <>
struct type_token<bin100> {
  static constexpr std::string_view value = "bin100";
};

template <class T>
inline constexpr std::string_view type_token_v = type_token<T>::value;

/// Binary digits of the significand (24 for float), the p of "ULP of a p-bit type".
template <class T>
inline constexpr int precision_bits = std::numeric_limits<T>::digits;

/// True for the IEEE hardware types, whose values printf's %a can print.
template <class T>
inline constexpr bool is_hardware_float =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, long double>;

}  // namespace softlab
