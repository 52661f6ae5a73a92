// cli/blanchard.cpp: `softlab blanchard`, the reproduction of Blanchard, Higham & Higham (2021)
// (softlab_accuracy/blanchard.hpp): DIR/blanchard.csv (per vector) and DIR/blanchard_summary.csv.
#include "command.hpp"
#include "scores.hpp"

#include <softlab_accuracy/blanchard.hpp>
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

struct blanchard_cli_options {
  std::string data = SOFTLAB_BLANCHARD_DATA;
  std::string out = "report/data";
  std::uint64_t seed = accuracy::default_seed;
  std::size_t family_vectors = 250;
  std::size_t max_vectors = 0;
  std::vector<std::string> types;
};

void run_blanchard(context& ctx, const blanchard_cli_options& options) {
  for (const std::string& type : options.types)
    if (type != "fp16sim" && type != "bf16sim" && type != "float" && type != "double")
      throw input_error("unknown type \"" + type + "\"; valid: fp16sim, bf16sim, float, double");
  std::vector<std::vector<float>> data;
  try {
    data = accuracy::read_logit_vectors(options.data);
  } catch (const std::invalid_argument& e) {
    throw input_error(e.what());
  }
  const std::filesystem::path directory(options.out);
  accuracy::ensure_directory(directory);
  accuracy::blanchard_options run;
  run.seed = options.seed;
  run.family_vectors = options.family_vectors;
  run.types = options.types;
  run.max_data_vectors = options.max_vectors;
  const accuracy::blanchard_result result =
      accuracy::run_blanchard(ctx.registry, data, run, std::cerr);
  const std::filesystem::path rows = directory / "blanchard.csv";
  const std::filesystem::path summary = directory / "blanchard_summary.csv";
  accuracy::write_file_atomically(rows, accuracy::blanchard_csv(result));
  accuracy::write_file_atomically(summary, accuracy::blanchard_summary_csv(result));
  char line[96];
  std::snprintf(line, sizeof line, "%zu measurements in %.1f s\n", result.rows.size(),
                result.elapsed_seconds);
  ctx.out += rows.string() + "\n" + summary.string() + "\n" + line;
}

}  // namespace

command add_blanchard_command(CLI::App& root) {
  auto options = std::make_shared<blanchard_cli_options>();
  CLI::App* app = root.add_subcommand(
      "blanchard",
      "Reproduces Blanchard, Higham & Higham (2021): their protocol (fp16/bfloat16 simulated, "
      "float32 reference) and the exact MPFR comparison, on their MNIST logits and softlab's "
      "extreme families; writes DIR/blanchard.csv and DIR/blanchard_summary.csv");
  app->add_option("--data", options->data, "Their logit vectors (CSV with a header line)")
      ->capture_default_str();
  app->add_option("--out", options->out, "Output directory DIR")->capture_default_str();
  app->add_option("--seed", options->seed, "Base seed of the extreme families")
      ->capture_default_str();
  app->add_option("--family-vectors", options->family_vectors,
                  "Vectors per extreme family (0: their data only)")
      ->capture_default_str();
  app->add_option("--max-vectors", options->max_vectors,
                  "Use only the first N of their vectors (0: all)")
      ->capture_default_str();
  app->add_option("--type", options->types,
                  "Only these types (repeatable): fp16sim, bf16sim, float, double");
  return {app, [options](context& ctx) { run_blanchard(ctx, *options); }, {}};
}

}  // namespace softlab::cli
