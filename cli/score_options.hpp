// cli/score_options.hpp: the options that change the scores (softlab/options.hpp's scale, mask
// and causal offset) and the row shape, shared by `softlab softmax` and `softlab check`.
//
//   --scale S        z = S x (+ mask): any finite non-zero S (the library rejects the others)
//   --mask FILE      an additive mask, read as double: one number per score, or, with --rows,
//                    one per column (the same for every row); -inf, inf and nan allowed
//   --keep FILE      a keep-mask of 0 and 1, the same shapes (0: the score is left out)
//   --causal OFFSET  row r keeps the columns c <= r + OFFSET (needs --rows)
//   --rows R         the n scores are R rows of n/R (R must divide n)
#pragma once

#include <softlab/options.hpp>

#include <CLI/CLI.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace softlab::cli {

/// The options as given on the command line.
struct score_option_values {
  std::string scale;
  std::string mask_file;
  std::string keep_file;
  std::string causal;
  std::size_t rows = 1;
  const CLI::Option* rows_option = nullptr;  ///< counted: --rows given or not
};

/// Registers --scale, --mask, --keep, --causal and --rows on app; returns the options whose
/// value may be negative ("--scale -2", "--causal -1"), for command::numeric_options.
std::vector<std::string> add_score_options(CLI::App& app, score_option_values& values);

/// What the options point into: the masks read from their files, and the options themselves.
struct loaded_score_options {
  std::vector<double> additive;
  std::unique_ptr<bool[]> keep;  ///< std::vector<bool> is not a contiguous range of bool
  std::size_t keep_size = 0;
  softmax_options options;  ///< its mask views `additive` or `keep`
};

/// Reads the mask files and parses --scale and --causal (input_error naming the option, the
/// file, and the bad token and its position); the shapes are checked against n scores (input
/// error: --rows not dividing n, --causal without --rows). The library checks the rest (a mask
/// of the wrong size, a zero or non-finite scale) with std::invalid_argument. Returns the
/// number of columns in `cols`.
std::unique_ptr<loaded_score_options> load_score_options(const score_option_values& values,
                                                         std::size_t n, std::size_t& cols);

/// --threads N when given (option counted), else unset (the library's default); input_error
/// for 0. One check for every subcommand that takes --threads.
std::optional<std::size_t> checked_threads(const CLI::Option& option, std::size_t threads);

/// A CLI11 check for counts: decimal digits only (CLI11 would read "-1" into an unsigned count
/// by wrapping it around).
CLI::Validator whole_number();

/// The whole file, or input_error naming it and the reason.
std::string read_text_file(const std::string& path);

}  // namespace softlab::cli
