// softlab/facts.hpp: what every implementation states about itself.
//
// A stated bound is a claim the tests and the accuracy study check against an exact MPFR
// reference, never decoration. Bounds are first-order in the unit roundoff u = 2^-p.
#pragma once

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
  double exp_error(double argument) const { return exp_ulps + exp_ulps_per_unit * argument; }
};

inline constexpr double no_bound_claimed = std::numeric_limits<double>::infinity();

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
};

}  // namespace softlab
