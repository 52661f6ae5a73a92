// softlab::materialized<Softmax> (registry name "materialized:<softmax>"): attention as the
// textbook composition, one row of logits at a time, with the named softmax implementation.
//
// Algorithm, per query row (head h, row r), everything in float (the 16-bit Q, K, V widened
// exactly): s_j = q . k_j, a sequential sum of d products; z_j = scale s_j (+ mask_j) rounded
//   once (a fused multiply-add with an additive mask); masked keys get z_j = -inf without being
//   read; p = softmax(z) by Softmax's float kernel; O_c = sum_j p_j v_jc, a sequential float sum
//   over the kept keys in key order; each O_c rounded once to the storage type (float: as is).
//   logsumexp: Softmax's logsumexp of z, in float.
// Passes per query row: K once (the logits, kv_len floats kept), Softmax's passes over the
//   logits, V once.
// Stated bound (softlab/attention.hpp's contract): the logit error of key j
//     Delta_j = (1 + u) gamma_d |scale| sum_i |q_i k_ji| + u |z_j|,  u = 2^-24,
//   (gamma_d of the dot product, Higham 3.1, scaled and then one rounding of z_j); b = Softmax's
//   stated float bound at the logits widened by Delta; sigma = gamma_kv_len (the sum of kv_len
//   products p_j v_jc, Higham 3.1); u_T = 0 for float (O is computed in it), 2^-p of the storage
//   type otherwise. logsumexp: |l_hat - l| <= Delta + a u max(1, |l| + Delta), a = Softmax's
//   stated logsumexp constant. The floor: detail::subnormal_weight_floor and underflow_floor.
// Specials: as the contract: masked keys never read; all masked: O = 0, logsumexp -inf; NaN in
//   the query, an unmasked key, value or mask entry: NaN row; +inf logits (an additive +inf, or
//   an overflowing product): Softmax gives them 1/k each, O their mean.
#pragma once

#include <softlab/attention.hpp>
#include <softlab/entry_points.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace softlab {

namespace detail {

/// "materialized:" + Softmax's name, as a string with static storage.
template <class Softmax>
struct materialized_name {
  static constexpr std::string_view prefix = "materialized:";
  static constexpr auto storage = [] {
    std::array<char, prefix.size() + Softmax::facts.name.size()> text{};
    std::size_t at = 0;
    for (char c : prefix) text[at++] = c;
    for (char c : Softmax::facts.name) text[at++] = c;
    return text;
  }();
  static constexpr std::string_view value{storage.data(), storage.size()};
};

}  // namespace detail

template <class Softmax>
struct materialized {
  static constexpr attention_facts facts{
      .name = detail::materialized_name<Softmax>::value,
      .algorithm =
          "logits s = scale q K^T (+ mask) in float, the named softmax per row, O = P V "
          "summed in float",
      .passes =
          "per query row: K once (kv_len logits kept), the softmax's passes over the "
          "logits, V once",
      .stated_bound =
          "(1 + u_T)[rho + gamma_kv (1 + rho)] sum_j p_j |v_j| + u_T |O|, rho = (1 + 2 b u) "
          "e^(2 Delta) - 1, Delta = max_j (1 + u) gamma_d |scale| sum_i |q_i k_ji| + u |z_j|, "
          "b = the softmax's float bound",
      .softmax = Softmax::facts.name,
  };
  /// The softmax runs in float; its bound is in float ULPs.
  using softmax_type = float;

  template <class T>
  static constexpr bool rounds_output = !std::is_same_v<T, float>;
  static constexpr bool rounds_logsumexp = false;

  static double logit_error(std::size_t d, double condition, double logit_magnitude) {
    return detail::float_logit_error(d, condition, logit_magnitude);
  }
  static double weighted_sum_error(std::size_t kv_len) {
    return detail::gamma(double(kv_len), 0x1p-24);
  }
  static double softmax_bound_ulps(const bound_inputs& in) {
    return softmax_bound_ulps_of<Softmax, float>(in);
  }
  static double log_bound_a(const bound_inputs& in) { return log_bound_a_of<Softmax, float>(in); }
  static constexpr subnormal_results softmax_subnormals = Softmax::facts.subnormals;
  /// Runs on the instruction set softlab::active_isa() picks when its softmax does.
  static constexpr bool vectorized = Softmax::facts.vectorized;

  template <class T>
  static void run_row(const detail::attention_row<T>& row) {
    constexpr float infinity = std::numeric_limits<float>::infinity();
    std::vector<float> query(row.d), logits(row.kv_len), weights(row.kv_len), out(row.d_v, 0.0f);
    for (std::size_t i = 0; i < row.d; ++i) query[i] = float(row.query[i]);
    bool any_kept = false;
    for (std::size_t j = 0; j < row.kv_len; ++j) {
      if (!row.key_kept(j)) {
        logits[j] = -infinity;
        continue;
      }
      any_kept = true;
      const T* key = row.key(j);
      float dot = 0;
      for (std::size_t i = 0; i < row.d; ++i) dot += query[i] * float(key[i]);
      logits[j] = row.has_additive() ? std::fma(row.scale, dot, row.additive(j)) : row.scale * dot;
    }
    if (any_kept) {
      detail::softmax_of<Softmax, float, float>(std::span<const float>(logits),
                                                std::span<float>(weights), 1);
      for (std::size_t j = 0; j < row.kv_len; ++j) {
        if (!row.key_kept(j)) continue;
        const float p = weights[j];
        const T* value = row.value(j);
        for (std::size_t c = 0; c < row.d_v; ++c) out[c] += p * float(value[c]);
      }
      detail::spread_nan_over_row(std::span<float>(out));
    }
    for (std::size_t c = 0; c < row.d_v; ++c) row.output[c] = T(out[c]);
    if (row.logsumexp != nullptr)
      *row.logsumexp = any_kept
                           ? detail::logsumexp_of<Softmax, float>(std::span<const float>(logits))
                           : -infinity;
  }
};

}  // namespace softlab
