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
  bool all = false;
};

/// --all: the seed example for every (implementation, type) of the registry, one row each.
void run_attention_everywhere(context& ctx, const attention_options& options,
                              number_format format) {
  std::vector<std::vector<std::string>> rows{{"implementation", "type", "weights"}};
  for (const std::string_view name : ctx.registry.names())
    for_each_type(element_types{}, [&]<class T>() {
      const kernel<T>* k = ctx.registry.find<T>(name);
      if (k == nullptr || !supports_format<T>(format)) return;
      const T q = parse_scores<T>(options.query, "--query").values.at(0);
      const scores<T> keys = parse_scores<T>(options.keys, "--keys");
      std::vector<T> weights(keys.values.size());
      pairwise_attention(*k, q, std::span<const T>(keys.values), std::span<T>(weights));
      std::string cell;
      for (const T& w : weights) cell += (cell.empty() ? "" : " ") + format_value(w, format);
      rows.push_back({std::string(name), std::string(type_token_v<T>), cell});
    });
  ctx.out += format_table(rows);
}

void run_attention(context& ctx, const attention_options& options) {
  const number_format format = parse_number_format(options.format);
  if (options.all) return run_attention_everywhere(ctx, options, format);
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
    // The scores as softlab::pairwise_attention forms them by default (in T); the weights as
    // the implementation computes them (its own pairwise_attention, if it has one).
    const T q = query.values[0];
    std::vector<T> scores_t(keys.values.size());
    for (std::size_t i = 0; i < scores_t.size(); ++i) scores_t[i] = T(q * keys.values[i]);
    std::vector<T> weights(scores_t.size());
    pairwise_attention(k, q, std::span<const T>(keys.values), std::span<T>(weights));
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
  app->add_flag("--all", options->all,
                "Every implementation and type of the registry, one row each (ignores --impl, "
                "--type; skips types --format cannot print)");
  return {app, [options](context& ctx) { run_attention(ctx, *options); }, {"--query", "--keys"}};
}

}  // namespace softlab::cli
