// study.cpp: the study loop: types, families, sizes, kernels, instruction sets.
#include <softlab_accuracy/study.hpp>

#include <softlab_accuracy/output.hpp>

#include <softlab/simd/isa.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace softlab::accuracy {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

std::string join(const std::vector<std::string>& items) {
  std::string result;
  for (const std::string& s : items) result += (result.empty() ? "" : ", ") + s;
  return result;
}

bool selected(const std::vector<std::string>& chosen, std::string_view name) {
  return chosen.empty() || std::find(chosen.begin(), chosen.end(), name) != chosen.end();
}

/// The largest n a type of p bits runs at.
std::size_t size_cap(int precision_bits, bool full) {
  if (precision_bits <= 53) return std::size_t(-1);
  if (precision_bits <= 64) return full ? 1000000 : 100000;
  return full ? 1000 : 100;
}

/// A value of the JSON's special_values: the shortest decimal that reads back to it. The report
/// measures these against the exact results, so a simulated format's value is written as the
/// double it is (exact), not as the shortest decimal that merely rounds back to it in the format
/// (the tool's choice for people: 0.3, not 0.300048828125).
template <class T>
std::string data_value(const T& v) {
  if constexpr (is_narrow_format<T>)
    return format_value(static_cast<double>(v), value_format::dec);
  else
    return format_value(v, value_format::dec);
}

template <class T>
std::vector<std::string> formatted(const std::vector<T>& values) {
  std::vector<std::string> result;
  for (const T& v : values) result.push_back(data_value(v));
  return result;
}

template <class T>
std::vector<std::string> rounded(const std::vector<reference::exact>& values) {
  std::vector<std::string> result;
  for (const reference::exact& v : values)
    result.push_back(data_value(reference::round_to<T>(v.get())));
  return result;
}

/// The special inputs of the JSON's special_values, for every selected kernel of T.
template <class T>
void special_values(const registry& reg, const study_options& options, study_result& result) {
  const T inf = softlab::detail::infinity<T>();
  const std::vector<std::pair<std::string, std::vector<T>>> inputs{
      {"all -inf", {-inf, -inf, -inf, -inf}},
      {"one +inf at index 1", {T(1), inf, T(2), T(3)}},
      {"[1, inf, 2, inf]", {T(1), inf, T(2), inf}},
      {"one NaN at index 2", {T(1), T(2), softlab::detail::quiet_nan<T>(), T(3)}},
      {"[-1000, -900, -950, -925]", {T(-1000), T(-900), T(-950), T(-925)}},
  };
  for (const auto& [name, x] : inputs) {
    const std::vector<reference::exact> exact = reference::exact_softmax<T>(x);
    const std::vector<reference::exact> exact_log = reference::exact_softmax<T>(x, true);
    const reference::exact exact_lse = reference::exact_logsumexp<T>(x);
    for (const kernel<T>& k : reg.kernels<T>()) {
      if (!selected(options.implementations, k.facts.name)) continue;
      for (const auto& [isa_label, which] : kernel_isas(k)) {
        if (which) force_isa(*which);
        special_value_row row;
        row.type = std::string(type_token_v<T>);
        row.implementation = std::string(k.facts.name);
        row.isa = isa_label;
        row.input = name;
        row.x = formatted(x);
        row.expected = rounded<T>(exact);
        row.expected_log_softmax = rounded<T>(exact_log);
        row.expected_logsumexp = data_value(reference::round_to<T>(exact_lse.get()));
        std::vector<T> y(x.size(), T(-7));
        try {
          k.softmax(x, y);
          row.softmax = formatted(y);
        } catch (const std::exception& e) {
          row.error = e.what();
        }
        row.logsumexp = "unsupported";
        try {
          if (k.log_softmax != nullptr) {
            k.log_softmax(x, y);
            row.log_softmax = formatted(y);
          }
        } catch (const std::logic_error&) {
        }
        try {
          if (k.logsumexp != nullptr) row.logsumexp = data_value(k.logsumexp(x));
        } catch (const std::logic_error&) {
        }
        result.special_values.push_back(std::move(row));
      }
    }
  }
}

/// The per-element errors of kernel k on the first vector of refs (see element_sample).
template <class T>
void sample_elements(const kernel<T>& k, const vector_reference<T>& r, const cell_row& row,
                     study_result& result) {
  std::vector<T> y(r.x.size());
  try {
    k.softmax(r.x, y);
  } catch (const std::exception&) {
    return;  // the cell's own evaluation recorded the error
  }
  reference::exact scratch_y(r.bits), scratch_diff(r.bits);
  double weighted_magnitude = 0;
  for (std::size_t j = 0; j < r.x.size(); ++j)
    weighted_magnitude += r.g[j] * std::abs(static_cast<double>(r.x[j]));
  const double max_x = static_cast<double>(r.max_x);
  for (std::size_t i = 0; i < r.x.size(); ++i) {
    mpfr_t view;
    const double ulp =
        reference::ulp_error<T>(y[i], r.softmax.get(i, view), scratch_y.get(), scratch_diff.get());
    const double xi = static_cast<double>(r.x[i]);
    result.element_samples.push_back({row.implementation, row.type, row.isa, row.family, max_x - xi,
                                      ulp, std::abs(xi) + weighted_magnitude});
  }
}

struct progress_state {
  std::size_t done = 0;
  std::size_t total = 0;
  clock_type::time_point start;
};

template <class T>
void study_type(const registry& reg, const study_options& options,
                const std::vector<family_spec>& families, worker_pool& pool, study_result& result,
                progress_state& progress_info, std::ostream& progress) {
  constexpr int p = std::numeric_limits<T>::digits;
  const std::string type(type_token_v<T>);
  for (const family_spec& f : families) {
    if (!applies_to<T>(f)) continue;
    for (const std::size_t n : study_sizes(f, p, options)) {
      const std::size_t vectors = vectors_per_cell(n, p);
      std::vector<std::vector<T>> inputs = cell_inputs<T>(f, n, options.seed, vectors);
      const auto reference_start = clock_type::now();
      const std::vector<vector_reference<T>> refs = compute_references<T>(std::move(inputs), pool);
      const double reference_time = seconds_since(reference_start);
      result.reference_seconds += reference_time;
      std::size_t cells = 0;
      double cell_time = 0;
      for (const kernel<T>& k : reg.kernels<T>()) {
        if (!selected(options.implementations, k.facts.name)) continue;
        for (const auto& [isa_label, which] : kernel_isas(k)) {
          if (which) force_isa(*which);
          cell_row row = describe_cell<T>(f, n, vectors, options.seed);
          row.implementation = std::string(k.facts.name);
          row.origin = std::string(k.origin);
          row.isa = isa_label;
          row.metrics = evaluate<T>(k, refs, pool, study_value_format<T>());
          if (p <= 53 && n == scatter_size && !refs.empty() &&
              std::find(scatter_families.begin(), scatter_families.end(), f.name) !=
                  scatter_families.end())
            sample_elements<T>(k, refs.front(), row, result);
          cell_time += row.metrics.seconds;
          if (!row.metrics.error.empty()) {
            record_warning(result.errors,
                           concat(row.implementation, " ", type, " ", isa_label, " ", row.family,
                                  " n=", std::to_string(n), ": ", row.metrics.error),
                           progress);
          }
          result.cells.push_back(std::move(row));
          ++cells;
        }
      }
      ++progress_info.done;
      char line[256];
      std::snprintf(line, sizeof line,
                    "[%3zu/%zu %6.1f s] %-11s %-17s n=%-8zu x%-3zu reference %6.2f s, %zu cells "
                    "%6.2f s\n",
                    progress_info.done, progress_info.total, seconds_since(progress_info.start),
                    type.c_str(), std::string(f.name).c_str(), n, vectors, reference_time, cells,
                    cell_time);
      progress << line << std::flush;
    }
  }
}

}  // namespace

std::vector<std::size_t> study_sizes(const family_spec& f, int precision_bits,
                                     const study_options& options) {
  const std::size_t cap = size_cap(precision_bits, options.full);
  std::vector<std::size_t> sizes;
  if (!options.sizes.empty()) {
    sizes = options.sizes;
  } else {
    switch (f.sizes) {
      case size_class::standard:
        if (precision_bits > 64)  // multiprecision: its exp costs 10^4 times a double's
          sizes = options.full ? std::vector<std::size_t>{1, 10, 100, 1000}
                               : std::vector<std::size_t>{10, 100};
        else
          sizes = options.full ? std::vector<std::size_t>{1, 10, 100, 1000, 10000, 100000, 1000000}
                               : std::vector<std::size_t>{10, 1000, 100000};
        break;
      case size_class::large:
        sizes = options.full ? std::vector<std::size_t>{1000000, 16777216}
                             : std::vector<std::size_t>{1000000};
        // A capped type runs its long sum at the largest n it allows.
        if (cap < sizes.front()) sizes = {cap};
        break;
      case size_class::specials:
        sizes = options.full ? std::vector<std::size_t>{1, 10, 100, 1000, 100000}
                             : std::vector<std::size_t>{1, 10, 1000};
        break;
      case size_class::fixed:
        sizes = {f.fixed_n};
        break;
    }
  }
  std::vector<std::size_t> result;
  for (const std::size_t n : sizes)
    if (n <= cap && std::find(result.begin(), result.end(), n) == result.end()) result.push_back(n);
  return result;
}

std::size_t vectors_per_cell(std::size_t n, int precision_bits) {
  if (n == 0) return 1;
  if (precision_bits <= 64) return std::clamp<std::size_t>(16384 / n, 1, 64);
  return std::clamp<std::size_t>(256 / n, 1, 8);
}

void validate(const study_options& options, const registry& reg) {
  std::vector<std::string> valid_families;
  for (const family_spec& f : study_families()) valid_families.emplace_back(f.name);
  for (const std::string& name : options.families)
    if (find_family(name) == nullptr)
      throw std::invalid_argument("unknown family \"" + name +
                                  "\"; valid: " + join(valid_families));
  std::vector<std::string> valid_names;
  for (const std::string_view name : reg.names()) valid_names.emplace_back(name);
  for (const std::string& name : options.implementations)
    if (std::find(valid_names.begin(), valid_names.end(), name) == valid_names.end())
      throw std::invalid_argument("unknown implementation \"" + name +
                                  "\"; valid: " + join(valid_names));
  std::vector<std::string> valid_types;
  for_each_type(element_types{}, [&]<class T>() { valid_types.emplace_back(type_token_v<T>); });
  for (const std::string& name : options.types)
    if (std::find(valid_types.begin(), valid_types.end(), name) == valid_types.end())
      throw std::invalid_argument("unknown type \"" + name + "\"; valid: " + join(valid_types));
  for (const std::size_t n : options.sizes)
    if (n == 0) throw std::invalid_argument("sizes must be at least 1");
}

study_result run_study(const registry& reg, const study_options& options, std::ostream& progress) {
  validate(options, reg);
  const auto start = clock_type::now();
  study_result result;
  for (const family_spec& f : study_families())
    if (selected(options.families, f.name)) result.families.push_back(f);

  worker_pool pool = make_reference_pool(options.threads);
  result.threads = pool.size();
  const isa_guard restore_isa;

  // Count the groups (type, family, n) for the progress lines, and note the capped types.
  progress_state state;
  state.start = start;
  std::vector<std::string> capped;
  for_each_type(element_types{}, [&]<class T>() {
    if (!selected(options.types, type_token_v<T>)) return;
    constexpr int p = std::numeric_limits<T>::digits;
    for (const family_spec& f : result.families) {
      if (!applies_to<T>(f)) {
        result.notes.push_back(
            concat("family ", f.name, " skipped for ", type_token_v<T>, ": ", skip_reason<T>(f)));
        continue;
      }
      state.total += study_sizes(f, p, options).size();
    }
    if (size_cap(p, options.full) != std::size_t(-1))
      capped.push_back(concat(type_token_v<T>, " (", std::to_string(p),
                              " bits) at n <= ", std::to_string(size_cap(p, options.full))));
  });
  if (!capped.empty())
    result.notes.push_back(concat("wider types run only at small sizes, to keep the study short: ",
                                  join(capped), options.full ? "" : " (more with --full)"));
  char header[256];
  std::snprintf(header, sizeof header,
                "softlab accuracy: seed %llu, %u threads, %zu groups (type, family, n)%s\n",
                static_cast<unsigned long long>(options.seed), result.threads, state.total,
                options.full ? ", --full" : "");
  progress << header;
  for (const std::string& note : result.notes) progress << "note: " << note << '\n';
  progress << std::flush;

  for_each_type(element_types{}, [&]<class T>() {
    if (!selected(options.types, type_token_v<T>)) return;
    study_type<T>(reg, options, result.families, pool, result, state, progress);
  });
  for_each_type(element_types{}, [&]<class T>() {
    if (selected(options.types, type_token_v<T>)) special_values<T>(reg, options, result);
  });
  result.elapsed_seconds = seconds_since(start);
  return result;
}

}  // namespace softlab::accuracy
