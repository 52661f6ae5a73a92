// The attention peers (softlab_peers/peers.hpp: torch_composed, torch_sdpa, onednn_composed)
// behind softlab's attention interface, in the peers' one executable.
//
// It REPORTS what each returns on the contract's special rows (a fully masked row, kv_len 0,
// NaN in a masked key's K or V row, a +inf logit, a NaN query), next to softlab's `accurate`
// (the contract), in the test case "report: attention peers" (`ctest -L peers -V`; also
// attention_peers_report.txt next to the binary), and ASSERTS what peers.hpp documents: the
// registry entries and their facts, softlab's argument checks (std::invalid_argument, nothing
// written), each measured deviation, and a plain Gaussian problem (grouped-query heads, a causal
// offset, an additive mask, 1 and 2 threads) within 1e-4 (float; bf16: 2e-2) of `accurate`
// relative to the largest |O|, so a broken adapter fails.
#include <softlab/attention_registry.hpp>
#include <softlab_peers/peers.hpp>

#include <omp.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace softlab;

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan = std::numeric_limits<float>::quiet_NaN();

const attention_registry& attention_peers() {
  static const attention_registry r = [] {
    attention_registry result;
    peers::register_attention_peers(result);
    return result;
  }();
  return r;
}

const attention_kernel<float>& accurate_float() {
  static const attention_registry r = builtin_attention_registry();
  return *r.find<float>("accurate");
}

/// The attention peers built: torch gives torch_composed and torch_sdpa (float, bf16), oneDNN
/// onednn_composed (float; bf16 only on CPUs where oneDNN runs bf16 matmul).
std::vector<std::string> expected_float_peers() {
  std::vector<std::string> names;
#ifdef SOFTLAB_TEST_PEER_TORCH
  names.insert(names.end(), {"torch_composed", "torch_sdpa"});
#endif
#ifdef SOFTLAB_TEST_PEER_ONEDNN
  names.push_back("onednn_composed");
#endif
  return names;
}

/// One attention problem with its own buffers: q_heads x q_len x d, kv_heads x kv_len x d,
/// packed head after head; options set by the case.
template <class T>
struct problem {
  std::size_t q_heads = 1, kv_heads = 1, q_len = 1, kv_len = 1, d = 4;
  std::vector<T> q, k, v;
  attention_options options;  ///< without mask: run() points it at `mask`
  std::vector<float> mask;    ///< an additive mask shared by the heads, or empty

  problem(std::size_t qh, std::size_t kvh, std::size_t ql, std::size_t kvl, std::size_t dim)
      : q_heads(qh), kv_heads(kvh), q_len(ql), kv_len(kvl), d(dim) {
    q.assign(q_heads * q_len * d, T(0.0f));
    k.assign(std::max<std::size_t>(kv_heads * kv_len * d, 1), T(0.0f));
    v.assign(std::max<std::size_t>(kv_heads * kv_len * d, 1), T(0.0f));
  }
  void gaussian(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    for (auto* buffer : {&q, &k, &v})
      for (T& x : *buffer) x = T(normal(rng));
  }
};

/// What one run gave: O, logsumexp (when the entry computes one) or the exception's message.
struct outcome {
  std::vector<float> o;
  std::vector<float> lse;
  std::string thrown;
};

template <class T>
outcome run(const attention_kernel<T>& entry, const problem<T>& p, bool with_logsumexp = true) {
  outcome out;
  std::vector<T> o(p.q_heads * p.q_len * p.d, T(-7.0f));
  out.lse.assign(p.q_heads * p.q_len, -7.0f);
  attention_options options = p.options;
  if (with_logsumexp) options.logsumexp = out.lse;
  if (!p.mask.empty()) options.mask = std::span<const float>(p.mask);
  const auto view = [&](const std::vector<T>& data, std::size_t heads, std::size_t rows) {
    return heads_view<const T>{std::span<const T>(data), heads, rows, p.d, p.d, rows * p.d};
  };
  try {
    entry.attention(view(p.q, p.q_heads, p.q_len), view(p.k, p.kv_heads, p.kv_len),
                    view(p.v, p.kv_heads, p.kv_len),
                    heads_view<T>{std::span<T>(o), p.q_heads, p.q_len, p.d, p.d, p.q_len * p.d},
                    options);
  } catch (const std::logic_error& e) {
    if (with_logsumexp && std::string(e.what()).find("logsumexp") != std::string::npos) {
      outcome without = run(entry, p, false);  // torch_sdpa: no logsumexp
      without.lse.clear();
      return without;
    }
    out.thrown = e.what();
  } catch (const std::exception& e) {
    out.thrown = e.what();
  }
  for (const T& x : o) out.o.push_back(float(x));
  if (!with_logsumexp) out.lse.clear();
  return out;
}

std::string text(std::span<const float> values) {
  std::string s = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    char number[32];
    std::snprintf(number, sizeof number, "%s%.4g", i > 0 ? " " : "", double(values[i]));
    s += number;
  }
  return s + "]";
}

// The special rows, d = 4, one head.
struct special {
  const char* label;
  problem<float> p;
};

std::vector<special> special_rows() {
  std::vector<special> cases;
  const auto ramp = [](problem<float>& p) {
    for (std::size_t i = 0; i < p.k.size(); ++i) p.k[i] = 0.25f * float(i % 5) - 0.5f;
    for (std::size_t i = 0; i < p.v.size(); ++i) p.v[i] = float(i % 7) - 3.0f;
    for (std::size_t i = 0; i < p.q.size(); ++i) p.q[i] = 0.5f - 0.125f * float(i % 3);
  };
  {
    special c{"fully masked row (causal offset -1, one query)", problem<float>(1, 1, 1, 3, 4)};
    ramp(c.p);
    c.p.options.causal = -1;
    cases.push_back(c);
  }
  {
    special c{"kv_len 0", problem<float>(1, 1, 1, 0, 4)};
    ramp(c.p);
    cases.push_back(c);
  }
  {
    special c{"NaN in the K row of a -inf masked key", problem<float>(1, 1, 1, 3, 4)};
    ramp(c.p);
    c.p.k[4] = nan;  // key 1
    c.p.mask = {0.0f, -inf, 0.0f};
    cases.push_back(c);
  }
  {
    special c{"NaN in the V row of a causally masked key", problem<float>(1, 1, 1, 3, 4)};
    ramp(c.p);
    c.p.v[8] = nan;  // key 2, left out by causal offset 1
    c.p.options.causal = 1;
    cases.push_back(c);
  }
  {
    special c{"+inf logit (additive mask +inf at key 0)", problem<float>(1, 1, 1, 3, 4)};
    ramp(c.p);
    c.p.mask = {inf, 0.0f, 0.0f};
    cases.push_back(c);
  }
  {
    special c{"NaN in the query", problem<float>(1, 1, 1, 3, 4)};
    ramp(c.p);
    c.p.q[1] = nan;
    cases.push_back(c);
  }
  return cases;
}

/// Largest |a - b| over the largest |b|: NaN anywhere is a failure (infinity).
double relative_difference(std::span<const float> a, std::span<const float> b) {
  double largest = 0, difference = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) return inf;
    largest = std::max(largest, std::abs(double(b[i])));
    difference = std::max(difference, std::abs(double(a[i]) - double(b[i])));
  }
  return largest > 0 ? difference / largest : difference;
}

bool all_nan(std::span<const float> v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](float x) { return std::isnan(x); });
}
bool all_finite(std::span<const float> v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

}  // namespace

TEST_CASE("attention registry: the built attention peers, their facts", "[attention]") {
  const attention_registry& r = attention_peers();
  std::vector<std::string> names;
  for (const auto& k : r.kernels<float>()) names.emplace_back(k.facts.name);
  CHECK(names == expected_float_peers());
  CHECK(r.kernels<float16>().empty());  // none of them has an f16 entry
  auto facts_hold = [](const auto& k) {
    INFO(k.facts.name);
    CHECK_FALSE(k.meets_contract);
    CHECK(k.origin != "softlab");
    CHECK(k.facts.algorithm.find(k.origin) != std::string_view::npos);
    CHECK(k.facts.stated_bound == "none stated by the library");
    CHECK(k.attention != nullptr);
    CHECK(k.logit_error == nullptr);
    CHECK(k.weighted_sum_error == nullptr);
    CHECK(k.softmax_bound_ulps == nullptr);
    CHECK(k.isas == 0);
  };
  for (const auto& k : r.kernels<float>()) facts_hold(k);
  for (const auto& k : r.kernels<bfloat16>()) facts_hold(k);
#ifdef SOFTLAB_TEST_PEER_TORCH
  // libtorch's matmul runs on the BLAS Debian's alternatives give libblas.so.3: named.
  CHECK(r.find<float>("torch_composed")->origin.find("BLAS ") != std::string_view::npos);
  CHECK(r.find<bfloat16>("torch_composed") != nullptr);
  CHECK(r.find<bfloat16>("torch_sdpa") != nullptr);
#endif
  attention_registry both = builtin_attention_registry();
  CHECK_NOTHROW(peers::register_attention_peers(both));  // no clash with softlab's names
}

TEST_CASE("attention arguments: checked as softlab checks them, nothing written", "[attention]") {
  for (const auto& k : attention_peers().kernels<float>()) {
    INFO(k.facts.name);
    std::vector<float> q(2 * 4, 1.0f), kv(3 * 4, 1.0f), o(2 * 4, -7.0f);
    const auto qv = heads_of(std::span<const float>(q), 1, 2, 4);
    const auto kvv = heads_of(std::span<const float>(kv), 1, 3, 4);
    const auto ov = heads_of(std::span<float>(o), 1, 2, 4);
    const auto wrong_d = heads_of(std::span<const float>(kv), 1, 4, 3);
    CHECK_THROWS_WITH(k.attention(qv, wrong_d, wrong_d, ov, {}),
                      Catch::Contains("K has 3 columns but Q has 4"));
    CHECK_THROWS_AS(k.attention(qv, kvv, kvv, ov, {.scale = 0.0}), std::invalid_argument);
    CHECK_THROWS_AS(k.attention(qv, kvv, kvv, ov, {.threads = 0}), std::invalid_argument);
    std::vector<float> short_mask(5, 0.0f);
    CHECK_THROWS_AS(k.attention(qv, kvv, kvv, ov, {.mask = short_mask}), std::invalid_argument);
    const auto o_over_q = heads_of(std::span<float>(q), 1, 2, 4);
    CHECK_THROWS_WITH(k.attention(qv, kvv, kvv, o_over_q, {}), Catch::Contains("O overlaps Q"));
    CHECK(std::all_of(o.begin(), o.end(), [](float x) { return x == -7.0f; }));
    CHECK(std::all_of(q.begin(), q.end(), [](float x) { return x == 1.0f; }));
  }
}

TEST_CASE("attention accuracy: Gaussian heads close to softlab's accurate", "[attention]") {
  // 4 query heads on 2 K/V heads, 6 queries of the last positions of 9 keys (causal offset 3),
  // an additive mask in [-1, 0] with one -inf, d = 16, scale 0.3 (not sdpa's own 1/sqrt(d)).
  problem<float> p(4, 2, 6, 9, 16);
  p.gaussian(20261201);
  p.mask.resize(p.q_len * p.kv_len);
  for (std::size_t i = 0; i < p.mask.size(); ++i) p.mask[i] = -float(i % 5) / 5;
  p.mask[7] = -inf;
  p.options.causal = 3;
  p.options.scale = 0.3;
  const outcome exact = run(accurate_float(), p);
  REQUIRE(exact.thrown.empty());
  for (const auto& k : attention_peers().kernels<float>())
    for (std::size_t threads : {1, 2}) {
      INFO(k.facts.name << " on " << threads << " threads");
      p.options.threads = threads;
      const outcome got = run(k, p);
      REQUIRE(got.thrown.empty());
      CHECK(relative_difference(got.o, exact.o) < 1e-4);
      if (!got.lse.empty()) CHECK(relative_difference(got.lse, exact.lse) < 1e-4);
    }
  // bf16: the same problem rounded to bf16, against accurate on those bf16 values.
  problem<bfloat16> b(4, 2, 6, 9, 16);
  for (std::size_t i = 0; i < p.q.size(); ++i) b.q[i] = bfloat16(p.q[i]);
  for (std::size_t i = 0; i < p.k.size(); ++i) b.k[i] = bfloat16(p.k[i]);
  for (std::size_t i = 0; i < p.v.size(); ++i) b.v[i] = bfloat16(p.v[i]);
  b.mask = p.mask;
  b.options = p.options;
  static const attention_registry builtins = builtin_attention_registry();
  const outcome exact_bf16 = run(*builtins.find<bfloat16>("accurate"), b);
  for (const auto& k : attention_peers().kernels<bfloat16>()) {
    INFO(k.facts.name << " bf16");
    const outcome got = run(k, b);
    REQUIRE(got.thrown.empty());
    CHECK(relative_difference(got.o, exact_bf16.o) < 2e-2);
  }
}

TEST_CASE("report: attention peers on the contract's special rows", "[attention][report]") {
  std::string report =
      "== attention peers: the contract's special rows (accurate: the contract) ==\n";
  for (const auto& line : peers::peer_descriptions()) report += "  " + line + "\n";
  std::vector<const attention_kernel<float>*> entries{&accurate_float()};
  for (const auto& k : attention_peers().kernels<float>()) entries.push_back(&k);
  for (const auto& k : attention_peers().kernels<float>())
    report += "  " + std::string(k.facts.name) + ": origin " + std::string(k.origin) + "\n";
  for (const special& c : special_rows()) {
    report += std::string(c.label) + "\n";
    for (const auto* k : entries) {
      const outcome got = run(*k, c.p);
      char line[512];
      if (!got.thrown.empty())
        std::snprintf(line, sizeof line, "  %-16s throws: %s\n", std::string(k->facts.name).c_str(),
                      got.thrown.c_str());
      else
        std::snprintf(line, sizeof line, "  %-16s O %-36s logsumexp %s\n",
                      std::string(k->facts.name).c_str(), text(got.o).c_str(),
                      got.lse.empty() ? "(none)" : text(got.lse).c_str());
      report += line;
    }
  }
  std::fputs(report.c_str(), stdout);
  std::ofstream(SOFTLAB_ATTENTION_PEERS_REPORT_PATH) << report;
  SUCCEED("report printed");
}

TEST_CASE("attention deviations: as peers.hpp documents them", "[attention]") {
  const std::vector<special> cases = special_rows();
  const auto case_named = [&](std::string_view start) -> const problem<float>& {
    for (const special& c : cases)
      if (std::string_view(c.label).starts_with(start)) return c.p;
    FAIL("no case " << start);
    return cases.front().p;
  };
  for (const auto& k : attention_peers().kernels<float>()) {
    const std::string name(k.facts.name);
    INFO(name);
    const bool onednn = name == "onednn_composed";
    // A fully masked row: NaN (the contract: zeros, logsumexp -inf). torch's logsumexp is -inf;
    // onednn's derived one NaN.
    const outcome masked = run(k, case_named("fully masked"));
    CHECK(all_nan(masked.o));
    if (!masked.lse.empty()) CHECK((onednn ? std::isnan(masked.lse[0]) : masked.lse[0] == -inf));
    // kv_len 0: torch gives the contract's zeros; oneDNN takes no empty dimension.
    const outcome empty = run(k, case_named("kv_len 0"));
    if (onednn) {
      CHECK_THAT(empty.thrown, Catch::Contains("no empty dimension"));
    } else {
      CHECK(std::all_of(empty.o.begin(), empty.o.end(), [](float x) { return x == 0; }));
    }
    // A NaN in a -inf masked key's K row leaks: the score is NaN + -inf = NaN, the row NaN.
    CHECK(all_nan(run(k, case_named("NaN in the K row")).o));
    // A NaN in a masked key's V row leaks into its column (weight 0 times NaN), only there.
    const outcome v_nan = run(k, case_named("NaN in the V row"));
    CHECK(std::isnan(v_nan.o[0]));
    CHECK(all_finite(std::span<const float>(v_nan.o).subspan(1)));
    // A +inf logit: NaN (inf - inf in the softmax), not the mean of its V rows.
    CHECK(all_nan(run(k, case_named("+inf logit")).o));
    // A NaN query: NaN, as the contract.
    CHECK(all_nan(run(k, case_named("NaN in the query")).o));
  }
}

TEST_CASE("attention threads: a call leaves the caller's OpenMP thread count as it was",
          "[attention]") {
  // Each peer sets OpenMP's count to attention_options::threads for its call and restores it
  // (peers.hpp): the softmax peers' one thread, or a caller's own count, survive it.
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);
  problem<float> p(2, 2, 3, 5, 8);
  p.gaussian(7);
  for (const auto& k : attention_peers().kernels<float>())
    for (std::size_t threads : {1, 2}) {
      INFO(k.facts.name << " on " << threads << " threads");
      p.options.threads = threads;
      CHECK(run(k, p).thrown.empty());
      CHECK(omp_get_max_threads() == 3);
    }
  omp_set_num_threads(before);
}
