// cli/accuracy.cpp: `softlab accuracy`, the accuracy study over the registry (peers included),
// written to DIR/accuracy.csv and DIR/accuracy.json; with --attention, the attention study over
// the attention registry (its peers included), written to DIR/attention.csv and
// DIR/attention.json. Progress on standard error.
#include "command.hpp"
#include "scores.hpp"

#include <softlab/attention_registry.hpp>
#include <softlab_accuracy/attention_study.hpp>
#include <softlab_accuracy/output.hpp>
#include <softlab_accuracy/study.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace softlab::cli {

namespace {

struct accuracy_options {
  std::string out = "report/data";
  bool full = false;
  std::uint64_t seed = accuracy::default_seed;
  std::vector<std::string> families;
  std::vector<std::string> implementations;
  std::vector<std::string> types;
  std::vector<std::size_t> sizes;
  unsigned reference_threads = 0;
  bool attention = false;
};

/// The study's options from the command's (--n only where the study has sizes), checked
/// against the registry before minutes of work: a bad name is a usage error.
template <class Study, class Registry>
Study study_options_of(const accuracy_options& options, const Registry& reg) {
  Study study;
  study.seed = options.seed;
  study.full = options.full;
  study.families = options.families;
  study.implementations = options.implementations;
  study.types = options.types;
  if constexpr (requires { study.sizes; }) study.sizes = options.sizes;
  study.threads = options.reference_threads;
  try {
    accuracy::validate(study, reg);
  } catch (const std::invalid_argument& e) {
    throw input_error(e.what());
  }
  return study;
}

/// "N cells in S s (R s of it the MPFR reference)": the cells measured, not those in "errors".
template <class Result>
std::string summary_line(const Result& result) {
  std::size_t cells = 0;
  for (const auto& cell : result.cells) cells += cell.metrics.error.empty() ? 1 : 0;
  char summary[128];
  std::snprintf(summary, sizeof summary, "%zu cells in %.1f s (%.1f s of it the MPFR reference)\n",
                cells, result.elapsed_seconds, result.reference_seconds);
  return summary;
}

/// --attention: the attention study, its files, and the summary line.
void run_attention_accuracy(context& ctx, const accuracy_options& options) {
  if (!options.sizes.empty())
    throw input_error("--n is the softmax study's; the attention families have their own shapes");
  const attention_registry& reg = ctx.attention_registry;  // the peers in it when built
  const auto study = study_options_of<accuracy::attention_study_options>(options, reg);
  const std::filesystem::path directory(options.out);
  accuracy::ensure_directory(directory);

  const accuracy::attention_study_result result =
      accuracy::run_attention_study(reg, study, std::cerr);
  const accuracy::run_meta meta =
      accuracy::collect_attention_meta(reg, study, result, ctx.command_line);
  const std::filesystem::path csv = directory / "attention.csv";
  const std::filesystem::path json = directory / "attention.json";
  accuracy::write_file_atomically(csv, accuracy::attention_csv(result));
  accuracy::write_file_atomically(json, accuracy::attention_json(result, meta));
  ctx.out += csv.string() + "\n" + json.string() + "\n" + summary_line(result);
}

void run_accuracy(context& ctx, const accuracy_options& options) {
  if (options.attention) return run_attention_accuracy(ctx, options);
  const auto study = study_options_of<accuracy::study_options>(options, ctx.registry);
  // Before minutes of work: a directory that cannot be made fails now (exit status 1).
  const std::filesystem::path directory(options.out);
  accuracy::ensure_directory(directory);

  const accuracy::study_result result = accuracy::run_study(ctx.registry, study, std::cerr);
  const accuracy::run_meta meta =
      accuracy::collect_meta(ctx.registry, study, result, ctx.command_line);
  const std::filesystem::path csv = directory / "accuracy.csv";
  const std::filesystem::path json = directory / "accuracy.json";
  const std::filesystem::path elements = directory / "accuracy_elements.csv";
  accuracy::write_file_atomically(csv, accuracy::study_csv(result));
  accuracy::write_file_atomically(elements, accuracy::elements_csv(result));
  accuracy::write_file_atomically(json, accuracy::study_json(result, meta));

  ctx.out +=
      csv.string() + "\n" + json.string() + "\n" + elements.string() + "\n" + summary_line(result);
}

}  // namespace

command add_accuracy_command(CLI::App& root) {
  auto options = std::make_shared<accuracy_options>();
  CLI::App* app = root.add_subcommand(
      "accuracy",
      "The accuracy study: every implementation (peers included), type and instruction set "
      "against an exact MPFR reference on families of inputs; writes DIR/accuracy.csv and "
      "DIR/accuracy.json, progress on standard error");
  app->add_option("--out", options->out, "Output directory DIR")->capture_default_str();
  app->add_flag("--full", options->full,
                "More sizes: 1 to 10^6 for every family, 2^24 for large_n (much longer)");
  app->add_option("--seed", options->seed, "Base seed of every input family")
      ->capture_default_str();
  app->add_option("--family", options->families, "Only these families (repeatable)");
  app->add_option("--impl", options->implementations,
                  "Only these implementations (repeatable; see `softlab list`)");
  app->add_option("--type", options->types, "Only these element types (repeatable)");
  app->add_option("--n", options->sizes,
                  "Only these sizes, for every family (repeatable; still capped for the wide "
                  "types)");
  app->add_option("--reference-threads", options->reference_threads,
                  "Threads of the study's worker pool, which computes the MPFR references and "
                  "runs the kernels on them, several vectors at once (default: one per core)");
  app->add_flag("--attention", options->attention,
                "The attention study instead: every attention implementation (peers included) "
                "and storage type on attention problems (gaussian, outlier features, sink, long "
                "causal context, decode, masks), query rows against the exact MPFR row; writes "
                "DIR/attention.csv and DIR/attention.json. --family, --impl and --type then "
                "name attention families, implementations and types; --full measures more rows");
  return {app, [options](context& ctx) { run_accuracy(ctx, *options); }, {}};
}

}  // namespace softlab::cli
