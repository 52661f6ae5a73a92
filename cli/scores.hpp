// cli/scores.hpp: reading numbers from text and printing them, for every element type.
//
// Shared by every subcommand of the `softlab` tool (and unit-tested in tests/cli):
//   tokenize(text)              tokens separated by runs of whitespace and commas, each with its
//                               1-based index and line:column
//   parse_value<T>(text)        one token into T, rounded once, exactly as the type would
//   parse_scores<T>(in|text)    every token, or cli::input_error naming the first bad one
//   format_value<T>(v, format)  softlab_accuracy/format.hpp's (dec: shortest round-trip
//                               decimal; hex: printf's %a / %La), the study's formatter
#pragma once

#include <softlab/types.hpp>
#include <softlab_accuracy/format.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace softlab::cli {

/// Bad input or usage: the tool prints "softlab: " + what() on stderr and exits with status 2.
class input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// dec or hex: the study's formats (softlab_accuracy/format.hpp prints for the tool too).
using number_format = accuracy::value_format;
using accuracy::format_value;
using accuracy::supports_format;

/// "dec" or "hex"; anything else is an input_error listing both.
number_format parse_number_format(std::string_view text);

/// One token of the input and where it starts. index, line and column are 1-based; column
/// counts bytes.
struct token {
  std::string_view text;
  std::size_t index = 0;
  std::size_t line = 0;
  std::size_t column = 0;
};

/// Splits text at runs of whitespace and commas. The views point into text.
std::vector<token> tokenize(std::string_view text);

/// `token 3 ("1.2.3") at line 1, column 7`, plus ` of SOURCE` when source is not empty. Long
/// tokens are shortened and unprintable bytes escaped, so the message stays one line.
std::string describe(const token& t, std::string_view source = {});

/// The syntax of a number: [+-] then inf | infinity | nan (any case), or a decimal
/// (digits [. digits] [e [+-] digits]), or a hexfloat (0x hexdigits [. hexdigits] [p [+-] digits]).
struct number_syntax {
  enum class kind { decimal, hex, infinity, nan };
  kind what = kind::decimal;
  bool negative = false;
  std::string_view magnitude;  ///< without the sign; for hex, with the 0x prefix
  std::string_view digits;     ///< decimal: the magnitude; hex: after the 0x prefix
};

/// nullopt when text is not a number by the grammar above.
std::optional<number_syntax> classify_number(std::string_view text);

/// Reads the whole stream (the caller then tokenizes it; the views of parse_scores point into it).
std::string read_all(std::istream& in);

namespace detail {

/// strtof/strtod/strtold of a validated magnitude: the correctly rounded value, with overflow
/// to infinity and underflow to a subnormal or zero (C locale: the tool never sets a locale).
template <class T>
T strto(const std::string& magnitude) {
  if constexpr (std::is_same_v<T, float>) {
    return std::strtof(magnitude.c_str(), nullptr);
  } else if constexpr (std::is_same_v<T, double>) {
    return std::strtod(magnitude.c_str(), nullptr);
  } else {
    return std::strtold(magnitude.c_str(), nullptr);
  }
}

/// A hexfloat digit string (no 0x) into a Boost binary float, rounded once to nearest-even:
/// the first p significant bits are exact in T, the next bit and the OR of the rest round them
/// by hand, then a power of two scales (exact within T's exponent range). Boost's own
/// integer-to-float conversion is avoided: it adds 64-bit limbs with a rounding at each step.
template <class T>
T parse_hex_multiprecision(std::string_view digits) {
  std::vector<bool> bits;  // significant bits, leading zeros dropped
  std::int64_t exponent = 0;
  std::size_t i = 0;
  bool after_point = false;
  for (; i < digits.size() && digits[i] != 'p' && digits[i] != 'P'; ++i) {
    const char c = digits[i];
    if (c == '.') {
      after_point = true;
      continue;
    }
    const int d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    for (int b = 3; b >= 0; --b)
      if (!bits.empty() || ((d >> b) & 1) != 0) bits.push_back(((d >> b) & 1) != 0);
    if (after_point) exponent -= 4;
  }
  if (i < digits.size()) {  // the binary exponent, saturated far beyond any T's range
    ++i;
    const bool negative = digits[i] == '-';
    if (digits[i] == '-' || digits[i] == '+') ++i;
    std::int64_t e = 0;
    for (; i < digits.size(); ++i)
      e = std::min<std::int64_t>(e * 10 + (digits[i] - '0'), std::int64_t{1} << 40);
    exponent += negative ? -e : e;
  }
  if (bits.empty()) return T(0);
  // The exponent of the leading bit: beyond T's range, the result is infinite or zero.
  const std::int64_t top = static_cast<std::int64_t>(bits.size()) - 1 + exponent;
  if (top >= std::numeric_limits<T>::max_exponent) return std::numeric_limits<T>::infinity();
  if (top < std::numeric_limits<T>::min_exponent - 1) return T(0);
  constexpr auto p = static_cast<std::size_t>(std::numeric_limits<T>::digits);
  const std::size_t kept = std::min(bits.size(), p);
  T result = 0;
  for (std::size_t b = 0; b < kept; ++b) result = result * 2 + (bits[b] ? 1 : 0);  // exact
  if (bits.size() > p) {
    const bool round = bits[p];
    const bool sticky = std::find(bits.begin() + static_cast<std::ptrdiff_t>(p) + 1, bits.end(),
                                  true) != bits.end();
    if (round && (sticky || bits[p - 1])) result += 1;  // at most 2^p: still exact
    exponent += static_cast<std::int64_t>(bits.size() - p);
  }
  result = ldexp(result, static_cast<int>(exponent));
  return result;
}

/// A decimal digit string into a Boost binary float (Boost's own conversion, which rounds
/// correctly for up to max_digits10 + 4 significant digits and ignores digits beyond). The
/// decimal exponent is clamped first: Boost accumulates it in an integer that could overflow.
template <class T>
T parse_decimal_multiprecision(std::string_view digits) {
  const std::size_t e = digits.find_first_of("eE");
  if (e == std::string_view::npos) return T(std::string(digits));
  std::string text(digits.substr(0, e));
  std::size_t i = e + 1;
  const bool negative = digits[i] == '-';
  if (digits[i] == '-' || digits[i] == '+') ++i;
  std::int64_t value = 0;
  for (; i < digits.size(); ++i)
    value = std::min<std::int64_t>(value * 10 + (digits[i] - '0'), 999'999'999);
  text += negative ? "e-" : "e";
  text += std::to_string(value);
  return T(text);
}

}  // namespace detail

/// One token into T, rounded once from the exact decimal or binary value (float and double with
/// std::from_chars, long double with strtold, bin50/bin100 from the string, fp16sim/bf16sim
/// with accuracy::nearest_simulated). Values beyond T's
/// range round as IEEE does: to +-infinity, or to a subnormal or zero. nullopt if not a number.
template <class T>
std::optional<T> parse_value(std::string_view text) {
  const std::optional<number_syntax> syntax = classify_number(text);
  if (!syntax) return std::nullopt;
  T magnitude{};
  switch (syntax->what) {
    case number_syntax::kind::infinity:
      magnitude = std::numeric_limits<T>::infinity();
      break;
    case number_syntax::kind::nan:
      return std::numeric_limits<T>::quiet_NaN();  // the sign of a NaN means nothing here
    case number_syntax::kind::decimal:
    case number_syntax::kind::hex: {
      const bool hex = syntax->what == number_syntax::kind::hex;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        const char* first = syntax->digits.data();
        const char* last = first + syntax->digits.size();
        const auto [end, error] = std::from_chars(
            first, last, magnitude, hex ? std::chars_format::hex : std::chars_format::general);
        // Out of range: from_chars leaves the value alone; strto* gives the IEEE rounding.
        if (error == std::errc::result_out_of_range)
          magnitude = detail::strto<T>(std::string(syntax->magnitude));
        else if (error != std::errc() || end != last)
          return std::nullopt;
      } else if constexpr (std::is_same_v<T, long double>) {
        magnitude = detail::strto<T>(std::string(syntax->magnitude));
      } else if constexpr (is_narrow_format<T>) {
        magnitude = accuracy::nearest_simulated<T>(std::string(syntax->magnitude));
      } else if (hex) {
        magnitude = detail::parse_hex_multiprecision<T>(syntax->digits);
      } else {
        magnitude = detail::parse_decimal_multiprecision<T>(syntax->digits);
      }
      break;
    }
  }
  if (syntax->negative) magnitude = -magnitude;
  return magnitude;
}

/// Parsed numbers and the tokens they came from (views into the text given to parse_scores).
template <class T>
struct scores {
  std::vector<T> values;
  std::vector<token> tokens;
};

/// Every token of text as T. Throws input_error naming the first token that is not a number
/// (`token 3 ("1.2.3") at line 1, column 7 is not a number`), or saying there are none.
/// source names where the text came from in messages: empty for standard input, else e.g.
/// "--keys".
template <class T>
scores<T> parse_scores(std::string_view text, std::string_view source = {}) {
  scores<T> result;
  result.tokens = tokenize(text);
  if (result.tokens.empty())
    throw input_error(source.empty() ? std::string("no scores on standard input (expected numbers "
                                                   "separated by whitespace, commas or newlines)")
                                     : "no numbers in " + std::string(source));
  result.values.reserve(result.tokens.size());
  for (const token& t : result.tokens) {
    const std::optional<T> value = parse_value<T>(t.text);
    if (!value) throw input_error(describe(t, source) + " is not a number");
    result.values.push_back(*value);
  }
  return result;
}

/// Owns the text the tokens of `parsed` point into.
template <class T>
struct stream_scores {
  std::string text;
  scores<T> parsed;
};

/// Reads the whole stream, then parse_scores.
template <class T>
stream_scores<T> parse_scores(std::istream& in) {
  stream_scores<T> result;
  result.text = read_all(in);
  result.parsed = parse_scores<T>(std::string_view(result.text));
  return result;
}

// Instantiated once, in scores.cpp, for every element type: the subcommands and the tests only
// call them (parsing bin50 and bin100 alone is seconds of compile time per translation unit).
#define SOFTLAB_CLI_SCORES(T)                                                    \
  extern template std::optional<T> parse_value<T>(std::string_view);             \
  extern template scores<T> parse_scores<T>(std::string_view, std::string_view); \
  extern template stream_scores<T> parse_scores<T>(std::istream&);
SOFTLAB_FOR_EACH_ELEMENT_TYPE(SOFTLAB_CLI_SCORES)
#undef SOFTLAB_CLI_SCORES

}  // namespace softlab::cli
