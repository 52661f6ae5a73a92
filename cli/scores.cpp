// cli/scores.cpp: the type-independent half of cli/scores.hpp.
#include "scores.hpp"

#include <cstdio>
#include <iterator>

namespace softlab::cli {

namespace {

bool is_separator(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == ',';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool equals_ignoring_case(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] | 0x20) : text[i];
    if (c != lower[i]) return false;
  }
  return true;
}

/// Digits [. digits] with at least one digit in all; returns the position after them, or npos.
template <class Digit>
std::size_t skip_significand(std::string_view s, std::size_t i, Digit is_digit_of_base) {
  std::size_t count = 0;
  while (i < s.size() && is_digit_of_base(s[i])) ++i, ++count;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit_of_base(s[i])) ++i, ++count;
  }
  return count == 0 ? std::string_view::npos : i;
}

/// [marker [+-] digits] at the end of s; true if s ends there.
bool valid_exponent_suffix(std::string_view s, std::size_t i, char lower_marker) {
  if (i == s.size()) return true;
  if ((s[i] | 0x20) != lower_marker) return false;
  ++i;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i == s.size()) return false;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i == s.size();
}

}  // namespace

number_format parse_number_format(std::string_view text) {
  if (text == "dec") return number_format::dec;
  if (text == "hex") return number_format::hex;
  throw input_error("unknown format \"" + std::string(text) + "\"; valid: dec, hex");
}

std::vector<token> tokenize(std::string_view text) {
  std::vector<token> result;
  std::size_t line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_separator(text[i])) {
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < text.size() && !is_separator(text[i])) ++i;
    result.push_back(token{.text = text.substr(start, i - start),
                           .index = result.size() + 1,
                           .line = line,
                           .column = start - line_start + 1});
  }
  return result;
}

std::string describe(const token& t, std::string_view source) {
  constexpr std::size_t shown = 40;
  std::string quoted;
  for (std::size_t i = 0; i < t.text.size() && i < shown; ++i) {
    const auto c = static_cast<unsigned char>(t.text[i]);
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      quoted += static_cast<char>(c);
    } else {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<unsigned>(c));
      quoted += escape;
    }
  }
  if (t.text.size() > shown) quoted += "...";
  std::string result = "token " + std::to_string(t.index) + " (\"" + quoted + "\") at line " +
                       std::to_string(t.line) + ", column " + std::to_string(t.column);
  if (!source.empty()) result += " of " + std::string(source);
  return result;
}

std::optional<number_syntax> classify_number(std::string_view text) {
  number_syntax result;
  std::string_view s = text;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    result.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  result.magnitude = s;
  result.digits = s;
  if (equals_ignoring_case(s, "inf") || equals_ignoring_case(s, "infinity")) {
    result.what = number_syntax::kind::infinity;
    return result;
  }
  if (equals_ignoring_case(s, "nan")) {
    result.what = number_syntax::kind::nan;
    return result;
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    result.what = number_syntax::kind::hex;
    result.digits = s.substr(2);
    const std::size_t end = skip_significand(result.digits, 0, is_hex_digit);
    if (end == std::string_view::npos || !valid_exponent_suffix(result.digits, end, 'p'))
      return std::nullopt;
    return result;
  }
  result.what = number_syntax::kind::decimal;
  const std::size_t end = skip_significand(s, 0, is_digit);
  if (end == std::string_view::npos || !valid_exponent_suffix(s, end, 'e')) return std::nullopt;
  return result;
}

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

#define SOFTLAB_CLI_SCORES(T)                                             \
  template std::optional<T> parse_value<T>(std::string_view);             \
  template scores<T> parse_scores<T>(std::string_view, std::string_view); \
  template stream_scores<T> parse_scores<T>(std::istream&);
SOFTLAB_FOR_EACH_ELEMENT_TYPE(SOFTLAB_CLI_SCORES)
#undef SOFTLAB_CLI_SCORES

}  // namespace softlab::cli
