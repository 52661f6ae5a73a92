// The 16-bit storage types (softlab/storage.hpp): their conversions against MPFR's own rounding
// to each format, and softmax on them through every implementation of the registry.
#include <softlab/softlab.hpp>
#include <softlab_reference/families.hpp>
#include <softlab_reference/reference.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace softlab;

constexpr std::uint64_t seed = 20261201;  // every random input below is drawn from this

/// v rounded to nearest even in S by MPFR (subnormals, overflow): independent of storage.hpp.
template <class S>
S mpfr_rounded(double v) {
  reference::exact e(64);
  mpfr_set_d(e.get(), v, MPFR_RNDN);
  return reference::round_to<S>(e.get());
}

/// Same bits, or both NaN of the same sign (a NaN's payload is not kept).
template <class S>
bool same_storage(S a, S b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) && signbit(a) == signbit(b);
  return a.bits() == b.bits();
}

template <class S>
void check_every_pattern() {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const S v = S::from_bits(std::uint16_t(bits));
    const double d = v.value();
    INFO("bits " << std::hex << bits << ", value " << std::hexfloat << d);
    REQUIRE(std::isnan(d) == isnan(v));
    REQUIRE(std::isinf(d) == isinf(v));
    REQUIRE(std::isfinite(d) == isfinite(v));
    REQUIRE(std::signbit(d) == signbit(v));
    REQUIRE((double(float(v)) == d || std::isnan(d)));  // the widening is exact
    // Back from its own value, float or double: the same bits (a NaN: a NaN of its sign).
    REQUIRE(same_storage(S(d), v));
    REQUIRE(same_storage(S(float(d)), v));
    if (!std::isnan(d)) REQUIRE(same_storage(mpfr_rounded<S>(d), v));
    // The midpoint to the next value up rounds to the even one of the two (ties to even), and
    // anything beyond it, however little, rounds up: from double in one rounding, and from float
    // (a double nudge of 2^-30 relative is not a float: there the float is the tie itself).
    const S up = S::from_bits(std::uint16_t(bits + 1));
    if (std::isfinite(d) && d >= 0 && isfinite(up)) {
      const double next = up.value();
      const double mid = d + (next - d) / 2;
      const S even = (bits & 1) == 0 ? v : up;
      REQUIRE(same_storage(S(mid), even));
      REQUIRE(same_storage(S(float(mid)), even));
      REQUIRE(same_storage(S(mid + mid * 0x1p-30), up));
      REQUIRE(same_storage(S(mid - mid * 0x1p-30), v));
      REQUIRE(same_storage(mpfr_rounded<S>(mid), even));
    }
  }
}

TEMPLATE_TEST_CASE("storage: every bit pattern, its value, and ties to even", "[storage]", bfloat16,
                   float16) {
  check_every_pattern<TestType>();
  using limits = std::numeric_limits<TestType>;
  CHECK(limits::max().value() == (std::is_same_v<TestType, float16> ? 65504.0 : 0x1.fep127));
  CHECK(limits::min().value() == (std::is_same_v<TestType, float16> ? 0x1p-14 : 0x1p-126));
  CHECK(limits::denorm_min().value() == (std::is_same_v<TestType, float16> ? 0x1p-24 : 0x1p-133));
  CHECK(isinf(limits::infinity()));
  CHECK(isnan(limits::quiet_NaN()));
}

template <class S>
void check_random_floats() {
  reference::seeded_random rng(seed);
  for (int trial = 0; trial < 1 << 20; ++trial) {
    const auto f = std::bit_cast<float>(std::uint32_t(rng.next()));
    INFO("float " << std::hexfloat << f << " (bits " << std::hex << std::bit_cast<std::uint32_t>(f)
                  << ")");
    const S from_float(f);
    if (std::isnan(f)) {
      REQUIRE(isnan(from_float));
      REQUIRE(signbit(from_float) == std::signbit(f));
    } else {
      REQUIRE(same_storage(from_float, mpfr_rounded<S>(f)));
    }
  }
}

TEMPLATE_TEST_CASE("storage: float to storage is MPFR's rounding, NaNs stay NaN", "[storage]",
                   bfloat16, float16) {
  check_random_floats<TestType>();
  // Every NaN whose payload lies in the low 16 bits: adding 0x7fff + lsb and shifting would
  // carry into the exponent and give +-inf.
  for (std::uint32_t payload = 1; payload <= 0xffff; ++payload)
    for (std::uint32_t sign : {0u, 0x80000000u}) {
      const TestType v(std::bit_cast<float>(sign | 0x7f800000u | payload));
      REQUIRE(isnan(v));
      REQUIRE(signbit(v) == (sign != 0));
    }
  // Subnormal floats are kept (bfloat16 has the same grid below 2^-126), not flushed.
  CHECK(TestType(0x1p-133f).value() == (std::is_same_v<TestType, bfloat16> ? 0x1p-133 : 0.0));
  CHECK(bfloat16(0x1.8p-130f).value() == 0x1.8p-130);
  CHECK(float16(0x1p-24f).value() == 0x1p-24);
  CHECK(float16(0x1p-25f).value() == 0.0);                    // the tie with 0: even
  CHECK(float16(0x1.000002p-25f).value() == 0x1p-24);         // just past it
  CHECK(isinf(float16(65520.0f)));                            // max + half an ULP: ties away (odd)
  CHECK(float16(65519.996f).value() == 65504.0);              // below it
  CHECK(isinf(bfloat16(std::numeric_limits<float>::max())));  // rounds up past 0x1.fep127
  CHECK(isinf(bfloat16(0x1.ffp127f)));                        // max + half an ULP: ties to even
  CHECK(bfloat16(0x1.fefffep127f).value() == 0x1.fep127);     // below it
}

/// A row of equal scores: every weight is 1/n exactly (ExecuTorch's bfloat16 running sum stops
/// at 256 and gives 1/256 for n = 512).
template <class S>
void check_uniform_rows(const kernel<S>& k) {
  for (std::size_t n : {1u, 3u, 256u, 512u, 4096u}) {
    for (const double value : {0.0, -3.0, 60000.0}) {
      const std::vector<S> x(n, S(value));
      std::vector<S> y(n);
      k.softmax(x, y);
      const S expected(1.0 / double(n));
      INFO("n = " << n << ", every score " << value);
      for (const S& v : y) REQUIRE(v == expected);
    }
  }
}

/// Storage in, float out: within the implementation's float bound of the exact weights (the
/// input values are those of the storage type, exact in float).
template <class S>
void check_float_output(const kernel<S>& k, const kernel<float>& in_float) {
  for (reference::family f : reference::all_families) {
    const std::vector<S> x = reference::generate<S>(f, 300, seed + std::size_t(f));
    const std::vector<float> widened(x.begin(), x.end());
    const std::vector<reference::exact> exact = reference::exact_softmax<float>(widened);
    std::vector<double> g(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) g[i] = exact[i].to_double();
    std::vector<float> y(x.size());
    k.softmax_to_float(x, y);
    // fast and the other float-computing implementations: the same bits as on float scores.
    std::vector<float> float_result(x.size());
    in_float.softmax(widened, float_result);
    INFO("family " << reference::family_name(f));
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (g[i] < double(std::numeric_limits<float>::min())) continue;
      const bound_inputs in = reference::bound_inputs_for<float>(widened, i, g);
      INFO("i = " << i);
      REQUIRE(reference::ulp_error(y[i], exact[i]) <= in_float.softmax_bound_ulps(in));
    }
    if (k.facts.name != "accurate") REQUIRE(y == float_result);
  }
}

TEST_CASE("storage: softmax through every implementation", "[storage]") {
  const registry kernels = builtin_registry();
  for_each_type(type_list<bfloat16, float16>{}, [&]<class S>() {
    for (const kernel<S>& k : kernels.kernels<S>()) {
      INFO(k.facts.name << " " << type_token_v<S>);
      REQUIRE(k.softmax_to_float != nullptr);
      if (k.facts.meets_contract) check_uniform_rows(k);
      const kernel<float>* in_float = kernels.find<float>(k.facts.name);
      REQUIRE(in_float != nullptr);
      if (k.facts.meets_contract) check_float_output(k, *in_float);
      // Float out of a 16-bit row: no overlap at all is allowed.
      std::vector<float> buffer(8);
      const std::span<const S> x(reinterpret_cast<const S*>(buffer.data()), 8);
      REQUIRE_THROWS_AS(k.softmax_to_float(x, std::span<float>(buffer.data(), 8)),
                        std::invalid_argument);
      REQUIRE_THROWS_WITH(k.softmax_to_float(x, std::span<float>(buffer.data() + 1, 7)),
                          "softlab::softmax: x has 8 elements but y has 7");
    }
  });
}

TEST_CASE("storage: the range API takes 16-bit rows, with 16-bit or float outputs", "[storage]") {
  const std::vector<bfloat16> logits{bfloat16(1.0), bfloat16(2.0), bfloat16(-1.5)};
  std::vector<bfloat16> weights(3);
  std::vector<float> probabilities(3);
  softmax<fast>(logits, weights);
  softmax<fast>(logits, probabilities);
  for (std::size_t i = 0; i < 3; ++i) CHECK(weights[i] == bfloat16(probabilities[i]));
  std::vector<float16> log_weights(3);
  const std::vector<float16> halves(logits.begin(), logits.end());
  log_softmax<accurate>(halves, log_weights);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(-1.5));  // 2.33509...
  CHECK(log_weights[1] == float16(2 - lse));
  CHECK(logsumexp<stable>(halves) == float16(lse));
}

}  // namespace
