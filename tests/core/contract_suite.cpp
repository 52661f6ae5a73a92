// The core suite: one Catch2 test case per (implementation, type) of the registry, registered
// at start-up from softlab::builtin_registry(), so an implementation added to the registry is
// tested with no edit here. Vectorized kernels run the whole suite on every ISA this CPU has.
#include "isa_under_test.hpp"
#include "softmax_tester.hpp"

#include <softlab/softlab.hpp>
#include <softlab_reference/families.hpp>

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace softlab;
using testing::observation;
using testing::softmax_tester;

constexpr std::uint64_t seed = 20261127;  // every random input below is drawn from this

template <class T>
T inf() {
  return detail::infinity<T>();
}
template <class T>
T nan() {
  return detail::quiet_nan<T>();
}

/// Sizes around every vector width (1, 2, 4, 8, 16 lanes; 4 accumulators): w-1, w, w+1, 2w+3,
/// 4w+-1; and around fast's small-row limit (simd::small_row_bytes: 128 doubles, 256 floats).
const std::vector<std::size_t> sizes_around_widths{1,  2,   3,   4,   5,   7,   8,   9,  11, 15,
                                                   16, 17,  19,  31,  32,  33,  35,  63, 64, 65,
                                                   67, 127, 128, 129, 131, 255, 256, 257};

template <class T>
std::vector<std::size_t> family_sizes() {
  // Multiprecision exp is slow; 100 elements still exercise the sum. The simulated formats:
  // the first-order bounds assume n u << 1, which n = 1000 breaks (binary16: n u = 0.49). The
  // storage types compute in float or double: n = 1000 is ordinary there.
  if constexpr (is_hardware_float<T> || is_storage_float<T>) return {7, 100, 1000};
  return {7, 100};
}

template <class T>
std::vector<T> testing_inputs(std::size_t n) {
  return reference::generate<T>(reference::family::uniform_1, n, seed + n);
}

template <class T>
void seed_example(const kernel<T>& k) {
  // softmax(query * keys), query 0.5, keys [0.1, 0.5, 0.3, 0.9]: scores [0.05, 0.25, 0.15, 0.45].
  const T query = T(0.5);
  const std::vector<T> keys{T(0.1), T(0.5), T(0.3), T(0.9)};
  std::vector<T> scores(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) scores[i] = T(query * keys[i]);
  CHECK(scores[0] == T(0.05));  // halving is exact: 0.5 * fl(0.1) = fl(0.05) in binary
  softmax_tester<T>(k).label("seed example").test(scores);
  std::vector<T> y(4);
  k.softmax(scores, y);
  // The exact softmax of [0.05, 0.25, 0.15, 0.45] to 7 decimals, in every type; to about
  // epsilon in the simulated formats, whose inputs alone move the weights by more than 1e-6.
  const double expected[] = {0.2075378, 0.2534873, 0.2293648, 0.3096101};
  const double tolerance = std::max(1e-6, double(std::numeric_limits<T>::epsilon()));
  for (int i = 0; i < 4; ++i) CHECK(std::abs(double(y[i]) - expected[i]) < tolerance);
}

template <class T>
void special_values(const kernel<T>& k) {
  auto softmax_of = [&](std::vector<T> x) {
    std::vector<T> y(x.size(), T(-7));
    k.softmax(x, y);
    return y;
  };
  auto log_softmax_of = [&](std::vector<T> x) {
    std::vector<T> y(x.size(), T(-7));
    k.log_softmax(x, y);
    return y;
  };
  SECTION("fully masked rows give all zeros (log: -inf; logsumexp: -inf)") {
    for (std::size_t n : sizes_around_widths) {
      const std::vector<T> x(n, -inf<T>());
      for (const T& v : softmax_of(x)) REQUIRE(v == T(0));
      for (const T& v : log_softmax_of(x)) REQUIRE(v == -inf<T>());
      REQUIRE(k.logsumexp(x) == -inf<T>());
    }
  }
  SECTION("+inf entries share weight 1/k, the others get 0") {
    const std::vector<T> y = softmax_of({T(1), inf<T>(), T(2), inf<T>()});
    REQUIRE(y == std::vector<T>{T(0), T(0.5), T(0), T(0.5)});
    const std::vector<T> l = log_softmax_of({T(1), inf<T>(), T(2), inf<T>()});
    using std::log;
    REQUIRE(l[0] == -inf<T>());
    REQUIRE(l[1] == T(-log(T(2))));
    REQUIRE(k.logsumexp(std::vector<T>{T(1), inf<T>()}) == inf<T>());
    for (std::size_t n : sizes_around_widths)
      for (std::size_t at : {std::size_t(0), n / 2, n - 1}) {
        std::vector<T> x = testing_inputs<T>(n);
        x[at] = inf<T>();
        const std::vector<T> w = softmax_of(x);
        for (std::size_t i = 0; i < n; ++i) REQUIRE(w[i] == (i == at ? T(1) : T(0)));
      }
  }
  SECTION("a NaN anywhere makes every output NaN") {
    for (std::size_t n : sizes_around_widths)
      for (std::size_t at : {std::size_t(0), n / 2, n - 1})
        for (int background = 0; background < 3; ++background) {
          // finite values; a +inf elsewhere; everything else -inf
          std::vector<T> x = background == 2 ? std::vector<T>(n, -inf<T>()) : testing_inputs<T>(n);
          if (background == 1 && n > 1) x[(at + 1) % n] = inf<T>();
          x[at] = nan<T>();
          INFO("n = " << n << ", NaN at " << at << ", background " << background);
          for (const T& v : softmax_of(x)) REQUIRE(detail::is_nan(v));
          for (const T& v : log_softmax_of(x)) REQUIRE(detail::is_nan(v));
          REQUIRE(detail::is_nan(k.logsumexp(x)));
        }
  }
}

template <class T>
void argument_rules(const kernel<T>& k) {
  SECTION("empty input is a no-op; logsumexp of nothing is -inf") {
    std::vector<T> empty;
    REQUIRE_NOTHROW(k.softmax(empty, empty));
    REQUIRE_NOTHROW(k.log_softmax(empty, empty));
    REQUIRE(k.logsumexp(empty) == -inf<T>());
  }
  SECTION("size mismatch names both sizes") {
    std::vector<T> x(3, T(1)), y(4);
    REQUIRE_THROWS_MATCHES(
        k.softmax(x, y), std::invalid_argument,
        Catch::Matchers::Message("softlab::softmax: x has 3 elements but y has 4"));
    REQUIRE_THROWS_AS(k.log_softmax(x, y), std::invalid_argument);
  }
  SECTION("in place gives the same bits as out of place") {
    for (std::size_t n : sizes_around_widths) {
      std::vector<T> x = testing_inputs<T>(n), y(n);
      k.softmax(x, y);
      k.softmax(x, std::span<T>(x));
      REQUIRE(x == y);
    }
  }
  SECTION("partial overlap is rejected") {
    std::vector<T> buffer = testing_inputs<T>(10);
    const std::span<const T> x(buffer.data(), 8);
    const std::span<T> y(buffer.data() + 1, 8);
    REQUIRE_THROWS_AS(k.softmax(x, y), std::invalid_argument);
  }
}

/// naive is kept to show where the textbook formula breaks; those breaks are asserted here.
template <class T>
void naive_failures(const kernel<T>& k) {
  using std::log;
  // The storage types are computed in float: float's exp overflows and underflows.
  using computed = std::conditional_t<is_storage_float<T>, float, T>;
  const double log_max = double(computed(log(std::numeric_limits<computed>::max())));
  const double log_tiny = double(computed(log(std::numeric_limits<computed>::denorm_min())));
  // Overflow: one entry whose exp exceeds the largest T (float: 100, as naive.hpp states).
  std::vector<T> x = testing_inputs<T>(8);
  x[3] = std::is_same_v<computed, float> ? T(100) : T(log_max + 1);
  std::vector<T> y(x.size());
  k.softmax(x, y);
  CHECK(detail::is_nan(y[3]));  // inf / inf
  // Underflow: every exp(x) is 0 -> 0/0 = NaN (float and double: [-1000, -900], naive.hpp).
  const double top = std::min(-900.0, log_tiny - 10);
  std::vector<T> low(16);
  reference::seeded_random rng(seed);
  for (T& v : low) v = T(rng.uniform(top - 100, top));
  std::vector<T> w(low.size());
  k.softmax(low, w);
  for (const T& v : w) CHECK(detail::is_nan(v));
}

template <class T>
void accuracy_suite(const kernel<T>& k, std::string_view isa) {
  softmax_tester<T> tester(k);
  observation sizes;
  for (std::size_t n : sizes_around_widths) {
    const auto x = testing_inputs<T>(n);
    sizes.merge(tester.label("uniform_1 n=" + std::to_string(n)).test(x));
  }
  testing::print_observation(k.facts.name, type_token_v<T>, isa, "widths", sizes);
  for (reference::family f : reference::all_families) {
    observation seen;
    for (std::size_t n : family_sizes<T>()) {
      const std::uint64_t s = seed + 1000 * std::size_t(f) + n;
      const auto x = reference::generate<T>(f, n, s);
      seen.merge(tester
                     .label(std::string(reference::family_name(f)) + " n=" + std::to_string(n) +
                            " seed=" + std::to_string(s))
                     .test(x));
    }
    testing::print_observation(k.facts.name, type_token_v<T>, isa, reference::family_name(f), seen);
  }
}

template <class T>
void run_suite(const kernel<T>& k, std::string_view isa) {
  INFO("implementation " << k.facts.name << ", type " << type_token_v<T> << ", ISA " << isa);
  SECTION("seed example") { seed_example(k); }
  SECTION("argument rules") { argument_rules(k); }
  if (k.facts.meets_contract) {
    SECTION("special values") { special_values(k); }
  } else {
    SECTION("documented failures") { naive_failures(k); }
  }
  SECTION("accuracy against MPFR within the stated bound") { accuracy_suite(k, isa); }
}

/// Runs the suite on every ISA under test for vectorized kernels (restoring the choice after),
/// once for the others.
template <class T>
void run_on_every_isa(const kernel<T>& k) {
  if (!k.facts.vectorized) return run_suite(k, "-");
  const isa before = active_isa();
  for (isa which : testing::isas_under_test(k)) {
    force_isa(which);
    DYNAMIC_SECTION("ISA " << isa_name(which)) { run_suite(k, isa_name(which)); }
  }
  force_isa(before);
}

/// A Catch2 test case that runs one (implementation, type) of the registry.
class registry_case : public Catch::ITestInvoker {
 public:
  explicit registry_case(std::function<void()> body) : body_(std::move(body)) {}
  void invoke() const override { body_(); }

 private:
  std::function<void()> body_;
};

struct register_every_kernel {
  register_every_kernel() {
    static const registry kernels = builtin_registry();
    static std::deque<Catch::AutoReg> registrations;
    for_each_type(element_types{}, [&]<class T>() {
      for (const kernel<T>& k : kernels.kernels<T>()) {
        const std::string name =
            "softmax/" + std::string(k.facts.name) + "/" + std::string(type_token_v<T>);
        const std::string tags = "[contract][" + std::string(k.facts.name) + "]" +
                                 (k.facts.vectorized ? "[vectorized]" : "");
        registrations.emplace_back(new registry_case([&k] { run_on_every_isa(k); }),
                                   Catch::SourceLineInfo(__FILE__, __LINE__), Catch::StringRef(),
                                   Catch::NameAndTags(name, tags));
      }
    });
  }
} const registration;

}  // namespace

/// fast's two-pass structure (online max, streaming stores) starts beyond the sizes above; rows
/// past the switch, against MPFR on every ISA, and with y misaligned (the streaming stores'
/// plain head) giving the same bits. Rows: wide scores in ascending order (the max, and with
/// it the pivot exponent, grows in every block); the same moved up so that its max
/// crosses the pivot's limit (240 float, 1520 double) midway, where the structure goes back to
/// three passes.
///
/// Under AddressSanitizer (the sanitize preset) the MPFR part is skipped: the exact reference of
/// three rows of 2^21 scores is most of this suite's time under instrumentation, and the dev
/// build asserts the bound on the same code; the sanitized run asserts the structure's bits
/// (misaligned, in place) and its memory safety.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool checks_against_mpfr = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool checks_against_mpfr = false;
#else
constexpr bool checks_against_mpfr = true;
#endif
#else
constexpr bool checks_against_mpfr = true;
#endif

template <class T>
void check_two_pass_structure() {
  const registry kernels = builtin_registry();
  const kernel<T>& k = *kernels.find<T>("fast");
  const std::size_t n = fast::two_pass_from_elements<T> + 5;
  // The row draws its values from a pool of 4096 (wide_80: 80 units of spread), so the exact
  // reference costs one exp per distinct value (reference::exact_softmax_by_value), not per
  // element; the kernel does the work of any row of its length.
  const std::vector<T> pool = reference::generate<T>(reference::family::wide_80, 4096, seed);
  std::mt19937_64 draw(seed);
  std::vector<T> ascending(n);
  for (T& v : ascending) v = pool[draw() % pool.size()];
  std::sort(ascending.begin(), ascending.end());
  std::vector<T> crossing = ascending;
  const T offset = std::is_same_v<T, float> ? T(200) : T(1480);
  for (T& v : crossing) v += offset;
  const isa before = active_isa();
  // Shuffled: the max is reached early, so most blocks' exps are stored by the first pass and
  // only scaled by the second (ascending: almost all recomputed).
  std::vector<T> shuffled = ascending;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(seed));
  for (const auto& [name, x] :
       {std::pair{"ascending", &ascending}, std::pair{"crossing", &crossing},
        std::pair{"shuffled", &shuffled}}) {
    INFO(type_token_v<T> << " row " << name << ", n = " << n);
    const reference::exact_softmax_table<T> exact = checks_against_mpfr
                                                        ? reference::exact_softmax_by_value<T>(*x)
                                                        : reference::exact_softmax_table<T>{};
    for (isa which : testing::isas_under_test(k)) {
      force_isa(which);
      INFO("ISA " << isa_name(which));
      std::vector<T> y(n);
      k.softmax(*x, y);
      if (checks_against_mpfr) {
        // fast's bound does not depend on the values (only on n and p), so the per-element
        // bound inputs, quadratic in n, are not needed here.
        bound_inputs in;
        in.n = n;
        in.precision_bits = std::numeric_limits<T>::digits;
        const double bound = k.softmax_bound_ulps(in);
        double worst = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const reference::exact& expected = exact.weight((*x)[i]);
          if (expected.to_double() >= double(std::numeric_limits<T>::min()))
            worst = std::max(worst, reference::ulp_error(y[i], expected));
        }
        INFO("largest ULP error " << worst << ", stated bound " << bound);
        CHECK(worst <= bound);
        CHECK(worst > 0);
      }
      std::vector<T> shifted(n + 1);
      k.softmax(*x, std::span<T>(shifted.data() + 1, n));
      CHECK(std::equal(y.begin(), y.end(), shifted.begin() + 1));
      // In place, every exp is recomputed by the second pass: the same bits.
      std::vector<T> in_place = *x;
      k.softmax(in_place, in_place);
      CHECK(std::equal(y.begin(), y.end(), in_place.begin()));
    }
  }
  force_isa(before);
}

TEST_CASE("fast: the two-pass structure with streaming stores", "[fast][two_pass][vectorized]") {
  SECTION("float") { check_two_pass_structure<float>(); }
  SECTION("double") { check_two_pass_structure<double>(); }
}

/// a op b against value + error of a building block, both in a binary type wide enough to hold
/// them exactly. Magnitudes in [2^-21, 2^20]: every sum and product, and its error, is a normal
/// number of T, where the transformations are exact.
template <class T>
void check_error_free_transformations() {
  using exact = boost::multiprecision::number<
      boost::multiprecision::cpp_bin_float<256, boost::multiprecision::digit_base_2>,
      boost::multiprecision::et_off>;
  reference::seeded_random rng(seed);
  auto draw = [&] {
    const double magnitude = std::ldexp(rng.uniform(0.5, 1), int(rng.below(41)) - 20);
    return T(rng.below(2) == 0 ? magnitude : -magnitude);
  };
  for (int trial = 0; trial < 2000; ++trial) {
    T a = draw();
    T b = draw();
    INFO(std::hexfloat << "a = " << a << ", b = " << b);
    const auto sum = detail::two_sum(a, b);
    CHECK(sum.value == a + b);
    CHECK(exact(sum.value) + exact(sum.error) == exact(a) + exact(b));
    if (std::abs(a) < std::abs(b)) std::swap(a, b);
    const auto fast = detail::fast_two_sum(a, b);
    CHECK(fast.value == sum.value);
    CHECK(fast.error == sum.error);
    const auto product = detail::two_product(a, b);
    CHECK(product.value == a * b);
    CHECK(exact(product.value) + exact(product.error) == exact(a) * exact(b));
  }
}

TEST_CASE("building blocks: two-sum, fast-two-sum and two-product are exact", "[blocks]") {
  SECTION("float") { check_error_free_transformations<float>(); }
  SECTION("double") { check_error_free_transformations<double>(); }
}

TEST_CASE("building blocks: the vector loop visits every element once", "[blocks]") {
  constexpr std::size_t width = 4, group = 16, vector_bytes = width * sizeof(float);
  alignas(64) float row[80] = {};
  for (std::size_t offset = 0; offset < 6; ++offset)
    for (std::size_t n = 0; n + offset <= 70; ++n) {
      INFO("n = " << n << ", y offset by " << offset << " elements");
      for (const bool stream : {false, true}) {
        const float* y = row + offset;
        std::vector<int> visits(n, 0);
        bool streamed = false;
        auto cover = [&](std::size_t i, std::size_t count) {
          for (std::size_t k = i; k < i + count; ++k) ++visits[k];
        };
        auto full = [&](std::size_t count) {
          return [&, count](std::size_t i, bool aligned) {
            if (aligned) {
              streamed = true;
              CHECK(reinterpret_cast<std::uintptr_t>(y + i) % vector_bytes == 0);
            }
            cover(i, count);
          };
        };
        detail::for_each_block_aligned_to<width, group, vector_bytes>(
            y, n, stream, full(group), full(width), [&](std::size_t i, std::size_t count) {
              CHECK(count < width);
              cover(i, count);
            });
        CHECK(std::all_of(visits.begin(), visits.end(), [](int v) { return v == 1; }));
        // With streaming asked for, the head is shorter than a vector: from two vectors on,
        // at least one aligned vector follows it.
        if (!stream) CHECK_FALSE(streamed);
        if (stream && n >= 2 * width) CHECK(streamed);
      }
    }
}

namespace {

/// The MPFR exponent range widened to the most MPFR allows while in scope (the multiprecision
/// types reach 2^(2^31), past MPFR's default 2^(2^30)), restored after.
class widest_mpfr_range {
 public:
  widest_mpfr_range() : emin_(mpfr_get_emin()), emax_(mpfr_get_emax()) {
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
  }
  ~widest_mpfr_range() {
    mpfr_set_emin(emin_);
    mpfr_set_emax(emax_);
  }
  widest_mpfr_range(const widest_mpfr_range&) = delete;
  widest_mpfr_range& operator=(const widest_mpfr_range&) = delete;

 private:
  mpfr_exp_t emin_, emax_;
};

/// The neighbour of a positive finite v in T, above (+1) or below (-1) it.
template <class T>
T neighbour(const T& v, int direction) {
  using std::frexp;
  using std::ldexp;
  int exponent = 0;
  const T fraction = frexp(v, &exponent);  // v = fraction 2^exponent, fraction in [0.5, 1)
  const int p = std::numeric_limits<T>::digits;
  const T ulp = T(ldexp(T(1), exponent - p));
  if (direction > 0) return T(v + ulp);
  return fraction == T(0.5) ? T(v - T(ulp / T(2))) : T(v - ulp);
}

/// Scores where an argument reduction at working precision loses n_i: the largest finite T
/// (1e300 in the multiprecision types, whose 2^(2^31) would only repeat it), +-1e4 and +-1e30 (a
/// quarter of the largest T where smaller), both sides of the old Cody-Waite limit (2^min(12,
/// p/2) ln 2: 2839 for p >= 24, 22 binary16, 11 bfloat16), of the present one (2^(b-1) ln 2,
/// where the large-score reduction takes over) and of the huge-score threshold R = 2^s, from both
/// sides and with neighbours within the zero gap G of the max (their weights are not 0: at 2^62 in
/// double, e^-512). Rows of 64 are uniform within 20 of an offset (seeded).
template <class T>
std::vector<std::pair<std::string, std::vector<T>>> extreme_rows() {
  using limits = std::numeric_limits<T>;
  using std::ldexp;
  const T largest = limits::max_exponent > 16384 ? T(1e300) : limits::max();
  const T big = T(std::min(1e30, static_cast<double>(limits::max()) / 4));
  const T ten_thousand = T(1e4);
  const int p = limits::digits;
  const T old_limit = T(std::floor(std::ldexp(0.6931471805599453, std::min(12, p / 2))));
  const T huge = T(ldexp(T(1), detail::huge_score_exponent<T>()));
  const T below_huge = neighbour(huge, -1), above_huge = neighbour(huge, +1);
  std::vector<std::pair<std::string, std::vector<T>>> rows{
      {"largest, half, -largest, 0", {largest, T(largest / T(2)), T(-largest), T(0)}},
      {"largest twice, -largest, 1", {largest, T(-largest), largest, T(1)}},
      {"largest and its neighbours below",
       {largest, neighbour(largest, -1), neighbour(neighbour(largest, -1), -1),
        T(-neighbour(largest, -1))}},
      {"-largest, -largest/2, -largest/4",
       {T(-largest), T(-largest / T(2)), T(-largest / T(4)), T(-largest)}},
      {"1e4 and around",
       {ten_thousand, T(ten_thousand - T(3.5)), T(ten_thousand - T(40)), T(ten_thousand - T(100)),
        T(-ten_thousand), T(0)}},
      {"-1e4 and around",
       {T(-ten_thousand), T(T(-ten_thousand) + T(1.25)), T(T(-ten_thousand) + T(30)),
        T(T(-ten_thousand) + T(0.5))}},
      {"1e30 twice, -1e30, 0", {big, T(-big), T(0), big}},
      {"-1e30 three times, -1.5e30", {T(-big), T(-big), T(-big), T(T(-big) * T(1.5))}},
      {"old Cody-Waite limit",
       {T(old_limit - T(0.5)), T(old_limit + T(0.5)), T(old_limit + T(3)), T(old_limit - T(20)),
        T(old_limit + T(20)), old_limit}},
      {"R and its neighbours below",
       {huge, below_huge, neighbour(below_huge, -1), T(T(-huge) / T(2))}},
      {"above R: the max dominates", {above_huge, huge, below_huge}},
      {"-R, and huge scores below it", {T(-huge), T(-above_huge), T(-neighbour(above_huge, +1))}},
      {"just inside -R", {T(-below_huge), T(-huge), T(-above_huge)}},
      {"beyond -R only", {T(-above_huge), T(-neighbour(above_huge, +1)), T(-largest)}},
  };
  std::vector<double> offsets{1e4,
                              -1e4,
                              1e6,
                              -1e6,
                              static_cast<double>(big),
                              static_cast<double>(huge) / 2,
                              static_cast<double>(huge)};
  if constexpr (detail::needs_large_score_reduction<T>) {
    const double limit = static_cast<double>(detail::reduction_constants_for<T>().cody_waite_limit);
    offsets.push_back(limit);
    offsets.push_back(-limit);
  }
  reference::seeded_random rng(seed);
  for (const double c : offsets) {
    if (std::abs(c) + 20 > static_cast<double>(limits::max())) continue;
    std::vector<T> x(64);
    for (T& v : x) v = T(rng.uniform(c - 20, c + 20));
    rows.emplace_back("uniform within 20 of " + std::to_string(c), x);
  }
  return rows;
}

template <class T>
void check_two_pass_extremes() {
  const widest_mpfr_range widest;
  const registry kernels = builtin_registry();
  const kernel<T>& k = *kernels.find<T>("two_pass");
  observation seen;
  for (const auto& [label, x] : extreme_rows<T>()) {
    INFO(type_token_v<T> << " row: " << label);
    seen.merge(softmax_tester<T>(k).label(label).test(x));
    // A weight whose exact value rounds to 0 or to 1 in T is exactly that.
    const std::vector<reference::exact> exact = reference::exact_softmax<T>(x);
    std::vector<T> y(x.size());
    k.softmax(x, y);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const T rounded = reference::round_to<T>(exact[i].get());
      INFO("element " << i << ": x = " << static_cast<double>(x[i])
                      << ", y = " << static_cast<double>(y[i]));
      if (rounded == T(0) || rounded == T(1)) CHECK(y[i] == rounded);
    }
  }
  testing::print_observation(k.facts.name, type_token_v<T>, "-", "extreme rows", seen);
}

TEST_CASE("two_pass: scores at the ends of the range against MPFR within the stated bound",
          "[two_pass]") {
  SECTION("float") { check_two_pass_extremes<float>(); }
  SECTION("double") { check_two_pass_extremes<double>(); }
  SECTION("long double") { check_two_pass_extremes<long double>(); }
  SECTION("fp16sim") { check_two_pass_extremes<fp16sim>(); }
  SECTION("bf16sim") { check_two_pass_extremes<bf16sim>(); }
  SECTION("bin50") { check_two_pass_extremes<bin50>(); }
  SECTION("bin100") { check_two_pass_extremes<bin100>(); }
}

/// v exactly in MPFR, for the integer types of detail::exponent_integer.
template <class I>
void assign_integer(mpfr_ptr out, const I& v) {
  if constexpr (std::is_same_v<I, std::int64_t>) {
    mpfr_set_si(out, static_cast<long>(v), MPFR_RNDN);
  } else if constexpr (std::is_same_v<I, detail::int128>) {
    mpfr_set_si(out, static_cast<long>(v >> 64), MPFR_RNDN);  // v = high 2^64 + low, low >= 0
    mpfr_mul_2ui(out, out, 64, MPFR_RNDN);
    mpfr_add_ui(out, out, static_cast<unsigned long>(static_cast<std::uint64_t>(v)), MPFR_RNDN);
  } else {
    mpfr_set_str(out, v.str().c_str(), 10, MPFR_RNDN);
  }
}

/// two_pass's argument reduction x = n ln 2 + r against MPFR, for |x| from 2^-4 to R = 2^s (the
/// largest it is asked to reduce): |x / ln 2 - n| <= 1/2 + 2^-20 (n the nearest integer, up to
/// ties), and r within 0.41 u of x - n ln 2, at every magnitude. Arguments: random magnitudes
/// 2^e [1, 2) for every e, both signs; near (k + 1/2) ln 2 (ties of n) and k ln 2; the Cody-Waite
/// limit and R with their neighbours.
template <class T>
void check_reduction() {
  using limits = std::numeric_limits<T>;
  using std::ldexp;
  const auto& c = detail::reduction_constants_for<T>();
  const int p = limits::digits;
  const int s = detail::huge_score_exponent<T>();
  const mpfr_prec_t bits = s + 2 * p + 64;
  reference::exact ln2(bits), n(bits), exact_r(bits), computed_r(bits), error(bits);
  mpfr_const_log2(ln2.get(), MPFR_RNDN);
  std::vector<T> arguments;
  reference::seeded_random rng(seed);
  const int tries = std::is_same_v<T, bin50> || std::is_same_v<T, bin100> ? 2 : 40;
  for (int e = -4; e < s; ++e)
    for (int trial = 0; trial < tries; ++trial) {
      const T v = T(ldexp(T(rng.uniform(1, 2)), e));
      arguments.push_back(trial % 2 == 0 ? v : T(-v));
      const double k = std::floor(std::ldexp(rng.uniform(1, 2), std::min(e, 52)));
      arguments.push_back(T((k + 0.5) * 0.6931471805599453));
      arguments.push_back(T(-k * 0.6931471805599453));
    }
  const T huge = c.huge;
  for (T v : {c.cody_waite_limit, huge}) {
    if (v > huge) continue;
    for (int step = 0; step < 4; ++step, v = neighbour(v, -1)) {
      arguments.push_back(v);
      arguments.push_back(T(-v));
    }
  }
  arguments.push_back(huge);
  double worst[2] = {0, 0};  // Cody-Waite; beyond its range (two stages, or the wide float)
  for (const T& x : arguments) {
    using std::abs;
    if (!(abs(x) <= huge)) continue;
    const detail::reduced_argument<T> a = detail::reduce(x, c);
    assign_integer(n.get(), a.exponent);
    reference::assign(exact_r.get(), x);
    mpfr_mul(error.get(), n.get(), ln2.get(), MPFR_RNDN);  // n ln 2, error 2^-(2p + 62)
    mpfr_sub(exact_r.get(), exact_r.get(), error.get(), MPFR_RNDN);
    reference::assign(computed_r.get(), a.reduced);
    mpfr_sub(error.get(), computed_r.get(), exact_r.get(), MPFR_RNDN);
    mpfr_abs(error.get(), error.get(), MPFR_RNDN);
    mpfr_mul_2si(error.get(), error.get(), p, MPFR_RNDN);  // in units of u = 2^-p
    const double in_u = error.to_double();
    mpfr_div(exact_r.get(), exact_r.get(), ln2.get(), MPFR_RNDN);  // x / ln 2 - n
    INFO(type_token_v<T> << std::hexfloat << ": x = " << static_cast<double>(x)
                         << ", r = " << static_cast<double>(a.reduced) << ", error " << in_u
                         << " u, x / ln 2 - n = " << exact_r.to_double());
    CHECK(in_u <= 0.41);
    CHECK(std::abs(exact_r.to_double()) <= 0.5 + 0x1p-20);
    const bool beyond = detail::needs_large_score_reduction<T> && !(abs(x) < c.cody_waite_limit);
    worst[beyond ? 1 : 0] = std::max(worst[beyond ? 1 : 0], in_u);
  }
  std::printf(
      "two_pass reduction %-11s %zu arguments up to 2^%d: largest error %.4f u (Cody-Waite), "
      "%.4f u (beyond it)\n",
      std::string(type_token_v<T>).c_str(), arguments.size(), s, worst[0], worst[1]);
}

TEST_CASE("two_pass: the argument reduction is exact at every magnitude", "[two_pass]") {
  SECTION("float") { check_reduction<float>(); }
  SECTION("double") { check_reduction<double>(); }
  SECTION("long double") { check_reduction<long double>(); }
  SECTION("fp16sim") { check_reduction<fp16sim>(); }
  SECTION("bf16sim") { check_reduction<bf16sim>(); }
  SECTION("bin50") { check_reduction<bin50>(); }
  SECTION("bin100") { check_reduction<bin100>(); }
}

}  // namespace
