// cli/score_options.cpp: the score-changing options of `softlab softmax` and `softlab check`.
#include "score_options.hpp"

#include "scores.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace softlab::cli {

std::vector<std::string> add_score_options(CLI::App& app, score_option_values& values) {
  app.add_option("--scale", values.scale,
                 "Softmax of S * scores (+ mask): 1/sqrt(d) in attention, 1/temperature in "
                 "sampling; any finite non-zero S, negative included");
  app.add_option("--mask", values.mask_file,
                 "An additive mask from FILE (numbers read as double, separated like the scores; "
                 "-inf, inf, nan allowed): one per score, or with --rows one per column, the "
                 "same for every row");
  app.add_option("--keep", values.keep_file,
                 "A keep-mask from FILE: 0 (leave the score out: weight 0) or 1, the same shapes "
                 "as --mask; not with --mask");
  app.add_option("--causal", values.causal,
                 "With --rows: row r keeps the columns c <= r + OFFSET (0: the square causal "
                 "mask; any integer); a row left with nothing gives zeros (--log: -inf)");
  values.rows_option =
      app.add_option("--rows", values.rows,
                     "The n scores are R rows of n/R, row-major: one softmax "
                     "per row (R must divide n); printed in the same order")
          ->check(CLI::Validator(
              [](std::string& text) {
                const bool digits =
                    !text.empty() && std::all_of(text.begin(), text.end(),
                                                 [](char c) { return c >= '0' && c <= '9'; });
                return digits ? std::string() : "\"" + text + "\" is not a whole number";
              },
              "COUNT"))
          ->capture_default_str();
  return {"--scale", "--causal"};
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw input_error("cannot read " + path + ": " + std::strerror(errno));
  return text.str();
}

std::unique_ptr<loaded_score_options> load_score_options(const score_option_values& values,
                                                         std::size_t n, std::size_t& cols) {
  auto loaded = std::make_unique<loaded_score_options>();
  softmax_options& options = loaded->options;
  if (values.rows == 0) throw input_error("--rows 0: a batch has at least 1 row");
  if (n % values.rows != 0)
    throw input_error("--rows " + std::to_string(values.rows) + " does not divide the " +
                      std::to_string(n) + " scores read: n = " + std::to_string(n) +
                      " scores make R = " + std::to_string(values.rows) +
                      " rows only when R divides n");
  cols = n / values.rows;
  if (!values.scale.empty()) {
    const std::optional<double> scale = parse_value<double>(values.scale);
    if (!scale) throw input_error("--scale \"" + values.scale + "\" is not a number");
    options.scale = *scale;
  }
  if (!values.causal.empty()) {
    if (values.rows_option == nullptr || values.rows_option->count() == 0)
      throw input_error("--causal " + values.causal +
                        " needs --rows: a causal mask keeps columns by row index");
    std::ptrdiff_t offset = 0;
    const char* first = values.causal.data();
    const char* last = first + values.causal.size();
    if (*first == '+') ++first;
    const auto [end, error] = std::from_chars(first, last, offset);
    if (error != std::errc() || end != last || first == last)
      throw input_error("--causal \"" + values.causal + "\" is not an integer");
    options.causal = offset;
  }
  if (!values.mask_file.empty() && !values.keep_file.empty())
    throw input_error("--mask and --keep: give one mask");
  if (!values.mask_file.empty()) {
    const std::string text = read_text_file(values.mask_file);
    loaded->additive = parse_scores<double>(text, "--mask " + values.mask_file).values;
    options.mask = score_mask(std::span<const double>(loaded->additive));
  }
  if (!values.keep_file.empty()) {
    const std::string text = read_text_file(values.keep_file);
    const std::vector<token> tokens = tokenize(text);
    if (tokens.empty()) throw input_error("no numbers in --keep " + values.keep_file);
    loaded->keep = std::make_unique<bool[]>(tokens.size());
    loaded->keep_size = tokens.size();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].text != "0" && tokens[i].text != "1")
        throw input_error(describe(tokens[i], "--keep " + values.keep_file) + " is not 0 or 1");
      loaded->keep[i] = tokens[i].text == "1";
    }
    options.mask = score_mask(std::span<const bool>(loaded->keep.get(), loaded->keep_size));
  }
  return loaded;
}

std::optional<std::size_t> checked_threads(const CLI::Option& option, std::size_t threads) {
  if (option.count() == 0) return std::nullopt;
  if (threads == 0)
    throw input_error(
        "--threads 0: the thread count must be at least 1 (leave --threads out "
        "for the default: SOFTLAB_THREADS, else every CPU this process may use)");
  return threads;
}

CLI::Validator whole_number() {
  return CLI::Validator(
      [](std::string& text) {
        const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
          return c >= '0' && c <= '9';
        });
        return digits ? std::string() : "\"" + text + "\" is not a whole number";
      },
      "COUNT");
}

}  // namespace softlab::cli
