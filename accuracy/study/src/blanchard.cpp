// blanchard.cpp: Blanchard, Higham & Higham's experiment, their protocol and ours (blanchard.hpp).
#include <softlab_accuracy/blanchard.hpp>

#include <softlab_accuracy/families.hpp>
#include <softlab_accuracy/format.hpp>
#include <softlab_reference/families.hpp>
#include <softlab_reference/reference.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <ostream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

namespace softlab::accuracy {

namespace {

constexpr double not_applicable = std::numeric_limits<double>::quiet_NaN();

/// Their algorithms (lse_chop.m, lse_chopshift.m), written over any element type: `softmax`
/// is their g, `alternative` their division-free h, `lse` their f.
template <class T>
struct their_outputs {
  std::vector<T> softmax, alternative;
  T lse = T(0);
};

/// Unshifted: e_i = exp(x_i), s = sum e_i, lse = log s, g_i = e_i / s, h_i = exp(x_i - lse).
template <class T>
their_outputs<T> their_unshifted(std::span<const T> x) {
  using std::exp;
  using std::log;
  their_outputs<T> out;
  std::vector<T> e(x.size());
  T s = T(0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    e[i] = exp(x[i]);
    s = s + e[i];
  }
  out.lse = log(s);
  for (std::size_t i = 0; i < x.size(); ++i) {
    out.softmax.push_back(e[i] / s);
    out.alternative.push_back(exp(x[i] - out.lse));
  }
  return out;
}

/// Shifted: a = x_k = max x (the first), s = sum_{i != k} exp(x_i - a), lse = a + log1p(s),
/// g_i = e_i / (1 + s) with e_k = 1, h_i = exp(x_i - lse).
template <class T>
their_outputs<T> their_shifted(std::span<const T> x) {
  using std::exp;
  using std::log1p;
  their_outputs<T> out;
  const std::size_t k = static_cast<std::size_t>(std::max_element(x.begin(), x.end()) - x.begin());
  const T a = x[k];
  std::vector<T> e(x.size(), T(0));
  T s = T(0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (i == k) continue;
    e[i] = exp(x[i] - a);
    s = s + e[i];
  }
  out.lse = a + log1p(s);
  for (std::size_t i = 0; i < x.size(); ++i) out.alternative.push_back(exp(x[i] - out.lse));
  e[k] = T(1);
  const T denominator = T(1) + s;
  for (std::size_t i = 0; i < x.size(); ++i) out.softmax.push_back(e[i] / denominator);
  return out;
}

/// What the bounds of one vector are built from: the float32 vector before rounding (their
/// xvec) and the lse of their float32 reference.
struct bound_terms {
  double n = 0, max_x = 0, min_x = 0, lse = 0, max_distance_to_lse = 0;
};

bound_terms terms_of(std::span<const float> original, double reference_lse) {
  bound_terms t;
  t.n = static_cast<double>(original.size());
  t.max_x = *std::max_element(original.begin(), original.end());
  t.min_x = *std::min_element(original.begin(), original.end());
  t.lse = reference_lse;
  for (const float v : original)
    t.max_distance_to_lse = std::max(t.max_distance_to_lse, std::abs(double(v) - reference_lse));
  return t;
}

/// Their leading-order bounds, in units of u (chop_test_softmax.m).
double their_bound(std::string_view theorem, const bound_terms& t) {
  if (theorem == "3.3") return t.n + 3;
  if (theorem == "3.4") return std::abs(t.lse) + t.max_distance_to_lse + t.n + 2;
  if (theorem == "4.3") return t.n + 2 + 2 * (t.max_x - t.min_x);
  if (theorem == "4.4") return 1 + t.max_distance_to_lse + std::abs(t.lse + t.n - t.min_x);
  return not_applicable;
}

/// reference::normwise_error of y against g, the maxima taken in long double (y and g are
/// exact in it); a non-finite y is +inf.
template <class Y, class G>
double normwise(std::span<const Y> y, std::span<const G> g, double u) {
  long double largest_difference = 0, largest_g = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const long double yi = static_cast<long double>(y[i]);
    const long double gi = static_cast<long double>(g[i]);
    if (!(std::abs(yi) <= std::numeric_limits<long double>::max()))
      return std::numeric_limits<double>::infinity();
    largest_difference = std::max(largest_difference, std::abs(yi - gi));
    largest_g = std::max(largest_g, std::abs(gi));
  }
  return reference::normwise_error(largest_difference, largest_g, u);
}

template <class T>
bool all_finite(std::span<const T> y) {
  return std::all_of(y.begin(), y.end(), [](const T& v) {
    using std::isfinite;
    return isfinite(v);
  });
}

struct labelled_vector {
  std::string source;
  std::size_t index = 0;
  std::vector<float> values;
};

/// One vector in type T: both protocols, every algorithm.
template <class T>
void measure_vector(const registry& reg, const labelled_vector& v,
                    std::vector<blanchard_row>& rows) {
  constexpr int p = std::numeric_limits<T>::digits;
  const double u = std::ldexp(1.0, -p);
  std::vector<T> x;
  for (const float value : v.values) x.push_back(T(value));  // their chop(xvec)

  // Their reference: the unshifted algorithm in float32 on the rounded values (exact in float).
  std::vector<float> x_float;
  for (const T& value : x) x_float.push_back(static_cast<float>(value));
  const their_outputs<float> theirs_reference = their_unshifted<float>(x_float);
  const bound_terms terms = terms_of(v.values, theirs_reference.lse);
  const bool their_reference_applies = p < std::numeric_limits<float>::digits;

  const std::vector<reference::exact> exact = reference::exact_softmax<T>(std::span<const T>(x));
  std::vector<long double> exact_values;
  for (const reference::exact& g : exact) exact_values.push_back(mpfr_get_ld(g.get(), MPFR_RNDN));

  const their_outputs<T> unshifted = their_unshifted<T>(x);
  const their_outputs<T> shifted = their_shifted<T>(x);
  using std::isfinite;
  const bool their_lse_finite = isfinite(unshifted.lse);

  auto record = [&](std::string algorithm, std::string_view theorem, std::span<const T> y,
                    bool lse_overflow) {
    blanchard_row row;
    row.source = v.source;
    row.index = v.index;
    row.type = std::string(type_token_v<T>);
    row.algorithm = std::move(algorithm);
    row.theorem = std::string(theorem);
    row.bound = their_bound(theorem, terms);
    row.error_their_reference =
        their_reference_applies
            ? normwise<T, float>(y, std::span<const float>(theirs_reference.softmax), u)
            : not_applicable;
    row.error_exact = normwise<T, long double>(y, std::span<const long double>(exact_values), u);
    row.max_ulp = 0;
    for (std::size_t i = 0; i < y.size(); ++i)
      row.max_ulp = std::max(row.max_ulp, reference::ulp_error<T>(y[i], exact[i]));
    row.overflow = lse_overflow || !all_finite<T>(y);
    row.their_lse_finite = their_lse_finite;
    rows.push_back(std::move(row));
  };
  const bool shifted_lse_overflow = !isfinite(shifted.lse);
  record("theirs:basic", "3.3", unshifted.softmax, !their_lse_finite);
  record("theirs:basic_alt", "3.4", unshifted.alternative, !their_lse_finite);
  record("theirs:shifted", "4.3", shifted.softmax, shifted_lse_overflow);
  record("theirs:shifted_alt", "4.4", shifted.alternative, shifted_lse_overflow);

  std::vector<T> y(x.size());
  for (const kernel<T>& k : reg.kernels<T>()) {
    std::fill(y.begin(), y.end(), T(0));
    k.softmax(x, y);
    record(std::string(k.facts.name), k.facts.blanchard_theorem, y, false);
  }
}

template <class T>
bool type_selected(const blanchard_options& options) {
  return options.types.empty() || std::find(options.types.begin(), options.types.end(),
                                            type_token_v<T>) != options.types.end();
}

/// The extreme families, at their n = 10, for the same comparison. Families with -inf entries
/// (half_masked) or ties beyond every format's range (equal_huge) are left out: their bounds
/// (which use max x - min x) are infinite or meaningless.
std::vector<reference::family> extreme_families() {
  std::vector<reference::family> result;
  for (const reference::family f : reference::all_families)
    if (f != reference::family::half_masked && f != reference::family::equal_huge)
      result.push_back(f);
  return result;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return not_applicable;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

}  // namespace

std::vector<std::vector<float>> read_logit_vectors(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::vector<std::vector<float>> vectors;
  std::string line;
  std::size_t line_number = 0;
  std::size_t width = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number == 1) continue;  // the header (x1, ..., xn)
    if (line.empty()) continue;
    std::vector<float> values;
    std::size_t column = 0;
    std::size_t start = 0;
    while (true) {
      ++column;
      const std::size_t comma = line.find(',', start);
      const std::string field =
          line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      float value = 0;
      const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
      if (error != std::errc() || end != field.data() + field.size() || !std::isfinite(value))
        throw std::invalid_argument(concat(path.string(), ": line ", std::to_string(line_number),
                                           ", column ", std::to_string(column), ": \"", field,
                                           "\" is not a finite decimal number"));
      values.push_back(value);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (width == 0) width = values.size();
    if (values.size() != width)
      throw std::invalid_argument(concat(path.string(), ": line ", std::to_string(line_number),
                                         " has ", std::to_string(values.size()),
                                         " values; the first row had ", std::to_string(width)));
    vectors.push_back(std::move(values));
  }
  if (vectors.empty()) throw std::invalid_argument(path.string() + ": no data rows");
  return vectors;
}

blanchard_result run_blanchard(const registry& reg, const std::vector<std::vector<float>>& data,
                               const blanchard_options& options, std::ostream& progress) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<labelled_vector> vectors;
  const std::size_t data_count =
      options.max_data_vectors == 0 ? data.size() : std::min(data.size(), options.max_data_vectors);
  for (std::size_t i = 0; i < data_count; ++i) vectors.push_back({"mnist", i, data[i]});
  blanchard_result result;
  const std::size_t n = data.empty() ? 10 : data.front().size();
  for (const reference::family f : extreme_families()) {
    const std::string name(reference::family_name(f));
    result.families.push_back(name);
    for (std::size_t v = 0; v < options.family_vectors; ++v)
      vectors.push_back(
          {name, v, reference::generate<float>(f, n, family_seed(options.seed, name, n, v))});
  }
  for_each_type(type_list<fp16sim, bf16sim, float, double>{}, [&]<class T>() {
    if (!type_selected<T>(options)) return;
    for (const labelled_vector& v : vectors) measure_vector<T>(reg, v, result.rows);
    progress << "softlab blanchard: " << type_token_v<T> << ": " << vectors.size()
             << " vectors done\n"
             << std::flush;
  });
  result.elapsed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string blanchard_csv(const blanchard_result& result) {
  std::ostringstream out;
  out << "source,index,type,algorithm,theorem,bound,error_their_reference,error_exact,max_ulp,"
         "overflow,their_lse_finite\n";
  for (const blanchard_row& r : result.rows) {
    // Per vector only where a bound applies (their plots); every kernel is in the summary.
    if (r.theorem.empty()) continue;
    out << r.source << ',' << r.index << ',' << r.type << ',' << r.algorithm << ',' << r.theorem
        << ',' << format_metric(r.bound) << ',' << format_metric(r.error_their_reference) << ','
        << format_metric(r.error_exact) << ',' << format_metric(r.max_ulp) << ','
        << (r.overflow ? 1 : 0) << ',' << (r.their_lse_finite ? 1 : 0) << '\n';
  }
  return out.str();
}

std::string blanchard_summary_csv(const blanchard_result& result) {
  struct group {
    std::size_t vectors = 0, overflows = 0, plotted = 0;
    std::string theorem;
    std::vector<double> their, exact, ulp, over_bound;
  };
  // Ordered by (source group, type, algorithm) as first met.
  std::vector<std::tuple<std::string, std::string, std::string>> order;
  std::map<std::tuple<std::string, std::string, std::string>, group> groups;
  for (const blanchard_row& r : result.rows) {
    const auto key = std::make_tuple(r.source == "mnist" ? std::string("mnist") : "families",
                                     r.type, r.algorithm);
    auto [it, inserted] = groups.try_emplace(key);
    if (inserted) order.push_back(key);
    group& g = it->second;
    g.theorem = r.theorem;
    ++g.vectors;
    if (r.overflow) ++g.overflows;
    // Their filter (vectors whose fp-unshifted lse is finite), and no overflow in this result.
    if (!r.their_lse_finite || r.overflow) continue;
    ++g.plotted;
    if (!std::isnan(r.error_their_reference)) g.their.push_back(r.error_their_reference);
    g.exact.push_back(r.error_exact);
    g.ulp.push_back(r.max_ulp);
    if (!std::isnan(r.bound) && r.bound > 0) g.over_bound.push_back(r.error_exact / r.bound);
  }
  std::ostringstream out;
  out << "source,type,algorithm,theorem,vectors,overflows,measured,max_error_their_reference,"
         "median_error_their_reference,max_error_exact,median_error_exact,max_ulp,median_ulp,"
         "max_error_exact_over_bound\n";
  for (const auto& key : order) {
    const group& g = groups.at(key);
    const auto largest = [](const std::vector<double>& v) {
      return v.empty() ? not_applicable : *std::max_element(v.begin(), v.end());
    };
    out << std::get<0>(key) << ',' << std::get<1>(key) << ',' << std::get<2>(key) << ','
        << g.theorem << ',' << g.vectors << ',' << g.overflows << ',' << g.plotted << ','
        << format_metric(largest(g.their)) << ',' << format_metric(quantile(g.their, 0.5)) << ','
        << format_metric(largest(g.exact)) << ',' << format_metric(quantile(g.exact, 0.5)) << ','
        << format_metric(largest(g.ulp)) << ',' << format_metric(quantile(g.ulp, 0.5)) << ','
        << format_metric(largest(g.over_bound)) << '\n';
  }
  return out.str();
}

}  // namespace softlab::accuracy
