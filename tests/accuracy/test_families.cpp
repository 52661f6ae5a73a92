// tests/accuracy/test_families.cpp: every family of the study draws what it says, from its seed.
#include <softlab_accuracy/families.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace softlab;
using namespace softlab::accuracy;

namespace {

const family_spec& family(std::string_view name) {
  const family_spec* f = find_family(name);
  REQUIRE(f != nullptr);
  return *f;
}

template <class T>
std::vector<T> draw(std::string_view name, std::size_t n, std::uint64_t seed = 42) {
  return generate<T>(family(name), n, seed);
}

template <class T>
bool finite(const T& v) {
  return softlab::detail::is_finite(v);
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace

TEST_CASE("families: the shared ones first, then the study's, every name once") {
  const std::vector<family_spec> families = study_families();
  std::set<std::string_view> names;
  for (const family_spec& f : families) {
    CHECK(names.insert(f.name).second);
    CHECK_FALSE(f.reason.empty());
  }
  REQUIRE(families.size() >= reference::all_families.size() + 12);
  for (std::size_t i = 0; i < reference::all_families.size(); ++i)
    CHECK(families[i].name == reference::family_name(reference::all_families[i]));
  for (const char* name : {"fully_masked", "one_pos_inf", "one_nan", "near_underflow", "large_n",
                           "subnormal_inputs", "near_max", "random_bits", "sorted_ascending",
                           "classifier_logits", "int8_dequantized", "causal_mask"})
    CHECK(find_family(name) != nullptr);
  CHECK(find_family("no_such_family") == nullptr);
}

// The kind a family states is what its draws hold, so a report that reads the kind instead of a
// list of names judges each family by the right rule.
TEST_CASE("families: each kind matches the values drawn") {
  constexpr std::size_t n = 64;
  for (const family_spec& f : study_families()) {
    INFO(f.name << " (" << reference::kind_name(f.kind) << ")");
    bool any_nan = false, any_pos_inf = false, any_neg_inf = false;
    double spread = 0;
    for (std::size_t v = 0; v < 8; ++v) {
      const std::vector<double> x = generate<double>(f, n, family_seed(1, f.name, n, v));
      double low = std::numeric_limits<double>::infinity(), high = -low;
      for (const double value : x) {
        any_nan = any_nan || std::isnan(value);
        any_pos_inf = any_pos_inf || value == std::numeric_limits<double>::infinity();
        any_neg_inf = any_neg_inf || value == -std::numeric_limits<double>::infinity();
        if (std::isfinite(value)) {
          low = std::min(low, value);
          high = std::max(high, value);
        }
      }
      if (high >= low) spread = std::max(spread, high - low);
    }
    CHECK(any_nan == (f.kind == reference::family_kind::nan));
    CHECK(any_pos_inf == (f.kind == reference::family_kind::pos_inf));
    if (f.kind == reference::family_kind::finite || f.kind == reference::family_kind::wide)
      CHECK_FALSE(any_neg_inf);
    if (f.kind == reference::family_kind::masks) CHECK(any_neg_inf);
    // Wide: gaps |x - max| of tens or more, where rounding x - max costs tens of ULPs.
    if (f.kind == reference::family_kind::wide) CHECK(spread >= 20);
  }
}

TEST_CASE("families: seeds are reproducible and distinct") {
  CHECK(family_seed(1, "wide_80", 100, 0) == family_seed(1, "wide_80", 100, 0));
  std::set<std::uint64_t> seeds;
  for (const std::uint64_t base : {1, 2})
    for (const char* name : {"wide_80", "wide_500"})
      for (const std::size_t n : {10, 1000})
        for (const std::size_t v : {0, 1, 2}) seeds.insert(family_seed(base, name, n, v));
  CHECK(seeds.size() == 24);
  for (const family_spec& f : study_families()) {
    INFO(f.name);
    CHECK(same_bits(generate<double>(f, 257, 5), generate<double>(f, 257, 5)));
    if (f.name != "fully_masked" && f.name != "equal_huge")  // the two that draw nothing
      CHECK_FALSE(same_bits(generate<double>(f, 257, 5), generate<double>(f, 257, 6)));
  }
}

TEMPLATE_TEST_CASE("families: each draws what it says", "", float, double, long double, bin50,
                   fp16sim, bf16sim) {
  using T = TestType;
  using limits = std::numeric_limits<T>;
  const T inf = limits::infinity();
  const std::size_t n = std::is_same_v<T, bin50> ? 500 : 10000;

  SECTION("fully_masked: every entry -inf") {
    for (const T& v : draw<T>("fully_masked", n)) CHECK(v == -inf);
  }
  SECTION("one_pos_inf, one_nan: exactly one special, the rest in [-1, 1]") {
    for (const std::size_t size : {std::size_t(1), std::size_t(4), n}) {
      const auto a = draw<T>("one_pos_inf", size);
      CHECK(std::count(a.begin(), a.end(), inf) == 1);
      const auto b = draw<T>("one_nan", size);
      CHECK(std::count_if(b.begin(), b.end(), [](const T& v) { return !(v == v); }) == 1);
      for (const auto* x : {&a, &b})
        for (const T& v : *x)
          if (finite(v)) CHECK((v >= T(-1) && v <= T(1)));
    }
  }
  SECTION("near_underflow: one 0 (the max), the rest in [-104, -80]") {
    const auto x = draw<T>("near_underflow", n);
    CHECK(std::count(x.begin(), x.end(), T(0)) == 1);
    for (const T& v : x) CHECK(((v >= T(-104) && v <= T(-80)) || v == T(0)));
  }
  SECTION("large_n, sorted_ascending: uniform [-10, 10]; sorted ascending") {
    for (const T& v : draw<T>("large_n", n)) CHECK((v >= T(-10) && v <= T(10)));
    const auto x = draw<T>("sorted_ascending", n);
    CHECK(std::is_sorted(x.begin(), x.end()));
    CHECK((x.front() >= T(-10) && x.back() <= T(10)));
  }
  SECTION("subnormal_inputs: tiny non-zero values of both signs (subnormal where T has them)") {
    const auto x = draw<T>("subnormal_inputs", n);
    std::size_t negative = 0;
    for (const T& v : x) {
      const T size = v < T(0) ? T(-v) : v;
      CHECK(size > T(0));
      if constexpr (limits::has_denorm == std::denorm_present)
        CHECK(size < limits::min());
      else
        CHECK((size >= limits::min() && size < T(T(2) * limits::min())));
      negative += v < T(0) ? 1 : 0;
    }
    CHECK(negative > n / 4);
    CHECK(negative < 3 * n / 4);
  }
  SECTION("near_max: |x| in [max/2, max], finite, both signs") {
    const auto x = draw<T>("near_max", n);
    std::size_t negative = 0;
    for (const T& v : x) {
      const T size = v < T(0) ? T(-v) : v;
      CHECK(finite(v));
      CHECK(size >= T(limits::max() / T(2)));
      negative += v < T(0) ? 1 : 0;
    }
    CHECK(negative > n / 4);
    CHECK(negative < 3 * n / 4);
  }
  SECTION("random_bits: finite values over the whole range, only for IEEE-stored types") {
    const bool ieee = std::is_same_v<T, float> || std::is_same_v<T, double>;
    REQUIRE(applies_to<T>(family("random_bits")) == ieee);
    if (ieee) {
      const auto x = draw<T>("random_bits", n);
      std::size_t huge = 0, tiny = 0;
      for (const T& v : x) {
        CHECK(finite(v));
        const T size = v < T(0) ? T(-v) : v;
        huge += size > T(1e30) ? 1 : 0;
        tiny += size < T(1e-30) ? 1 : 0;
      }
      CHECK(huge > n / 10);
      CHECK(tiny > n / 10);
    }
  }
  SECTION("classifier_logits: one +10 over a Gaussian of sigma 3") {
    const auto x = draw<T>("classifier_logits", n);
    CHECK(std::count(x.begin(), x.end(), T(10)) == 1);
    double sum = 0, squares = 0;
    for (const T& v : x) {
      sum += static_cast<double>(v);
      squares += static_cast<double>(v) * static_cast<double>(v);
    }
    const double mean = sum / double(n);
    const double sigma = std::sqrt(squares / double(n) - mean * mean);
    CHECK(std::abs(mean) < 0.5);
    CHECK(sigma > 2.7);
    CHECK(sigma < 3.3);
  }
  SECTION("int8_dequantized: q * (8/127) for integers q in [-127, 127]; many exact ties") {
    const auto x = draw<T>("int8_dequantized", n);
    const double scale = 8.0 / 127.0;
    std::set<double> distinct;
    for (const T& v : x) {
      const double q = std::round(static_cast<double>(v) / scale);
      CHECK(std::abs(q) <= 127);
      CHECK(v == T(q * scale));
      distinct.insert(static_cast<double>(v));
    }
    CHECK(distinct.size() <= 255);
    CHECK(distinct.size() < n / 2);
  }
  SECTION("causal_mask: a finite prefix of k >= 1 entries in [-4, 4], then -inf") {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      const auto x = draw<T>("causal_mask", 50, seed);
      const auto first_masked = std::find(x.begin(), x.end(), -inf);
      CHECK(first_masked != x.begin());
      for (auto it = x.begin(); it != first_masked; ++it) CHECK((*it >= T(-4) && *it <= T(4)));
      for (auto it = first_masked; it != x.end(); ++it) CHECK(*it == -inf);
    }
  }
}
