// softlab/types.hpp: the element types every generic algorithm supports, and their tokens.
//
// A token is the one spelling of a type used by the CLI, benchmark names, CSV and JSON:
// float, double, long-double, bin50, bin100, fp16sim, bf16sim, f16, bf16.
#pragma once

#include <softlab/simulated.hpp>
#include <softlab/storage.hpp>

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

/// Every element type of the generic algorithms, in the order tools print them, written once as
/// an X-macro: X(T) for each. Templates that many translation units would otherwise instantiate
/// for every type (the study engine, the tool's parsing and printing) are instantiated once, in
/// one .cpp, with it (`extern template` declarations beside them in their header); element_types
/// below is made from the same list. fp16sim and bf16sim (softlab/simulated.hpp) are binary16 and
/// bfloat16 simulated in double, correctly rounded: for studying the algorithms at low precision
/// on any CPU, not for speed. float16 and bfloat16 (softlab/storage.hpp) are the real 16-bit
/// storage types: every implementation computes them in a wider type and rounds once.
// clang-format off
#define SOFTLAB_FOR_EACH_ELEMENT_TYPE(X) \
  X(float) X(double) X(long double) X(::softlab::bin50) X(::softlab::bin100) \
  X(::softlab::fp16sim) X(::softlab::bf16sim) X(::softlab::float16) X(::softlab::bfloat16)
// clang-format on

namespace detail {
template <class List>
struct without_first;
template <class First, class... Rest>
struct without_first<type_list<First, Rest...>> {
  using type = type_list<Rest...>;
};
}  // namespace detail

#define SOFTLAB_DETAIL_COMMA_THEN(T) , T
using element_types = typename detail::without_first<
    type_list<void SOFTLAB_FOR_EACH_ELEMENT_TYPE(SOFTLAB_DETAIL_COMMA_THEN)>>::type;
#undef SOFTLAB_DETAIL_COMMA_THEN

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

template <>
struct type_token<fp16sim> {
  static constexpr std::string_view value = "fp16sim";
};
template <>
struct type_token<bf16sim> {
  static constexpr std::string_view value = "bf16sim";
};

template <>
struct type_token<float16> {
  static constexpr std::string_view value = "f16";
};
template <>
struct type_token<bfloat16> {
  static constexpr std::string_view value = "bf16";
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

/// A format narrower than double whose every value is a double (the simulated formats and the
/// storage types): read and written through double, exactly.
template <class T>
inline constexpr bool is_narrow_format = is_simulated_float<T> || is_storage_float<T>;

/// Error of the scalar exp and log the generic algorithms call for T, in ULPs: exp errs by at
/// most exp_ulps + exp_per_unit * |x|, log by log_ulps. glibc's expf/exp/expl and log are
/// below 1 ULP (measured here against MPFR: exp 0.50, 0.50, 0.92; log 0.51, 0.86). Boost
/// 1.74's exp for cpp_bin_float reduces its argument at working precision, so its error grows
/// with |x|: up to 3.2 ULP for |x| < 1 and 1.27 |x| ULP at |x| = 10^4 (bin50 and bin100
/// alike); its log errs by up to 10 (bin50) and 13 (bin100) ULP. fp16sim and bf16sim round
/// glibc's double exp and log once to the format: over every finite input of each format both
/// are correctly rounded (max 0.49999 ULP, exp overflow to inf aside), so {1, 0, 1} has a margin
/// of 2. The models below cover these measurements with a margin; every stated bound carries them.
struct libm_error_model {
  double exp_ulps;
  double exp_per_unit;
  double log_ulps;
};
template <class T>
inline constexpr libm_error_model scalar_libm_error{1.0, 0.0, 1.0};
template <>
inline constexpr libm_error_model scalar_libm_error<bin50>{4.0, 1.5, 16.0};
template <>
inline constexpr libm_error_model scalar_libm_error<bin100>{4.0, 1.5, 16.0};
template <>
inline constexpr libm_error_model scalar_libm_error<fp16sim>{1.0, 0.0, 1.0};
template <>
inline constexpr libm_error_model scalar_libm_error<bf16sim>{1.0, 0.0, 1.0};

}  // namespace softlab
