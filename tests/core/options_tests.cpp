// softmax_options' scale, mask and causal offset (softlab/options.hpp), for every contract
// implementation of the registry on float, double, long double and the 16-bit storage types,
// vectorized ones on every ISA under test: against MPFR's exact softmax of z = scale x + mask,
// within each implementation's stated bound with the rounding of z included
// (bound_inputs::score_roundings); the contract for z (a score left out gets exactly 0, a row
// left with nothing gives zeros, NaN makes the row NaN); options that change nothing give the
// plain entry's bits; thread counts, in place and the template entry points give the same bits;
// every bad option is std::invalid_argument naming it, nothing written.
//
// The scales and mask values are exact in float, so the compute type's conversion of them
// (float, double for `accurate` on the 16-bit types) changes nothing and one exact reference
// serves every implementation. The multiprecision and simulated types are left out: their
// compute types have no fused multiply-add, z is rounded twice there and no bound is claimed
// (entry_points.hpp); the scores they see are formed by the same row_transform.
#include "isa_under_test.hpp"
#include "same_bits.hpp"

#include <softlab/kernel_rows.hpp>
#include <softlab/softlab.hpp>
#include <softlab_reference/families.hpp>
#include <softlab_reference/reference.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace softlab;
using testing::same_bits;

constexpr std::uint64_t seed = 20261201;

/// A batch of rows and the options applied to it, with what the options mean spelled out
/// independently of the library: kept(r, c) and the exact z.
struct scored_case {
  std::string name;
  std::size_t rows = 0, cols = 0;
  std::optional<double> scale;
  std::vector<float> additive;  ///< rows * cols, cols (per column) or empty
  std::vector<char> keep;       ///< rows * cols or empty (char: std::vector<bool> has no data())
  std::unique_ptr<bool[]> keep_bools;
  std::optional<std::ptrdiff_t> causal;

  softmax_options options() const {
    softmax_options o;
    o.scale = scale;
    if (!additive.empty()) o.mask = std::span<const float>(additive);
    if (!keep.empty()) o.mask = std::span<const bool>(keep_bools.get(), keep.size());
    o.causal = causal;
    return o;
  }
  std::size_t mask_index(std::size_t r, std::size_t c) const {
    const std::size_t size = !additive.empty() ? additive.size() : keep.size();
    return size == cols ? c : r * cols + c;
  }
  bool kept(std::size_t r, std::size_t c) const {
    if (causal && std::ptrdiff_t(c) > std::ptrdiff_t(r) + *causal) return false;
    if (!keep.empty() && keep[mask_index(r, c)] == 0) return false;
    return true;
  }
  /// Forming z rounds (a scale or an additive mask): the bound carries it.
  bool rounds() const { return scale.has_value() || !additive.empty(); }
};

/// The exact z of score (r, c): -inf when left out, else scale x + mask exactly (256 bits hold
/// any product of a p <= 64 score and a float scale plus a float mask within the ranges used).
template <class T>
reference::exact exact_score(const scored_case& s, const T& x, std::size_t r, std::size_t c) {
  reference::exact z(256), term(256);
  if (!s.kept(r, c)) {
    mpfr_set_inf(z.get(), -1);
    return z;
  }
  reference::assign(z.get(), x);
  if (s.scale) {
    mpfr_set_d(term.get(), *s.scale, MPFR_RNDN);
    mpfr_mul(z.get(), z.get(), term.get(), MPFR_RNDN);
  }
  if (!s.additive.empty()) {
    mpfr_set_flt(term.get(), s.additive[s.mask_index(r, c)], MPFR_RNDN);
    mpfr_add(z.get(), z.get(), term.get(), MPFR_RNDN);
  }
  return z;
}

/// Scores in [-20, 20] (rounded to T), with -inf at a few places, a +inf in row 1 and a NaN in
/// row 2 when there are that many rows.
template <class T>
std::vector<T> scores_for(std::size_t rows, std::size_t cols, std::uint64_t salt) {
  reference::seeded_random random(seed ^ salt);
  std::vector<T> x(rows * cols);
  for (T& v : x) v = T(random.uniform(-20, 20));
  for (std::size_t c = 0; c < cols; c += 5) x[c] = T(-std::numeric_limits<float>::infinity());
  if (rows > 1) x[cols + random.below(cols)] = T(std::numeric_limits<float>::infinity());
  if (rows > 2) x[2 * cols + random.below(cols)] = T(std::numeric_limits<float>::quiet_NaN());
  return x;
}

/// The cases: every option alone and together, on rows of several lengths.
std::vector<scored_case> cases_for(std::size_t cols) {
  constexpr std::size_t rows = 5;
  reference::seeded_random random(seed + cols);
  const auto additive = [&](std::size_t size, bool one_row_masked) {
    std::vector<float> m(size);
    for (float& v : m) v = float(random.uniform(-8, 0));
    for (std::size_t i = 0; i < size; i += 4) m[i] = -std::numeric_limits<float>::infinity();
    if (one_row_masked && size == rows * cols)
      for (std::size_t c = 0; c < cols; ++c)
        m[3 * cols + c] = -std::numeric_limits<float>::infinity();
    return m;
  };
  std::vector<scored_case> result;
  const auto add = [&](std::string name) -> scored_case& {
    result.emplace_back();
    result.back().name = std::move(name);
    result.back().rows = rows;
    result.back().cols = cols;
    return result.back();
  };
  add("scale 0.125").scale = 0.125;
  add("scale -2.5").scale = -2.5;  // the smallest score becomes the largest
  add("additive mask").additive = additive(rows * cols, true);
  {
    scored_case& s = add("scale 0.375 + additive mask");
    s.scale = 0.375;
    s.additive = additive(rows * cols, false);
  }
  {
    scored_case& s = add("scale 0.125 + per-column mask + causal 0");
    s.scale = 0.125;
    s.additive = additive(cols, false);
    s.causal = 0;
  }
  {
    scored_case& s = add("keep mask");
    s.keep.resize(rows * cols);
    for (char& k : s.keep) k = random.below(3) != 0;
    for (std::size_t c = 0; c < cols; ++c) s.keep[4 * cols + c] = 0;  // row 4: nothing kept
  }
  for (const std::ptrdiff_t offset : {0, -2, 3})
    add("causal " + std::to_string(offset)).causal = offset;
  for (scored_case& s : result) {
    if (s.keep.empty()) continue;
    s.keep_bools = std::make_unique<bool[]>(s.keep.size());
    for (std::size_t i = 0; i < s.keep.size(); ++i) s.keep_bools[i] = s.keep[i] != 0;
  }
  return result;
}

/// One row's exact results and the doubles of its z (what the bound functions see).
struct exact_row {
  std::vector<reference::exact> y, log_y;
  std::vector<double> z, g;
  std::optional<reference::exact> lse;  ///< logsumexp of the row's z
  bool nan = false, nothing_kept = true;
  bool pos_inf = false;  ///< a z of +inf: the limit, exactly
};

template <class T>
exact_row exact_row_of(const scored_case& s, std::span<const T> x, std::size_t r) {
  std::vector<reference::exact> zs;
  exact_row row;
  for (std::size_t c = 0; c < s.cols; ++c) {
    zs.push_back(exact_score(s, x[c], r, c));
    row.z.push_back(mpfr_get_d(zs.back().get(), MPFR_RNDN));
    row.nan = row.nan || mpfr_nan_p(zs.back().get());
    row.pos_inf = row.pos_inf || (mpfr_inf_p(zs.back().get()) && mpfr_sgn(zs.back().get()) > 0);
    row.nothing_kept = row.nothing_kept && !s.kept(r, c);
  }
  row.y = reference::exact_softmax_of_values<T>(zs);
  row.log_y = reference::exact_softmax_of_values<T>(zs, true);
  row.lse = reference::exact_logsumexp_of_values<T>(zs);
  for (const auto& v : row.y) row.g.push_back(v.to_double());
  return row;
}

/// Checks k's softmax_rows and log_softmax_rows of one case against the exact rows.
template <class T>
void check_case(const kernel<T>& k, const scored_case& s, std::span<const T> x,
                const std::vector<exact_row>& exact) {
  const softmax_options options = s.options();
  std::vector<T> y(x.size()), log_y(x.size());
  softmax_rows(k, x, s.rows, s.cols, s.cols, std::span<T>(y), s.cols, options);
  log_softmax_rows(k, x, s.rows, s.cols, s.cols, std::span<T>(log_y), s.cols, options);
  for (std::size_t r = 0; r < s.rows; ++r) {
    const exact_row& e = exact[r];
    for (std::size_t c = 0; c < s.cols; ++c) {
      const T v = y[r * s.cols + c], log_v = log_y[r * s.cols + c];
      INFO(k.facts.name << " " << type_token_v<T> << " " << s.name << ", row " << r << " col " << c
                        << ": x = " << double(x[r * s.cols + c]) << ", z = " << e.z[c] << ", y = "
                        << double(v) << ", exact " << e.g[c] << ", log y = " << double(log_v));
      if (e.nan) {
        REQUIRE(detail::is_nan(v));
        REQUIRE(detail::is_nan(log_v));
        continue;
      }
      REQUIRE(v >= T(0));
      REQUIRE(v <= T(1));
      if (!s.kept(r, c) || e.nothing_kept || e.z[c] == -std::numeric_limits<double>::infinity()) {
        REQUIRE(v == T(0));
        REQUIRE(log_v == -detail::infinity<T>());
        continue;
      }
      if (e.pos_inf) {  // the contract's limit: 1/k on the k infinite scores, 0 elsewhere
        REQUIRE(v == reference::round_to<T>(e.y[c].get()));
        // -log k: one ULP (2 u at |y| in [1, 2)), libm's log being faithful.
        REQUIRE(reference::log_error_units(log_v, e.log_y[c]) <= 2);
        continue;
      }
      bound_inputs in = reference::bound_inputs_for_values<T, double>(e.z, c, e.g);
      in.score_roundings = s.rounds() ? 1 : 0;
      const double bound = k.softmax_bound_ulps(in);
      REQUIRE(bound != no_bound_claimed);
      const double error = reference::ulp_error(v, e.y[c]);
      INFO("ULP error " << error << ", stated bound " << bound);
      if (mpfr_cmp_d(e.y[c].get(), double(std::numeric_limits<T>::min())) >= 0)
        REQUIRE(error <= bound);
      else if (!(k.facts.subnormals == subnormal_results::flushed_to_zero && v == T(0)))
        REQUIRE(error <= bound + 1);
      const double a = k.log_bound_a(in);
      if (log_v == -detail::infinity<T>() &&
          reference::round_to<T>(e.log_y[c].get()) == -detail::infinity<T>())
        continue;
      const double log_error = reference::log_error_units(log_v, e.log_y[c]);
      INFO("log_softmax error " << log_error << " u max(1,|y|), stated a = " << a);
      REQUIRE(log_error <= a);
    }
  }
}

/// Checks k's logsumexp_rows of one case against the exact logsumexp of each row's z: the
/// stated a * u * max(1, |lse|) (at the row's largest z), the contract's NaN, +inf and -inf.
template <class T>
void check_logsumexp_case(const kernel<T>& k, const scored_case& s, std::span<const T> x,
                          const std::vector<exact_row>& exact) {
  std::vector<T> lse(s.rows);
  logsumexp_rows(k, x, s.rows, s.cols, s.cols, std::span<T>(lse), s.options());
  for (std::size_t r = 0; r < s.rows; ++r) {
    const exact_row& e = exact[r];
    INFO(k.facts.name << " " << type_token_v<T> << " " << s.name << ", row " << r << ": logsumexp "
                      << double(lse[r]) << ", exact " << e.lse->to_double());
    if (e.nan) {
      REQUIRE(detail::is_nan(lse[r]));
      continue;
    }
    if (e.pos_inf) {
      REQUIRE(lse[r] == detail::infinity<T>());
      continue;
    }
    if (mpfr_inf_p(e.lse->get())) {  // every z -inf: log 0
      REQUIRE(lse[r] == -detail::infinity<T>());
      continue;
    }
    const std::size_t argmax =
        static_cast<std::size_t>(std::max_element(e.z.begin(), e.z.end()) - e.z.begin());
    bound_inputs in = reference::bound_inputs_for_values<T, double>(e.z, argmax, e.g);
    in.score_roundings = s.rounds() ? 1 : 0;
    const double a = k.log_bound_a(in);
    const double error = reference::log_error_units(lse[r], *e.lse);
    INFO("error " << error << " u max(1,|y|), stated a = " << a);
    REQUIRE(error <= a);
  }
}

/// Options that change nothing leave the plain entry's bits; the threads, in place and (for one
/// row) the single-row entry points give the same bits as the rows.
template <class T>
void check_same_bits(const kernel<T>& k, const scored_case& s, std::span<const T> x) {
  const softmax_options options = s.options();
  std::vector<T> once(x.size()), threaded(x.size()), in_place(x.begin(), x.end());
  softmax_options one_thread = options, two_threads = options;
  one_thread.threads = 1;
  two_threads.threads = 2;
  softmax_rows(k, x, s.rows, s.cols, s.cols, std::span<T>(once), s.cols, one_thread);
  softmax_rows(k, x, s.rows, s.cols, s.cols, std::span<T>(threaded), s.cols, two_threads);
  softmax_rows(k, std::span<const T>(in_place), s.rows, s.cols, s.cols, std::span<T>(in_place),
               s.cols, options);
  std::vector<T> lse_once(s.rows), lse_threaded(s.rows);
  logsumexp_rows(k, x, s.rows, s.cols, s.cols, std::span<T>(lse_once), one_thread);
  logsumexp_rows(k, x, s.rows, s.cols, s.cols, std::span<T>(lse_threaded), two_threads);
  INFO(k.facts.name << " " << type_token_v<T> << " " << s.name);
  CHECK(same_bits<T>(once, threaded));
  CHECK(same_bits<T>(once, in_place));
  CHECK(same_bits<T>(lse_once, lse_threaded));
}

template <class T>
void check_kernel(const kernel<T>& k) {
  for (const std::size_t cols : {1, 7, 33, 200}) {
    const std::vector<scored_case> cases = cases_for(cols);
    for (std::size_t which = 0; which < cases.size(); ++which) {
      const scored_case& s = cases[which];
      const std::vector<T> x = scores_for<T>(s.rows, cols, which * 1000 + cols);
      std::vector<exact_row> exact;
      for (std::size_t r = 0; r < s.rows; ++r)
        exact.push_back(exact_row_of<T>(s, std::span<const T>(x).subspan(r * cols, cols), r));
      check_case<T>(k, s, x, exact);
      check_logsumexp_case<T>(k, s, x, exact);
      check_same_bits<T>(k, s, x);
    }
  }
  // No transform: the plain entry's bits.
  const std::vector<T> x = scores_for<T>(3, 100, 7);
  std::vector<T> plain(x.size()), with_options(x.size());
  for (std::size_t r = 0; r < 3; ++r)
    k.softmax(std::span<const T>(x).subspan(r * 100, 100),
              std::span<T>(plain).subspan(r * 100, 100));
  softmax_rows(k, std::span<const T>(x), 3, 100, 100, std::span<T>(with_options), 100,
               softmax_options{.causal = 100, .threads = 2});
  CHECK(same_bits<T>(plain, with_options));
}

template <class F>
void for_each_checked_kernel(bool vectorized, F&& f) {
  const registry kernels = builtin_registry();
  for_each_type(type_list<float, double, long double, bfloat16, float16>{}, [&]<class T>() {
    for (const kernel<T>& k : kernels.kernels<T>()) {
      if (!k.facts.meets_contract || k.facts.vectorized != vectorized) continue;
      if (!vectorized) {
        DYNAMIC_SECTION(k.facts.name << " " << type_token_v<T>) { f(k); }
        continue;
      }
      const isa before = active_isa();
      for (isa which : testing::isas_under_test(k)) {
        force_isa(which);
        DYNAMIC_SECTION(k.facts.name << "@" << isa_name(which) << " " << type_token_v<T>) { f(k); }
      }
      force_isa(before);
    }
  });
}

TEST_CASE("options: scale, masks and causal rows against MPFR, scalar implementations",
          "[options]") {
  for_each_checked_kernel(false, []<class T>(const kernel<T>& k) { check_kernel<T>(k); });
}

TEST_CASE("options: scale, masks and causal rows against MPFR, vectorized implementations",
          "[options][vectorized]") {
  for_each_checked_kernel(true, []<class T>(const kernel<T>& k) { check_kernel<T>(k); });
}

TEST_CASE("options: the template entry points give the registry's bits", "[options]") {
  const std::vector<float> x = scores_for<float>(1, 300, 11);
  std::vector<float> mask(300);
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = i % 7 == 0 ? -INFINITY : -float(i % 5);
  const softmax_options options{.scale = 0.25, .mask = mask};
  std::vector<float> direct(300), through_registry(300), log_direct(300), log_registry(300);
  softmax<fast>(x, direct, options);
  log_softmax<fast>(x, log_direct, options);
  const registry kernels = builtin_registry();
  const kernel<float>& k = *kernels.find<float>("fast");
  softmax_rows(k, std::span<const float>(x), 1, 300, 300, std::span<float>(through_registry), 300,
               options);
  log_softmax_rows(k, std::span<const float>(x), 1, 300, 300, std::span<float>(log_registry), 300,
                   options);
  CHECK(direct == through_registry);
  CHECK(std::memcmp(log_direct.data(), log_registry.data(), 300 * sizeof(float)) == 0);
  // logsumexp of z: the log_softmax's shift, log_y_i = z_i - lse; the rows' entry point (the
  // template and the registry's) gives logsumexp's bits.
  const float lse = logsumexp<fast>(x, options);
  CHECK(std::abs(double(log_direct[1]) - (0.25 * x[1] + mask[1] - lse)) < 1e-4);
  std::array<float, 1> lse_rows{}, lse_registry{};
  logsumexp_rows<fast>(x, 1, 300, 300, lse_rows, options);
  logsumexp_rows(k, std::span<const float>(x), 1, 300, 300, std::span<float>(lse_registry),
                 options);
  CHECK(std::memcmp(&lse, lse_rows.data(), sizeof lse) == 0);
  CHECK(std::memcmp(&lse, lse_registry.data(), sizeof lse) == 0);
  // An entry without logsumexp_rows (a peer's) runs the separate operations: z formed in T, then
  // its logsumexp per row, the same bits at any thread count.
  kernel<float> separate = k;
  separate.logsumexp_rows = nullptr;
  const std::vector<float> two_rows = scores_for<float>(2, 300, 12);
  std::array<float, 2> separate_one{}, separate_two{}, per_row{};
  logsumexp_rows(separate, std::span<const float>(two_rows), 2, 300, 300,
                 std::span<float>(separate_one), {.scale = 0.25, .causal = 150, .threads = 1});
  logsumexp_rows(separate, std::span<const float>(two_rows), 2, 300, 300,
                 std::span<float>(separate_two), {.scale = 0.25, .causal = 150, .threads = 2});
  for (std::size_t r = 0; r < 2; ++r) {
    std::vector<float> z(300, -INFINITY);  // causal: row r keeps columns c <= r + 150
    for (std::size_t c = 0; c <= r + 150; ++c) z[c] = float(0.25 * two_rows[r * 300 + c]);
    per_row[r] = k.logsumexp(z);
  }
  CHECK(std::memcmp(separate_one.data(), per_row.data(), sizeof per_row) == 0);
  CHECK(std::memcmp(separate_two.data(), per_row.data(), sizeof per_row) == 0);
  // A bfloat16 input with a float output and a scale: one rounding, to float.
  std::vector<bfloat16> narrow(x.begin(), x.end());
  std::vector<float> wide(300);
  softmax<fast>(narrow, wide, {.scale = 2.0});
  std::vector<float> widened(narrow.begin(), narrow.end()), expected(300);
  softmax<fast>(widened, expected, {.scale = 2.0});
  CHECK(wide == expected);
}

TEST_CASE("options: a bad option is std::invalid_argument naming it, nothing written",
          "[options]") {
  const std::vector<float> x{1, 2, 3, 4, 5, 6};
  const float untouched = -7.25f;
  std::vector<float> y(6, untouched);
  const auto rejects = [&](const softmax_options& options, const std::string& needle, bool rows) {
    INFO("expected a message containing '" << needle << "'");
    std::fill(y.begin(), y.end(), untouched);
    try {
      if (rows)
        softmax_rows<stable>(x, 2, 3, y, options);
      else
        softmax<stable>(x, y, options);
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
    CHECK(std::all_of(y.begin(), y.end(), [&](float v) { return v == untouched; }));
  };
  rejects({.scale = 0.0}, "scale is 0", false);
  rejects({.scale = std::numeric_limits<double>::quiet_NaN()}, "scale is nan", false);
  rejects({.scale = std::numeric_limits<double>::infinity()}, "scale is inf", true);
  rejects({.scale = -std::numeric_limits<double>::infinity()}, "scale is -inf", true);
  rejects({.scale = 1e-300}, "float rounds it to 0", false);
  rejects({.scale = 1e300}, "float overflows", true);
  const std::vector<float> five(5), two(2), three(3);
  rejects({.mask = five}, "mask has 5 elements but the scores are 6", false);
  rejects({.mask = two}, "mask has 2 elements but the scores are 2 rows of 3", true);
  rejects({.mask = three}, "mask has 3 elements but the scores are 6", false);  // cols: rows only
  rejects({.causal = 0}, "causal is set (0)", false);
  rejects({.threads = 0}, "threads is 0", true);
  CHECK_THROWS_AS(logsumexp<fast>(x, {.causal = 2}), std::invalid_argument);
  // logsumexp_rows: its lse (one per row) and its x, named; nothing written.
  std::vector<float> lse(3, untouched);
  const auto rejects_rows = [&](std::span<const float> in, std::size_t rows, std::size_t stride,
                                std::span<float> out, const std::string& needle) {
    INFO("expected a message containing '" << needle << "'");
    std::fill(out.begin(), out.end(), untouched);
    try {
      logsumexp_rows<stable>(in, rows, 3, stride, out);
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
    CHECK(std::all_of(out.begin(), out.end(), [&](float v) { return v == untouched; }));
  };
  rejects_rows(x, 2, 3, std::span<float>(lse).first(1), "lse has 1 elements but there are 2 rows");
  rejects_rows(x, 3, 3, lse, "x has 6 elements but 3 rows of 3 with stride 3 need 9");
  rejects_rows(x, 2, 2, lse, "stride (x 2) is less than cols (3)");
  std::vector<float> shared(x.begin(), x.end());
  rejects_rows(shared, 2, 3, std::span<float>(shared).subspan(4, 2), "lse overlaps x");
  std::vector<double> dx(6), dy(6);
  CHECK_NOTHROW(softmax<fast>(dx, dy, {.scale = 1e-300}));  // a normal double: fine in double
  // A per-column mask is fine for rows; the 3-element mask above works on 2 rows of 3.
  std::vector<float> keep_all_but_one{0, 0, -std::numeric_limits<float>::infinity()};
  softmax_rows<stable>(x, 2, 3, y, {.mask = keep_all_but_one});
  CHECK(y[2] == 0);
  CHECK(y[5] == 0);
  CHECK(std::abs(y[0] + y[1] - 1) < 1e-6);
}

}  // namespace
