// cli/check.cpp: `softlab check`, every registered implementation on the user's scores against
// the exact MPFR softmax, one row each.
#include "command.hpp"
#include "scores.hpp"
#include "selection.hpp"
#include "table.hpp"

#include <softlab_accuracy/metrics.hpp>
#include <softlab_accuracy/study.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace softlab::cli {

namespace {

struct check_options {
  std::string file;
  std::string type = "float";
  std::string format = "dec";
  unsigned reference_threads = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw input_error("cannot read " + path + ": " + std::strerror(errno));
  return text.str();
}

std::string count(std::size_t n) { return std::to_string(n); }

void run_check(context& ctx, const check_options& options) {
  const number_format format = parse_number_format(options.format);
  with_type(options.type, [&]<class T>() {
    require_format<T>(format);
    const std::string text = options.file.empty() ? read_all(ctx.in) : read_file(options.file);
    const scores<T> input = parse_scores<T>(text, options.file);

    accuracy::worker_pool pool = accuracy::make_reference_pool(options.reference_threads);
    const std::vector<accuracy::vector_reference<T>> refs =
        accuracy::compute_references<T>({input.values}, pool);
    const accuracy::isa_guard restore_isa;
    std::vector<std::vector<std::string>> rows{
        {"implementation", "isa", "max_ulp", "max_ulp_normal", "normwise", "nan", "wrong_zero",
         "worst_index", "worst_x", "worst_y", "worst_exact"}};
    for (const kernel<T>& k : ctx.registry.kernels<T>())
      for (const auto& [isa_label, which] : accuracy::kernel_isas(k)) {
        if (which) force_isa(*which);
        const accuracy::cell_metrics m = accuracy::evaluate<T>(k, refs, pool, format);
        if (!m.error.empty()) {
          rows.push_back({std::string(k.facts.name), isa_label, "error: " + m.error});
          continue;
        }
        rows.push_back({std::string(k.facts.name), isa_label, accuracy::format_metric(m.max_ulp),
                        accuracy::format_metric(m.max_ulp_normal),
                        accuracy::format_metric(m.normwise_error), count(m.nan_count),
                        count(m.wrong_zero_count), count(m.worst_index + 1), m.worst_x, m.worst_y,
                        m.worst_exact});
      }
    ctx.out += format_table(rows);
  });
}

}  // namespace

command add_check_command(CLI::App& root) {
  auto options = std::make_shared<check_options>();
  CLI::App* app = root.add_subcommand(
      "check",
      "Run every implementation (peers included) on scores from FILE or standard input and "
      "compare with the exact softmax (MPFR): max ULP error (all results; results >= the "
      "smallest normal), normwise error (units of 2^-p times max g), NaN and wrongly-zero "
      "outputs, and the worst element (index from 1, x, y, exact)");
  app->add_option("FILE", options->file, "Scores (default: standard input)");
  app->add_option("--type", options->type, "Element type: " + join(type_tokens()))
      ->capture_default_str();
  app->add_option("--format", options->format,
                  "Numbers: dec (shortest round-trip decimal) or hex (printf's %a; not for bin50, "
                  "bin100)")
      ->capture_default_str();
  app->add_option("--reference-threads", options->reference_threads,
                  "Threads of the worker pool that computes the MPFR reference and runs the "
                  "checks (default: one per core)");
  return {app, [options](context& ctx) { run_check(ctx, *options); }, {}};
}

}  // namespace softlab::cli
