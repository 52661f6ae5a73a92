// cli/attention.cpp: `softlab attention`, the seed example: weights = softmax(query * keys).
#include "command.hpp"
#include "scores.hpp"
#include "selection.hpp"
#include "table.hpp"

#include <memory>
#include <string>
#include <vector>

namespace softlab::cli {

namespace {

struct attention_options {
  std::string query;
  std::string keys;
  std::string impl = "stable";
  std::string type = "double";
  std::string format = "dec";
};

void run_attention(context& ctx, const attention_options& options) {
  const number_format format = parse_number_format(options.format);
  with_type(options.type, [&]<class T>() {
    const kernel<T>& k = require_kernel<T>(ctx.registry, options.impl);
    require_format<T>(format);
    if (k.softmax == nullptr)
      throw input_error("implementation \"" + options.impl + "\" has no softmax for type \"" +
                        options.type + "\"");
    const scores<T> query = parse_scores<T>(options.query, "--query");
    if (query.values.size() != 1)
      throw input_error("--query takes one number; " + describe(query.tokens[1], "--query") +
                        " is one too many");
    const scores<T> keys = parse_scores<T>(options.keys, "--keys");
    // As softlab::pairwise_attention: the scores are formed in T, then one softmax.
    const T q = query.values[0];
    std::vector<T> scores_t(keys.values.size());
    for (std::size_t i = 0; i < scores_t.size(); ++i) scores_t[i] = T(q * keys.values[i]);
    std::vector<T> weights(scores_t.size());
    k.softmax(scores_t, weights);
    std::vector<std::vector<std::string>> rows{{"index", "key", "score", "weight"}};
    for (std::size_t i = 0; i < weights.size(); ++i)
      rows.push_back({std::to_string(i + 1), format_value(keys.values[i], format),
                      format_value(scores_t[i], format), format_value(weights[i], format)});
    ctx.out += format_table(rows);
  });
}

}  // namespace

command add_attention_command(CLI::App& root) {
  auto options = std::make_shared<attention_options>();
  CLI::App* app = root.add_subcommand(
      "attention",
      "The seed example of attention: score_i = query * key_i, weights = softmax(scores); prints "
      "index, key, score and weight");
  app->add_option("--query", options->query, "The query, one number (may be negative)")->required();
  app->add_option("--keys", options->keys,
                  "The keys, separated by commas (e.g. 0.1,0.5,0.3,0.9 or -1,2)")
      ->required();
  app->add_option("--impl", options->impl, "Implementation (see `softlab list`)")
      ->capture_default_str();
  app->add_option("--type", options->type, "Element type: " + join(type_tokens()))
      ->capture_default_str();
  app->add_option("--format", options->format,
                  "Output: dec (shortest round-trip decimal) or hex (printf's %a; not for bin50, "
                  "bin100)")
      ->capture_default_str();
  return {app, [options](context& ctx) { run_attention(ctx, *options); }, {"--query", "--keys"}};
}

}  // namespace softlab::cli
