// cli/softmax.cpp: `softlab softmax`, scores from standard input, one weight per line; with
// --rows, the scores are a row-major matrix and each row gets its own softmax, the rows split
// across --threads threads (the same bits for any count). --scale, --mask, --keep and --causal
// (cli/score_options.hpp) go to the registry's rows entry as softmax_options.
#include "command.hpp"
#include "score_options.hpp"
#include "scores.hpp"
#include "selection.hpp"

#include <softlab/kernel_rows.hpp>
#include <softlab/options.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace softlab::cli {

namespace {

struct softmax_command_options {
  std::string impl = "stable";
  std::string type = "double";
  std::string format = "dec";
  bool log = false;
  score_option_values scores;
  std::size_t threads = 0;
  const CLI::Option* threads_option = nullptr;  ///< counted: --threads given or not
};

void run_softmax(context& ctx, const softmax_command_options& options) {
  const number_format format = parse_number_format(options.format);
  const std::optional<std::size_t> threads =
      checked_threads(*options.threads_option, options.threads);
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
    std::size_t cols = 0;
    const std::unique_ptr<loaded_score_options> loaded =
        load_score_options(options.scores, n, cols);
    softmax_options& run_options = loaded->options;
    run_options.threads = threads;
    const std::size_t rows = options.scores.rows;
    std::vector<T> y(n);
    if (options.log)
      log_softmax_rows<T>(k, x, rows, cols, cols, y, cols, run_options);
    else
      softmax_rows<T>(k, x, rows, cols, cols, y, cols, run_options);
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
      "hexfloat, inf, -inf, nan; each rounded once to --type, bf16 and f16 included) and print "
      "softmax(scale * scores + mask), one weight per line, row-major");
  app->add_option("--impl", options->impl, "Implementation (see `softlab list`)")
      ->capture_default_str();
  app->add_option("--type", options->type, "Element type: " + join(type_tokens()))
      ->capture_default_str();
  app->add_option("--format", options->format,
                  "Output: dec (the shortest decimal that reads back to the same value of --type: "
                  "2^-9 in bf16 prints as 0.00195) or hex (the exact value, printf's %a; not for "
                  "bin50, bin100)")
      ->capture_default_str();
  app->add_flag("--log", options->log, "Print log_softmax instead");
  std::vector<std::string> numeric = add_score_options(*app, options->scores);
  options->threads_option = app->add_option("--threads", options->threads,
                                            "Threads the rows are split across (at least 1; "
                                            "default: SOFTLAB_THREADS, else every CPU "
                                            "this process may use). The output is the same bits "
                                            "for any count; small batches run on "
                                            "one thread")
                                ->check(whole_number());
  return {app, [options](context& ctx) { run_softmax(ctx, *options); }, std::move(numeric)};
}

}  // namespace softlab::cli
