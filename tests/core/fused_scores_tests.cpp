// fast's fused scores (impl/src/fast.cpp, src/softlab_kernels/score_kernel.hpp): softmax and
// log_softmax of 16-bit rows and of softmax_options' scale, mask and causal scores, formed
// inside fast's vector passes, give the SAME BITS as the generic path they replace: z formed in
// the compute type C by detail::row_transform, fast's plain kernel on C, each result rounded
// once to the output type. No tolerance: bit identity is the contract of the fusion. On every
// ISA the CPU has ([vectorized]: one CTest entry per ISA, skipped where the CPU lacks it).
#include "isa_under_test.hpp"

#include <kernel_tables.hpp>
#include <softlab/softlab.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace softlab;

constexpr std::uint64_t seed = 20261201;  // every random score and mask below is drawn from this

/// The ISAs to run on: the CPU's, restricted to SOFTLAB_TEST_ISA when set.
std::vector<isa> isas() {
  std::vector<isa> result;
  const auto only = testing::isa_under_test();
  for (isa which : every_isa)
    if (cpu_supports(which) && (!only || *only == which)) result.push_back(which);
  return result;
}

/// The draws of std::uniform_real_distribution<double>(0, 1) and std::normal_distribution<double>
/// on std::mt19937_64, computed as libstdc++ computes them (bits/random.tcc: generate_canonical,
/// then the polar method, its second value saved), so the suite draws the inputs it always drew.
/// Why not the std ones: libstdc++'s generate_canonical takes a long double log of the engine's
/// range on every draw, which clang does not fold (LLVM folds no x86_fp80 libm call), so under
/// the sanitize preset (clang -O1) that logl alone was a quarter of this file's time, and the
/// draws with it a third (perf, core:vectorized@sse2).
double unit_draw(std::mt19937_64& rng) {
  static_assert(std::mt19937_64::min() == 0 && std::mt19937_64::max() == ~std::uint64_t(0));
  // One 64-bit draw covers the 53 bits of a double: the sum is that draw over 2^64, rounded.
  const double unit = double(rng()) / 0x1p64;
  return unit >= 1.0 ? std::nextafter(1.0, 0.0) : unit;
}

class normal_draw {
 public:
  normal_draw(double mean, double stddev) : mean_(mean), stddev_(stddev) {}
  double operator()(std::mt19937_64& rng) {
    double result;
    if (saved_available_) {
      saved_available_ = false;
      result = saved_;
    } else {
      double x, y, r2;
      do {
        x = 2.0 * unit_draw(rng) - 1.0;
        y = 2.0 * unit_draw(rng) - 1.0;
        r2 = x * x + y * y;
      } while (r2 > 1.0 || r2 == 0.0);
      const double mult = std::sqrt(-2 * std::log(r2) / r2);
      saved_ = x * mult;
      saved_available_ = true;
      result = y * mult;
    }
    return result * stddev_ + mean_;
  }

 private:
  double mean_, stddev_;
  bool saved_available_ = false;
  double saved_ = 0;
};

template <class T>
auto bits_of(const T& v) {
  if constexpr (is_storage_float<T>)
    return v.bits();
  else if constexpr (std::is_same_v<T, float>)
    return std::bit_cast<std::uint32_t>(v);
  else
    return std::bit_cast<std::uint64_t>(v);
}

/// Buffers kept from check to check, grown but never shrunk, each filled with its role's byte
/// before use. Why kept: a fresh 2^21-element vector per check cost more than the kernels under
/// the sanitize preset (perf, core:vectorized@avx512: 31% of the time zero-filling vectors, 27%
/// page faults on the new pages ASan's allocator maps for each). Why filled per role: an element
/// the fused kernel leaves unwritten then differs from the generic result (the byte patterns are
/// not NaNs in any of the types), where two zero-filled vectors would have agreed.
enum class buffer_role : unsigned char { fused = 0xc3, generic = 0x5a, formed = 0x71 };

template <class T>
std::span<T> buffer(buffer_role role, std::size_t n) {
  static_assert(std::is_trivially_copyable_v<T>);
  static std::vector<T> kept[3];
  std::vector<T>& v = kept[role == buffer_role::fused ? 0 : role == buffer_role::generic ? 1 : 2];
  if (v.size() < n) v.resize(n);
  std::memset(static_cast<void*>(v.data()), int(role), n * sizeof(T));
  return std::span<T>(v.data(), n);
}

/// The generic path: z = row_transform's scores in C, fast's plain kernel on z, rounded to Out.
template <class C, class S, class Out>
void reference_row(std::span<const S> x, std::span<Out> y, const detail::row_transform<C>& t,
                   bool log) {
  const std::span<C> z = buffer<C>(buffer_role::formed, x.size());
  detail::form_scores<C>(x, t, z.data());
  if (log)
    fast::log_softmax<C>(std::span<const C>(z), z);
  else
    fast::softmax<C>(std::span<const C>(z), z);
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = Out(z[i]);
}

/// The scores' classes: ordinary ones, specials sprinkled in, and raw bit patterns.
enum class scores_class { spread, specials, bits, tiny, mostly_masked, wide_bits };
constexpr scores_class every_class[] = {scores_class::spread,        scores_class::specials,
                                        scores_class::bits,          scores_class::tiny,
                                        scores_class::mostly_masked, scores_class::wide_bits};

template <class S>
S from_bits_limited(std::mt19937_64& rng, bool wide) {
  // Exponent fields up to 2^7 (the pivot's range) unless wide; every sign, fraction, and the
  // all-ones exponent (inf, NaN payloads) now and then.
  if constexpr (is_storage_float<S>) {
    constexpr int fraction_bits = S::fraction_bits;
    constexpr unsigned max_field = (1u << (15 - fraction_bits)) - 1;
    const unsigned bias = max_field / 2;
    const unsigned top = wide ? max_field : bias + 7;
    unsigned field = unsigned(rng() % (top + 1));
    if (!wide && rng() % 64 == 0) field = max_field;
    const unsigned fraction = unsigned(rng()) & ((1u << fraction_bits) - 1);
    const unsigned sign = unsigned(rng() & 1) << 15;
    return S::from_bits(std::uint16_t(sign | (field << fraction_bits) | fraction));
  } else {
    using U = std::conditional_t<std::is_same_v<S, float>, std::uint32_t, std::uint64_t>;
    constexpr int fraction_bits = std::numeric_limits<S>::digits - 1;
    constexpr U max_field = (U(1) << (8 * sizeof(S) - 1 - fraction_bits)) - 1;
    const U top = wide ? max_field : max_field / 2 + 7;
    U field = U(rng() % (top + 1));
    if (!wide && rng() % 64 == 0) field = max_field;
    const U fraction = U(rng()) & ((U(1) << fraction_bits) - 1);
    const U sign = U(rng() & 1) << (8 * sizeof(S) - 1);
    return std::bit_cast<S>(U(sign | (field << fraction_bits) | fraction));
  }
}

template <class S>
std::vector<S> scores_of(scores_class c, std::size_t n, std::mt19937_64& rng) {
  normal_draw normal(0.0, 4.0);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<S> x(n);
  for (auto& v : x) {
    double d = normal(rng);
    switch (c) {
      case scores_class::spread:
        break;
      case scores_class::specials: {
        const double u = unit_draw(rng);
        if (u < 0.03)
          d = -inf;
        else if (u < 0.035)
          d = inf;
        else if (u < 0.04)
          d = std::numeric_limits<double>::quiet_NaN();
        break;
      }
      case scores_class::tiny:
        d *= 1e-40;
        break;  // subnormal in float and bfloat16
      case scores_class::mostly_masked:
        d = unit_draw(rng) < 0.95 ? -inf : d;
        break;
      case scores_class::bits:
        v = from_bits_limited<S>(rng, false);
        continue;
      case scores_class::wide_bits:
        v = from_bits_limited<S>(rng, true);
        continue;
    }
    v = S(float(d));
    if constexpr (std::is_same_v<S, double>) v = d;
  }
  return x;
}

/// The options compared, each with the masks it needs for a row of n.
struct option_case {
  std::string name;
  softmax_options options;
};

struct masks {
  std::vector<float> additive_float;
  std::vector<double> additive_double;
  std::unique_ptr<bool[]> keep;
  std::size_t n = 0;
};

masks masks_of(std::size_t n, std::mt19937_64& rng) {
  masks m;
  m.n = n;
  normal_draw normal(0.0, 2.0);
  m.keep.reset(new bool[n]);
  m.additive_float.reserve(n);
  m.additive_double.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double u = unit_draw(rng);
    const double v = u < 0.1 ? -std::numeric_limits<double>::infinity() : normal(rng);
    m.additive_float.push_back(float(v));
    m.additive_double.push_back(v / 3);  // not a float: rounded to float for C = float
    m.keep[i] = unit_draw(rng) < 0.8;
  }
  return m;
}

std::vector<option_case> option_cases(const masks& m) {
  std::vector<option_case> cases;
  cases.push_back({"none", {}});
  cases.push_back({"scale 1/0.7", {.scale = 1 / 0.7}});
  cases.push_back({"scale -0.37", {.scale = -0.37}});
  cases.push_back({"mask float", {.mask = std::span<const float>(m.additive_float)}});
  cases.push_back({"scale 0.125 + mask float",
                   {.scale = 0.125, .mask = std::span<const float>(m.additive_float)}});
  cases.push_back({"scale -3 + mask double",
                   {.scale = -3.0, .mask = std::span<const double>(m.additive_double)}});
  cases.push_back({"keep", {.mask = std::span<const bool>(m.keep.get(), m.n)}});
  cases.push_back(
      {"scale 1/0.7 + keep", {.scale = 1 / 0.7, .mask = std::span<const bool>(m.keep.get(), m.n)}});
  return cases;
}

template <class Out>
std::string hex_of(const Out& v) {
  char text[64];
  std::snprintf(text, sizeof text, "%a (0x%llx)", double(v),
                static_cast<unsigned long long>(bits_of(v)));
  return text;
}

/// Counts the elements whose bits differ (NaN: see below); reports the first.
template <class Out>
std::size_t mismatches(std::span<const Out> got, std::span<const Out> want, std::string& first) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (bits_of(got[i]) == bits_of(want[i])) continue;
    // NaN: both NaN. A NaN row's payload and sign are not part of the contract: fast's plain
    // kernel itself gives other payloads in place than out of place (the exps stored, or
    // recomputed, carry the input NaN's payload through other operations).
    if (std::isnan(double(got[i])) && std::isnan(double(want[i]))) continue;
    if (count++ == 0)
      first = "element " + std::to_string(i) + ": fused " + hex_of(got[i]) + ", generic " +
              hex_of(want[i]);
  }
  return count;
}

/// One row: softmax and log_softmax with options o, fused (the public entry) against generic.
template <class C, class S, class Out>
void check_row(const std::vector<S>& x, const option_case& o, const std::string& where) {
  const std::size_t n = x.size();
  const auto t = detail::transform_of_row<C>(o.options, 0, n);
  for (bool log : {false, true}) {
    const std::span<Out> fused = buffer<Out>(buffer_role::fused, n);
    const std::span<Out> generic = buffer<Out>(buffer_role::generic, n);
    if (log)
      log_softmax<fast>(x, fused, o.options);
    else
      softmax<fast>(x, fused, o.options);
    reference_row<C, S, Out>(x, generic, t, log);
    std::string first;
    const std::size_t bad = mismatches<Out>(fused, generic, first);
    INFO(where << " n " << n << " options " << o.name << (log ? " log_softmax" : " softmax") << ": "
               << bad << " bits differ; " << first);
    CHECK(bad == 0);
  }
}

template <class C, class S, class Out>
void check_types(const std::string& types) {
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 1; n <= 40; ++n) lengths.push_back(n);
  for (std::size_t n : {255, 256, 257, 1000, 2048, 2049, 4096, 4097, 5000}) lengths.push_back(n);
  for (isa which : isas()) {
    force_isa(which);
    const std::string where = types + " @" + std::string(isa_name(which));
    for (std::size_t n : lengths) {
      const masks m = masks_of(n, rng);
      for (scores_class c : every_class) {
        const auto x = scores_of<S>(c, n, rng);
        for (const auto& o : option_cases(m))
          check_row<C, S, Out>(x, o, where + " class " + std::to_string(int(c)));
      }
    }
    // The rows fast::softmax_split splits (from 256 KiB of C up to two passes), formed chunk by
    // chunk on 1 and 3 threads: the generic path's bits (its kernel on one thread) on both. The
    // classes with specials hand most rows back to the generic path after the maxima (a NaN);
    // spread (no NaN) takes every threaded pass (exps, sums, scale) to the end.
    const std::size_t split_n = 2 * fast::split_from_elements<C> + 4099;
    const masks split_masks = masks_of(split_n, rng);
    for (scores_class c : {scores_class::spread, scores_class::specials, scores_class::bits}) {
      const auto x = scores_of<S>(c, split_n, rng);
      for (auto o : option_cases(split_masks))
        for (std::size_t threads : {1, 3}) {
          o.options.threads = threads;
          check_row<C, S, Out>(
              x, o,
              where + " class " + std::to_string(int(c)) + " threads " + std::to_string(threads));
        }
    }
    // Two passes (from 2^21 floats, 2^19 doubles), block by block over the online max: every
    // kind of mask once, scaled (the shorter rows above take every combination), on the
    // classes with specials and raw bits (which leave the two passes for the generic path at a
    // +inf or at the NaN sum) and on spread, which runs both passes to the end.
    const std::size_t big = (std::size_t(1) << 21) + 3;
    const masks m = masks_of(big, rng);
    std::vector<option_case> big_cases;
    for (const auto& o : option_cases(m))
      for (const char* name : {"scale -0.37", "scale 0.125 + mask float", "scale -3 + mask double",
                               "scale 1/0.7 + keep"})
        if (o.name == name) big_cases.push_back(o);
    REQUIRE(big_cases.size() == 4);
    for (scores_class c : {scores_class::spread, scores_class::specials, scores_class::bits}) {
      const auto x = scores_of<S>(c, big, rng);
      for (const auto& o : big_cases)
        check_row<C, S, Out>(x, o, where + " class " + std::to_string(int(c)));
    }
  }
}

/// softmax_rows with a causal mask (and a scale): each row against the generic path on its row.
template <class C, class S>
void check_causal(const std::string& types) {
  std::mt19937_64 rng(seed + 1);
  struct shape {
    std::size_t rows, cols;
    std::ptrdiff_t offset;
  };
  std::vector<shape> shapes;
  for (std::size_t cols : {1, 7, 33, 64, 65, 300, 5000})
    for (std::ptrdiff_t offset : {0, -2, 3, 100, 1000}) shapes.push_back({6, cols, offset});
  shapes.push_back({6, 9000, 4093});  // kept 4094..4099: formed whole, or block by block
  shapes.push_back({2, 3 * fast::split_from_elements<C> + 5, 100000});  // split, causal
  shapes.push_back({2, (std::size_t(1) << 21) + 3, 1000000});
  for (isa which : isas()) {
    force_isa(which);
    for (const auto& s : shapes) {
      const masks m = masks_of(s.rows * s.cols, rng);
      // The long rows (split, two passes) on raw bit patterns only (specials among them): the
      // shorter ones take every class.
      const bool long_row = s.cols >= fast::split_from_elements<C>;
      const std::vector<scores_class> classes =
          long_row ? std::vector<scores_class>{scores_class::bits}
                   : std::vector<scores_class>{scores_class::spread, scores_class::specials,
                                               scores_class::bits};
      for (scores_class c : classes) {
        const auto x = scores_of<S>(c, s.rows * s.cols, rng);
        std::vector<softmax_options> cases{{.causal = s.offset, .threads = 1},
                                           {.scale = 0.125, .causal = s.offset, .threads = 1},
                                           {.scale = -1.5,
                                            .mask = std::span<const float>(m.additive_float),
                                            .causal = s.offset,
                                            .threads = 1}};
        for (std::size_t k = 0; k < cases.size(); ++k) {
          for (bool log : {false, true}) {
            const std::span<S> fused = buffer<S>(buffer_role::fused, x.size());
            const std::span<S> generic = buffer<S>(buffer_role::generic, x.size());
            if (log)
              log_softmax_rows<fast>(x, s.rows, s.cols, s.cols, fused, s.cols, cases[k]);
            else
              softmax_rows<fast>(x, s.rows, s.cols, s.cols, fused, s.cols, cases[k]);
            for (std::size_t r = 0; r < s.rows; ++r) {
              const auto t = detail::transform_of_row<C>(cases[k], r, s.cols);
              reference_row<C, S, S>(std::span<const S>(x).subspan(r * s.cols, s.cols),
                                     std::span<S>(generic).subspan(r * s.cols, s.cols), t, log);
            }
            std::string first;
            const std::size_t bad = mismatches<S>(fused, generic, first);
            INFO(types << " @" << isa_name(which) << " rows " << s.rows << " x " << s.cols
                       << " causal " << s.offset << " case " << k << " class " << int(c)
                       << (log ? " log_softmax" : " softmax") << ": " << bad << " differ; "
                       << first);
            CHECK(bad == 0);
          }
        }
      }
    }
  }
}

struct isa_restorer {
  isa before = active_isa();
  ~isa_restorer() { force_isa(before); }
};

}  // namespace

TEST_CASE("fused scores: float, the generic path's bits", "[fused][vectorized]") {
  isa_restorer restore;
  check_types<float, float, float>("float");
}
TEST_CASE("fused scores: double, the generic path's bits", "[fused][vectorized]") {
  isa_restorer restore;
  check_types<double, double, double>("double");
}
TEST_CASE("fused scores: bfloat16 in and out, the generic path's bits", "[fused][vectorized]") {
  isa_restorer restore;
  check_types<float, bfloat16, bfloat16>("bf16");
}
TEST_CASE("fused scores: bfloat16 in, float out, the generic path's bits", "[fused][vectorized]") {
  isa_restorer restore;
  check_types<float, bfloat16, float>("bf16->float");
}
TEST_CASE("fused scores: float16 in and out, the generic path's bits", "[fused][vectorized]") {
  isa_restorer restore;
  check_types<float, float16, float16>("f16");
}
TEST_CASE("fused scores: float16 in, float out, the generic path's bits", "[fused][vectorized]") {
  isa_restorer restore;
  check_types<float, float16, float>("f16->float");
}
TEST_CASE("fused scores: causal rows, the generic path's bits", "[fused][vectorized]") {
  isa_restorer restore;
  check_causal<float, float>("float");
  check_causal<double, double>("double");
  check_causal<float, bfloat16>("bf16");
  check_causal<float, float16>("f16");
}

TEST_CASE("fused scores: every 16-bit pattern widens, and floats round, as storage.hpp does",
          "[fused][vectorized]") {
  // The score kernel's widening of all 65536 patterns of each format, and its rounding of float
  // to each format on every float whose upper 16 bits take all values with the lower 16 bits at
  // the rounding boundaries (ties, just above and below, both parities), plus 2^20 random floats:
  // the bits of the storage types' own conversions (a NaN: the quiet NaN of its sign when
  // rounded; widened, any NaN of the same sign).
  isa_restorer restore;
  std::mt19937_64 rng(seed + 2);
  std::vector<float> floats;
  for (std::uint32_t hi = 0; hi < 65536; ++hi)
    for (std::uint32_t lo : {0x0000u, 0x0001u, 0x0fffu, 0x1000u, 0x1001u, 0x1fffu, 0x2000u, 0x3000u,
                             0x7fffu, 0x8000u, 0x8001u, 0x9000u, 0xb000u, 0xffffu})
      floats.push_back(std::bit_cast<float>((hi << 16) | lo));
  for (int k = 0; k < (1 << 20); ++k) floats.push_back(std::bit_cast<float>(std::uint32_t(rng())));
  for (isa which : isas()) {
    force_isa(which);
    const auto& scores = *simd::active_table<float>().scores;
    auto run = [&]<class S>(S, simd::score_storage storage) {
      std::vector<std::uint16_t> patterns(65536);
      for (unsigned k = 0; k < 65536; ++k) patterns[k] = std::uint16_t(k);
      std::vector<float> widened(patterns.size());
      simd::score_source<float> source;
      source.x = patterns.data();
      source.storage = storage;
      for (std::size_t start = 0; start < patterns.size(); start += 2048)
        scores.form(source, start, std::min<std::size_t>(2048, patterns.size() - start),
                    widened.data() + start);
      std::size_t bad = 0;
      for (unsigned k = 0; k < 65536; ++k) {
        const float want = S::from_bits(std::uint16_t(k));
        const bool same = std::isnan(want) ? std::isnan(widened[k]) &&
                                                 std::signbit(widened[k]) == std::signbit(want)
                                           : bits_of(want) == bits_of(widened[k]);
        if (!same && bad++ == 0) UNSCOPED_INFO("first widening differs at pattern " << k);
      }
      std::vector<std::uint16_t> rounded(floats.size());
      (storage == simd::score_storage::bfloat16 ? scores.to_bfloat16 : scores.to_float16)(
          floats.data(), rounded.data(), floats.size());
      for (std::size_t k = 0; k < floats.size(); ++k) {
        if (rounded[k] == S(floats[k]).bits()) continue;
        if (bad++ == 0)
          UNSCOPED_INFO("first rounding differs: " << hex_of(floats[k]) << " to 0x" << std::hex
                                                   << rounded[k] << ", storage.hpp 0x"
                                                   << S(floats[k]).bits() << std::dec);
      }
      INFO(isa_name(which) << (storage == simd::score_storage::bfloat16 ? " bf16" : " f16"));
      CHECK(bad == 0);
    };
    run(bfloat16{}, simd::score_storage::bfloat16);
    run(float16{}, simd::score_storage::float16);
  }
}
