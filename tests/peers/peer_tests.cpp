// The peers (libtorch, oneDNN, XNNPACK) behind softlab's interface. One executable: libtorch
// makes every process start slowly.
//
// It REPORTS, not asserts, how each peer deviates from softlab's contract: for each peer and
// type, what it returns on -inf, +inf, NaN and underflowing inputs, and its ULP error against
// the exact MPFR reference on the seed example, uniform_1 and wide_80 (n = 1000) and a sweep of
// results around the smallest normal number. softlab's `stable` and `xsimd` are printed
// alongside for contrast. The report is the test case "report: ..." (see it with
// `ctest -L peers -V`, or run `softlab_peers_tests "report*" -s`); it is also written to
// peers_report.txt next to this test's binary.
//
// It asserts only what must hold: the registry entries of the built peers exist with the right
// types and facts, arguments are checked exactly as softlab checks them, in place works, the
// adapters' own machinery (caches, XNNPACK's padded path, threads) gives the library's result,
// and every peer is within 8 ULP on the seed example.
#include <softlab/softlab.hpp>
#include <softlab_peers/peers.hpp>
#include <softlab_reference/families.hpp>
#include <softlab_reference/reference.hpp>

#include <sys/mman.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace softlab;

constexpr std::uint64_t seed = 20261127;  // as tests/core: the same family inputs
constexpr double seed_example_ulps = 8;   // every peer is within this on the seed example

template <class T>
T inf() {
  return std::numeric_limits<T>::infinity();
}
template <class T>
T nan() {
  return std::numeric_limits<T>::quiet_NaN();
}

/// The peers built into softlab_peers (from the CMake target property SOFTLAB_PEERS_BUILT).
struct expected_peer {
  std::string_view name;
  bool has_double;
};
std::vector<expected_peer> built_peers() {
  std::vector<expected_peer> peers;
#ifdef SOFTLAB_TEST_PEER_TORCH
  peers.push_back({"torch", true});
#endif
#ifdef SOFTLAB_TEST_PEER_ONEDNN
  peers.push_back({"onednn", false});
#endif
#ifdef SOFTLAB_TEST_PEER_XNNPACK
  peers.push_back({"xnnpack", false});
#endif
#ifdef SOFTLAB_TEST_PEER_SLEEF
  peers.push_back({"sleef", true});
#endif
#ifdef SOFTLAB_TEST_PEER_HIGHWAY
  if (cpu_supports(isa::avx2)) peers.push_back({"highway", true});  // no SSE2 target
#endif
#ifdef SOFTLAB_TEST_PEER_EIGEN
  peers.push_back({"eigen", true});
#endif
  return peers;
}

const registry& peer_registry() {
  static const registry r = [] {
    registry result;
    peers::register_peers(result);
    return result;
  }();
  return r;
}

const registry& builtins() {
  static const registry r = builtin_registry();
  return r;
}

/// The seed example of attention: query 0.5, keys [0.1, 0.5, 0.3, 0.9].
template <class T>
std::vector<T> seed_scores() {
  const T query = T(0.5);
  std::vector<T> scores;
  for (double key : {0.1, 0.5, 0.3, 0.9}) scores.push_back(T(query * T(key)));
  return scores;
}

template <class T>
std::vector<T> family_input(reference::family f, std::size_t n) {
  return reference::generate<T>(f, n, seed + 1000 * std::size_t(f) + n);
}

/// x_0 = 0 and n - 1 scores evenly over ln(min normal) +- 6: results from 400 times the smallest
/// normal number down to 1/400 of it, where a flush or a badly scaled exp shows.
template <class T>
std::vector<T> near_min_input(std::size_t n) {
  const double center = std::log(double(std::numeric_limits<T>::min()));
  std::vector<T> x(n, T(0));
  for (std::size_t i = 1; i < n; ++i) x[i] = T(center + 6 - 12 * double(i - 1) / double(n - 2));
  return x;
}

// ---------------------------------------------------------------------------------------------
// The report.

class report {
 public:
  void line(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    char buffer[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    text_ += buffer;
    text_ += '\n';
  }
  void blank() { text_ += '\n'; }
  void finish() const {
    std::fputs(text_.c_str(), stdout);
    std::fflush(stdout);
    std::ofstream(SOFTLAB_PEERS_REPORT_PATH) << text_;
  }

 private:
  std::string text_;
};

template <class T>
std::string number(T v) {
  const double d = static_cast<double>(v);
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", d);
  return buffer;
}

template <class T>
std::string numbers(std::span<const T> v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += ' ';
    s += number(v[i]);
  }
  s += ']';
  return s;
}

template <class T>
std::vector<T> rounded(const std::vector<reference::exact>& exact) {
  std::vector<T> out;
  for (const auto& e : exact) out.push_back(reference::round_to<T>(e.get()));
  return out;
}

/// "sleef@avx2" for a kernel with per-ISA code (at the active ISA, as forced by the report),
/// else its name.
template <class T>
std::string name_at_isa(const kernel<T>& k) {
  if (k.isas == 0) return std::string(k.facts.name);
  return std::string(k.facts.name) + "@" + std::string(isa_name(active_isa()));
}

/// One special input through one kernel: the three functions, each against the contract (the
/// exact reference, which implements the contract's limits): "ok" within 8 ULP (8 u max(1,|y|)
/// in the log domain) everywhere, NaN matching NaN and infinities matching.
template <class T>
void report_special(report& out, const kernel<T>& k, const char* label, std::vector<T> x) {
  const auto exact = reference::exact_softmax<T>(x);
  const auto exact_log = reference::exact_softmax<T>(x, true);
  const auto exact_lse = reference::exact_logsumexp<T>(std::span<const T>(x));
  const std::vector<T> want = rounded<T>(exact), want_log = rounded<T>(exact_log);
  const T want_lse = reference::round_to<T>(exact_lse.get());

  auto verdict = [](bool ok) { return ok ? "ok" : "DEVIATES"; };
  std::string prefix = name_at_isa(k) + " " + std::string(type_token_v<T>);
  char head[64];
  std::snprintf(head, sizeof head, "%-20s %-18s", prefix.c_str(), label);

  std::vector<T> y(x.size(), T(-7));
  try {
    k.softmax(x, y);
    bool ok = true;
    for (std::size_t i = 0; i < x.size(); ++i) ok = ok && reference::ulp_error(y[i], exact[i]) <= 8;
    out.line("%s softmax     %-30s contract %-30s %s", head, numbers<T>(y).c_str(),
             numbers<T>(want).c_str(), verdict(ok));
  } catch (const std::exception& e) {
    out.line("%s softmax     throws: %s", head, e.what());
  }
  std::fill(y.begin(), y.end(), T(-7));
  try {
    k.log_softmax(x, y);
    bool ok = true;
    for (std::size_t i = 0; i < x.size(); ++i)
      ok = ok && reference::log_error_units(y[i], exact_log[i]) <= 8;
    out.line("%-39s log_softmax %-30s contract %-30s %s", "", numbers<T>(y).c_str(),
             numbers<T>(want_log).c_str(), verdict(ok));
  } catch (const std::exception& e) {
    out.line("%-39s log_softmax throws: %s", "", e.what());
  }
  try {
    const T lse = k.logsumexp(x);
    out.line("%-39s logsumexp   %-30s contract %-30s %s", "", number(lse).c_str(),
             number(want_lse).c_str(), verdict(reference::log_error_units(lse, exact_lse) <= 8));
  } catch (const std::exception& e) {
    out.line("%-39s logsumexp   throws: %s", "", e.what());
  }
}

template <class T>
void report_specials(report& out, const kernel<T>& k) {
  const T i = inf<T>();
  report_special<T>(out, k, "all -inf", {-i, -i, -i});
  report_special<T>(out, k, "masked [1 -inf 2]", {T(1), -i, T(2)});
  report_special<T>(out, k, "one +inf [1 inf 2]", {T(1), i, T(2)});
  report_special<T>(out, k, "[1 inf 2 inf]", {T(1), i, T(2), i});
  report_special<T>(out, k, "a NaN [1 nan 2]", {T(1), nan<T>(), T(2)});
  report_special<T>(out, k, "[-1000 -900]", {T(-1000), T(-900)});
  // One result far below the smallest normal: e^-100 (float), e^-720 (double).
  const T gap = std::is_same_v<T, float> ? T(-100) : T(-720);
  report_special<T>(out, k, "subnormal [0 gap]", {T(0), gap});
}

/// Accuracy of one kernel on one finite input, against the exact reference.
struct accuracy {
  double max_ulp = 0;  ///< over exact results >= the smallest normal
  double sum_ulp = 0;
  std::size_t normal = 0;
  double max_relative = 0;   ///< over the same results, |y - exact| / exact
  double max_ulp_above = 0;  ///< max ULP over exact results >= 64 times the smallest normal
  std::size_t tiny = 0;      ///< exact results in (0, smallest normal)
  std::size_t flushed = 0;   ///< ... of which returned as 0
  double max_log = -1;       ///< log_softmax: max |y - exact| / (u max(1, |exact|)); -1: throws
  double lse = -1;           ///< logsumexp, same measure; -1: throws
};

template <class T>
accuracy measure(const kernel<T>& k, std::span<const T> x) {
  accuracy a;
  const auto exact = reference::exact_softmax<T>(x);
  std::vector<T> y(x.size());
  k.softmax(x, y);
  const double smallest = static_cast<double>(std::numeric_limits<T>::min());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = exact[i].to_double();
    if (mpfr_cmp_d(exact[i].get(), smallest) >= 0) {
      const double ulp = reference::ulp_error(y[i], exact[i]);
      a.max_ulp = std::max(a.max_ulp, ulp);
      a.sum_ulp += ulp;
      ++a.normal;
      a.max_relative = std::max(a.max_relative, std::abs(double(y[i]) - e) / e);
      if (mpfr_cmp_d(exact[i].get(), 64 * smallest) >= 0)
        a.max_ulp_above = std::max(a.max_ulp_above, ulp);
    } else if (reference::round_to<T>(exact[i].get()) != T(0)) {
      ++a.tiny;  // a subnormal result (not one that rounds to 0 anyway)
      if (y[i] == T(0)) ++a.flushed;
    }
  }
  try {
    const auto exact_log = reference::exact_softmax<T>(x, true);
    k.log_softmax(x, y);
    a.max_log = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      a.max_log = std::max(a.max_log, reference::log_error_units(y[i], exact_log[i]));
  } catch (const std::logic_error&) {
  }
  try {
    a.lse = reference::log_error_units(k.logsumexp(x), reference::exact_logsumexp<T>(x));
  } catch (const std::logic_error&) {
  }
  return a;
}

std::string log_measure(double v) {
  if (v < 0) return "throws";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", v);
  return buffer;
}

template <class T>
void report_accuracy(report& out, const kernel<T>& k) {
  struct named_input {
    const char* name;
    std::vector<T> x;
  };
  const std::vector<named_input> inputs{
      {"seed example", seed_scores<T>()},
      {"uniform_1 n=1000", family_input<T>(reference::family::uniform_1, 1000)},
      {"wide_80 n=1000", family_input<T>(reference::family::wide_80, 1000)},
      {"near_min n=1000", near_min_input<T>(1000)},
  };
  for (const auto& [name, x] : inputs) {
    const accuracy a = measure<T>(k, x);
    const double mean = a.normal ? a.sum_ulp / double(a.normal) : 0;
    char tiny[48] = "-";
    if (a.tiny) std::snprintf(tiny, sizeof tiny, "%zu/%zu flushed", a.flushed, a.tiny);
    out.line("%-8s %-7s %-17s %12.2f %9.2f %11.3g %10.2f  %-16s %11s %11s",
             std::string(k.facts.name).c_str(), std::string(type_token_v<T>).c_str(), name,
             a.max_ulp, mean, a.max_relative, a.max_ulp_above, tiny, log_measure(a.max_log).c_str(),
             log_measure(a.lse).c_str());
  }
}

/// Near the smallest normal number m: the smallest nonzero result each kernel returns for
/// softmax([0, x]) (found by bisection on x), and the largest relative error on results in
/// [m, 64 m) by binade, from one softmax of x_0 = 0 and 4000 scores from ln(64 m) down to ln(m).
template <class T>
void report_near_min(report& out, const kernel<T>& k) {
  const double m = static_cast<double>(std::numeric_limits<T>::min());
  auto second_result = [&](double gap) {
    const std::vector<T> x{T(0), T(-gap)};
    std::vector<T> y(2);
    k.softmax(x, y);
    return y[1];
  };
  double kept = 0, lost = -std::log(double(std::numeric_limits<T>::denorm_min())) + 2;
  for (int step = 0; step < 100; ++step) {
    const double mid = (kept + lost) / 2;
    (second_result(mid) != T(0) ? kept : lost) = mid;
  }
  const double smallest = static_cast<double>(second_result(kept)) / m;

  const std::size_t n = 4001;
  std::vector<T> x(n, T(0));
  const double high = std::log(64 * m), low = std::log(m);
  for (std::size_t i = 1; i < n; ++i) x[i] = T(high + (low - high) * double(i - 1) / double(n - 2));
  std::vector<T> y(n);
  k.softmax(x, y);
  const auto exact = reference::exact_softmax<T>(std::span<const T>(x));
  double worst[5] = {0, 0, 0, 0, 0};  // [m,2m) [2m,4m) [4m,8m) [8m,16m) [16m,64m)
  std::size_t normal = 0, zeroed = 0;
  for (std::size_t i = 1; i < n; ++i) {
    const double e = exact[i].to_double();
    if (mpfr_cmp_d(exact[i].get(), m) < 0) continue;
    ++normal;
    if (y[i] == T(0)) ++zeroed;
    const int binade = std::min(4, static_cast<int>(std::floor(std::log2(e / m))));
    worst[binade] = std::max(worst[binade], std::abs(static_cast<double>(y[i]) - e) / e);
  }
  out.line("%-8s %-7s %12.3g m %9.3g %9.3g %9.3g %9.3g %10.3g %9zu/%zu",
           std::string(k.facts.name).c_str(), std::string(type_token_v<T>).c_str(), smallest,
           worst[0], worst[1], worst[2], worst[3], worst[4], zeroed, normal);
}

/// The kernels reported for T: the peers, then softlab's stable and xsimd for contrast.
template <class T>
std::vector<const kernel<T>*> reported_kernels() {
  std::vector<const kernel<T>*> list;
  for (const auto& k : peer_registry().kernels<T>()) list.push_back(&k);
  for (const char* name : {"stable", "xsimd"})
    if (const auto* k = builtins().find<T>(name)) list.push_back(k);
  return list;
}

const char* subnormal_word(subnormal_results s) {
  return s == subnormal_results::kept ? "kept" : "flushed_to_zero";
}

/// Measured subnormal handling: e^-100 (float) or e^-720 (double) as the second result.
template <class T>
const char* measured_subnormals(const kernel<T>& k) {
  const std::vector<T> x{T(0), std::is_same_v<T, float> ? T(-100) : T(-720)};
  std::vector<T> y(2);
  k.softmax(x, y);
  if (y[1] == T(0)) return "flushed_to_zero";
  return y[1] < std::numeric_limits<T>::min() ? "kept" : "?";
}

TEST_CASE("report: the peers' deviations from the softlab contract", "[report]") {
  report out;
  out.line("== softlab peers ==");
  for (const auto& line : peers::peer_descriptions()) out.line("  %s", line.c_str());

  out.blank();
  out.line("== facts (registered) and measured subnormal handling ==");
  auto facts_of = [&]<class T>() {
    for (const auto* k : reported_kernels<T>())
      out.line("  %-8s %-7s origin %-40s meets_contract %-5s subnormals: facts %-15s measured %s",
               std::string(k->facts.name).c_str(), std::string(type_token_v<T>).c_str(),
               std::string(k->origin).c_str(), k->facts.meets_contract ? "true" : "false",
               subnormal_word(k->facts.subnormals), measured_subnormals<T>(*k));
  };
  facts_of.operator()<float>();
  facts_of.operator()<double>();

  out.blank();
  out.line("== special inputs: what each returns, against the contract (exact reference) ==");
  auto specials = [&]<class T>() {
    for (const auto* k : reported_kernels<T>()) {
      if (k->isas == 0 || k->origin == "softlab") {
        report_specials<T>(out, *k);
        continue;
      }
      // A peer with per-ISA code at each of its ISAs: Eigen's exp differs by ISA.
      const isa original = active_isa();
      for (isa which : isa_variants_of(*k)) {
        force_isa(which);
        report_specials<T>(out, *k);
      }
      force_isa(original);
    }
  };
  specials.operator()<float>();
  specials.operator()<double>();

  out.blank();
  out.line(
      "== accuracy against MPFR: softmax ULP over results >= the smallest normal; log_softmax "
      "and logsumexp in u max(1,|y|) ==");
  out.line("%-8s %-7s %-17s %12s %9s %11s %10s  %-16s %11s %11s", "impl", "type", "input",
           "max ULP", "mean ULP", "max rel", "ULP y>=64m", "subnormal exact", "log_softmax",
           "logsumexp");
  auto accuracies = [&]<class T>() {
    for (const auto* k : reported_kernels<T>()) report_accuracy<T>(out, *k);
  };
  accuracies.operator()<float>();
  accuracies.operator()<double>();

  out.blank();
  out.line(
      "== near the smallest normal number m (float 1.17549e-38, double 2.22507e-308): "
      "max relative error by binade ==");
  out.line("%-8s %-7s %14s %9s %9s %9s %9s %10s %12s", "impl", "type", "smallest y>0", "[m,2m)",
           "[2m,4m)", "[4m,8m)", "[8m,16m)", "[16m,64m)", "normal -> 0");
  auto near_min = [&]<class T>() {
    for (const auto* k : reported_kernels<T>()) report_near_min<T>(out, *k);
  };
  near_min.operator()<float>();
  near_min.operator()<double>();
  out.finish();
  SUCCEED("report printed");
}

// ---------------------------------------------------------------------------------------------
// What must hold.

TEST_CASE("registry: the built peers are registered, with the right types and facts",
          "[registry]") {
  const auto peers = built_peers();
  REQUIRE_FALSE(peers.empty());
  registry both = builtin_registry();
  REQUIRE_NOTHROW(peers::register_peers(both));  // no name clashes with softlab's own
  REQUIRE(peers::peer_descriptions().size() == 6);

  const registry& r = peer_registry();
  CHECK(r.names().size() == peers.size());
  for (const auto& p : peers) {
    INFO("peer " << p.name);
    const kernel<float>* f = r.find<float>(p.name);
    REQUIRE(f != nullptr);
    CHECK((r.find<double>(p.name) != nullptr) == p.has_double);
    CHECK(r.find<long double>(p.name) == nullptr);
    auto facts_hold = [&]<class T>(const kernel<T>& k) {
      CHECK_FALSE(k.facts.meets_contract);
      CHECK(k.facts.vectorized);
      CHECK(k.facts.stated_bound == "none stated by the library");
      CHECK(k.origin != "softlab");
      CHECK(k.facts.algorithm.find(k.origin) != std::string_view::npos);
      REQUIRE(k.softmax != nullptr);
      REQUIRE(k.log_softmax != nullptr);
      REQUIRE(k.logsumexp != nullptr);
      REQUIRE(k.softmax_bound_ulps != nullptr);
      REQUIRE(k.log_bound_a != nullptr);
      CHECK(k.softmax_bound_ulps(bound_inputs{}) == no_bound_claimed);
      CHECK(k.log_bound_a(bound_inputs{}) == no_bound_claimed);
    };
    facts_hold(*f);
    if (p.has_double) facts_hold(*r.find<double>(p.name));
  }
}

template <class T>
void check_arguments(const kernel<T>& k) {
  INFO(k.facts.name << " " << type_token_v<T>);
  std::vector<T> x{T(1), T(2), T(3), T(4)};
  std::vector<T> short_y(3);
  CHECK_THROWS_AS(k.softmax(x, short_y), std::invalid_argument);
  CHECK_THROWS_WITH(k.softmax(x, short_y),
                    Catch::Contains("x has 4 elements") && Catch::Contains("y has 3"));
  CHECK_THROWS_AS(k.log_softmax(x, short_y), std::invalid_argument);
  // A partial overlap: y starts one element into x.
  std::vector<T> buffer{T(1), T(2), T(3), T(4), T(5)};
  const std::span<const T> in(buffer.data(), 4);
  const std::span<T> shifted(buffer.data() + 1, 4);
  CHECK_THROWS_AS(k.softmax(in, shifted), std::invalid_argument);
  CHECK_THROWS_AS(k.log_softmax(in, shifted), std::invalid_argument);
  // Empty: a no-op, and logsumexp of nothing is -inf.
  CHECK_NOTHROW(k.softmax(std::span<const T>(), std::span<T>()));
  CHECK_NOTHROW(k.log_softmax(std::span<const T>(), std::span<T>()));
  CHECK(k.logsumexp(std::span<const T>()) == -inf<T>());
  // In place (y == x) is allowed and gives the out-of-place result.
  std::vector<T> y(4), in_place = x;
  k.softmax(x, y);
  k.softmax(in_place, in_place);
  CHECK(in_place == y);
}

TEST_CASE("arguments: checked as softlab checks them, in place allowed", "[arguments]") {
  for (const auto& k : peer_registry().kernels<float>()) check_arguments<float>(k);
  for (const auto& k : peer_registry().kernels<double>()) check_arguments<double>(k);
}

TEST_CASE("seed example: every peer within 8 ULP", "[accuracy]") {
  auto within = [&]<class T>() {
    const std::vector<T> x = seed_scores<T>();
    const auto exact = reference::exact_softmax<T>(std::span<const T>(x));
    for (const auto& k : peer_registry().kernels<T>()) {
      std::vector<T> y(x.size());
      k.softmax(x, y);
      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO(k.facts.name << " " << type_token_v<T> << " element " << i << ": " << double(y[i]));
        CHECK(reference::ulp_error(y[i], exact[i]) <= seed_example_ulps);
      }
    }
  };
  within.operator()<float>();
  within.operator()<double>();
}

/// The peers with per-ISA kernels (kernel::isas) and the ISAs each must have.
isa_set expected_isas(std::string_view name) {
  if (name == "highway") return isa_bit(isa::avx2) | isa_bit(isa::avx512);  // no SSE2 target
  if (name == "sleef" || name == "eigen") return all_isas;
  return 0;  // torch, onednn, xnnpack dispatch on their own
}

/// Sizes 1 to 40 (every remainder of 4, 8 and 16 lanes, below, at and above a vector and two)
/// and 1000.
std::vector<std::size_t> tail_sizes() {
  std::vector<std::size_t> sizes;
  for (std::size_t n = 1; n <= 40; ++n) sizes.push_back(n);
  sizes.push_back(1000);
  return sizes;
}

TEST_CASE("per-ISA peers: each ISA variant close to the exact result on ordinary inputs", "[isa]") {
  // uniform_1 scores: no overflow, no underflow below the smallest normal, sums of at most 1000
  // terms near 1. SLEEF's and Highway's exp are within 1 ULP, Eigen's within a few; the sum and
  // the scaling add a few roundings; 8 ULP (the seed example's) leaves room for all of them.
  auto check = [&]<class T>() {
    for (const auto& k : peer_registry().kernels<T>()) {
      INFO(k.facts.name << " " << type_token_v<T>);
      CHECK(k.isas == expected_isas(k.facts.name));
      if (k.isas == 0) continue;
      const std::vector<isa> variants = isa_variants_of(k);
      REQUIRE_FALSE(variants.empty());
      const isa original = active_isa();
      for (isa which : variants) {
        force_isa(which);
        INFO("at " << isa_name(which));
        for (std::size_t n : tail_sizes()) {
          INFO("n = " << n);
          const std::vector<T> x = family_input<T>(reference::family::uniform_1, n);
          const auto exact = reference::exact_softmax<T>(std::span<const T>(x));
          const auto exact_log = reference::exact_softmax<T>(std::span<const T>(x), true);
          std::vector<T> y(n, T(-7));
          k.softmax(x, y);
          double worst = 0, worst_log = 0;
          for (std::size_t i = 0; i < n; ++i)
            worst = std::max(worst, reference::ulp_error(y[i], exact[i]));
          std::fill(y.begin(), y.end(), T(-7));
          k.log_softmax(x, y);
          for (std::size_t i = 0; i < n; ++i)
            worst_log = std::max(worst_log, reference::log_error_units(y[i], exact_log[i]));
          CHECK(worst <= seed_example_ulps);
          CHECK(worst_log <= seed_example_ulps);
          CHECK(reference::log_error_units(k.logsumexp(x),
                                           reference::exact_logsumexp<T>(std::span<const T>(x))) <=
                seed_example_ulps);
        }
      }
      // An ISA the peer has no kernels for runs the widest of its own the CPU has: Highway at
      // sse2 is Highway at its best.
      for (isa which : available_isas()) {
        if ((k.isas & isa_bit(which)) != 0) continue;
        const std::vector<T> x = family_input<T>(reference::family::uniform_1, 1000);
        std::vector<T> widest(1000), fallback(1000);
        force_isa(variants.back());
        k.softmax(x, widest);
        force_isa(which);
        k.softmax(x, fallback);
        CHECK(fallback == widest);
      }
      force_isa(original);
    }
  };
  check.operator()<float>();
  check.operator()<double>();
}

TEST_CASE("per-ISA peers: tails read nothing past the end of x", "[isa]") {
  // x ends exactly at a page boundary, the next page unreadable: a vector load past x + n would
  // fault. Every size 1..40 at every ISA variant, compared with the same call on a vector.
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  auto check = [&]<class T>() {
    auto* pages = static_cast<T*>(std::aligned_alloc(page, 2 * page));
    REQUIRE(pages != nullptr);
    REQUIRE(mprotect(reinterpret_cast<char*>(pages) + page, page, PROT_NONE) == 0);
    T* page_end = pages + page / sizeof(T);
    for (const auto& k : peer_registry().kernels<T>()) {
      if (k.isas == 0) continue;
      const isa original = active_isa();
      for (isa which : isa_variants_of(k)) {
        force_isa(which);
        for (std::size_t n = 1; n <= 40; ++n) {
          INFO(k.facts.name << "@" << isa_name(which) << " " << type_token_v<T> << " n = " << n);
          const std::vector<T> x = family_input<T>(reference::family::uniform_1, n);
          // One output buffer for both calls: Eigen's result depends on y's alignment.
          std::vector<T> y(n);
          std::copy(x.begin(), x.end(), page_end - n);
          const std::span<const T> edge(page_end - n, n);
          k.softmax(x, y);
          const std::vector<T> direct = y;
          k.softmax(edge, y);
          CHECK(y == direct);
          k.log_softmax(x, y);
          const std::vector<T> direct_log = y;
          k.log_softmax(edge, y);
          CHECK(y == direct_log);
          CHECK(k.logsumexp(edge) == k.logsumexp(x));
        }
      }
      force_isa(original);
    }
    REQUIRE(mprotect(reinterpret_cast<char*>(pages) + page, page, PROT_READ | PROT_WRITE) == 0);
    std::free(pages);
  };
  check.operator()<float>();
  check.operator()<double>();
}

TEST_CASE("log domain: xnnpack has none and says so, the others run", "[log]") {
  const std::vector<float> x = seed_scores<float>();
  std::vector<float> y(x.size());
  for (const auto& k : peer_registry().kernels<float>()) {
    INFO(k.facts.name);
    if (k.facts.name == "xnnpack") {
      CHECK_THROWS_AS(k.log_softmax(x, y), std::logic_error);
      CHECK_THROWS_WITH(k.log_softmax(x, y), Catch::Contains("xnnpack has no log_softmax"));
      CHECK_THROWS_AS(k.logsumexp(x), std::logic_error);
      // The argument checks still come first.
      std::vector<float> short_y(3);
      CHECK_THROWS_AS(k.log_softmax(x, short_y), std::invalid_argument);
    } else {
      // They run; their accuracy is reported, not asserted (oneDNN's log errs by ~24 u).
      CHECK_NOTHROW(k.log_softmax(x, y));
      for (float v : y) CHECK(std::isfinite(v));
      CHECK(std::isfinite(k.logsumexp(x)));
    }
  }
}

TEST_CASE("caches: sizes interleaved, and threads, give the library's result", "[caches]") {
  auto consistent = [&]<class T>() {
    for (const auto& k : peer_registry().kernels<T>()) {
      INFO(k.facts.name << " " << type_token_v<T>);
      const std::vector<T> small = seed_scores<T>();
      const std::vector<T> large = family_input<T>(reference::family::uniform_1, 1000);
      // The same output buffers each time (Eigen's result depends on their alignment).
      std::vector<T> small_y(4), large_y(1000);
      k.softmax(small, small_y);
      const std::vector<T> small_first = small_y;
      k.softmax(large, large_y);
      const std::vector<T> large_first = large_y;
      k.softmax(small, small_y);
      k.softmax(large, large_y);
      CHECK(small_y == small_first);
      CHECK(large_y == large_first);
      // Each thread builds its own cache (and oneDNN engine and stream). Each thread's buffer
      // is first filled on this thread: Eigen's result depends on the output's alignment.
      std::vector<std::vector<T>> results(3, std::vector<T>(1000)), expected;
      for (auto& result : results) {
        k.softmax(large, result);
        expected.push_back(result);
        std::fill(result.begin(), result.end(), T(-7));
      }
      std::vector<std::thread> threads;
      for (auto& result : results)
        threads.emplace_back([&k, &large, &result] {
          for (int repeat = 0; repeat < 3; ++repeat) k.softmax(large, result);
        });
      for (auto& t : threads) t.join();
      for (std::size_t t = 0; t < results.size(); ++t) CHECK(results[t] == expected[t]);
    }
  };
  consistent.operator()<float>();
  consistent.operator()<double>();
}

TEST_CASE("xnnpack: a buffer ending at a page boundary goes through the padded copy", "[xnnpack]") {
  const kernel<float>* k = peer_registry().find<float>("xnnpack");
  if (k == nullptr) return;  // not built
  constexpr std::size_t page = 4096, n = 100;
  // Two pages; x ends exactly at the end of the first (XNNPACK's 16-byte over-read would cross
  // into the second), y likewise in its own allocation.
  auto* x_pages = static_cast<float*>(std::aligned_alloc(page, 2 * page));
  auto* y_pages = static_cast<float*>(std::aligned_alloc(page, 2 * page));
  REQUIRE(x_pages != nullptr);
  REQUIRE(y_pages != nullptr);
  const std::vector<float> x = family_input<float>(reference::family::uniform_1, n);
  float* x_at_edge = x_pages + page / sizeof(float) - n;
  float* y_at_edge = y_pages + page / sizeof(float) - n;
  std::copy(x.begin(), x.end(), x_at_edge);
  std::vector<float> direct(n);
  k->softmax(x, direct);
  k->softmax(std::span<const float>(x_at_edge, n), std::span<float>(y_at_edge, n));
  CHECK(std::equal(direct.begin(), direct.end(), y_at_edge));
  k->softmax(std::span<const float>(x_at_edge, n), std::span<float>(x_at_edge, n));  // in place
  CHECK(std::equal(direct.begin(), direct.end(), x_at_edge));
  std::free(x_pages);
  std::free(y_pages);
}

}  // namespace
