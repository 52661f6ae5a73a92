// tests/accuracy/test_metrics.cpp: the ULP metric on hand-made cases, the reference against
// closed forms, the study's parallel reference against softlab_reference, and evaluate() on
// kernels that fail in known ways.
#include <softlab/softlab.hpp>
#include <softlab_accuracy/metrics.hpp>
#include <softlab_reference/families.hpp>
#include <softlab_reference/reference.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

using namespace softlab;
using accuracy::vector_reference;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

/// An exact value at T's reference precision.
template <class T>
reference::exact exact_of(const T& v) {
  reference::exact e(reference::reference_bits<T>());
  reference::assign(e.get(), v);
  return e;
}

accuracy::worker_pool& pool() {
  static accuracy::worker_pool p = accuracy::make_reference_pool(2);
  return p;
}

}  // namespace

TEMPLATE_TEST_CASE("ulp_error: hand-made cases", "", float, double, long double) {
  using T = TestType;
  const T denorm = std::numeric_limits<T>::denorm_min();
  SECTION("the exact value itself scores 0") {
    for (const T v : {T(0.5), T(1), T(0.1), T(1) / T(3), denorm, std::numeric_limits<T>::min()})
      CHECK(reference::ulp_error(v, exact_of(v)) == 0);
  }
  SECTION("one ULP off scores 1; one ULP below a power of two scores 1/2 (the exact's ULP)") {
    CHECK(reference::ulp_error(std::nextafter(T(0.5), T(1)), exact_of(T(0.5))) == 1);
    CHECK(reference::ulp_error(std::nextafter(T(0.75), T(0)), exact_of(T(0.75))) == 1);
    CHECK(reference::ulp_error(std::nextafter(T(0.5), T(0)), exact_of(T(0.5))) == 0.5);
    // Half an ULP: 1/3 correctly rounded is within 0.5.
    reference::exact third(reference::reference_bits<T>());
    mpfr_set_ui(third.get(), 1, MPFR_RNDN);
    mpfr_div_ui(third.get(), third.get(), 3, MPFR_RNDN);
    const double e = reference::ulp_error(reference::round_to<T>(third.get()), third);
    CHECK(e > 0.3);
    CHECK(e <= 0.5);
  }
  SECTION("a flushed subnormal scores its distance in subnormal spacings") {
    CHECK(reference::ulp_error(T(0), exact_of(T(3 * denorm))) == 3);
    reference::exact two_and_a_half(reference::reference_bits<T>());
    reference::assign(two_and_a_half.get(), denorm);
    mpfr_mul_d(two_and_a_half.get(), two_and_a_half.get(), 2.5, MPFR_RNDN);
    CHECK(reference::ulp_error(T(0), two_and_a_half) == 2.5);
    CHECK(reference::ulp_error(T(denorm), exact_of(T(4 * denorm))) == 3);
  }
  SECTION("zero against zero is 0") { CHECK(reference::ulp_error(T(0), exact_of(T(0))) == 0); }
  SECTION("NaN against a number is inf, NaN against NaN is 0, a wrong infinity is inf") {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    CHECK(reference::ulp_error(nan, exact_of(T(0.5))) == inf);
    CHECK(reference::ulp_error(T(0.5), exact_of(nan)) == inf);
    CHECK(reference::ulp_error(nan, exact_of(nan)) == 0);
    CHECK(reference::ulp_error(std::numeric_limits<T>::infinity(), exact_of(T(1))) == inf);
  }
  SECTION("log_error_units: units of u max(1, |exact|)") {
    constexpr int p = std::numeric_limits<T>::digits;
    const T u = std::ldexp(T(1), -p);
    CHECK(reference::log_error_units(T(-1 + 2 * u), exact_of(T(-1))) == 2);
    CHECK(reference::log_error_units(T(0.25 + u), exact_of(T(0.25))) == 1);
    CHECK(reference::log_error_units(T(-8 + 8 * 2 * u), exact_of(T(-8))) == 2);
    CHECK(reference::log_error_units(-std::numeric_limits<T>::infinity(),
                                     exact_of(-std::numeric_limits<T>::infinity())) == 0);
    CHECK(reference::log_error_units(T(-100), exact_of(-std::numeric_limits<T>::infinity())) ==
          inf);
  }
}

TEST_CASE("ulp_error: the scratch form leaves y = computed and diff = computed - exact") {
  // The study's metric pass reads |y - g| and the sum of the y from the scratch (metrics.hpp).
  reference::seeded_random rng(7);
  const mpfr_prec_t bits = reference::reference_bits<float>();
  reference::exact y(bits), diff(bits), want(bits);
  for (int i = 0; i < 2000; ++i) {
    // A random exact value (MPFR, 112 bits) and a float near it, sometimes far.
    reference::exact g(bits);
    mpfr_set_d(g.get(), rng.uniform(0, 1), MPFR_RNDN);
    mpfr_mul_2si(g.get(), g.get(), -long(rng.below(160)), MPFR_RNDN);
    mpfr_add_d(g.get(), g.get(), rng.uniform(0, 1) * 1e-40, MPFR_RNDN);
    const float near = reference::round_to<float>(g.get());
    for (const float computed : {near, std::nextafter(near, 2.0f), float(rng.uniform(0, 1))}) {
      const double ulp = reference::ulp_error(computed, g.get(), y.get(), diff.get());
      CHECK(ulp == reference::ulp_error(computed, g));
      CHECK(mpfr_cmp_d(y.get(), double(computed)) == 0);
      mpfr_sub(want.get(), y.get(), g.get(), MPFR_RNDN);
      CHECK(mpfr_equal_p(diff.get(), want.get()) != 0);
    }
  }
}

TEST_CASE("ulp_error, log_error_units: a finite bin50 beyond double's range is finite") {
  // 1e400 converts to an infinite double; in bin50 it is an ordinary finite value, and the
  // metrics must treat it as one (not as a wrong infinity scoring +inf).
  const bin50 big("1e400");
  REQUIRE(std::isinf(static_cast<double>(big)));
  CHECK(reference::ulp_error(big, exact_of(big)) == 0);
  CHECK(reference::log_error_units(big, exact_of(big)) == 0);
  CHECK(reference::log_error_units(bin50(-big), exact_of(bin50(-big))) == 0);
  // One ULP above: 1 ULP; in log units |y - exact| / (u |exact|) = 2^e / big, in (1, 2] for
  // big in [2^(e-1), 2^e).
  int e = 0;
  (void)frexp(big, &e);
  const bin50 next = big + ldexp(bin50(1), e - std::numeric_limits<bin50>::digits);
  CHECK(reference::ulp_error(next, exact_of(big)) == 1);
  const double log_units = reference::log_error_units(next, exact_of(big));
  CHECK(log_units > 1);
  CHECK(log_units <= 2);
  // A true infinity against it is still wrong.
  CHECK(reference::log_error_units(std::numeric_limits<bin50>::infinity(), exact_of(big)) == inf);
  CHECK(reference::ulp_error(std::numeric_limits<bin50>::infinity(), exact_of(big)) == inf);
}

TEMPLATE_TEST_CASE("reference: closed forms", "", float, double, long double, bin50) {
  using T = TestType;
  constexpr mpfr_prec_t bits = reference::reference_bits<T>();
  // |value - expected| <= relative * |expected|, in MPFR.
  auto close = [](mpfr_srcptr value, mpfr_srcptr expected, long log2_relative) {
    reference::exact diff(bits);
    mpfr_sub(diff.get(), value, expected, MPFR_RNDN);
    mpfr_abs(diff.get(), diff.get(), MPFR_RNDN);
    mpfr_div(diff.get(), diff.get(), expected, MPFR_RNDN);
    return mpfr_zero_p(diff.get()) || mpfr_get_exp(diff.get()) <= log2_relative;
  };
  SECTION("n equal scores give exactly 1/n; the study's reference gives it to the last bit") {
    for (const std::size_t n : {1, 3, 7, 10}) {
      for (const T& value : {T(0), T(-3.5), T(1e30), T(-1e30)}) {
        const std::vector<T> x(n, value);
        reference::exact one_over_n(bits);
        mpfr_set_ui(one_over_n.get(), 1, MPFR_RNDN);
        mpfr_div_ui(one_over_n.get(), one_over_n.get(), n, MPFR_RNDN);
        const auto g = reference::exact_softmax<T>(x);
        const auto refs = accuracy::compute_references<T>({x}, pool());
        mpfr_t view;
        for (std::size_t i = 0; i < n; ++i) {
          CHECK(close(g[i].get(), one_over_n.get(), -long(2 * std::numeric_limits<T>::digits)));
          CHECK(mpfr_equal_p(refs[0].softmax.get(i, view), one_over_n.get()));
          CHECK(reference::round_to<T>(g[i].get()) == T(T(1) / T(double(n))));
        }
      }
    }
  }
  SECTION("[0, ln 2] gives 1/3 and 2/3, up to the rounding of ln 2 to T") {
    reference::exact ln2(bits), third(bits), bound(bits), diff(bits);
    mpfr_const_log2(ln2.get(), MPFR_RNDN);
    const T x1 = reference::round_to<T>(ln2.get());
    // dg_1/dx_2 = -g_1 g_2 = -2/9: |g_1 - 1/3| <= (2/9 + tiny) |x_2 - ln 2|.
    reference::assign(bound.get(), x1);
    mpfr_sub(bound.get(), bound.get(), ln2.get(), MPFR_RNDN);
    mpfr_abs(bound.get(), bound.get(), MPFR_RNDN);
    mpfr_mul_d(bound.get(), bound.get(), 0.23, MPFR_RNDN);
    const std::vector<T> x{T(0), x1};
    const auto g = reference::exact_softmax<T>(x);
    const auto refs = accuracy::compute_references<T>({x}, pool());
    mpfr_t view;
    for (int k = 0; k < 2; ++k) {
      mpfr_set_ui(third.get(), k + 1, MPFR_RNDN);
      mpfr_div_ui(third.get(), third.get(), 3, MPFR_RNDN);
      for (mpfr_srcptr value : {mpfr_srcptr(g[k].get()), refs[0].softmax.get(k, view)}) {
        mpfr_sub(diff.get(), value, third.get(), MPFR_RNDN);
        mpfr_abs(diff.get(), diff.get(), MPFR_RNDN);
        CHECK(mpfr_cmp(diff.get(), bound.get()) <= 0);
      }
    }
    // logsumexp [0, 0] = ln 2; log_softmax [0, 0] = -ln 2.
    const std::vector<T> zeros{T(0), T(0)};
    CHECK(close(reference::exact_logsumexp<T>(zeros).get(), ln2.get(),
                -long(2 * std::numeric_limits<T>::digits)));
    const auto zero_refs = accuracy::compute_references<T>({zeros}, pool());
    mpfr_neg(ln2.get(), ln2.get(), MPFR_RNDN);
    CHECK(close(zero_refs[0].log_softmax.get(0, view), ln2.get(),
                -long(2 * std::numeric_limits<T>::digits)));
  }
  SECTION("the contract's limits: masked, +inf, NaN") {
    const T infinity = std::numeric_limits<T>::infinity();
    const auto refs = accuracy::compute_references<T>({{-infinity, -infinity},
                                                       {T(1), infinity, T(2), infinity},
                                                       {T(1), std::numeric_limits<T>::quiet_NaN()}},
                                                      pool());
    mpfr_t view;
    CHECK(refs[0].kind == accuracy::input_kind::all_negative_infinity);
    CHECK(mpfr_zero_p(refs[0].softmax.get(1, view)));
    CHECK(mpfr_inf_p(refs[0].log_softmax.get(1, view)));
    CHECK(refs[1].kind == accuracy::input_kind::positive_infinity);
    CHECK(mpfr_cmp_d(refs[1].softmax.get(1, view), 0.5) == 0);
    CHECK(mpfr_zero_p(refs[1].softmax.get(2, view)));
    CHECK((refs[1].flags[2] & accuracy::element_flag::exact_zero) != 0);
    CHECK(refs[2].kind == accuracy::input_kind::nan);
    CHECK(mpfr_nan_p(refs[2].softmax.get(0, view)));
    CHECK(mpfr_nan_p(refs[2].logsumexp.get()));
  }
}

TEMPLATE_TEST_CASE("compute_references agrees with softlab_reference, element by element", "",
                   float, double, long double, bin50) {
  using T = TestType;
  constexpr int p = std::numeric_limits<T>::digits;
  std::vector<std::vector<T>> inputs;
  for (const reference::family f : reference::all_families)
    inputs.push_back(reference::generate<T>(f, 9000 / (p > 64 ? 100 : 1) + 3, 11));
  const auto refs = accuracy::compute_references<T>(inputs, pool());
  REQUIRE(refs.size() == inputs.size());
  mpfr_t view;
  for (std::size_t v = 0; v < refs.size(); ++v) {
    INFO("family " << reference::family_name(reference::all_families[v]));
    const auto g = reference::exact_softmax<T>(inputs[v]);
    const auto log_g = reference::exact_softmax<T>(inputs[v], true);
    for (std::size_t i = 0; i < g.size(); ++i) {
      // Both at 2p + 64 bits, summed in different orders: far below 2^-(p + 30) in ULPs.
      CHECK(reference::ulp_error(reference::round_to<T>(refs[v].softmax.get(i, view)), g[i]) ==
            reference::ulp_error(reference::round_to<T>(g[i].get()), g[i]));
      reference::exact diff(reference::reference_bits<T>());
      mpfr_sub(diff.get(), refs[v].softmax.get(i, view), g[i].get(), MPFR_RNDN);
      if (!mpfr_zero_p(diff.get()) && !mpfr_zero_p(g[i].get()))
        CHECK(mpfr_get_exp(diff.get()) - mpfr_get_exp(g[i].get()) < -(p + 30));
      mpfr_sub(diff.get(), refs[v].log_softmax.get(i, view), log_g[i].get(), MPFR_RNDN);
      if (mpfr_number_p(diff.get()) && !mpfr_zero_p(diff.get()))
        CHECK(mpfr_get_exp(diff.get()) < -(p + 20));
    }
    {
      reference::exact diff(reference::reference_bits<T>());
      mpfr_sub(diff.get(), refs[v].logsumexp.get(), reference::exact_logsumexp<T>(inputs[v]).get(),
               MPFR_RNDN);
      if (mpfr_number_p(diff.get()) && !mpfr_zero_p(diff.get()))
        CHECK(mpfr_get_exp(diff.get()) - mpfr_get_exp(refs[v].logsumexp.get()) < -(p + 30));
    }
    // bounds_at(i) is bound_inputs_for(x, i, g), field by field.
    if (refs[v].kind == accuracy::input_kind::finite)
      for (const std::size_t i : {std::size_t(0), refs[v].x.size() / 2, refs[v].x.size() - 1}) {
        const bound_inputs a = refs[v].bounds_at(i);
        const bound_inputs b = reference::bound_inputs_for<T>(refs[v].x, i, refs[v].g);
        CHECK(a.n == b.n);
        CHECK(a.precision_bits == b.precision_bits);
        CHECK(a.gap == b.gap);
        CHECK(a.mean_gap == b.mean_gap);
        CHECK(a.magnitude == b.magnitude);
        CHECK(a.mean_magnitude == b.mean_magnitude);
        CHECK(a.max_value == b.max_value);
        CHECK(a.min_value == b.min_value);
        CHECK(a.log_max_finite == b.log_max_finite);
        CHECK(a.log_min_normal == b.log_min_normal);
        CHECK(a.exp_ulps == b.exp_ulps);
        CHECK(a.exp_ulps_per_unit == b.exp_ulps_per_unit);
        CHECK(a.log_ulps == b.log_ulps);
      }
  }
}

namespace {

// Kernels that fail in known ways, as a peer could (plain functions: kernel<T> holds pointers).
void correctly_rounded(std::span<const float> x, std::span<float> y) {
  const auto g = reference::exact_softmax<float>(x);
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = reference::round_to<float>(g[i].get());
}
void flushing(std::span<const float> x, std::span<float> y) {
  correctly_rounded(x, y);
  for (float& v : y)
    if (v < std::numeric_limits<float>::min()) v = 0;
}
void nan_at_zero(std::span<const float> x, std::span<float> y) {
  correctly_rounded(x, y);
  y[0] = std::numeric_limits<float>::quiet_NaN();
}
void masked_get_weight(std::span<const float> x, std::span<float> y) {
  correctly_rounded(x, y);
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] == -std::numeric_limits<float>::infinity()) y[i] = 1e-30f;
}
void no_log_softmax(std::span<const float>, std::span<float>) {
  throw std::logic_error("no log_softmax here");
}
double one_ulp(const bound_inputs&) { return 1; }

kernel<float> test_kernel(void (*softmax)(std::span<const float>, std::span<float>)) {
  kernel<float> k;
  k.facts.name = "test";
  k.softmax = softmax;
  k.log_softmax = no_log_softmax;
  k.softmax_bound_ulps = one_ulp;
  return k;
}

}  // namespace

TEST_CASE("evaluate: the metrics of kernels that fail in known ways") {
  // near_underflow-like: one 0, the rest around -90 to -104: some float results subnormal.
  std::vector<float> x{0.0f, -90.0f, -100.0f, -102.5f, -103.0f, -95.0f, -1.0f, -87.5f};
  const auto refs = accuracy::compute_references<float>({x}, pool());
  const auto hex = accuracy::value_format::hex;

  const accuracy::cell_metrics good =
      accuracy::evaluate<float>(test_kernel(correctly_rounded), refs, pool(), hex);
  CHECK(good.max_ulp <= 0.5);
  CHECK(good.max_ulp_normal <= 0.5);
  CHECK(good.wrong_zero_count == 0);
  CHECK(good.not_correctly_rounded_count == 0);
  CHECK(good.nan_count == 0);
  CHECK(good.argmax_preserved == 1);
  CHECK(good.max_sum_error < 1e-6);
  CHECK(good.max_observed_over_stated <= 0.5);
  CHECK(good.stated_bound_at_worst == 1);
  CHECK(good.max_error_over_u_kappa <= 1);          // relative error <= u
  CHECK_FALSE(good.log_softmax_error.has_value());  // threw std::logic_error: unsupported
  CHECK_FALSE(good.logsumexp_error.has_value());    // none

  const accuracy::cell_metrics flushed =
      accuracy::evaluate<float>(test_kernel(flushing), refs, pool(), hex);
  CHECK(flushed.wrong_zero_count == 6);  // every g below FLT_MIN = e^-87.34 (over 1.37)
  CHECK(flushed.not_correctly_rounded_count == 6);
  CHECK(flushed.max_ulp > 1);
  CHECK(flushed.max_ulp_normal <= 0.5);  // the normal results are untouched
  CHECK(flushed.max_rel_error == 1);
  CHECK(flushed.worst_y == "0x0p+0");

  const accuracy::cell_metrics nan =
      accuracy::evaluate<float>(test_kernel(nan_at_zero), refs, pool(), hex);
  CHECK(nan.nan_count == 1);
  CHECK(nan.max_ulp == inf);
  CHECK(nan.worst_index == 0);
  CHECK(nan.worst_y == "nan");
  CHECK(nan.worst_x == "0x0p+0");
  CHECK(nan.normwise_error == inf);
  CHECK(nan.argmax_preserved == 0);  // the largest y is elsewhere

  std::vector<float> masked{1.0f, -std::numeric_limits<float>::infinity(), 2.0f};
  const auto masked_refs = accuracy::compute_references<float>({masked}, pool());
  const accuracy::cell_metrics wrong =
      accuracy::evaluate<float>(test_kernel(masked_get_weight), masked_refs, pool(), hex);
  CHECK(wrong.wrong_nonzero_count == 1);
  CHECK(wrong.worst_index == 1);
}

TEST_CASE("evaluate: every builtin kernel on a benign family is within its stated bound") {
  const registry reg = builtin_registry();
  std::vector<std::vector<double>> inputs;
  for (std::uint64_t seed = 1; seed <= 4; ++seed)
    inputs.push_back(reference::generate<double>(reference::family::wide_80, 5000, seed));
  const auto refs = accuracy::compute_references<double>(inputs, pool());
  for (const kernel<double>& k : reg.kernels<double>()) {
    INFO(k.facts.name);
    const accuracy::cell_metrics m =
        accuracy::evaluate<double>(k, refs, pool(), accuracy::value_format::dec);
    CHECK(m.vectors == 4);
    CHECK(m.elements == 20000);
    CHECK(m.nan_count == 0);
    CHECK(m.argmax_preserved == 1);
    if (k.facts.meets_contract) CHECK(m.max_observed_over_stated <= 1);
    CHECK(m.log_softmax_error.has_value());
    CHECK(m.logsumexp_error.has_value());
  }
}
