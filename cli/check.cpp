// cli/check.cpp: `softlab check`, every registered implementation on the user's scores against
// the exact MPFR softmax, one row each. An implementation registered for other types but not
// this one (a peer without a bf16 softmax) gets a row saying "unsupported".
//
// With --scale, --mask, --keep, --causal or --rows R > 1 (cli/score_options.hpp), every
// implementation runs through the registry's rows entry with those softmax_options
// (softlab::softmax_rows(k, ...): a peer gets the scores formed in its type, then its softmax),
// against the exact softmax of z = scale x + mask per row, formed in MPFR from the scale and
// mask as stored in the compute type (float for bf16 and f16), and the table has its own
// columns: implementation, isa, max_ulp, not_correctly_rounded, nan, wrong_zero, worst_index
// (from 1, row-major), worst_x, worst_y, worst_exact.
#include "command.hpp"
#include "score_options.hpp"
#include "scores.hpp"
#include "selection.hpp"
#include "table.hpp"

#include <softlab/detail/scores.hpp>
#include <softlab/kernel_rows.hpp>
#include <softlab_accuracy/metrics.hpp>
#include <softlab_accuracy/study.hpp>
#include <softlab_reference/reference.hpp>

#include <cstddef>
#include <exception>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace softlab::cli {

namespace {

struct check_options {
  std::string file;
  std::string type = "float";
  std::string format = "dec";
  unsigned reference_threads = 0;
  score_option_values scores;
};

std::string count(std::size_t n) { return std::to_string(n); }

/// A row of the table for an implementation registered, but not for this type.
std::vector<std::string> unsupported_row(std::string_view name, std::size_t columns) {
  std::vector<std::string> row{std::string(name), "-", "unsupported"};
  row.resize(columns, "-");
  return row;
}

/// The exact scores z_i = scale x_i + mask_i of row r (-inf where left out), from the scale
/// and mask as stored in the compute type C, held in MPFR at twice T's reference precision.
template <class T, class C>
std::vector<reference::exact> exact_scores(std::span<const T> x, const softmax_options& options,
                                           std::size_t row, std::size_t cols) {
  constexpr mpfr_prec_t bits = 2 * reference::reference_bits<T>();
  const softlab::detail::row_transform<C> t =
      softlab::detail::transform_of_row<C>(options, row, cols);
  reference::exact scale(bits), term(bits);
  reference::assign(scale.get(), t.scale);
  std::vector<reference::exact> z(cols, reference::exact(bits));
  for (std::size_t i = 0; i < cols; ++i) {
    mpfr_ptr out = z[i].get();
    const bool left_out =
        i >= t.kept || (t.mask.which() == score_mask::kind::keep && !t.mask.keep()[i]);
    if (left_out) {
      mpfr_set_inf(out, -1);
      continue;
    }
    reference::assign(out, C(x[row * cols + i]));
    if (t.scaled) mpfr_mul(out, out, scale.get(), MPFR_RNDN);
    if (t.mask.which() == score_mask::kind::additive_double) {
      reference::assign(term.get(), C(t.mask.additive_double()[i]));
      mpfr_add(out, out, term.get(), MPFR_RNDN);
    } else if (t.mask.which() == score_mask::kind::additive_float) {
      reference::assign(term.get(), C(t.mask.additive_float()[i]));
      mpfr_add(out, out, term.get(), MPFR_RNDN);
    }
  }
  return z;
}

/// check with softmax_options: every implementation through its rows entry, against the exact
/// softmax of each row's z.
template <class T>
std::vector<std::vector<std::string>> check_with_options(const registry& reg,
                                                         const std::vector<T>& x, std::size_t rows,
                                                         std::size_t cols,
                                                         const softmax_options& options,
                                                         number_format format) {
  using C = std::conditional_t<is_storage_float<T>, float, T>;
  std::vector<reference::exact> g;
  g.reserve(x.size());
  for (std::size_t r = 0; r < rows; ++r)
    for (reference::exact& e :
         reference::exact_softmax_of_values<T>(exact_scores<T, C>(x, options, r, cols)))
      g.push_back(std::move(e));
  std::vector<T> rounded(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) rounded[i] = reference::round_to<T>(g[i].get());

  std::vector<std::vector<std::string>> table{{"implementation", "isa", "max_ulp",
                                               "not_correctly_rounded", "nan", "wrong_zero",
                                               "worst_index", "worst_x", "worst_y", "worst_exact"}};
  const std::size_t columns = table[0].size();
  const accuracy::isa_guard restore_isa;
  for (const std::string_view name : reg.names()) {
    const kernel<T>* k = reg.find<T>(name);
    if (k == nullptr) {
      table.push_back(unsupported_row(name, columns));
      continue;
    }
    for (const auto& [isa_label, which] : accuracy::kernel_isas(*k)) {
      if (which) force_isa(*which);
      std::vector<T> y(x.size());
      try {
        softmax_rows<T>(*k, x, rows, cols, cols, y, cols, options);
      } catch (const std::invalid_argument&) {
        throw;  // the options are wrong for every implementation: the tool reports it
      } catch (const std::exception& e) {
        table.push_back({std::string(name), isa_label, std::string("error: ") + e.what()});
        continue;
      }
      double max_ulp = 0;
      std::size_t worst = 0, not_rounded = 0, nan = 0, wrong_zero = 0;
      for (std::size_t i = 0; i < y.size(); ++i) {
        const bool y_nan = !(y[i] == y[i]);
        const bool g_nan = !(rounded[i] == rounded[i]);
        if (y_nan) ++nan;
        if (y_nan != g_nan || (!y_nan && !(y[i] == rounded[i]))) ++not_rounded;
        if (y[i] == T(0) && !(rounded[i] == T(0))) ++wrong_zero;
        const double ulp = reference::ulp_error<T>(y[i], g[i]);
        if (ulp > max_ulp) {
          max_ulp = ulp;
          worst = i;
        }
      }
      table.push_back(
          {std::string(name), isa_label, accuracy::format_metric(max_ulp), count(not_rounded),
           count(nan), count(wrong_zero), count(worst + 1),
           accuracy::format_value(x[worst], format), accuracy::format_value(y[worst], format),
           accuracy::format_exact(g[worst].get(), std::numeric_limits<T>::digits, format)});
    }
  }
  return table;
}

void run_check(context& ctx, const check_options& options) {
  const number_format format = parse_number_format(options.format);
  with_type(options.type, [&]<class T>() {
    require_format<T>(format);
    const std::string text = options.file.empty() ? read_all(ctx.in) : read_text_file(options.file);
    const scores<T> input = parse_scores<T>(text, options.file);
    std::size_t cols = 0;
    const std::unique_ptr<loaded_score_options> loaded =
        load_score_options(options.scores, input.values.size(), cols);
    if (loaded->options.transforms_scores() || options.scores.rows > 1) {
      ctx.out += format_table(check_with_options<T>(ctx.registry, input.values, options.scores.rows,
                                                    cols, loaded->options, format));
      return;
    }

    accuracy::worker_pool pool = accuracy::make_reference_pool(options.reference_threads);
    const std::vector<accuracy::vector_reference<T>> refs =
        accuracy::compute_references<T>({input.values}, pool);
    const accuracy::isa_guard restore_isa;
    std::vector<std::vector<std::string>> rows{
        {"implementation", "isa", "max_ulp", "max_ulp_normal", "normwise", "nan", "wrong_zero",
         "worst_index", "worst_x", "worst_y", "worst_exact"}};
    for (const std::string_view name : ctx.registry.names()) {
      const kernel<T>* found = ctx.registry.find<T>(name);
      if (found == nullptr) {
        rows.push_back(unsupported_row(name, rows[0].size()));
        continue;
      }
      const kernel<T>& k = *found;
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
      "outputs, and the worst element (index from 1, x, y, exact). Implementations registered "
      "without this type print \"unsupported\". With --scale, --mask, --keep, --causal or "
      "--rows, each runs its rows entry with those options against the exact softmax of "
      "scale * x + mask per row (columns: max_ulp, not_correctly_rounded, nan, wrong_zero, "
      "worst element)");
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
  std::vector<std::string> numeric = add_score_options(*app, options->scores);
  return {app, [options](context& ctx) { run_check(ctx, *options); }, std::move(numeric)};
}

}  // namespace softlab::cli
