// softlab::accurate_attention (registry name "accurate"): attention as exact as is practical in
// double, the stick against which the float implementations are judged. Not fast.
//
// Algorithm, per query row, the 16-bit or float inputs widened exactly to double:
//   s_j = q . k_j: each product q_i k_ji exact in double (two floats' significands, 48 bits <=
//     53), summed by Neumaier's compensated sum (detail::compensated_sum, Higham 4.3);
//   z_j = scale s_j (+ mask_j): one fused multiply-add in double (scale and mask as floats);
//   p = softlab::accurate's double softmax (exp and sum in pairs of doubles, faithfully rounded
//     weights: 0.5 + 2^-21 + kv_len 2^-62 double ULPs);
//   O_c = sum_j p_j v_jc: products rounded in double, summed by Neumaier's compensated sum; O_c
//     rounded once to the storage type (float, bfloat16, float16). logsumexp: softlab::accurate's
//     double logsumexp, rounded once to float.
// Passes per query row: K once, the softmax's three over the kv_len logits, V once.
// Stated bound (softlab/attention.hpp's contract), u_d = 2^-53: the logit error of key j
//     Delta_j = (2 + 4 d u_d)(1 + u_d) u_d |scale| sum_i |q_i k_ji| + u_d |z_j|
//   (the compensated sum's 2 u_d |s| + 4 d u_d^2 sum |x|, scaled, then one rounding of z_j);
//   b = accurate's double bound; sigma = u_d + (2 + 4 kv_len u_d)(1 + u_d) u_d (the products'
//   rounding and the compensated sum); u_T = 2^-p of the storage type (the one final rounding).
//   For float storage that is 0.5 ULP of O plus about (3 + 2 b) u_d relative to sum p |v|, and
//   2 Delta from the logits: well below 1 ULP of O unless O cancels. logsumexp: |l_hat - l| <=
//   Delta + a u_d max(1, |l| + Delta), then one rounding to float.
// Specials: as the contract. The double logits cannot overflow for float inputs (|q.k| <=
//   d 2^256), so where materialized's float logits overflow to +-inf, accurate keeps computing
//   the finite answer (the contract's bound is stated only while scale q.k fits in float).
#pragma once

#include <softlab/attention.hpp>
#include <softlab/detail/float_blocks.hpp>
#include <softlab/entry_points.hpp>
#include <softlab/simd/accurate.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace softlab {

struct accurate_attention {
  static constexpr attention_facts facts{
      .name = "accurate",
      .algorithm =
          "exact products and compensated sums in double, softlab::accurate's double "
          "softmax, O = P V by a compensated double sum, one rounding to the storage type",
      .passes = "per query row: K once, the softmax's three over the logits, V once",
      .stated_bound =
          "(1 + u_T)[rho + sigma (1 + rho)] sum_j p_j |v_j| + u_T |O|, rho = (1 + 2 b u_d) "
          "e^(2 Delta) - 1, Delta = max_j (2 + 4 d u_d)(1 + u_d) u_d |scale| sum_i |q_i k_ji| + "
          "u_d |z_j|, sigma = u_d + (2 + 4 kv_len u_d)(1 + u_d) u_d, u_d = 2^-53",
      .softmax = accurate::facts.name,
  };
  using softmax_type = double;

  template <class T>
  static constexpr bool rounds_output = true;
  static constexpr bool rounds_logsumexp = true;

  static double logit_error(std::size_t d, double condition, double logit_magnitude) {
    constexpr double u = 0x1p-53;
    return (2 + 4 * double(d) * u) * (1 + u) * u * condition + u * logit_magnitude;
  }
  static double weighted_sum_error(std::size_t kv_len) {
    constexpr double u = 0x1p-53;
    return u + (2 + 4 * double(kv_len) * u) * (1 + u) * u;
  }
  static double softmax_bound_ulps(const bound_inputs& in) {
    return softmax_bound_ulps_of<accurate, double>(in);
  }
  static double log_bound_a(const bound_inputs& in) { return log_bound_a_of<accurate, double>(in); }
  static constexpr subnormal_results softmax_subnormals = accurate::facts.subnormals;
  /// softlab::accurate's double kernels follow softlab::active_isa().
  static constexpr bool vectorized = accurate::facts.vectorized;

  template <class T>
  static void run_row(const detail::attention_row<T>& row) {
    constexpr double infinity = std::numeric_limits<double>::infinity();
    std::vector<double> query(row.d), logits(row.kv_len), weights(row.kv_len);
    std::vector<detail::compensated_sum<double>> out(row.d_v);
    for (std::size_t i = 0; i < row.d; ++i) query[i] = double(float(row.query[i]));
    bool any_kept = false;
    for (std::size_t j = 0; j < row.kv_len; ++j) {
      if (!row.key_kept(j)) {
        logits[j] = -infinity;
        continue;
      }
      any_kept = true;
      const T* key = row.key(j);
      detail::compensated_sum<double> dot;
      for (std::size_t i = 0; i < row.d; ++i) dot.add(query[i] * double(float(key[i])));
      logits[j] = std::fma(double(row.scale), dot.total(), double(row.additive(j)));
    }
    if (any_kept) {
      detail::softmax_of<accurate, double, double>(std::span<const double>(logits),
                                                   std::span<double>(weights), 1);
      for (std::size_t j = 0; j < row.kv_len; ++j) {
        if (!row.key_kept(j)) continue;
        const double p = weights[j];
        const T* value = row.value(j);
        for (std::size_t c = 0; c < row.d_v; ++c) out[c].add(p * double(float(value[c])));
      }
    }
    std::vector<double> totals(row.d_v);
    for (std::size_t c = 0; c < row.d_v; ++c) totals[c] = out[c].total();
    detail::spread_nan_over_row(std::span<double>(totals));
    for (std::size_t c = 0; c < row.d_v; ++c) row.output[c] = T(totals[c]);
    if (row.logsumexp != nullptr)
      *row.logsumexp =
          any_kept ? float(detail::logsumexp_of<accurate, double>(std::span<const double>(logits)))
                   : -std::numeric_limits<float>::infinity();
  }
};

}  // namespace softlab
