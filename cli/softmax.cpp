// cli/softmax.cpp: `softlab softmax`, scores from standard input, one weight per line.
#include "command.hpp"
#include "scores.hpp"
#include "selection.hpp"

#include <memory>
#include <string>
#include <vector>

namespace softlab::cli {

namespace {

struct softmax_options {
  std::string impl = "stable";
  std::string type = "double";
  std::string format = "dec";
  bool log = false;
};

void run_softmax(context& ctx, const softmax_options& options) {
  const number_format format = parse_number_format(options.format);
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
    std::vector<T> y(x.size());
    function(x, y);
    for (const T& v : y) {
      ctx.out += format_value(v, format);
      ctx.out += '\n';
    }
  });
}

}  // namespace

command add_softmax_command(CLI::App& root) {
  auto options = std::make_shared<softmax_options>();
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
  return {app, [options](context& ctx) { run_softmax(ctx, *options); }, {}};
}

}  // namespace softlab::cli
