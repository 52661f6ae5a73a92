// cli/attention.cpp: `softlab attention`, the seed example (weights = softmax(query * keys)),
// and, exclusive with it, attention over .npy files: O = softmax(scale Q K^T + mask) V with an
// implementation of the attention registry (softlab/attention_registry.hpp and the peers),
// printed, written to an .npy file, or checked against the exact reference (--check,
// cli/attention_check.hpp). The files: cli/attention_files.hpp.
#include "attention_check.hpp"
#include "attention_files.hpp"
#include "command.hpp"
#include "npy.hpp"
#include "score_options.hpp"
#include "scores.hpp"
#include "selection.hpp"
#include "table.hpp"

#include <softlab/attention_registry.hpp>
#include <softlab/simd/isa.hpp>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace softlab::cli {

namespace {

struct attention_command_options {
  std::string query;
  std::string keys;
  std::string impl;  ///< default: stable (seed), flash (files)
  std::string type;  ///< default: double (seed), the files' dtype (files)
  std::string format = "dec";
  bool all = false;
  // The .npy form.
  std::string q, k, v, mask, out;
  std::string scale, causal;
  std::string rows = "64";
  std::size_t threads = 0;
  bool check = false;
  CLI::Option* threads_option = nullptr;
  CLI::Option* query_option = nullptr;
  CLI::Option* q_option = nullptr;
};

/// --all: the seed example for every (implementation, type) of the registry, one row each.
void run_attention_everywhere(context& ctx, const attention_command_options& options,
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

void run_seed_example(context& ctx, const attention_command_options& given) {
  attention_command_options options = given;
  if (options.impl.empty()) options.impl = "stable";
  if (options.type.empty()) options.type = "double";
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

/// --impl NAME or NAME@ISA for storage type T: the kernel, and the instruction set to force.
template <class T>
std::pair<const attention_kernel<T>*, std::optional<isa>> require_attention_kernel(
    const attention_registry& reg, const std::string& spec) {
  const std::size_t at = spec.find('@');
  const std::string name = spec.substr(0, at);
  const attention_kernel<T>* k = reg.find<T>(name);
  if (k == nullptr) {
    std::vector<std::string_view> names;
    for (const attention_kernel<T>& each : reg.kernels<T>()) names.push_back(each.facts.name);
    throw input_error("unknown attention implementation \"" + name + "\" for type \"" +
                      std::string(type_token_v<T>) + "\"; valid: " + join(names));
  }
  if (at == std::string::npos) return {k, std::nullopt};
  const std::string isa_text = spec.substr(at + 1);
  const std::optional<isa> which = parse_isa(isa_text);
  std::vector<std::string_view> its;
  for (const isa each : every_isa)
    if ((k->isas & isa_bit(each)) != 0) its.push_back(isa_name(each));
  if (!which || (k->isas & isa_bit(*which)) == 0)
    throw input_error("--impl " + spec + ": \"" + name + "\" has " +
                      (its.empty() ? std::string("no instruction set variants (scalar code)")
                                   : "kernels for " + join(its) + ", not \"" + isa_text + "\""));
  const std::vector<isa> available = available_isas();
  if (std::find(available.begin(), available.end(), *which) == available.end()) {
    std::vector<std::string_view> names;
    for (const isa each : available) names.push_back(isa_name(each));
    throw input_error("--impl " + spec + ": this CPU lacks " + isa_text +
                      " (available: " + join(names) + ")");
  }
  return {k, which};
}

/// --rows N|all of --check: the rows checked per head (0: all).
std::size_t rows_per_head(const std::string& text) {
  if (text == "all") return 0;
  std::size_t n = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (error != std::errc() || end != text.data() + text.size() || n == 0)
    throw input_error("--rows \"" + text +
                      "\": a count of query rows per head (at least 1) or all");
  return n;
}

void run_attention_files(context& ctx, const attention_command_options& options) {
  const number_format format = parse_number_format(options.format);
  const npy_source qs{"--q", options.q}, ks{"--k", options.k}, vs{"--v", options.v},
      ms{"--mask", options.mask};
  const npy::array q = npy::read(qs.path, qs.label());
  const npy::array k = npy::read(ks.path, ks.label());
  const npy::array v = npy::read(vs.path, vs.label());
  std::optional<npy::array> mask;
  if (!options.mask.empty()) mask = npy::read(ms.path, ms.label());
  const attention_shape shape = attention_shape_of(q, k, v, qs, ks, vs);
  if (mask) checked_mask_size(*mask, shape, ms);
  const std::string type = attention_storage_type(options.type, {q, k, v}, {qs, ks, vs}, ctx.notes);

  attention_options run_options;
  if (!options.scale.empty()) {
    const std::optional<double> scale = parse_value<double>(options.scale);
    if (!scale) throw input_error("--scale \"" + options.scale + "\" is not a number");
    run_options.scale = *scale;
  }
  if (!options.causal.empty()) {
    std::ptrdiff_t offset = 0;
    const char* first = options.causal.data();
    const char* last = first + options.causal.size();
    if (*first == '+') ++first;
    const auto [end, error] = std::from_chars(first, last, offset);
    if (error != std::errc() || end != last || first == last)
      throw input_error("--causal \"" + options.causal + "\" is not an integer");
    run_options.causal = offset;
  }
  run_options.threads = checked_threads(*options.threads_option, options.threads);
  const std::size_t checked_rows = rows_per_head(options.rows);

  with_type(type, [&]<class T>() {
    if constexpr (attention_element<T>) {
      const auto problem = load_attention_problem<T>(shape, q, k, v, mask ? &*mask : nullptr, ms);
      run_options.mask = problem->mask();
      if (options.check) return check_attention<T>(ctx, *problem, run_options, checked_rows);
      require_format<T>(format);
      const auto [kernel, which] = require_attention_kernel<T>(
          ctx.attention_registry, options.impl.empty() ? "flash" : options.impl);
      if (which) force_isa(*which);
      std::vector<T> o(shape.q_heads * shape.q_len * shape.d_v);
      kernel->attention(problem->q_view(), problem->k_view(), problem->v_view(),
                        heads_of(o, shape.q_heads, shape.q_len, shape.d_v), run_options);
      if (!options.out.empty()) {
        npy::write(options.out, output_array<T>(shape, o), "--out " + options.out);
        return;
      }
      for (std::size_t row = 0; row * shape.d_v < o.size(); ++row) {
        for (std::size_t c = 0; c < shape.d_v; ++c) {
          if (c > 0) ctx.out += ' ';
          ctx.out += format_value(o[row * shape.d_v + c], format);
        }
        ctx.out += '\n';
      }
    }
  });
}

void run_attention(context& ctx, const attention_command_options& options) {
  if (options.q_option->count() > 0) return run_attention_files(ctx, options);
  if (options.query_option->count() == 0)
    throw input_error(
        "attention: give --query and --keys (the seed example) or --q, --k and --v "
        "(.npy files); see `softlab attention --help`");
  run_seed_example(ctx, options);
}

}  // namespace

command add_attention_command(CLI::App& root) {
  auto options = std::make_shared<attention_command_options>();
  CLI::App* app = root.add_subcommand(
      "attention",
      "Attention. The seed example (--query, --keys): score_i = query * key_i, weights = "
      "softmax(scores), printed as index, key, score and weight. Or O = softmax(scale Q K^T + "
      "mask) V over .npy files (--q, --k, --v: <f4, <f2, <f8 (rounded once to float, with a "
      "note), or <u2 holding bfloat16 bits with --type bf16; shapes [L, d], [H, L, d], [B, H, L, "
      "d], K and V with fewer heads than Q for grouped-query attention): O printed one query "
      "row per line (heads after one another), written with --out, or every implementation "
      "checked against the exact MPFR reference with --check (exit 1 when one that states a "
      "bound is beyond it)");
  options->query_option =
      app->add_option("--query", options->query, "The query, one number (may be negative)");
  CLI::Option* keys = app->add_option(
      "--keys", options->keys, "The keys, separated by commas (e.g. 0.1,0.5,0.3,0.9 or -1,2)");
  options->query_option->needs(keys);
  keys->needs(options->query_option);
  options->q_option = app->add_option("--q", options->q, "Q, an .npy file [.., L, d]");
  CLI::Option* k = app->add_option("--k", options->k, "K, an .npy file [.., S, d]");
  CLI::Option* v = app->add_option("--v", options->v, "V, an .npy file [.., S, d_v]");
  for (CLI::Option* file : {options->q_option, k, v}) {
    for (CLI::Option* other : {options->q_option, k, v})
      if (other != file) file->needs(other);
    file->excludes(options->query_option);
    file->excludes(keys);
  }
  CLI::Option* impl =
      app->add_option("--impl", options->impl,
                      "Implementation: of `softlab list` for the seed example (default stable); of "
                      "the attention registry with --q (default flash; NAME@ISA forces an "
                      "instruction set of a vectorized one, e.g. materialized:fast@sse2)");
  app->add_option("--type", options->type,
                  "Element type: " + join(type_tokens()) +
                      " for the seed example (default double); float, f16 or bf16 storage with "
                      "--q (default: the files' dtype, <f8 as float)");
  app->add_option("--format", options->format,
                  "Output: dec (shortest round-trip decimal) or hex (printf's %a; not for bin50, "
                  "bin100)")
      ->capture_default_str();
  CLI::Option* all = app->add_flag(
      "--all", options->all,
      "Seed example: every implementation and type of the registry, one row each (ignores "
      "--impl, --type; skips types --format cannot print)");
  all->needs(options->query_option);
  std::vector<CLI::Option*> file_only{
      app->add_option("--scale", options->scale,
                      "With --q: the logits' scale (default 1/sqrt(d)); any finite non-zero S"),
      app->add_option("--causal", options->causal,
                      "With --q: query row r keeps the keys j <= r + OFFSET (0: square causal; "
                      "S - L: the last L positions of S)"),
      app->add_option("--mask", options->mask,
                      "With --q: an .npy mask, additive (<f4, <f8, <f2; -inf leaves the key out) "
                      "or keep (|b1), [L, S] or one per query head ([H, L, S], [B, H, L, S])"),
      options->threads_option =
          app->add_option("--threads", options->threads,
                          "With --q: threads the rows are split across (at least 1; default: "
                          "SOFTLAB_THREADS, else every CPU); the same bits for any count")
              ->check(whole_number()),
  };
  CLI::Option* out = app->add_option(
      "--out", options->out,
      "With --q: write O to this .npy file (Q's shape with d_v last; <f4, <f2, or <u2 holding "
      "bf16 bits) instead of printing it");
  CLI::Option* check = app->add_flag(
      "--check", options->check,
      "With --q: run every attention implementation (each instruction set the CPU has) and "
      "peer, compare with the exact MPFR rows, print a table (max componentwise error in u, "
      "error/bound ratio, NaN count, verdict); exit 1 if one that states a bound is beyond it");
  CLI::Option* rows =
      app->add_option("--rows", options->rows,
                      "With --check: query rows checked per head, evenly spaced (the "
                      "first and the last included), or all")
          ->capture_default_str();
  file_only.push_back(out);
  file_only.push_back(check);
  file_only.push_back(rows);
  for (CLI::Option* o : file_only) o->needs(options->q_option);
  check->excludes(out);
  check->excludes(impl);
  rows->needs(check);
  return {app,
          [options](context& ctx) { run_attention(ctx, *options); },
          {"--query", "--keys", "--scale", "--causal"}};
}

}  // namespace softlab::cli
