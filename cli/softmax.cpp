// cli/softmax.cpp: `softlab softmax`, scores from standard input, one weight per line; with
// --rows, the scores are a row-major matrix and each row gets its own softmax, the rows split
// across --threads threads (the same bits for any count).
#include "command.hpp"
#include "scores.hpp"
#include "selection.hpp"

#include <softlab/kernel_rows.hpp>
#include <softlab/options.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace softlab::cli {

namespace {

struct softmax_command_options {
  std::string impl = "stable";
  std::string type = "double";
  std::string format = "dec";
  bool log = false;
  std::size_t rows = 1;
  std::size_t threads = 0;
  const CLI::Option* threads_option = nullptr;  ///< counted: --threads given or not
};

/// Decimal digits only: CLI11 would read "-1" into an unsigned count by wrapping it around.
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

void run_softmax(context& ctx, const softmax_command_options& options) {
  const number_format format = parse_number_format(options.format);
  softmax_options run_options;
  if (options.threads_option->count() > 0) {
    if (options.threads == 0)
      throw input_error(
          "--threads 0: the thread count must be at least 1 (leave --threads out "
          "for the default: SOFTLAB_THREADS, else every CPU this process may use)");
    run_options.threads = options.threads;
  }
  if (options.rows == 0) throw input_error("--rows 0: a batch has at least 1 row");
  with_type(options.type, [&]<class T>() {
    const kernel<T>& k = require_kernel<T>(ctx.registry, options.impl);
    require_format<T>(format);
    const auto function = options.log ? k.log_softmax : k.softmax;
    if (function == nullptr)
      throw input_error("implementation \"" + options.impl + "\" has no " +
                        (options.log ? "log_softmax" : "softmax") + " for type \"" + options.type +
                        "\"");
    const stream_scores<T> input = parse_scores<T>(ctx.in);
    const std::vector<T>& x = input.parsed.values;
    const std::size_t n = x.size();
    if (n % options.rows != 0)
      throw input_error("--rows " + std::to_string(options.rows) + " does not divide the " +
                        std::to_string(n) + " scores read: n = " + std::to_string(n) +
                        " scores make R = " + std::to_string(options.rows) +
                        " rows only when R divides n");
    const std::size_t cols = n / options.rows;
    std::vector<T> y(n);
    if (options.log)
      log_softmax_rows<T>(k, x, options.rows, cols, cols, y, cols, run_options);
    else
      softmax_rows<T>(k, x, options.rows, cols, cols, y, cols, run_options);
    for (const T& v : y) {
      ctx.out += format_value(v, format);
      ctx.out += '\n';
    }
  });
}

}  // namespace

command add_softmax_command(CLI::App& root) {
  auto options = std::make_shared<softmax_command_options>();
  CLI::App* app = root.add_subcommand(
      "softmax",
      "Read scores from standard input (separated by whitespace, commas or newlines; decimal, "
      "hexfloat, inf, -inf, nan) and print softmax(scores), one weight per line");
  app->add_option("--impl", options->impl, "Implementation (see `softlab list`)")
      ->capture_default_str();
  app->add_option("--type", options->type, "Element type: " + join(type_tokens()))
      ->capture_default_str();
  app->add_option("--format", options->format,
                  "Output: dec (shortest round-trip decimal) or hex (printf's %a; not for bin50, "
                  "bin100)")
      ->capture_default_str();
  app->add_flag("--log", options->log, "Print log_softmax instead");
  app->add_option("--rows", options->rows,
                  "The n scores are R rows of n/R, row-major: one softmax per row (R must "
                  "divide n); printed in the same order")
      ->check(whole_number())
      ->capture_default_str();
  options->threads_option = app->add_option("--threads", options->threads,
                                            "Threads the rows are split across (at least 1; "
                                            "default: SOFTLAB_THREADS, else every CPU "
                                            "this process may use). The output is the same bits "
                                            "for any count; small batches run on "
                                            "one thread")
                                ->check(whole_number());
  return {app, [options](context& ctx) { run_softmax(ctx, *options); }, {}};
}

}  // namespace softlab::cli
