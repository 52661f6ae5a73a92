// softmax_tester: checks one registry kernel on one input against the exact MPFR reference,
// within the kernel's own stated bounds, evaluated for that input (XNNPACK-style builder:
// `softmax_tester<T>(kernel).label("wide_80 n=100 seed=7").test(x)`).
//
// What is asserted, per element i (finite max):
//  - y_i in [0, 1], not NaN; an entry x_i = -inf gets exactly 0;
//  - ULP error <= stated bound for exact results >= the smallest normal; below it, the
//    stated bound plus one subnormal spacing (a subnormal exp or quotient is rounded to the
//    fixed spacing, adding at most one) or, for kernels that state they flush, exactly 0;
//  - log_softmax within a * u * max(1, |exact|); logsumexp likewise with the max element's a;
//  - |sum y - 1| within the sum of the elementwise allowances.
// It returns the largest observed / stated ratio, which the suite prints per family.
#pragma once

#include <softlab/softlab.hpp>
#include <softlab_reference/reference.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace softlab::testing {

struct observation {
  double max_ulp = 0;         ///< largest ULP error on results >= smallest normal
  double max_ratio = 0;       ///< largest ULP error / stated bound, same results
  double bound_at_worst = 0;  ///< the stated bound where the ratio peaked
  double max_log_ratio = 0;   ///< log_softmax / logsumexp: largest error / (a u max(1,|y|))
  std::size_t checked = 0;    ///< results compared against a claimed bound
  void merge(const observation& o) {
    if (o.max_ratio > max_ratio) bound_at_worst = o.bound_at_worst;
    max_ulp = std::max(max_ulp, o.max_ulp);
    max_ratio = std::max(max_ratio, o.max_ratio);
    max_log_ratio = std::max(max_log_ratio, o.max_log_ratio);
    checked += o.checked;
  }
};

template <class T>
class softmax_tester {
 public:
  explicit softmax_tester(const kernel<T>& k) : kernel_(k) {}
  softmax_tester& label(std::string text) {
    label_ = std::move(text);
    return *this;
  }

  observation test(std::span<const T> x) const {
    INFO(kernel_.facts.name << " " << type_token_v<T> << " " << label_);
    observation seen;
    if (x.empty()) return seen;
    const std::vector<reference::exact> exact = reference::exact_softmax<T>(x);
    std::vector<double> g(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) g[i] = exact[i].to_double();

    // naive claims a bound only where no exp over- or underflows; elsewhere its failures are
    // asserted by the suite, not here.
    if (!kernel_.facts.meets_contract &&
        kernel_.softmax_bound_ulps(reference::bound_inputs_for<T>(x, 0, g)) == no_bound_claimed)
      return seen;

    std::vector<T> y(x.size());
    kernel_.softmax(x, y);
    const T smallest_normal = std::numeric_limits<T>::min();
    const mpfr_prec_t bits = reference::reference_bits<T>();
    reference::exact sum(bits), allowance(bits), term(bits);
    mpfr_set_si(sum.get(), -1, MPFR_RNDN);
    mpfr_set_zero(allowance.get(), 1);

    for (std::size_t i = 0; i < x.size(); ++i) {
      INFO("element " << i << " of " << x.size() << ": x = " << double(x[i])
                      << ", y = " << double(y[i]) << ", exact = " << g[i]);
      REQUIRE_FALSE(detail::is_nan(y[i]));
      REQUIRE(y[i] >= T(0));
      REQUIRE(y[i] <= T(1));
      if (x[i] == -detail::infinity<T>()) {
        REQUIRE(y[i] == T(0));
        continue;
      }
      const bound_inputs in = reference::bound_inputs_for<T>(x, i, g);
      const double bound = kernel_.softmax_bound_ulps(in);
      if (bound == no_bound_claimed) {
        REQUIRE_FALSE(kernel_.facts.meets_contract);
        continue;
      }
      const double error = reference::ulp_error(y[i], exact[i]);
      INFO("ULP error " << error << ", stated bound " << bound);
      const bool normal_result = mpfr_cmp_d(exact[i].get(), double(smallest_normal)) >= 0 ||
                                 std::is_same_v<T, bin50> || std::is_same_v<T, bin100>;
      if (kernel_.facts.faithful) REQUIRE(error < 1);
      if (normal_result) {
        REQUIRE(error <= bound);
        ++seen.checked;
        if (error > seen.max_ulp) seen.max_ulp = error;
        if (error / bound > seen.max_ratio) {
          seen.max_ratio = error / bound;
          seen.bound_at_worst = bound;
        }
      } else if (kernel_.facts.subnormals == subnormal_results::flushed_to_zero && y[i] == T(0)) {
        // stated behaviour: flushed
      } else {
        REQUIRE(error <= bound + 1);
      }
      // The sum of the outputs may differ from 1 by at most the elementwise allowances.
      reference::assign(term.get(), y[i]);
      mpfr_add(sum.get(), sum.get(), term.get(), MPFR_RNDN);
      reference::ulp_of<T>(term.get(), exact[i].get());
      mpfr_mul_d(term.get(), term.get(), bound + 1, MPFR_RNDN);
      mpfr_add(allowance.get(), allowance.get(), term.get(), MPFR_RNDN);
    }
    if (kernel_.facts.meets_contract || seen.checked == x.size()) {
      mpfr_abs(sum.get(), sum.get(), MPFR_RNDN);
      INFO("|sum y - 1| = " << sum.to_double() << ", allowance " << allowance.to_double());
      REQUIRE(mpfr_cmp(sum.get(), allowance.get()) <= 0);
    }
    seen.max_log_ratio = test_log_domain(x, g);
    return seen;
  }

 private:
  double test_log_domain(std::span<const T> x, std::span<const double> g) const {
    const std::vector<reference::exact> exact = reference::exact_softmax<T>(x, true);
    std::vector<T> y(x.size());
    kernel_.log_softmax(x, y);
    double worst = 0;
    std::size_t argmax = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (g[i] > g[argmax]) argmax = i;
      if (x[i] == -detail::infinity<T>()) {
        REQUIRE(y[i] == -detail::infinity<T>());
        continue;
      }
      const double a = kernel_.log_bound_a(reference::bound_inputs_for<T>(x, i, g));
      if (a == no_bound_claimed) continue;
      // An exact log_softmax beyond T's range (a score near -max T against one near +max T)
      // rounds to -inf: then -inf is the one right answer, not an infinite error.
      if (y[i] == -detail::infinity<T>() &&
          reference::round_to<T>(exact[i].get()) == -detail::infinity<T>())
        continue;
      const double error = reference::log_error_units(y[i], exact[i]);
      INFO("log_softmax element " << i << ": x = " << double(x[i]) << ", y = " << double(y[i])
                                  << ", error " << error << " u max(1,|y|), stated a = " << a);
      REQUIRE(error <= a);
      worst = std::max(worst, error / a);
    }
    const double a = kernel_.log_bound_a(reference::bound_inputs_for<T>(x, argmax, g));
    if (a != no_bound_claimed) {
      const T lse = kernel_.logsumexp(x);
      const double error = reference::log_error_units(lse, reference::exact_logsumexp<T>(x));
      INFO("logsumexp = " << double(lse) << ", error " << error
                          << " u max(1,|y|), stated a = " << a);
      REQUIRE(error <= a);
      worst = std::max(worst, error / a);
    }
    return worst;
  }

  const kernel<T>& kernel_;
  std::string label_;
};

/// One line per (implementation, type, ISA, family), so a reader of the test log sees how
/// close each stated bound comes to being reached.
inline void print_observation(std::string_view implementation, std::string_view type,
                              std::string_view isa, std::string_view family,
                              const observation& seen) {
  std::printf(
      "observed/stated %-9s %-11s %-5s %-15s max_ulp %9.3f  stated %10.6g  ratio %.3f  "
      "log_ratio %.3f  (%zu results)\n",
      std::string(implementation).c_str(), std::string(type).c_str(), std::string(isa).c_str(),
      std::string(family).c_str(), seen.max_ulp, seen.bound_at_worst, seen.max_ratio,
      seen.max_log_ratio, seen.checked);
}

}  // namespace softlab::testing
