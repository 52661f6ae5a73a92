// cli/attention_check.cpp: `softlab attention --check` (see attention_check.hpp).
#include "attention_check.hpp"

#include "table.hpp"

#include <softlab/attention_registry.hpp>
#include <softlab_accuracy/metrics.hpp>
#include <softlab_accuracy/study.hpp>
#include <softlab_reference/attention.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace softlab::cli {

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

/// `count` rows of q_len evenly spaced, the first and the last included (every row when
/// count is 0 or at least q_len): row i is floor(i (q_len - 1) / (count - 1)).
std::vector<std::size_t> checked_rows(std::size_t q_len, std::size_t count) {
  std::vector<std::size_t> rows;
  if (count == 0 || count >= q_len) {
    for (std::size_t r = 0; r < q_len; ++r) rows.push_back(r);
  } else if (count == 1) {
    rows.push_back(q_len - 1);
  } else {
    for (std::size_t i = 0; i < count; ++i) rows.push_back(i * (q_len - 1) / (count - 1));
  }
  return rows;
}

/// One implementation at one instruction set, and its output at the checked rows.
template <class T>
struct variant {
  const attention_kernel<T>* kernel = nullptr;
  std::string isa_label = "-";
  std::optional<isa> which;
  std::string error;            ///< what it threw, if it did
  std::vector<double> checked;  ///< O at the checked rows, row after row
  std::size_t nan = 0;          ///< NaN outputs over all of O
};

/// One variant's measures on one checked row.
struct row_measure {
  double max_u = 0;      ///< the largest componentwise error, in u
  double max_ratio = 0;  ///< the largest error / allowed (contract only)
  double worst_key = -1;
  std::size_t worst_col = 0;
  bool beyond = false;
};

template <class T>
bool is_nan_value(const T& x) {
  return !(x == x);
}

}  // namespace

template <class T>
void check_attention(context& ctx, const attention_problem_files<T>& problem,
                     const attention_options& options, std::size_t rows_per_head) {
  const attention_shape& shape = problem.shape;
  const double u = std::ldexp(1.0, -std::numeric_limits<T>::digits);
  const std::vector<std::size_t> rows = checked_rows(shape.q_len, rows_per_head);
  const std::size_t samples = rows.size() * shape.q_heads;  // sample s: head s / rows, row
  const auto head_of = [&](std::size_t s) { return s / rows.size(); };
  const auto row_of = [&](std::size_t s) { return rows[s % rows.size()]; };

  // Run every variant once; keep O at the checked rows.
  std::vector<variant<T>> variants;
  const accuracy::isa_guard restore_isa;
  std::vector<T> o(shape.q_heads * shape.q_len * shape.d_v);
  const heads_view<T> o_view = heads_of(o, shape.q_heads, shape.q_len, shape.d_v);
  for (const attention_kernel<T>& k : ctx.attention_registry.kernels<T>()) {
    std::vector<variant<T>> of_kernel;
    for (const isa which : available_isas())
      if ((k.isas & isa_bit(which)) != 0)
        of_kernel.push_back({&k, std::string(isa_name(which)), which, {}, {}, 0});
    if (of_kernel.empty()) of_kernel.push_back({&k, "-", std::nullopt, {}, {}, 0});
    for (variant<T>& v : of_kernel) {
      if (v.which) force_isa(*v.which);
      std::fill(o.begin(), o.end(), T(0.0f));
      try {
        k.attention(problem.q_view(), problem.k_view(), problem.v_view(), o_view, options);
      } catch (const std::invalid_argument& e) {
        if (k.meets_contract) throw;  // every softlab entry checks alike: the problem is wrong
        v.error = std::string("error: ") + e.what();  // a peer that does not take these options
      } catch (const std::exception& e) {
        v.error = std::string("error: ") + e.what();
      }
      if (!v.error.empty()) {
        variants.push_back(std::move(v));
        continue;
      }
      for (const T& x : o) v.nan += is_nan_value(x) ? 1 : 0;
      for (std::size_t s = 0; s < samples; ++s)
        for (std::size_t c = 0; c < shape.d_v; ++c)
          v.checked.push_back(double(*(o_view.row(head_of(s), row_of(s)) + c)));
      variants.push_back(std::move(v));
    }
  }

  // The exact rows, in parallel; each row measured against every variant.
  const reference::attention_inputs<T> inputs{problem.q_view(), problem.k_view(), problem.v_view(),
                                              options};
  std::vector<std::vector<row_measure>> measures(samples,
                                                 std::vector<row_measure>(variants.size()));
  accuracy::worker_pool pool = accuracy::make_reference_pool(0);
  pool.run(samples, [&](std::size_t s) {
    const reference::exact_attention_row e =
        reference::exact_attention_row_of(inputs, head_of(s), row_of(s));
    for (std::size_t i = 0; i < variants.size(); ++i) {
      const variant<T>& v = variants[i];
      if (!v.error.empty()) continue;
      const bool judged = v.kernel->meets_contract && v.kernel->logit_error != nullptr;
      std::optional<reference::attention_row_allowance> allowance;
      if (judged && e.any_kept)
        allowance = reference::attention_allowance(*v.kernel, e, shape.d, shape.kv_len);
      row_measure& m = measures[s][i];
      for (std::size_t c = 0; c < shape.d_v; ++c) {
        const double computed = v.checked[s * shape.d_v + c];
        double error = 0, componentwise = 0, allowed = 0;
        if (!e.any_kept) {  // O = 0 exactly, nothing allowed
          error = std::isnan(computed) ? infinity : std::abs(computed);
          componentwise = error > 0 ? infinity : 0;
        } else {
          const reference::attention_element_error r =
              reference::attention_error_at(e, c, computed);
          error = r.error;
          componentwise = r.componentwise;
          if (allowance) allowed = reference::attention_allowed_at(*allowance, e, c);
        }
        m.max_u = std::max(m.max_u, componentwise / u);
        double key = error;
        if (judged) {
          const double ratio = error == 0 ? 0 : allowed > 0 ? error / allowed : infinity;
          if (error > 0 && !(error <= allowed)) m.beyond = true;
          m.max_ratio = std::max(m.max_ratio, ratio);
          key = ratio;
        }
        if (key > m.worst_key) {
          m.worst_key = key;
          m.worst_col = c;
        }
      }
    }
  });

  std::vector<std::vector<std::string>> table{{"implementation", "isa", "type", "max_error_u",
                                               "max_ratio", "nan", "verdict",
                                               "worst_head/row/col"}};
  const std::string type(type_token_v<T>);
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const variant<T>& v = variants[i];
    const std::string name(v.kernel->facts.name);
    const bool judged = v.kernel->meets_contract && v.kernel->logit_error != nullptr;
    if (!v.error.empty()) {
      table.push_back({name, v.isa_label, type, "-", "-", "-", v.error, "-"});
      if (v.kernel->meets_contract) ctx.status = 1;
      continue;
    }
    row_measure total;
    std::size_t worst_sample = 0;
    for (std::size_t s = 0; s < samples; ++s) {
      const row_measure& m = measures[s][i];
      total.max_u = std::max(total.max_u, m.max_u);
      total.max_ratio = std::max(total.max_ratio, m.max_ratio);
      total.beyond = total.beyond || m.beyond;
      if (m.worst_key > total.worst_key) {  // the first of equals: the same for any pool
        total.worst_key = m.worst_key;
        total.worst_col = m.worst_col;
        worst_sample = s;
      }
    }
    if (judged && total.beyond) ctx.status = 1;
    const std::string worst = samples == 0 ? "-"
                                           : std::to_string(head_of(worst_sample)) + "/" +
                                                 std::to_string(row_of(worst_sample)) + "/" +
                                                 std::to_string(total.worst_col);
    table.push_back({name, v.isa_label, type, accuracy::format_metric(total.max_u),
                     judged ? accuracy::format_metric(total.max_ratio) : "no bound",
                     std::to_string(v.nan),
                     !judged        ? "not judged"
                     : total.beyond ? "BEYOND BOUND"
                                    : "within bound",
                     worst});
  }
  // Names registered for another storage type only (a peer without f16, say).
  for_each_type(attention_element_types{}, [&]<class U>() {
    for (const attention_kernel<U>& k : ctx.attention_registry.kernels<U>()) {
      const std::string name(k.facts.name);
      if (ctx.attention_registry.find<T>(k.facts.name) != nullptr ||
          std::any_of(table.begin(), table.end(), [&](const auto& row) { return row[0] == name; }))
        continue;
      table.push_back({name, "-", type, "-", "-", "-", "unsupported", "-"});
    }
  });
  ctx.out += format_table(table);
  const std::string heads =
      std::to_string(shape.q_heads) + (shape.q_heads == 1 ? " head" : " heads");
  if (rows.size() == shape.q_len)
    ctx.out += "checked all " + std::to_string(shape.q_len) + " query rows of " + heads + "\n";
  else
    ctx.out += "checked " + std::to_string(rows.size()) + " of " + std::to_string(shape.q_len) +
               " query rows per head (" + heads +
               "), evenly spaced, the first and the last included (--rows all: every row)\n";
  ctx.out += "error componentwise against sum_j p_j |v_jc| of the exact (MPFR) rows, in u = 2^-" +
             std::to_string(std::numeric_limits<T>::digits) + " (" + type +
             "); ratio: error / the implementation's stated bound\n";
}

template void check_attention<float>(context&, const attention_problem_files<float>&,
                                     const attention_options&, std::size_t);
template void check_attention<float16>(context&, const attention_problem_files<float16>&,
                                       const attention_options&, std::size_t);
template void check_attention<bfloat16>(context&, const attention_problem_files<bfloat16>&,
                                        const attention_options&, std::size_t);

}  // namespace softlab::cli
