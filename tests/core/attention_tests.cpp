// Attention (softlab/attention.hpp): every entry of the attention registry on float, float16 and
// bfloat16 storage, against an exact MPFR reference, within its own stated bound evaluated for
// each query row; the contract's special rows; every std::invalid_argument, nothing written.
//
// The reference (softlab_reference/attention.hpp): logits exact, the softmax and logsumexp at
// 2p + 64 bits (p = 24: every implementation computes in float or wider), O_c = sum_j p_j v_jc
// exact; the error of O_c is measured componentwise against sum_j p_j |v_jc|.
#include "isa_under_test.hpp"
#include "same_bits.hpp"

#include <softlab/attention_registry.hpp>
#include <softlab_reference/attention.hpp>
#include <softlab_reference/families.hpp>
#include <softlab_reference/reference.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace softlab;

constexpr std::uint64_t seed = 20261214;
constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan = std::numeric_limits<float>::quiet_NaN();

const attention_registry& attention_kernels() {
  static const attention_registry r = builtin_attention_registry();
  return r;
}

enum class mask_kind { none, additive_shared, additive_per_head, keep_shared, keep_per_head };

/// The shape and options of one test, and its data (rounded to T), laid out as the case says.
struct attention_case {
  std::string name;
  std::size_t q_heads = 1, kv_heads = 1, q_len = 1, kv_len = 1, d = 1, d_v = 1;
  std::size_t row_padding = 0;  ///< row stride = cols + row_padding
  bool interleaved = false;     ///< [L, H, cols] layout: head stride cols + padding, row stride H x
  std::optional<double> scale;
  std::optional<std::ptrdiff_t> causal;
  mask_kind mask = mask_kind::none;
  double magnitude = 1;  ///< Q and K uniform in [-magnitude, magnitude]; V in [-1, 1]
  /// Outlier features, as in LLM activations: the first `outliers` channels of Q and K this
  /// many times larger (the logits' condition, and so Delta, grows with them).
  std::size_t outliers = 0;
  double outlier_factor = 1;
};

/// A tensor of heads x rows x cols with the case's layout.
template <class T>
struct tensor {
  std::vector<T> data;
  heads_view<T> view;
  tensor(const attention_case& c, std::size_t heads, std::size_t rows, std::size_t cols) {
    const std::size_t padded = cols + c.row_padding;
    const std::size_t row_stride = c.interleaved ? heads * padded : padded;
    const std::size_t head_stride = c.interleaved ? padded : rows * padded + c.row_padding;
    data.assign(heads * rows * padded + heads * c.row_padding + 1, T(0));
    view = heads_view<T>{std::span<T>(data), heads, rows, cols, row_stride, head_stride};
  }
  // The view points into data: a move keeps the buffer (std::vector's move), a copy would not.
  tensor(const tensor&) = delete;
  tensor(tensor&&) = default;
  T& at(std::size_t h, std::size_t r, std::size_t c) { return *(view.row(h, r) + c); }
  const T& at(std::size_t h, std::size_t r, std::size_t c) const { return *(view.row(h, r) + c); }
};

template <class T>
struct problem {
  attention_case spec;
  tensor<T> q, k, v;
  std::vector<float> additive;
  std::unique_ptr<bool[]> keep;
  std::size_t mask_size = 0;

  explicit problem(const attention_case& c)
      : spec(c),
        q(c, c.q_heads, c.q_len, c.d),
        k(c, c.kv_heads, c.kv_len, c.d),
        v(c, c.kv_heads, c.kv_len, c.d_v) {}

  attention_options options() const {
    attention_options o;
    o.scale = spec.scale;
    o.causal = spec.causal;
    if (!additive.empty()) o.mask = std::span<const float>(additive);
    if (keep) o.mask = std::span<const bool>(keep.get(), mask_size);
    return o;
  }
  float scale() const { return float(spec.scale.value_or(1 / std::sqrt(double(spec.d)))); }
  std::size_t mask_index(std::size_t h, std::size_t r, std::size_t j) const {
    const std::size_t scores = spec.q_len * spec.kv_len;
    return (mask_size == scores ? 0 : h * scores) + r * spec.kv_len + j;
  }
};

template <class T>
problem<T> make_problem(const attention_case& c, std::uint64_t salt) {
  problem<T> p(c);
  reference::seeded_random random(seed ^ salt);
  for (std::size_t h = 0; h < c.q_heads; ++h)
    for (std::size_t r = 0; r < c.q_len; ++r)
      for (std::size_t i = 0; i < c.d; ++i)
        p.q.at(h, r, i) = T(float(random.uniform(-c.magnitude, c.magnitude) *
                                  (i < c.outliers ? c.outlier_factor : 1)));
  for (std::size_t h = 0; h < c.kv_heads; ++h)
    for (std::size_t j = 0; j < c.kv_len; ++j) {
      for (std::size_t i = 0; i < c.d; ++i)
        p.k.at(h, j, i) = T(float(random.uniform(-c.magnitude, c.magnitude) *
                                  (i < c.outliers ? c.outlier_factor : 1)));
      for (std::size_t i = 0; i < c.d_v; ++i) p.v.at(h, j, i) = T(float(random.uniform(-1, 1)));
    }
  const std::size_t scores = c.q_len * c.kv_len;
  const bool per_head =
      c.mask == mask_kind::additive_per_head || c.mask == mask_kind::keep_per_head;
  p.mask_size = per_head ? c.q_heads * scores : scores;
  if (c.mask == mask_kind::additive_shared || c.mask == mask_kind::additive_per_head) {
    p.additive.resize(p.mask_size);
    for (float& m : p.additive) m = random.below(4) == 0 ? -inf : float(random.uniform(-6, 0));
  }
  if (c.mask == mask_kind::keep_shared || c.mask == mask_kind::keep_per_head) {
    p.keep = std::make_unique<bool[]>(p.mask_size);
    for (std::size_t i = 0; i < p.mask_size; ++i) p.keep[i] = random.below(3) != 0;
    for (std::size_t j = 0; j < c.kv_len; ++j) p.keep[j] = false;  // row 0: nothing kept
  }
  return p;
}

/// The problem as the reference reads it.
template <class T>
reference::attention_inputs<T> inputs_of(const problem<T>& p) {
  return {p.q.view, p.k.view, p.v.view, p.options()};
}

/// How close each implementation comes to its bound, printed per (implementation, type).
struct observed {
  double max_ratio = 0;  ///< largest |error| / allowed
  double max_lse_ratio = 0;
  std::size_t checked = 0;
};

template <class T>
void check_against_reference(const attention_kernel<T>& k, const problem<T>& p,
                             const std::vector<reference::exact_attention_row>& exact_rows,
                             observed& seen) {
  const attention_case& c = p.spec;
  tensor<T> o(c, c.q_heads, c.q_len, c.d_v);
  std::vector<float> lse(c.q_heads * c.q_len, 0.0f);
  attention_options options = p.options();
  options.logsumexp = lse;
  k.attention(p.q.view, p.k.view, p.v.view, o.view, options);
  for (std::size_t h = 0; h < c.q_heads; ++h)
    for (std::size_t r = 0; r < c.q_len; ++r) {
      const reference::exact_attention_row& e = exact_rows[h * c.q_len + r];
      const float l = lse[h * c.q_len + r];
      INFO(k.facts.name << " " << type_token_v<T> << " " << c.name << ": head " << h << " row "
                        << r);
      if (!e.any_kept) {
        for (std::size_t col = 0; col < c.d_v; ++col) REQUIRE(double(o.at(h, r, col)) == 0.0);
        REQUIRE(l == -inf);
        continue;
      }
      const reference::attention_row_allowance a =
          reference::attention_allowance(k, e, c.d, c.kv_len);
      for (std::size_t col = 0; col < c.d_v; ++col) {
        const reference::attention_element_error m =
            reference::attention_error_at(e, col, double(o.at(h, r, col)));
        const double allowed = reference::attention_allowed_at(a, e, col);
        INFO("column " << col << ": O = " << m.computed << ", exact " << m.exact << ", error "
                       << m.error << ", allowed " << allowed << " (B = " << a.bound.coefficient
                       << ", sum p|v| = " << e.weighted[col] << ", Delta = " << a.terms.logit_error
                       << ", b = " << a.terms.softmax_ulps << ")");
        REQUIRE(m.error <= allowed);
        if (allowed > 0) seen.max_ratio = std::max(seen.max_ratio, m.error / allowed);
        ++seen.checked;
      }
      const double lse_error = reference::attention_difference(double(l), e.logsumexp);
      INFO("logsumexp " << l << ", exact " << e.logsumexp.to_double() << ", error " << lse_error
                        << ", allowed " << a.logsumexp_allowed);
      REQUIRE(lse_error <= a.logsumexp_allowed);
      seen.max_lse_ratio = std::max(seen.max_lse_ratio, lse_error / a.logsumexp_allowed);
    }
}

std::vector<attention_case> shapes() {
  std::vector<attention_case> cases;
  const auto add = [&](std::string name) -> attention_case& {
    cases.emplace_back();
    cases.back().name = std::move(name);
    return cases.back();
  };
  {
    attention_case& c = add("d 1, kv_len 1");
    c.q_len = 3, c.kv_len = 1, c.d = 1, c.d_v = 2;
  }
  {
    attention_case& c = add("2 heads, additive shared mask");
    c.q_heads = c.kv_heads = 2, c.q_len = 5, c.kv_len = 7, c.d = 3, c.d_v = 4;
    c.mask = mask_kind::additive_shared;
  }
  {
    attention_case& c = add("GQA 4:2, row strides > cols, padded heads");
    c.q_heads = 4, c.kv_heads = 2, c.q_len = 6, c.kv_len = 33, c.d = 16, c.d_v = 8;
    c.row_padding = 3;
  }
  {
    attention_case& c = add("MQA 2:1, interleaved [L, H, d]");
    c.q_heads = 2, c.kv_heads = 1, c.q_len = 4, c.kv_len = 20, c.d = 8, c.d_v = 8;
    c.interleaved = true, c.row_padding = 1;
  }
  {
    attention_case& c = add("causal 0");
    c.q_len = 16, c.kv_len = 16, c.d = 32, c.d_v = 16, c.causal = 0;
  }
  {
    attention_case& c = add("causal -3 (first rows empty)");
    c.q_len = 8, c.kv_len = 8, c.d = 4, c.d_v = 4, c.causal = -3;
  }
  {
    attention_case& c = add("causal 36 (the last 4 of 40 positions)");
    c.q_len = 4, c.kv_len = 40, c.d = 16, c.d_v = 8, c.causal = 36;
  }
  {
    attention_case& c = add("decode: 1 query, causal kv_len - 1");
    c.q_heads = c.kv_heads = 2, c.q_len = 1, c.kv_len = 300, c.d = 64, c.d_v = 64;
    c.causal = 299;
  }
  {
    attention_case& c = add("keep mask per head, scale -0.5");
    c.q_heads = c.kv_heads = 2, c.q_len = 6, c.kv_len = 50, c.d = 16, c.d_v = 12;
    c.mask = mask_kind::keep_per_head, c.scale = -0.5;
  }
  {
    attention_case& c = add("additive mask per head, keep shared causal 2");
    c.q_heads = 2, c.kv_heads = 1, c.q_len = 5, c.kv_len = 9, c.d = 5, c.d_v = 3;
    c.mask = mask_kind::additive_per_head, c.causal = 2;
  }
  {
    attention_case& c = add("keep mask shared");
    c.q_len = 4, c.kv_len = 24, c.d = 8, c.d_v = 8, c.mask = mask_kind::keep_shared;
  }
  {
    attention_case& c = add("large logits (Q, K in [-4, 4], scale 1)");
    c.q_len = 6, c.kv_len = 120, c.d = 64, c.d_v = 32, c.scale = 1, c.magnitude = 4;
  }
  {
    attention_case& c = add("outlier features: 2 of 64 channels 20x");
    c.q_len = 4, c.kv_len = 64, c.d = 64, c.d_v = 16, c.outliers = 2, c.outlier_factor = 20;
  }
  {
    attention_case& c = add("kv_len 300, d 64");
    c.q_len = 8, c.kv_len = 300, c.d = 64, c.d_v = 64;
  }
  {
    // Blocked implementations (flash: blocks of 64 keys) skip the blocks past each row's last
    // key: rows keep 101 to 104 of 260 keys, so blocks 2 to 4 are never read.
    attention_case& c = add("causal 100 of kv_len 260: the later blocks skipped");
    c.q_len = 4, c.kv_len = 260, c.d = 16, c.d_v = 8, c.causal = 100, c.scale = 1;
  }
  {
    // More keys than one chunk (flash: 512), so the chunks' partial results are merged; large
    // logits make the running max grow across blocks and chunks.
    attention_case& c = add("decode: 2 queries, kv_len 1300 (3 chunks), causal kv_len - 2");
    c.q_len = 2, c.kv_len = 1300, c.d = 32, c.d_v = 16, c.causal = 1298, c.magnitude = 2;
  }
  {
    // flash's decode kernel takes 16-bit rows in groups of two vectors and d_v in panels of 8
    // vectors (64 columns on AVX2): d = 72 and d_v = 80 are whole groups and panels and tails.
    attention_case& c = add("decode: 1 query, d 72, d_v 80, kv_len 130");
    c.q_heads = 2, c.q_len = 1, c.kv_len = 130, c.d = 72, c.d_v = 80;
  }
  return cases;
}

template <class T>
void check_every_kernel_on_shapes() {
  const std::vector<attention_case> cases = shapes();
  std::vector<problem<T>> problems;
  std::vector<std::vector<reference::exact_attention_row>> exact_rows(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    problems.push_back(make_problem<T>(cases[i], i));
    for (std::size_t h = 0; h < cases[i].q_heads; ++h)
      for (std::size_t r = 0; r < cases[i].q_len; ++r)
        exact_rows[i].push_back(reference::exact_attention_row_of(inputs_of(problems[i]), h, r));
  }
  const isa before = active_isa();
  for (const attention_kernel<T>& k : attention_kernels().kernels<T>()) {
    // Every instruction set the CPU has (only SOFTLAB_TEST_ISA's when set) for a vectorized
    // softmax; scalar code once.
    std::vector<std::optional<isa>> variants;
    for (isa which : available_isas())
      if ((k.isas & isa_bit(which)) != 0 &&
          (!testing::isa_under_test() || *testing::isa_under_test() == which))
        variants.push_back(which);
    if (k.isas == 0) variants.push_back(std::nullopt);
    for (const std::optional<isa>& variant : variants) {
      if (variant) force_isa(*variant);
      observed seen;
      for (std::size_t i = 0; i < cases.size(); ++i)
        check_against_reference(k, problems[i], exact_rows[i], seen);
      const std::string name =
          std::string(k.facts.name) + (variant ? "@" + std::string(isa_name(*variant)) : "");
      std::printf(
          "attention observed/stated %-28s %-5s ratio %.3g  logsumexp ratio %.3g  (%zu "
          "outputs)\n",
          name.c_str(), std::string(type_token_v<T>).c_str(), seen.max_ratio, seen.max_lse_ratio,
          seen.checked);
    }
    force_isa(before);
  }
}

}  // namespace

TEST_CASE(
    "attention registry: materialized:<softmax> for every contract softmax, then flash and "
    "accurate",
    "[attention]") {
  const softlab::registry softmax_registry = builtin_registry();
  std::vector<std::string> expected;
  for (const kernel<float>& k : softmax_registry.kernels<float>())
    if (k.facts.meets_contract) expected.push_back("materialized:" + std::string(k.facts.name));
  expected.push_back("flash");
  expected.push_back("accurate");
  for_each_type(attention_element_types{}, [&]<class T>() {
    std::vector<std::string> names;
    for (const attention_kernel<T>& k : attention_kernels().kernels<T>()) {
      names.push_back(std::string(k.facts.name));
      CHECK_FALSE(k.facts.algorithm.empty());
      CHECK_FALSE(k.facts.passes.empty());
      CHECK_FALSE(k.facts.stated_bound.empty());
      CHECK(softmax_registry.find<float>(k.facts.softmax) != nullptr);
      CHECK(attention_kernels().find<T>(k.facts.name) == &k);
    }
    CHECK(names == expected);
  });
  attention_registry twice = attention_kernels();
  CHECK_THROWS_WITH(twice.add(attention_kernels().kernels<float>()[0]),
                    Catch::Contains("is already registered for float"));
}

TEST_CASE("attention: every implementation and storage type within its stated bound of MPFR",
          "[attention]") {
  std::printf("attention seed %llu\n", static_cast<unsigned long long>(seed));
  SECTION("float") { check_every_kernel_on_shapes<float>(); }
  SECTION("float16") { check_every_kernel_on_shapes<float16>(); }
  SECTION("bfloat16") { check_every_kernel_on_shapes<bfloat16>(); }
}

namespace {

/// A 4 x 4 problem, one head, causal 0 unless said otherwise: row r sees the keys 0..r.
template <class T>
problem<T> special_problem(mask_kind mask = mask_kind::none) {
  attention_case c;
  c.name = "specials";
  c.q_len = 4, c.kv_len = 4, c.d = 3, c.d_v = 2, c.causal = 0, c.mask = mask;
  problem<T> p = make_problem<T>(c, 99);
  if (p.keep)
    for (std::size_t i = 0; i < p.mask_size; ++i) p.keep[i] = true;
  if (!p.additive.empty())
    for (float& m : p.additive) m = 0;
  return p;
}

template <class T>
struct run_result {
  tensor<T> o;
  std::vector<float> lse;
};

template <class T>
run_result<T> run(const attention_kernel<T>& k, const problem<T>& p) {
  run_result<T> result{tensor<T>(p.spec, p.spec.q_heads, p.spec.q_len, p.spec.d_v),
                       std::vector<float>(p.spec.q_heads * p.spec.q_len, 0.0f)};
  attention_options options = p.options();
  options.logsumexp = result.lse;
  k.attention(p.q.view, p.k.view, p.v.view, result.o.view, options);
  return result;
}

/// Row r of O is all NaN (nan) or has no NaN (!nan); with_logsumexp: its logsumexp as well (a
/// NaN in a logit; a NaN in V leaves the logsumexp alone).
template <class T>
bool row_is(const run_result<T>& result, std::size_t r, bool nan, bool with_logsumexp = true) {
  for (std::size_t c = 0; c < result.o.view.cols; ++c)
    if (detail::is_nan(result.o.at(0, r, c)) != nan) return false;
  return !with_logsumexp || detail::is_nan(result.lse[r]) == nan;
}

template <class T>
void check_specials_of(const attention_kernel<T>& k) {
  {
    INFO(k.facts.name << " " << type_token_v<T>);
    {
      INFO("a fully masked row gives O = 0 and logsumexp -inf, whatever its query holds");
      problem<T> p = special_problem<T>(mask_kind::keep_shared);
      for (std::size_t j = 0; j < 4; ++j) p.keep[1 * 4 + j] = false;
      p.q.at(0, 1, 0) = T(nan);
      const run_result<T> result = run(k, p);
      for (std::size_t c = 0; c < 2; ++c) CHECK(double(result.o.at(0, 1, c)) == 0.0);
      CHECK(result.lse[1] == -inf);
      CHECK(row_is(result, 0, false));
      CHECK(row_is(result, 2, false));
    }
    {
      INFO("kv_len 0: every row is fully masked");
      attention_case c;
      c.q_len = 2, c.kv_len = 0, c.d = 3, c.d_v = 2;
      const problem<T> p = make_problem<T>(c, 5);
      const run_result<T> result = run(k, p);
      for (std::size_t r = 0; r < 2; ++r) {
        for (std::size_t col = 0; col < 2; ++col) CHECK(double(result.o.at(0, r, col)) == 0.0);
        CHECK(result.lse[r] == -inf);
      }
    }
    {
      INFO("NaN in the query: that row NaN");
      problem<T> p = special_problem<T>();
      p.q.at(0, 2, 1) = T(nan);
      const run_result<T> result = run(k, p);
      CHECK(row_is(result, 2, true));
      CHECK(row_is(result, 1, false));
      CHECK(row_is(result, 3, false));
    }
    {
      INFO("NaN in a key: the rows that keep it NaN, the rows that mask it causally not");
      problem<T> p = special_problem<T>();
      p.k.at(0, 2, 0) = T(nan);
      const run_result<T> result = run(k, p);
      CHECK(row_is(result, 0, false));
      CHECK(row_is(result, 1, false));
      CHECK(row_is(result, 2, true));
      CHECK(row_is(result, 3, true));
    }
    {
      INFO("NaN in a value row: the rows that keep it NaN, the others not");
      problem<T> p = special_problem<T>();
      p.v.at(0, 1, 1) = T(nan);
      const run_result<T> result = run(k, p);
      CHECK(row_is(result, 0, false));
      CHECK(row_is(result, 1, true, false));
      CHECK(row_is(result, 3, true, false));
      CHECK_FALSE(detail::is_nan(result.lse[1]));
    }
    {
      INFO("NaN in K and V rows masked by a keep mask or a -inf additive mask does not leak");
      problem<T> p = special_problem<T>(mask_kind::keep_shared);
      p.keep[3 * 4 + 1] = false;  // row 3 leaves key 1 out
      p.k.at(0, 1, 0) = T(nan);
      p.v.at(0, 1, 0) = T(nan);
      CHECK(row_is(run(k, p), 3, false));
      problem<T> a = special_problem<T>(mask_kind::additive_shared);
      a.additive[3 * 4 + 2] = -inf;
      a.k.at(0, 2, 1) = T(nan);
      a.v.at(0, 2, 1) = T(nan);
      const run_result<T> result = run(k, a);
      CHECK(row_is(result, 3, false));
      CHECK(row_is(result, 2, true));  // row 2 keeps key 2
    }
    {
      INFO("NaN in an unmasked additive mask entry: that row NaN");
      problem<T> p = special_problem<T>(mask_kind::additive_shared);
      p.additive[2 * 4 + 0] = nan;
      const run_result<T> result = run(k, p);
      CHECK(row_is(result, 2, true));
      CHECK(row_is(result, 1, false));
      CHECK(row_is(result, 3, false));
    }
    {
      INFO("+inf logits: O is the mean of their value rows, logsumexp +inf");
      problem<T> p = special_problem<T>(mask_kind::additive_shared);
      p.additive[3 * 4 + 0] = inf;
      p.additive[3 * 4 + 2] = inf;
      const run_result<T> result = run(k, p);
      CHECK(result.lse[3] == inf);
      // The weights are exactly 1/2: the bound with no logit error and an exact softmax.
      const attention_row_bound bound = attention_bound_of(k, 4, 0.0, 0.0);
      for (std::size_t c = 0; c < 2; ++c) {
        const double v0 = double(p.v.at(0, 0, c)), v2 = double(p.v.at(0, 2, c));
        const double mean = (v0 + v2) / 2;  // exact in double
        const double allowed = bound.allowed((std::abs(v0) + std::abs(v2)) / 2, std::abs(mean),
                                             std::max(std::abs(v0), std::abs(v2)));
        INFO("column " << c << ": O = " << double(result.o.at(0, 3, c)) << ", mean " << mean);
        CHECK(std::abs(double(result.o.at(0, 3, c)) - mean) <= allowed);
      }
    }
  }
}

template <class T>
void check_specials() {
  for (const attention_kernel<T>& k : attention_kernels().kernels<T>()) check_specials_of(k);
}

}  // namespace

TEST_CASE("attention: the contract's special rows", "[attention]") {
  SECTION("float") { check_specials<float>(); }
  SECTION("float16") { check_specials<float16>(); }
  SECTION("bfloat16") { check_specials<bfloat16>(); }
}

namespace {

/// flash's result at 1 thread, then the same bits at 2 and 3 (O and logsumexp).
template <class T>
void check_same_bits_at_1_2_3_threads(const attention_kernel<T>& k, const attention_case& c,
                                      std::uint64_t problem_seed) {
  INFO(c.name);
  const problem<T> p = make_problem<T>(c, problem_seed);
  const auto run_at = [&](std::size_t threads, tensor<T>& o, std::vector<float>& lse) {
    attention_options options = p.options();
    options.threads = threads;
    options.logsumexp = lse;
    k.attention(p.q.view, p.k.view, p.v.view, o.view, options);
  };
  tensor<T> one(c, c.q_heads, c.q_len, c.d_v);
  std::vector<float> lse_one(c.q_heads * c.q_len);
  run_at(1, one, lse_one);
  for (const std::size_t threads : {std::size_t{2}, std::size_t{3}}) {
    INFO(threads << " threads");
    tensor<T> more(c, c.q_heads, c.q_len, c.d_v);
    std::vector<float> lse_more(c.q_heads * c.q_len);
    run_at(threads, more, lse_more);
    CHECK(testing::same_bits<T>(one.data, more.data));
    CHECK(testing::same_bits<float>(lse_one, lse_more));
  }
}

/// Shapes around flash's tiles, blocks and chunks: 53 query rows are nine tiles of 6 (the last
/// of 5) in two groups, and 2 or 3 threads cut the rows at other places than 1 does; kv_len
/// 1100 is 3 chunks, the last block of each partial; d = 20 and d_v = 13 leave vector tails.
/// Decode: 2 rows of 1300 keys, whose chunks 3 threads split across threads.
template <class T>
void check_flash_thread_bits(const attention_kernel<T>& k) {
  attention_case prefill;
  prefill.name = "prefill: 2 heads of 53 rows, kv_len 1100, causal kv_len - q_len";
  prefill.q_heads = 2, prefill.kv_heads = 1, prefill.q_len = 53, prefill.kv_len = 1100;
  prefill.d = 20, prefill.d_v = 13, prefill.causal = 1100 - 53;
  check_same_bits_at_1_2_3_threads(k, prefill, 41);
  attention_case masked = prefill;
  masked.name = "prefill: a keep mask, one key in three left out";
  masked.causal.reset();
  masked.mask = mask_kind::keep_shared;
  check_same_bits_at_1_2_3_threads(k, masked, 42);
  attention_case decode;
  decode.name = "decode: 2 rows, kv_len 1300 (3 chunks)";
  decode.q_heads = 1, decode.kv_heads = 1, decode.q_len = 2, decode.kv_len = 1300;
  decode.d = 20, decode.d_v = 13, decode.causal = 1300 - 2, decode.magnitude = 2;
  check_same_bits_at_1_2_3_threads(k, decode, 43);
}

}  // namespace

// Run by CTest once per instruction set (core:attention_flash@<isa>, SOFTLAB_TEST_ISA; skipped
// where the CPU lacks it): flash's kernels differ by ISA, the other implementations do not.
TEST_CASE(
    "attention: flash on each instruction set: the specials, the same bits at 1, 2, 3 threads",
    "[flash_isa]") {
  const isa before = active_isa();
  for (const isa which : available_isas()) {
    if (testing::isa_under_test() && *testing::isa_under_test() != which) continue;
    INFO("flash@" << isa_name(which));
    force_isa(which);
    for_each_type(attention_element_types{}, [&]<class T>() {
      const attention_kernel<T>& k = *attention_kernels().find<T>("flash");
      check_specials_of(k);
      check_flash_thread_bits(k);
    });
  }
  force_isa(before);
}

// Every entry on V and O without columns (d_v = 0): it runs, writes nothing, and gives the
// logsumexp it gives with columns (the logits alone decide it). The decode shape has 1300 keys
// (three of flash's chunks: its decode kernel and its prefetches run); the prefill one 40 query
// rows in tiles.
TEST_CASE("attention: V and O without columns (d_v = 0) give the logsumexp alone, every entry",
          "[flash_isa]") {
  const isa before = active_isa();
  for (const isa which : available_isas()) {
    if (testing::isa_under_test() && *testing::isa_under_test() != which) continue;
    force_isa(which);
    for_each_type(attention_element_types{}, [&]<class T>() {
      for (const std::size_t q_len : {std::size_t{1}, std::size_t{40}}) {
        attention_case c;
        c.q_heads = 2, c.kv_heads = 1, c.q_len = q_len, c.kv_len = q_len == 1 ? 1300 : 200;
        c.d = 32, c.d_v = 16, c.magnitude = 2;
        const problem<T> p = make_problem<T>(c, 29);
        const heads_view<const T> no_values{std::span<const T>(), 1, c.kv_len, 0, 0, 0};
        for (const attention_kernel<T>& k : attention_kernels().kernels<T>()) {
          INFO(k.facts.name << "@" << isa_name(which) << ", q_len " << q_len);
          tensor<T> o(c, 2, q_len, 16);
          std::vector<float> with_columns(2 * q_len), without(2 * q_len, 7.0f);
          attention_options options = p.options();
          options.logsumexp = with_columns;
          k.attention(p.q.view, p.k.view, p.v.view, o.view, options);
          T unwritten[1] = {T(3.0f)};
          const heads_view<T> no_output{std::span<T>(unwritten, 0), 2, q_len, 0, 0, 0};
          options.logsumexp = without;
          k.attention(p.q.view, p.k.view, no_values, no_output, options);
          CHECK(testing::same_bits<float>(with_columns, without));
          CHECK(float(unwritten[0]) == 3.0f);
        }
      }
    });
  }
  force_isa(before);
}

TEST_CASE("attention: the contract's limits when the keys span several blocks and chunks",
          "[attention]") {
  // 1100 keys: 18 of flash's 64-key blocks in 3 of its 512-key chunks, so the limits pass
  // through the running max's rescaling and the merge of the chunks.
  attention_case c;
  c.name = "specials across chunks";
  c.q_len = 1, c.kv_len = 1100, c.d = 4, c.d_v = 3;
  for (const attention_kernel<float>& k : attention_kernels().kernels<float>()) {
    INFO(k.facts.name);
    {
      INFO("+inf logits in two chunks: O is the mean of their value rows, logsumexp +inf");
      attention_case additive = c;
      additive.mask = mask_kind::additive_shared;
      problem<float> p = make_problem<float>(additive, 21);
      std::fill(p.additive.begin(), p.additive.end(), 0.0f);
      p.additive[10] = inf;
      p.additive[900] = inf;
      const run_result<float> result = run(k, p);
      CHECK(result.lse[0] == inf);
      const attention_row_bound bound = attention_bound_of(k, c.kv_len, 0.0, 0.0);
      for (std::size_t col = 0; col < c.d_v; ++col) {
        const double v0 = double(p.v.at(0, 10, col)), v1 = double(p.v.at(0, 900, col));
        const double mean = (v0 + v1) / 2;  // exact in double
        const double allowed = bound.allowed((std::abs(v0) + std::abs(v1)) / 2, std::abs(mean),
                                             std::max(std::abs(v0), std::abs(v1)));
        INFO("column " << col << ": O = " << double(result.o.at(0, 0, col)) << ", mean " << mean);
        CHECK(std::abs(double(result.o.at(0, 0, col)) - mean) <= allowed);
      }
    }
    {
      INFO("a NaN key past the causal limit (in the last chunk) is never read; kept, NaN row");
      attention_case causal = c;
      causal.causal = 999;
      problem<float> p = make_problem<float>(causal, 22);
      p.k.at(0, 1000, 1) = std::numeric_limits<float>::quiet_NaN();
      CHECK(row_is(run(k, p), 0, false));
      p.spec.causal = 1000;
      CHECK(row_is(run(k, p), 0, true));
    }
    {
      INFO("every key of the first two chunks masked: the last chunk alone, no NaN");
      attention_case keep = c;
      keep.mask = mask_kind::keep_shared;
      problem<float> p = make_problem<float>(keep, 23);
      for (std::size_t j = 0; j < c.kv_len; ++j) p.keep[j] = j >= 1024;
      p.k.at(0, 5, 0) = std::numeric_limits<float>::quiet_NaN();  // masked: never read
      const run_result<float> result = run(k, p);
      CHECK(row_is(result, 0, false));
      CHECK(result.lse[0] != -inf);
    }
  }
}

TEST_CASE("attention: the same bits at any thread count and through the registry", "[attention]") {
  attention_case c;
  c.q_heads = 4, c.kv_heads = 2, c.q_len = 64, c.kv_len = 96, c.d = 32, c.d_v = 32;
  c.causal = 32;
  const problem<float> p = make_problem<float>(c, 7);
  for (const attention_kernel<float>& k : attention_kernels().kernels<float>()) {
    INFO(k.facts.name);
    tensor<float> one(c, 4, 64, 32), two(c, 4, 64, 32);
    attention_options options = p.options();
    options.threads = 1;
    k.attention(p.q.view, p.k.view, p.v.view, one.view, options);
    options.threads = 2;
    k.attention(p.q.view, p.k.view, p.v.view, two.view, options);
    CHECK(testing::same_bits<float>(one.data, two.data));
  }
  // Decode: one query row per head and 1300 keys (3 of flash's 512-key chunks), with 1 or 2
  // query heads: at 2 and 3 threads flash splits the rows' chunks across threads.
  for (const std::size_t heads : {std::size_t{1}, std::size_t{2}}) {
    attention_case decode;
    decode.q_heads = heads, decode.kv_heads = 1, decode.q_len = 1, decode.kv_len = 1300;
    decode.d = 32, decode.d_v = 32, decode.causal = 1299, decode.magnitude = 2;
    const problem<float> dp = make_problem<float>(decode, 13);
    for (const attention_kernel<float>& k : attention_kernels().kernels<float>()) {
      INFO(k.facts.name << ", decode, " << heads << " query heads");
      tensor<float> one(decode, heads, 1, 32);
      std::vector<float> lse_one(heads);
      attention_options options = dp.options();
      options.threads = 1;
      options.logsumexp = lse_one;
      k.attention(dp.q.view, dp.k.view, dp.v.view, one.view, options);
      for (const std::size_t threads : {std::size_t{2}, std::size_t{3}}) {
        INFO(threads << " threads");
        tensor<float> more(decode, heads, 1, 32);
        std::vector<float> lse_more(heads);
        options.threads = threads;
        options.logsumexp = lse_more;
        k.attention(dp.q.view, dp.k.view, dp.v.view, more.view, options);
        CHECK(testing::same_bits<float>(one.data, more.data));
        CHECK(testing::same_bits<float>(lse_one, lse_more));
      }
    }
  }
  tensor<float> direct(c, 4, 64, 32), through(c, 4, 64, 32);
  attention<materialized<fast>>(p.q.view, p.k.view, p.v.view, direct.view, p.options());
  attention_kernels()
      .find<float>("materialized:fast")
      ->attention(p.q.view, p.k.view, p.v.view, through.view, p.options());
  CHECK(testing::same_bits<float>(direct.data, through.data));
}

TEST_CASE("attention: one mask, spelled as float, double, shared or per head, gives the same bits",
          "[attention]") {
  attention_case c;
  c.q_heads = 2, c.kv_heads = 1, c.q_len = 5, c.kv_len = 12, c.d = 8, c.d_v = 4;
  c.mask = mask_kind::additive_shared;
  const problem<float> p = make_problem<float>(c, 11);
  const std::vector<double> as_double(p.additive.begin(), p.additive.end());
  std::vector<float> per_head(p.additive);
  per_head.insert(per_head.end(), p.additive.begin(), p.additive.end());
  for (const attention_kernel<float>& k : attention_kernels().kernels<float>()) {
    INFO(k.facts.name);
    tensor<float> shared(c, 2, 5, 4), doubled(c, 2, 5, 4), each_head(c, 2, 5, 4);
    attention_options options = p.options();
    k.attention(p.q.view, p.k.view, p.v.view, shared.view, options);
    options.mask = as_double;
    k.attention(p.q.view, p.k.view, p.v.view, doubled.view, options);
    options.mask = per_head;
    k.attention(p.q.view, p.k.view, p.v.view, each_head.view, options);
    CHECK(testing::same_bits<float>(shared.data, doubled.data));
    CHECK(testing::same_bits<float>(shared.data, each_head.data));
  }
}

TEST_CASE("attention: bad arguments are std::invalid_argument naming them, nothing written",
          "[attention]") {
  std::vector<float> q(4 * 3, 0.5f), k(5 * 3, 0.25f), v(5 * 2, 1.0f), o(4 * 2, 7.0f);
  const auto Q = matrix_view(std::as_const(q), 4, 3);
  const auto K = matrix_view(std::as_const(k), 5, 3);
  const auto V = matrix_view(std::as_const(v), 5, 2);
  const auto O = matrix_view(o, 4, 2);
  const auto untouched = [&] {
    return std::all_of(o.begin(), o.end(), [](float x) { return x == 7.0f; });
  };
  const auto rejects = [&](auto q_view, auto k_view, auto v_view, auto o_view,
                           const attention_options& options, const std::string& message) {
    for (const attention_kernel<float>& kernel : attention_kernels().kernels<float>()) {
      INFO(kernel.facts.name);
      CHECK_THROWS_WITH(kernel.attention(q_view, k_view, v_view, o_view, options),
                        Catch::Contains(message));
      CHECK(untouched());
    }
  };
  rejects(matrix_view(std::as_const(q), 4, 0), matrix_view(std::as_const(k), 5, 0), V, O, {},
          "softlab::attention: d (the columns of Q and K) is 0");
  rejects(Q, matrix_view(std::as_const(k), 5, 2), V, O, {},
          "K has 2 columns but Q has 3 (both are d)");
  rejects(Q, K, matrix_view(std::as_const(v), 4, 2), O, {},
          "V has 4 rows but K has 5 (both are kv_len)");
  rejects(Q, K, V, matrix_view(o, 4, 1), {}, "O is 4 x 1 but must be q_len x d_v = 4 x 2");
  rejects(Q, K, V, heads_of(o, 2, 4, 2, 2, 0), {}, "O has 2 heads but Q has 1");
  rejects(heads_of(std::as_const(q), 3, 4, 3, 3, 0), heads_of(std::as_const(k), 2, 5, 3, 3, 0),
          heads_of(std::as_const(v), 2, 5, 2, 2, 0), heads_of(o, 3, 4, 2, 2, 0), {},
          "3 query heads are not a multiple of 2 key/value heads");
  rejects(Q, heads_of(std::as_const(k), 2, 5, 3, 3, 0), V, O, {}, "V has 1 heads but K has 2");
  {
    // Two query heads whose outputs would share memory; the same two heads laid out apart, or
    // interleaved by rows, are accepted.
    const std::vector<float> q2(2 * 4 * 3, 0.5f);
    std::vector<float> o2(2 * 4 * 2, 7.0f);
    const auto Q2 = heads_of(q2, 2, 4, 3);
    for (const attention_kernel<float>& kernel : attention_kernels().kernels<float>()) {
      INFO(kernel.facts.name);
      std::fill(o2.begin(), o2.end(), 7.0f);
      CHECK_THROWS_WITH(kernel.attention(Q2, K, V, heads_of(o2, 2, 4, 2, 2, 3), {}),
                        Catch::Contains("O's heads overlap: head stride 3 is less than a head's 8 "
                                        "elements and row stride 2 is less than a row's 5 elements "
                                        "across the 2 heads"));
      CHECK(std::all_of(o2.begin(), o2.end(), [](float x) { return x == 7.0f; }));
      CHECK_NOTHROW(kernel.attention(Q2, K, V, heads_of(o2, 2, 4, 2), {}));
      CHECK_NOTHROW(kernel.attention(Q2, K, V, heads_of(o2, 2, 4, 2, 4, 2), {}));
    }
  }
  rejects(matrix_view(std::as_const(q), 4, 3, 2), K, V, O, {},
          "Q's row stride 2 is less than its 3 columns");
  rejects(Q, K, V, matrix_view(o, 4, 2, 3), {},
          "O has 8 elements but 1 heads of 4 x 2 with row stride 3 and head stride 12 need 11");
  rejects(Q, matrix_view(std::as_const(k), 5, 3, std::size_t(1) << 62), V, O, {},
          "need more than SIZE_MAX");
  {
    // O placed over Q's memory.
    std::vector<float> shared(16, 0.5f);
    const auto q_view = matrix_view(std::as_const(shared), 4, 3);
    const auto o_view = heads_view<float>{std::span<float>(shared).subspan(8), 1, 4, 2, 2, 8};
    const auto v_view = matrix_view(std::as_const(shared), 5, 2);
    std::vector<float> separate(8, 7.0f);
    attention_options over_output;
    over_output.logsumexp = std::span<float>(separate).subspan(4);
    for (const attention_kernel<float>& kernel : attention_kernels().kernels<float>()) {
      INFO(kernel.facts.name);
      CHECK_THROWS_WITH(kernel.attention(q_view, K, V, o_view, {}),
                        Catch::Contains("O overlaps Q"));
      CHECK_THROWS_WITH(
          kernel.attention(Q, matrix_view(std::as_const(shared), 5, 3), V, o_view, {}),
          Catch::Contains("O overlaps K"));
      CHECK_THROWS_WITH(kernel.attention(Q, K, v_view, o_view, {}),
                        Catch::Contains("O overlaps V"));
      CHECK_THROWS_WITH(kernel.attention(Q, K, V, matrix_view(separate, 4, 2), over_output),
                        Catch::Contains("attention_options::logsumexp overlaps Q, K, V or O"));
      CHECK(std::all_of(shared.begin(), shared.end(), [](float x) { return x == 0.5f; }));
      CHECK(std::all_of(separate.begin(), separate.end(), [](float x) { return x == 7.0f; }));
    }
  }
  const std::vector<float> short_mask(19, 0.0f);
  attention_options options;
  options.mask = short_mask;
  rejects(Q, K, V, O, options,
          "the additive float mask has 19 elements but the scores are q_len x kv_len = 4 x 5 (a "
          "mask has 20 elements, shared by every head, or 20 for 1 query heads)");
  std::vector<float> lse(3);
  options = {};
  options.logsumexp = lse;
  rejects(Q, K, V, O, options,
          "attention_options::logsumexp has 3 elements but there are 4 query rows");
  options = {};
  options.threads = 0;
  rejects(Q, K, V, O, options, "attention_options::threads is 0");
  for (const double scale : {0.0, std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(), 1e-50, 1e50}) {
    options = {};
    options.scale = scale;
    rejects(Q, K, V, O, options, "attention_options::scale is " + detail::shortest(scale));
  }
  options.scale = 1e-50;
  rejects(Q, K, V, O, options, "(float rounds it to 0)");
  options.scale = 1e50;
  rejects(Q, K, V, O, options, "(float overflows)");
}

TEST_CASE("attention: README's lines compile, run, and are in README", "[attention]") {
  const std::size_t q_heads = 4, kv_heads = 2, q_len = 3, kv_len = 5, d = 8, d_v = 6;
  std::vector<float> q_data(q_heads * q_len * d, 0.25f), o_data(q_heads * q_len * d_v);
  std::vector<float> k_data(kv_heads * kv_len * d, 0.5f), v_data(kv_heads * kv_len * d_v, 1.0f);
  std::vector<float> scores_mask(q_len * kv_len, 0.0f), lse(q_heads * q_len);
  auto k = softlab::heads_of(k_data, kv_heads, kv_len, d);
  auto v = softlab::heads_of(v_data, kv_heads, kv_len, d_v);
  // The README's lines, verbatim:
  auto q = softlab::heads_of(q_data, q_heads, q_len, d);  // packed [H, L, d]; strides optional
  auto o = softlab::heads_of(o_data, q_heads, q_len, d_v);
  softlab::attention<softlab::materialized<softlab::fast>>(q, k, v, o, {.causal = 0});
  CHECK(o_data[0] == 1.0f);  // every value row is 1: O = 1 whatever the weights
  softlab::attention<softlab::accurate_attention>(
      q, k, v, o, {.scale = 0.125, .mask = scores_mask, .logsumexp = lse, .threads = 2});
  CHECK(o_data[0] == 1.0f);
  // Every logit is 0.125 * 8 * 0.125 = 0.125: logsumexp = 0.125 + log 5.
  CHECK(std::abs(lse[0] - float(0.125 + std::log(5.0))) <= 0x1p-22f);

  std::ifstream file(SOFTLAB_SOURCE_DIR "/README.md");
  const std::string readme((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
  // Each line as README shows it (README's block is this test's block, as clang-format lays it
  // out, at the left margin).
  for (const char* line : {
           "\nauto q = softlab::heads_of(q_data, q_heads, q_len, d);  // packed [H, L, d]; strides "
           "optional\n",
           "\nauto o = softlab::heads_of(o_data, q_heads, q_len, d_v);\n",
           "\nsoftlab::attention<softlab::materialized<softlab::fast>>(q, k, v, o, {.causal = "
           "0});\n",
           "\nsoftlab::attention<softlab::accurate_attention>(\n    q, k, v, o, {.scale = 0.125, "
           ".mask = scores_mask, .logsumexp = lse, .threads = 2});\n",
       })
    CHECK(readme.find(line) != std::string::npos);
}
