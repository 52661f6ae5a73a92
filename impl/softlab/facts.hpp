// softlab/facts.hpp: what every implementation states about itself.
//
// A stated bound is a claim the tests and the accuracy study check against an exact MPFR
// reference, never decoration. Bounds are derived to first order in the unit roundoff u = 2^-p,
// then made valid for any size of B u by softlab::beyond_first_order (which matters only at low
// precision: fp16sim, bf16sim).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string_view>

namespace softlab {

/// The quantities a stated bound may depend on, for one output element i of one input x.
/// Weighted means use the exact softmax g (so they are properties of the input, not of an
/// algorithm): they are the shifted analogue of the condition number kappa_i = |x_i| + sum
/// g_j|x_j|.
struct bound_inputs {
  std::size_t n = 0;          ///< number of elements
  int precision_bits = 0;     ///< p of T (24 for float)
  double gap = 0;             ///< |x_i - max x|
  double mean_gap = 0;        ///< sum_j g_j |x_j - max x|
  double magnitude = 0;       ///< |x_i|
  double mean_magnitude = 0;  ///< sum_j g_j |x_j|
  double max_value = 0;       ///< max x (finite inputs)
  double min_value = 0;       ///< min x over the finite entries
  double log_max_finite = 0;  ///< ln(largest finite T)
  double log_min_normal = 0;  ///< ln(smallest normal T)
  /// The scalar exp of T errs by at most exp_ulps + exp_ulps_per_unit * |argument| ULPs, its
  /// log by log_ulps (softlab::scalar_libm_error<T>): bounds carry these, not an assumed 1 ULP.
  double exp_ulps = 1;
  double exp_ulps_per_unit = 0;
  double log_ulps = 1;
  /// How often softmax_options' transform rounded the scores z_i = scale x_i + mask_i in the
  /// compute type (softlab/options.hpp): 0 (no scale, no additive mask: z is x, or -inf), 1 (a
  /// fused multiply-add), 2 (scale x_i rounded, then + mask_i: compute types without fma).
  /// The other fields then describe the exact z, and the bound functions of entry_points.hpp
  /// add what the rounding costs.
  int score_roundings = 0;
  double exp_error(double argument) const { return exp_ulps + exp_ulps_per_unit * argument; }
};

inline constexpr double no_bound_claimed = std::numeric_limits<double>::infinity();

/// A softmax bound derived to first order, B ULPs, made true however large B u is (u = 2^-p).
/// The first-order analysis bounds the relative error by B u as a sum of perturbations: factors
/// 1 + d_k (roundings), their inverses (the division by a perturbed sum) and exp(d_k) (a
/// perturbed exp argument), with |d_k| <= c_k u and sum_k c_k = B. Each such factor lies in
/// [(1 - u)^c_k, (1 - u)^-c_k], so their product is within a relative (1 - u)^-B - 1 of 1:
/// B u + O((B u)^2), below Higham's gamma_B = B u / (1 - B u) and finite for every B. In ULPs
/// (relative error / u), capped at the largest double: a vacuous bound is still a claim (the
/// contract's outputs in [0, 1] hold regardless). It is about B (1 + B u / 2): B while B u is
/// small (float, B = 1000: +0.03 ULP); in bfloat16 (u = 2^-8), where n u or |x - max| u reach
/// 1, it is what keeps the bounds true: a sequential sum of 1000 terms (n u = 3.9) errs by up to
/// a relative (1 - u)^-999 - 1 = 49, not 3.9, and an exp argument off by 2.5 makes a weight off
/// by a factor e^2.5 = 12, not 1 + 2.5.
inline double beyond_first_order(double first_order_ulps, const bound_inputs& in) {
  if (first_order_ulps == no_bound_claimed) return no_bound_claimed;
  const double u = std::ldexp(1.0, -in.precision_bits);
  const double relative = std::expm1(-first_order_ulps * std::log1p(-u));  // (1 - u)^-B - 1
  return std::min(relative / u, std::numeric_limits<double>::max());
}

/// What happens to an exact result below the smallest normal number of T.
enum class subnormal_results { kept, flushed_to_zero };

/// The facts every implementation type carries as `static constexpr implementation_facts facts`.
struct implementation_facts {
  std::string_view name;          ///< registry and CLI name
  std::string_view algorithm;     ///< one line, with the paper
  std::string_view passes;        ///< passes over memory, reads and writes
  std::string_view stated_bound;  ///< the softmax bound as a formula, in ULPs of T
  bool vectorized = false;
  bool meets_contract = true;  ///< false only for `naive`, whose failures are the point
  subnormal_results subnormals = subnormal_results::kept;
  /// Faithfully rounded: every result, subnormal ones included, within 1 ULP (error < 1) of
  /// the exact softmax. The tests then require < 1 everywhere, not only the stated bound.
  bool faithful = false;
  /// The theorem of Blanchard, Higham & Higham (2021, IMA J. Numer. Anal. 41(4)) whose
  /// leading-order bound covers this algorithm ("3.3": unshifted, "4.3": shifted, "4.4": shifted
  /// division-free), for the reproduction of their study; empty when none does.
  std::string_view blanchard_theorem = {};
};

}  // namespace softlab
