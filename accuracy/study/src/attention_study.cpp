// attention_study.cpp: the attention study: families, the loop over types, families, kernels
// and instruction sets, its metrics, and its files.
#include <softlab_accuracy/attention_study.hpp>

#include <softlab/simd/isa.hpp>
#include <softlab_accuracy/families.hpp>
#include <softlab_accuracy/format.hpp>
#include <softlab_accuracy/metrics.hpp>
#include <softlab_accuracy/output.hpp>
#include <softlab_accuracy/parallel.hpp>
#include <softlab_accuracy/study.hpp>
#include <softlab_reference/attention.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <ostream>
#include <set>
#include <stdexcept>

namespace softlab::accuracy {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

bool selected(const std::vector<std::string>& chosen, std::string_view name) {
  return chosen.empty() || std::find(chosen.begin(), chosen.end(), name) != chosen.end();
}

std::string join(const std::vector<std::string>& items) {
  std::string result;
  for (const std::string& s : items) result += (result.empty() ? "" : ", ") + s;
  return result;
}

/// The fully masked rows of the mask families: 0 and 5 of every head.
bool fully_masked_row(std::size_t r) { return r == 0 || r == 5; }

/// One problem of a family in T: its tensors (packed, [H, L, d]) and mask, drawn in double
/// from one stream in a fixed order, so every type sees the same draws (each rounded to T).
template <class T>
struct drawn_problem {
  std::vector<T> q, k, v;
  std::vector<float> additive;
  std::unique_ptr<bool[]> keep;
  std::size_t mask_size = 0;
  std::optional<std::ptrdiff_t> causal;

  heads_view<const T> q_view(const attention_family& f) const {
    return heads_of(std::span<const T>(q), f.q_heads, f.q_len, f.d);
  }
  heads_view<const T> k_view(const attention_family& f) const {
    return heads_of(std::span<const T>(k), f.kv_heads, f.kv_len, f.d);
  }
  heads_view<const T> v_view(const attention_family& f) const {
    return heads_of(std::span<const T>(v), f.kv_heads, f.kv_len, f.d);
  }
  attention_options options() const {
    attention_options o;
    o.causal = causal;
    if (!additive.empty()) o.mask = std::span<const float>(additive);
    if (keep) o.mask = std::span<const bool>(keep.get(), mask_size);
    return o;
  }
};

template <class T>
drawn_problem<T> draw_problem(const attention_family& f, std::uint64_t seed) {
  reference::seeded_random rng(seed);
  drawn_problem<T> p;
  p.causal = f.causal;
  auto normal = [&] { return detail::gaussian(rng); };
  p.q.resize(f.q_heads * f.q_len * f.d);
  p.k.resize(f.kv_heads * f.kv_len * f.d);
  p.v.resize(f.kv_heads * f.kv_len * f.d);
  // Outlier channels: 10x in Q and K, so their products are 100x the others' (logits of
  // standard deviation about 12.5 at d = 128 instead of 1).
  constexpr std::size_t outliers = 2;
  constexpr double outlier_factor = 10;
  auto factor = [&](std::size_t i) {
    return f.draw == attention_draw::outlier_features && i < outliers ? outlier_factor : 1.0;
  };
  for (std::size_t e = 0; e < p.q.size(); ++e) p.q[e] = T(float(normal() * factor(e % f.d)));
  for (std::size_t e = 0; e < p.k.size(); ++e) p.k[e] = T(float(normal() * factor(e % f.d)));
  for (T& x : p.v) x = T(float(normal()));
  if (f.draw == attention_draw::attention_sink) {
    // Every query has 4 in channel 0; key 0 of every head is 30 sqrt(d) / 4 there and 0
    // elsewhere: its logit is 30 (as rounded), the others' about N(0, 1.1).
    const double sink = 30 * std::sqrt(double(f.d)) / 4;
    for (std::size_t row = 0; row < f.q_heads * f.q_len; ++row) p.q[row * f.d] = T(4.0f);
    for (std::size_t h = 0; h < f.kv_heads; ++h)
      for (std::size_t i = 0; i < f.d; ++i)
        p.k[h * f.kv_len * f.d + i] = T(float(i == 0 ? sink : 0.0));
  }
  if (f.draw == attention_draw::keep_mask) {
    p.mask_size = f.q_heads * f.q_len * f.kv_len;
    p.keep = std::make_unique<bool[]>(p.mask_size);
    for (std::size_t i = 0; i < p.mask_size; ++i)
      p.keep[i] = !fully_masked_row(i / f.kv_len % f.q_len) && rng.below(2) == 0;
  }
  if (f.draw == attention_draw::additive_mask) {
    p.mask_size = f.q_len * f.kv_len;
    p.additive.resize(p.mask_size);
    for (std::size_t i = 0; i < p.mask_size; ++i) {
      const bool masked = fully_masked_row(i / f.kv_len) || rng.below(4) == 0;
      const double value = rng.uniform(-6, 0);
      p.additive[i] = masked ? -std::numeric_limits<float>::infinity() : float(value);
    }
  }
  return p;
}

/// What one kernel scored on one sampled row.
struct row_score {
  std::vector<double> componentwise_u, ulps;
  double max_ratio = 0;
  std::size_t over_bound = 0, nan = 0;
  bool masked = false, masked_zero = false, masked_nan = false;
  double lse_error = 0, lse_ratio = 0;
  double worst = -1;
  std::size_t worst_column = 0;
  double worst_computed = 0, worst_exact = 0;
};

double median_of(std::vector<double>& values) {
  if (values.empty()) return 0;
  const auto middle = values.begin() + std::ptrdiff_t(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  if (values.size() % 2 == 1) return *middle;
  const double upper = *middle;
  return (*std::max_element(values.begin(), middle) + upper) / 2;
}

template <class T>
row_score score_row(const attention_kernel<T>& k, const attention_family& f,
                    const reference::exact_attention_row& e, const T* computed, float lse,
                    bool with_lse) {
  constexpr int p = std::numeric_limits<T>::digits;
  const double u = std::ldexp(1.0, -p);
  row_score s;
  reference::exact y(reference::output_bits), diff(reference::output_bits);
  for (std::size_t c = 0; c < f.d; ++c)
    if (std::isnan(double(computed[c])) && !mpfr_nan_p(e.output[c].get())) ++s.nan;
  if (!e.any_kept) {
    s.masked = true;
    s.masked_zero = std::all_of(computed, computed + f.d, [](T x) { return double(x) == 0; });
    s.masked_nan = std::any_of(computed, computed + f.d, [](T x) { return std::isnan(double(x)); });
    return s;
  }
  const bool bounded = k.meets_contract && k.logit_error != nullptr;
  std::optional<reference::attention_row_allowance> allowance;
  if (bounded) allowance = reference::attention_allowance(k, e, f.d, f.kv_len);
  for (std::size_t c = 0; c < f.d; ++c) {
    const reference::attention_element_error m =
        reference::attention_error_at(e, c, double(computed[c]));
    const double in_u = m.componentwise / u;
    s.componentwise_u.push_back(in_u);
    if (in_u > s.worst) {
      s.worst = in_u;
      s.worst_column = c;
      s.worst_computed = m.computed;
      s.worst_exact = m.exact;
    }
    if (allowance) {
      const double allowed = reference::attention_allowed_at(*allowance, e, c);
      if (m.error > allowed) ++s.over_bound;
      const double ratio = allowed > 0   ? m.error / allowed
                           : m.error > 0 ? std::numeric_limits<double>::infinity()
                                         : 0;
      s.max_ratio = std::max(s.max_ratio, ratio);
    }
    // Not a cancellation: the componentwise and the relative error within a factor 2.
    if (e.weighted[c] > 0 && std::abs(m.exact) >= 0.5 * e.weighted[c])
      s.ulps.push_back(
          reference::ulp_error<T>(computed[c], e.output[c].get(), y.get(), diff.get()));
  }
  if (with_lse) {
    s.lse_error = reference::attention_difference(double(lse), e.logsumexp);
    if (allowance)
      s.lse_ratio = allowance->logsumexp_allowed > 0 ? s.lse_error / allowance->logsumexp_allowed
                    : s.lse_error > 0                ? std::numeric_limits<double>::infinity()
                                                     : 0;
  }
  return s;
}

/// The instruction sets a kernel is measured on (as study.hpp's kernel_isas): each available
/// one of its set; "-" for scalar softlab code; "native" for a peer, which dispatches itself.
template <class T>
std::vector<std::pair<std::string, std::optional<isa>>> attention_kernel_isas(
    const attention_kernel<T>& k) {
  std::vector<std::pair<std::string, std::optional<isa>>> result;
  for (const isa which : available_isas())
    if ((k.isas & isa_bit(which)) != 0) result.emplace_back(std::string(isa_name(which)), which);
  if (!result.empty()) return result;
  return {{k.origin == "softlab" ? "-" : "native", std::nullopt}};
}

std::string shape_of(const attention_family& f) {
  return concat("Q ", std::to_string(f.q_heads), "x", std::to_string(f.q_len), "x",
                std::to_string(f.d), ", K/V ", std::to_string(f.kv_heads), "x",
                std::to_string(f.kv_len), "x", std::to_string(f.d));
}

std::string causal_of(const attention_family& f) {
  return f.causal ? std::to_string(*f.causal) : "none";
}

struct progress_state {
  std::size_t done = 0, total = 0;
  clock_type::time_point start;
};

template <class T>
void study_family(const attention_registry& reg, const attention_study_options& options,
                  const attention_family& f, worker_pool& pool, attention_study_result& result,
                  progress_state& state, std::ostream& progress) {
  const std::string type(type_token_v<T>);
  const std::uint64_t seed = family_seed(options.seed, f.name, f.kv_len, 0);
  const drawn_problem<T> problem = draw_problem<T>(f, seed);
  const heads_view<const T> q = problem.q_view(f), k_heads = problem.k_view(f),
                            v = problem.v_view(f);
  const reference::attention_inputs<T> inputs{q, k_heads, v, problem.options()};

  std::vector<std::pair<std::size_t, std::size_t>> rows;  // (head, query row)
  const std::vector<std::size_t> per_head = sampled_query_rows(f, options.full);
  for (std::size_t h = 0; h < f.q_heads; ++h)
    for (const std::size_t r : per_head) rows.emplace_back(h, r);

  const auto reference_start = clock_type::now();
  std::vector<reference::exact_attention_row> exact(rows.size());
  pool.run(rows.size(), [&](std::size_t i) {
    exact[i] = reference::exact_attention_row_of(inputs, rows[i].first, rows[i].second);
  });
  const double reference_time = seconds_since(reference_start);
  result.reference_seconds += reference_time;

  std::size_t cells = 0;
  double cell_time = 0;
  std::vector<T> o(f.q_heads * f.q_len * f.d);
  std::vector<float> lse(f.q_heads * f.q_len);
  for (const attention_kernel<T>& k : reg.kernels<T>()) {
    if (!selected(options.implementations, k.facts.name)) continue;
    for (const auto& [isa_label, which] : attention_kernel_isas(k)) {
      if (which) force_isa(*which);
      attention_cell cell;
      cell.implementation = std::string(k.facts.name);
      cell.origin = std::string(k.origin);
      cell.meets_contract = k.meets_contract;
      cell.softmax = std::string(k.facts.softmax);
      cell.type = type;
      cell.type_precision_bits = std::numeric_limits<T>::digits;
      cell.isa = isa_label;
      cell.family = std::string(f.name);
      cell.family_kind = std::string(f.kind);
      cell.family_description = std::string(f.description);
      cell.q_heads = f.q_heads;
      cell.kv_heads = f.kv_heads;
      cell.q_len = f.q_len;
      cell.kv_len = f.kv_len;
      cell.d = f.d;
      cell.shape = shape_of(f);
      cell.causal = causal_of(f);
      cell.mask = std::string(attention_mask_name(f.draw));
      cell.rows = f.q_heads * f.q_len;
      cell.sampled_rows = rows.size();
      cell.seed = seed;
      attention_cell_metrics& m = cell.metrics;

      // The whole problem, with the logsumexp when the kernel takes it (a peer may not).
      std::fill(o.begin(), o.end(), T(-7.0f));
      std::fill(lse.begin(), lse.end(), -7.0f);
      attention_options run = problem.options();
      run.threads = pool.size();
      run.logsumexp = lse;
      bool with_lse = true;
      const auto start = clock_type::now();
      try {
        try {
          k.attention(q, k_heads, v, heads_of(std::span<T>(o), f.q_heads, f.q_len, f.d), run);
        } catch (const std::exception&) {
          if (k.meets_contract) throw;  // softlab's kernels all take it
          with_lse = false;
          run.logsumexp = {};
          k.attention(q, k_heads, v, heads_of(std::span<T>(o), f.q_heads, f.q_len, f.d), run);
        }
      } catch (const std::exception& e) {
        m.error = e.what();
      }
      m.seconds = seconds_since(start);
      cell_time += m.seconds;
      if (!m.error.empty()) {
        record_warning(
            result.errors,
            concat(cell.implementation, " ", type, " ", isa_label, " ", cell.family, ": ", m.error),
            progress);
        result.cells.push_back(std::move(cell));
        continue;
      }

      std::vector<row_score> scores(rows.size());
      pool.run(rows.size(), [&](std::size_t i) {
        const auto [h, r] = rows[i];
        scores[i] = score_row<T>(k, f, exact[i], o.data() + (h * f.q_len + r) * f.d,
                                 lse[h * f.q_len + r], with_lse);
      });
      std::vector<double> componentwise, ulps;
      double worst = -1;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        const row_score& s = scores[i];
        componentwise.insert(componentwise.end(), s.componentwise_u.begin(),
                             s.componentwise_u.end());
        ulps.insert(ulps.end(), s.ulps.begin(), s.ulps.end());
        for (const double x : s.componentwise_u)
          m.max_componentwise_u = std::max(m.max_componentwise_u, x);
        for (const double x : s.ulps) m.max_ulp = std::max(m.max_ulp, x);
        m.over_bound_count += s.over_bound;
        m.nan_count += s.nan;
        m.masked_rows += s.masked ? 1 : 0;
        m.masked_rows_zero += s.masked_zero ? 1 : 0;
        m.masked_rows_nan += s.masked_nan ? 1 : 0;
        if (k.meets_contract && k.logit_error != nullptr && !s.masked)
          m.max_ratio_to_bound = std::max(m.max_ratio_to_bound.value_or(0), s.max_ratio);
        if (with_lse && !s.masked) {
          m.max_logsumexp_error = std::max(m.max_logsumexp_error.value_or(0), s.lse_error);
          if (k.meets_contract && k.logit_error != nullptr)
            m.max_logsumexp_ratio = std::max(m.max_logsumexp_ratio.value_or(0), s.lse_ratio);
        }
        if (!s.masked && s.worst > worst) {
          worst = s.worst;
          m.worst_head = rows[i].first;
          m.worst_row = rows[i].second;
          m.worst_column = s.worst_column;
          m.worst_computed = format_hex(s.worst_computed);
          m.worst_exact = format_hex(s.worst_exact);
        }
      }
      m.elements = componentwise.size();
      m.ulp_elements = ulps.size();
      m.median_componentwise_u = median_of(componentwise);
      m.median_ulp = median_of(ulps);
      if (k.meets_contract && m.over_bound_count > 0) {
        record_warning(
            result.notes,
            concat("over the stated bound: ", cell.implementation, " ", type, " ", isa_label, " ",
                   cell.family, ": ", std::to_string(m.over_bound_count), " elements"),
            progress);
      }
      result.cells.push_back(std::move(cell));
      ++cells;
    }
  }
  ++state.done;
  char line[256];
  std::snprintf(line, sizeof line,
                "[%3zu/%zu %6.1f s] attention %-5s %-17s %4zu rows, reference %6.2f s, %zu cells "
                "%6.2f s\n",
                state.done, state.total, seconds_since(state.start), type.c_str(),
                std::string(f.name).c_str(), rows.size(), reference_time, cells, cell_time);
  progress << line << std::flush;
}

}  // namespace

std::vector<attention_family> attention_families() {
  using enum attention_draw;
  return {
      {"gaussian_d64", "finite", "Q, K, V standard normal, d = 64, scale 1/sqrt(d); every row", 2,
       2, 64, 256, 64, std::nullopt, gaussian, 0},
      {"gaussian_d128", "finite",
       "Q, K, V standard normal, d = 128; grouped-query: 4 query heads on 2 K/V heads", 4, 2, 16,
       512, 128, std::nullopt, gaussian, 0},
      {"outlier_features", "finite",
       "gaussian d = 128 with channels 0 and 1 of Q and K 10x larger (their products 100x, as "
       "LLM activations' outlier channels): logits of standard deviation about 12.5, not 1",
       2, 2, 16, 512, 128, std::nullopt, outlier_features, 0},
      {"attention_sink", "finite",
       "gaussian d = 128; key 0 aligned with every query (channel 0: q = 4, k_0 = 30 sqrt(d)/4, "
       "its other channels 0): its logit is 30, about 30 above the rest, and takes nearly all "
       "the weight",
       2, 2, 32, 1024, 128, std::nullopt, attention_sink, 0},
      {"long_causal", "masks",
       "the last 128 positions of a 4096-token context (causal offset 3968), gaussian d = 128; "
       "8 rows measured, spread over the 128 with the first and the last",
       1, 1, 128, 4096, 128, std::ptrdiff_t{3968}, gaussian, 8},
      {"decode_32k", "finite",
       "one decoding query per head (causal offset kv_len - 1) over 32768 keys, gaussian "
       "d = 128, 2 query heads on 1 K/V head",
       2, 1, 1, 32768, 128, std::ptrdiff_t{32767}, gaussian, 0},
      {"keep_mask", "masks",
       "gaussian d = 64 with a boolean keep-mask per head: each key kept with probability 1/2, "
       "rows 0 and 5 of each head fully masked (exact O = 0)",
       2, 2, 32, 256, 64, std::nullopt, keep_mask, 0},
      {"additive_mask", "masks",
       "gaussian d = 64 with an additive float mask shared by the heads: -inf with probability "
       "1/4, else uniform [-6, 0]; rows 0 and 5 all -inf (exact O = 0)",
       2, 2, 32, 256, 64, std::nullopt, additive_mask, 0},
  };
}

std::string_view attention_mask_name(attention_draw draw) {
  switch (draw) {
    case attention_draw::keep_mask:
      return "keep";
    case attention_draw::additive_mask:
      return "additive";
    default:
      return "none";
  }
}

std::vector<std::size_t> sampled_query_rows(const attention_family& f, bool full) {
  const std::size_t want = f.sampled_rows == 0 ? f.q_len : f.sampled_rows * (full ? 4 : 1);
  std::vector<std::size_t> rows;
  if (want >= f.q_len || want < 2) {
    for (std::size_t r = 0; r < f.q_len; ++r) rows.push_back(r);
    return rows;
  }
  for (std::size_t i = 0; i < want; ++i) {
    const std::size_t r = i * (f.q_len - 1) / (want - 1);
    if (rows.empty() || rows.back() != r) rows.push_back(r);
  }
  return rows;
}

std::vector<attention_family> families_of(const attention_study_options& options) {
  return options.family_list.empty() ? attention_families() : options.family_list;
}

void validate(const attention_study_options& options, const attention_registry& reg) {
  std::vector<std::string> valid_families;
  for (const attention_family& f : families_of(options)) valid_families.emplace_back(f.name);
  for (const std::string& name : options.families)
    if (std::find(valid_families.begin(), valid_families.end(), name) == valid_families.end())
      throw std::invalid_argument("unknown attention family \"" + name +
                                  "\"; valid: " + join(valid_families));
  std::vector<std::string> valid_names, valid_types;
  for_each_type(attention_element_types{}, [&]<class T>() {
    valid_types.emplace_back(type_token_v<T>);
    for (const attention_kernel<T>& k : reg.kernels<T>())
      if (std::find(valid_names.begin(), valid_names.end(), k.facts.name) == valid_names.end())
        valid_names.emplace_back(k.facts.name);
  });
  for (const std::string& name : options.implementations)
    if (std::find(valid_names.begin(), valid_names.end(), name) == valid_names.end())
      throw std::invalid_argument("unknown attention implementation \"" + name +
                                  "\"; valid: " + join(valid_names));
  for (const std::string& name : options.types)
    if (std::find(valid_types.begin(), valid_types.end(), name) == valid_types.end())
      throw std::invalid_argument("unknown attention type \"" + name +
                                  "\"; valid: " + join(valid_types));
}

attention_study_result run_attention_study(const attention_registry& reg,
                                           const attention_study_options& options,
                                           std::ostream& progress) {
  validate(options, reg);
  const auto start = clock_type::now();
  attention_study_result result;
  for (const attention_family& f : families_of(options))
    if (selected(options.families, f.name)) result.families.push_back(f);
  worker_pool pool = make_reference_pool(options.threads);
  result.threads = pool.size();
  const isa_guard restore_isa;

  progress_state state;
  state.start = start;
  for_each_type(attention_element_types{}, [&]<class T>() {
    if (selected(options.types, type_token_v<T>)) state.total += result.families.size();
  });
  char header[160];
  std::snprintf(header, sizeof header,
                "softlab accuracy --attention: seed %llu, %u threads, %zu groups (type, family)\n",
                static_cast<unsigned long long>(options.seed), result.threads, state.total);
  progress << header << std::flush;
  for_each_type(attention_element_types{}, [&]<class T>() {
    if (!selected(options.types, type_token_v<T>)) return;
    for (const attention_family& f : result.families)
      study_family<T>(reg, options, f, pool, result, state, progress);
  });
  result.elapsed_seconds = seconds_since(start);
  return result;
}

namespace {

std::string optional_text(const std::optional<double>& value) {
  return value ? format_metric(*value) : "-";
}

std::vector<std::string> attention_fields(const attention_cell& c) {
  const attention_cell_metrics& m = c.metrics;
  return {c.implementation,
          c.origin,
          c.meets_contract ? "true" : "false",
          c.softmax.empty() ? "-" : c.softmax,
          c.type,
          std::to_string(c.type_precision_bits),
          c.isa,
          c.family,
          c.family_kind,
          c.family_description,
          std::to_string(c.q_heads),
          std::to_string(c.kv_heads),
          std::to_string(c.q_len),
          std::to_string(c.kv_len),
          std::to_string(c.d),
          c.causal,
          c.mask,
          std::to_string(c.rows),
          std::to_string(c.sampled_rows),
          std::to_string(c.seed),
          std::to_string(m.elements),
          format_metric(m.max_componentwise_u),
          format_metric(m.median_componentwise_u),
          optional_text(m.max_ratio_to_bound),
          std::to_string(m.over_bound_count),
          std::to_string(m.ulp_elements),
          format_metric(m.max_ulp),
          format_metric(m.median_ulp),
          std::to_string(m.nan_count),
          std::to_string(m.masked_rows),
          std::to_string(m.masked_rows_zero),
          std::to_string(m.masked_rows_nan),
          m.max_logsumexp_error ? format_metric(*m.max_logsumexp_error) : "unsupported",
          optional_text(m.max_logsumexp_ratio),
          std::to_string(m.worst_head),
          std::to_string(m.worst_row),
          std::to_string(m.worst_column),
          m.worst_computed,
          m.worst_exact,
          seconds_text(m.seconds),
          c.shape};
}

bool is_attention_text_column(std::string_view column) {
  return column == "implementation" || column == "origin" || column == "meets_contract" ||
         column == "softmax" || column == "type" || column == "isa" || column == "family" ||
         column == "family_kind" || column == "family_description" || column == "causal" ||
         column == "mask" || column == "worst_computed" || column == "worst_exact" ||
         column == "shape";
}

}  // namespace

std::string attention_csv(const attention_study_result& result) {
  std::vector<std::string> header(attention_csv_columns.begin(), attention_csv_columns.end());
  std::string text = csv_line(header);
  for (const attention_cell& c : result.cells)
    if (c.metrics.error.empty()) text += csv_line(attention_fields(c));
  return text;
}

run_meta collect_attention_meta(const attention_registry& reg,
                                const attention_study_options& options,
                                const attention_study_result& result,
                                std::string_view command_line) {
  run_meta meta = common_meta(result.threads);
  auto add = [&](std::string key, std::string value) {
    meta.entries.emplace_back(std::move(key), std::move(value));
  };
  std::set<std::string> seen;
  std::string peers;
  for_each_type(attention_element_types{}, [&]<class T>() {
    for (const attention_kernel<T>& k : reg.kernels<T>())
      if (k.origin != "softlab" && seen.insert(std::string(k.facts.name)).second)
        peers += concat(peers.empty() ? "" : "; ", k.facts.name, ": ", k.origin);
  });
  add("peers", peers.empty() ? "none" : peers);
  add("ulp_criterion", "ULPs of the storage type where |O_c| >= 0.5 sum_j p_j |v_jc|");
  add_run_facts(meta, {.seed = options.seed,
                       .seed_rule = "family f is drawn from family_seed(seed, f, kv_len, 0) "
                                    "(softlab_accuracy/families.hpp), the same draws in every "
                                    "type, each value rounded to it",
                       .full = options.full,
                       .command_line = command_line,
                       .reference = "softlab_reference/attention.hpp: logits exact (mpfr_sum of "
                                    "the exact products), softmax and logsumexp at 112 bits, O_c "
                                    "= sum_j p_j v_jc correctly rounded at 256 bits",
                       .reference_seconds = result.reference_seconds,
                       .elapsed_seconds = result.elapsed_seconds});
  return meta;
}

std::string attention_json(const attention_study_result& result, const run_meta& meta) {
  std::string j = json_opening(meta, result.notes, result.errors);
  j += "  \"families\": [";
  for (std::size_t i = 0; i < result.families.size(); ++i) {
    const attention_family& f = result.families[i];
    j += concat(
        i > 0 ? "," : "", "\n    {\"name\": ", json_string(f.name),
        ", \"kind\": ", json_string(f.kind), ", \"description\": ", json_string(f.description),
        ", \"shape\": ", json_string(shape_of(f)), ", \"causal\": ", json_string(causal_of(f)),
        ", \"mask\": ", json_string(attention_mask_name(f.draw)),
        ", \"sampled_rows_per_head\": ", std::to_string(sampled_query_rows(f, false).size()), "}");
  }
  j += "\n  ],\n  \"types\": [";
  bool first_type = true;
  for_each_type(attention_element_types{}, [&]<class T>() {
    j += concat(first_type ? "\n" : ",\n", "    {\"name\": ", json_string(type_token_v<T>),
                ", \"precision_bits\": ", std::to_string(std::numeric_limits<T>::digits), "}");
    first_type = false;
  });
  j += "\n  ],\n  \"cells\": [";
  bool first = true;
  for (const attention_cell& c : result.cells) {
    if (!c.metrics.error.empty()) continue;
    const std::vector<std::string> fields = attention_fields(c);
    j += first ? "\n    {" : ",\n    {";
    first = false;
    for (std::size_t i = 0; i < fields.size(); ++i)
      j += concat(i > 0 ? ", " : "", json_string(attention_csv_columns[i]), ": ",
                  json_value_of(fields[i], is_attention_text_column(attention_csv_columns[i])));
    j += "}";
  }
  j += "\n  ]\n}\n";
  return j;
}

}  // namespace softlab::accuracy
