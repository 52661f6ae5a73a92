// The pair exp behind softlab::accurate's double kernel (src/softlab_kernels/
// accurate_double_kernel.hpp), alone, against MPFR: 2^512 exp(x - m) as e_hi + e_lo, on every
// ISA under test. The weights' bound (softlab/simd/accurate.hpp) assumes its relative error is
// at most 2^-70; this measures it on random arguments over the whole range softmax reaches,
// near the underflow threshold, near the table's break points, and with differences x - m
// that are not exact in double (the two-sum's low part).
#include "isa_under_test.hpp"
#include "softmax_tester.hpp"

#include <kernel_tables.hpp>
#include <softlab/softlab.hpp>
#include <softlab_reference/families.hpp>
#include <softlab_reference/reference.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace softlab;

constexpr std::uint64_t seed = 20261128;  // every argument below is drawn from this
constexpr int headroom = simd::exp_pair_constants::headroom;
constexpr double stated_relative_error = 0x1p-75;

/// Rows (x, m) with x <= m and their exps' largest relative error |e_hi + e_lo - E| / E, E =
/// 2^512 exp(x - m) in MPFR at 300 bits; also requires |e_lo| <= ulp(e_hi) / 2.
struct exp_sweep {
  std::vector<double> x, m;
  void add(double xv, double mv) {
    x.push_back(xv);
    m.push_back(mv);
  }

  double largest_relative_error(const simd::accurate_double_passes& passes) const {
    std::vector<double> hi(x.size()), lo(x.size());
    // One row per run of equal m: whole vectors and the padded tail both run.
    for (std::size_t i = 0, end = 0; i < x.size(); i = end) {
      for (end = i + 1; end < x.size() && m[end] == m[i];) ++end;
      passes.exp_pairs(&x[i], m[i], &hi[i], &lo[i], end - i);
    }
    reference::exact exact(300), computed(300), error(300);
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      mpfr_set_d(exact.get(), x[i], MPFR_RNDN);
      mpfr_sub_d(exact.get(), exact.get(), m[i], MPFR_RNDN);  // exact at 300 bits
      // clamped there: the weight of such an exp is 0 either way
      if (mpfr_cmp_d(exact.get(), simd::exp_pair_constants::lowest_argument) < 0)
        mpfr_set_d(exact.get(), simd::exp_pair_constants::lowest_argument, MPFR_RNDN);
      mpfr_exp(exact.get(), exact.get(), MPFR_RNDN);
      mpfr_mul_2si(exact.get(), exact.get(), headroom, MPFR_RNDN);
      mpfr_set_d(computed.get(), hi[i], MPFR_RNDN);
      mpfr_add_d(computed.get(), computed.get(), lo[i], MPFR_RNDN);
      mpfr_sub(error.get(), computed.get(), exact.get(), MPFR_RNDN);
      mpfr_div(error.get(), error.get(), exact.get(), MPFR_RNDN);
      const double relative = std::abs(mpfr_get_d(error.get(), MPFR_RNDN));
      INFO(std::hexfloat << "x = " << x[i] << ", m = " << m[i] << ", e = " << hi[i] << " + "
                         << lo[i] << ", relative error " << relative);
      REQUIRE(std::abs(lo[i]) <= 0.5 * (std::nextafter(hi[i], 2 * hi[i]) - hi[i]));
      CHECK(relative <= stated_relative_error);
      if (relative > worst) worst = relative;
    }
    return worst;
  }
};

exp_sweep arguments() {
  reference::seeded_random rng(seed);
  exp_sweep sweep;
  // uniform over softmax's range, m = 0: d = x exactly
  for (int i = 0; i < 40000; ++i) sweep.add(rng.uniform(-745.2, 0), 0);
  // small differences, where the table's index and the polynomial alone carry the result
  for (int i = 0; i < 10000; ++i) sweep.add(-std::ldexp(rng.uniform(1, 2), -int(rng.below(60))), 0);
  // near the underflow threshold of the weights (exp(d) = 2^-1074 at d = -744.44) and of
  // double's normal range (2^-1022 at -708.40), and at the clamp (-760)
  for (double centre : {-745.13, -744.44, -708.40, -760.0})
    for (int i = 0; i < 5000; ++i) sweep.add(centre + rng.uniform(-0.5, 0.5), 0);
  // the table's break points: d = k ln(2)/128 (+ half a step) and a few ULPs around
  for (int i = 0; i < 5000; ++i) {
    const double k = -double(rng.below(137000));
    const double point = (k + (rng.below(2) == 0 ? 0.0 : 0.5)) * 0.00541521234812457272982;
    double d = point;
    for (int step = int(rng.below(9)) - 4; step != 0; step += step > 0 ? -1 : 1)
      d = std::nextafter(d, step > 0 ? 0.0 : -1000.0);
    sweep.add(d, 0);
  }
  // x - m not exact in double: m of any magnitude, x below it by up to 745
  for (int i = 0; i < 20000; ++i) {
    const double mv = rng.uniform(-1000, 1000) * std::ldexp(1.0, int(rng.below(20)) - 10);
    sweep.add(mv - rng.uniform(0, 745), mv);
  }
  return sweep;
}

}  // namespace

TEST_CASE("accurate: the pair exp of the double kernel against MPFR", "[accurate][vectorized]") {
  const registry kernels = builtin_registry();
  const kernel<double>& k = *kernels.find<double>("accurate");
  const exp_sweep sweep = arguments();
  const isa before = active_isa();
  for (isa which : testing::isas_under_test(k)) {
    force_isa(which);
    INFO("ISA " << isa_name(which));
    const double worst = sweep.largest_relative_error(*simd::active_table<double>().accurate);
    std::printf("accurate double pair exp, %s: largest relative error 2^%.2f over %zu arguments\n",
                std::string(isa_name(which)).c_str(), std::log2(worst), sweep.x.size());
    CHECK(worst <= stated_relative_error);
  }
  force_isa(before);
}

/// Rows longer than the pair scratch (4096), where the last pass takes every exp again: wide
/// scores reach the subnormal weights (gaps in [708, 745]) and the clamp; checked against MPFR
/// within the stated bound (faithful: < 1 ULP everywhere), with y misaligned too.
TEST_CASE("accurate: double rows beyond the pair scratch", "[accurate][vectorized]") {
  const registry kernels = builtin_registry();
  const kernel<double>& k = *kernels.find<double>("accurate");
  const isa before = active_isa();
  for (isa which : testing::isas_under_test(k)) {
    force_isa(which);
    INFO("ISA " << isa_name(which));
    for (const auto f : {reference::family::wide_500, reference::family::uniform_1}) {
      const std::vector<double> x = reference::generate<double>(f, 5003, seed + std::size_t(f));
      testing::softmax_tester<double>(k).label(std::string(reference::family_name(f))).test(x);
      std::vector<double> y(x.size()), shifted(x.size() + 1);
      k.softmax(x, y);
      k.softmax(x, std::span<double>(shifted.data() + 1, x.size()));
      CHECK(std::equal(y.begin(), y.end(), shifted.begin() + 1));
    }
  }
  force_isa(before);
}

TEST_CASE("accurate: double log_softmax where x - max leaves the double range",
          "[accurate][vectorized]") {
  // x_i - max - log s below -DBL_MAX: the exact log-weight rounds to -inf, and the pair's low
  // parts are inf - inf there. Entries -2^970 and DBL_MAX, mixed so that both the vector body
  // and the tail meet them; the k maxima share the weight: log-weight -log k.
  const registry kernels = builtin_registry();
  const kernel<double>& k = *kernels.find<double>("accurate");
  const isa before = active_isa();
  for (isa which : testing::isas_under_test(k)) {
    force_isa(which);
    INFO("ISA " << isa_name(which));
    for (std::size_t n : {2, 7, 37}) {
      std::vector<double> x(n, -0x1p970);
      std::size_t maxima = 0;
      for (std::size_t i = 1; i < n; i += 3, ++maxima) x[i] = std::numeric_limits<double>::max();
      std::vector<double> y(n);
      k.log_softmax(x, y);
      const double log_k = std::log(double(maxima));
      for (std::size_t i = 0; i < n; ++i) {
        INFO("n " << n << ", entry " << i << ": " << y[i]);
        if (x[i] < 0)
          CHECK(y[i] == -std::numeric_limits<double>::infinity());
        else
          CHECK(std::abs(y[i] + log_k) <= 0x1p-52 * std::max(1.0, log_k));
      }
    }
  }
  force_isa(before);
}
