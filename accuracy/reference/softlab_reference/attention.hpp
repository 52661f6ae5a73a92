// softlab_reference/attention.hpp: the exact solution of one attention query row, and the
// measures of a computed row against it: the componentwise error against the condition scale
// sum_j p_j |v_jc| (every implementation and peer), and the stated bound of softlab/attention.hpp
// evaluated for the row (implementations that meet the contract). One implementation, shared by
// the core tests, the accuracy study and the tool's --check.
//
// "Exact" as for softmax (reference.hpp): the mathematical result for the stored values.
//  - z_j = scale (q . k_j) + mask_j: each product q_i k_ji of two float values is exact in
//    double (48 significant bits, exponents within double's range), their sum is correctly
//    rounded by mpfr_sum to logit_bits, then the scale and the mask (the float values the
//    implementations use) are applied at that precision: a relative error of about 2^-254,
//    nothing next to a float's 2^-24;
//  - p = softmax(z) and logsumexp(z) at reference_bits<float>() (2 * 24 + 64), as every
//    implementation computes in float or wider;
//  - O_c = sum_j p_j v_jc: each product exact at output_bits, the sum correctly rounded.
// A key is kept unless the causal offset, a false keep entry or a -inf additive entry masks it,
// spelled out here from the options, independently of the library.
#pragma once

#include <softlab/attention_registry.hpp>
#include <softlab_reference/reference.hpp>

#include <mpfr.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace softlab::reference {

inline constexpr mpfr_prec_t logit_bits = 256;
inline constexpr mpfr_prec_t output_bits = 256;

/// One attention problem as the library takes it (views into the caller's data).
template <class T>
struct attention_inputs {
  heads_view<const T> q, k, v;
  attention_options options;

  /// The scale as the implementations use it: the option or 1/sqrt(d), rounded to float.
  float scale() const { return float(options.scale.value_or(1 / std::sqrt(double(q.cols)))); }
  std::size_t kv_head(std::size_t h) const { return h / (q.heads / k.heads); }
  std::size_t mask_index(std::size_t h, std::size_t r, std::size_t j) const {
    const std::size_t scores = q.rows * k.rows;
    return (options.mask.size() == scores ? 0 : h * scores) + r * k.rows + j;
  }
  /// The mask's additive term for the score (h, r, j): 0 without an additive mask.
  float mask_value(std::size_t h, std::size_t r, std::size_t j) const {
    switch (options.mask.which()) {
      case score_mask::kind::additive_float:
        return options.mask.additive_float()[mask_index(h, r, j)];
      case score_mask::kind::additive_double:
        return float(options.mask.additive_double()[mask_index(h, r, j)]);
      default:
        return 0.0f;
    }
  }
  bool kept(std::size_t h, std::size_t r, std::size_t j) const {
    if (options.causal && std::ptrdiff_t(j) > std::ptrdiff_t(r) + *options.causal) return false;
    if (options.mask.which() == score_mask::kind::keep && !options.mask.keep()[mask_index(h, r, j)])
      return false;
    return mask_value(h, r, j) != -std::numeric_limits<float>::infinity();
  }
};

/// One query row's exact solution and what its bound is made of.
struct exact_attention_row {
  bool any_kept = false;
  std::vector<exact> output;         ///< O_c
  std::vector<double> weighted;      ///< sum_j p_j |v_jc|: the componentwise condition scale
  std::vector<double> largest;       ///< max over kept j of |v_jc|
  std::vector<double> conditions;    ///< |scale| sum_i |q_i k_ji| (0 for a masked key)
  std::vector<double> logit_double;  ///< z_j rounded to double (-inf when masked)
  std::vector<double> weights;       ///< p_j rounded to double
  exact logsumexp{reference_bits<float>()};
};

template <class T>
exact_attention_row exact_attention_row_of(const attention_inputs<T>& in, std::size_t h,
                                           std::size_t r) {
  const std::size_t d = in.q.cols, d_v = in.v.cols, kv_len = in.k.rows, kv_h = in.kv_head(h);
  const T* query = in.q.row(h, r);
  exact_attention_row row;
  std::vector<exact> logits;
  logits.reserve(kv_len);
  std::vector<exact> terms;
  terms.reserve(std::max(d, kv_len));
  for (std::size_t i = 0; i < std::max(d, kv_len); ++i) terms.emplace_back(output_bits);
  std::vector<mpfr_ptr> pointers;
  for (std::size_t j = 0; j < kv_len; ++j) {
    exact z(logit_bits);
    double condition = 0;
    if (!in.kept(h, r, j)) {
      mpfr_set_inf(z.get(), -1);
    } else {
      row.any_kept = true;
      const T* key = in.k.row(kv_h, j);
      pointers.clear();
      for (std::size_t i = 0; i < d; ++i) {
        const double product = double(float(query[i])) * double(float(key[i]));  // exact
        mpfr_set_d(terms[i].get(), product, MPFR_RNDN);
        pointers.push_back(terms[i].get());
        condition += std::abs(product);
      }
      mpfr_sum(z.get(), pointers.data(), d, MPFR_RNDN);
      mpfr_mul_d(z.get(), z.get(), double(in.scale()), MPFR_RNDN);
      mpfr_add_d(z.get(), z.get(), double(in.mask_value(h, r, j)), MPFR_RNDN);
      condition *= std::abs(double(in.scale()));
    }
    row.conditions.push_back(condition);
    row.logit_double.push_back(z.to_double());
    logits.push_back(std::move(z));
  }
  const std::vector<exact> weights = exact_softmax_of_values<float>(logits);
  for (const exact& w : weights) row.weights.push_back(w.to_double());
  row.logsumexp = exact_logsumexp_of_values<float>(logits);
  for (std::size_t col = 0; col < d_v; ++col) {
    exact sum(output_bits);
    pointers.clear();
    double weighted = 0, largest = 0;
    for (std::size_t j = 0; j < kv_len; ++j) {
      if (!in.kept(h, r, j)) continue;
      const double value = double(float(in.v.row(kv_h, j)[col]));
      mpfr_mul_d(terms[pointers.size()].get(), weights[j].get(), value, MPFR_RNDN);  // exact
      pointers.push_back(terms[pointers.size()].get());
      weighted += row.weights[j] * std::abs(value);
      largest = std::max(largest, std::abs(value));
    }
    mpfr_sum(sum.get(), pointers.data(), pointers.size(), MPFR_RNDN);
    row.output.push_back(std::move(sum));
    row.weighted.push_back(weighted);
    row.largest.push_back(largest);
  }
  return row;
}

/// Delta, b and a of one row for kernel k: the largest logit error and softmax bound over the
/// kept keys, the softmax's inputs widened by Delta (detail::widened_by_logit_error).
struct attention_row_terms {
  double logit_error = 0, softmax_ulps = 0, log_a = 0;
};

template <class C, class T>
attention_row_terms attention_terms_in(const attention_kernel<T>& k, const exact_attention_row& e,
                                       std::size_t d) {
  attention_row_terms t;
  std::size_t argmax = 0;
  for (std::size_t j = 0; j < e.logit_double.size(); ++j) {
    if (e.logit_double[j] == -std::numeric_limits<double>::infinity()) continue;
    t.logit_error =
        std::max(t.logit_error, k.logit_error(d, e.conditions[j], std::abs(e.logit_double[j])));
    if (e.weights[j] > e.weights[argmax]) argmax = j;
  }
  const bound_inputs base = bound_inputs_for_values<C, double>(
      std::span<const double>(e.logit_double), argmax, e.weights);
  for (std::size_t j = 0; j < e.logit_double.size(); ++j) {
    if (e.logit_double[j] == -std::numeric_limits<double>::infinity()) continue;
    bound_inputs in = base;
    in.gap = std::abs(e.logit_double[j] - base.max_value);
    in.magnitude = std::abs(e.logit_double[j]);
    t.softmax_ulps = std::max(
        t.softmax_ulps, k.softmax_bound_ulps(detail::widened_by_logit_error(in, t.logit_error)));
  }
  t.log_a = k.log_bound_a(detail::widened_by_logit_error(base, t.logit_error));
  return t;
}

/// The row's bound terms for an implementation that meets the contract.
template <class T>
attention_row_terms attention_terms_of(const attention_kernel<T>& k, const exact_attention_row& e,
                                       std::size_t d) {
  return k.softmax_precision_bits == std::numeric_limits<float>::digits
             ? attention_terms_in<float>(k, e, d)
             : attention_terms_in<double>(k, e, d);
}

/// One computed output element against the exact one.
struct attention_element_error {
  double computed = 0;
  double exact = 0;
  double error = 0;          ///< |computed - exact| (inf for a NaN or a wrong infinity)
  double componentwise = 0;  ///< error / sum_j p_j |v_jc| (0 / 0 = 0)
  double allowed = 0;        ///< the stated bound (only with a bound)
};

/// |computed - exact| at output_bits, +inf where one is NaN and the other not.
inline double attention_difference(double computed, const exact& expected) {
  if (std::isnan(computed) || mpfr_nan_p(expected.get()))
    return std::isnan(computed) && mpfr_nan_p(expected.get())
               ? 0
               : std::numeric_limits<double>::infinity();
  exact y(output_bits), diff(output_bits);
  mpfr_set_d(y.get(), computed, MPFR_RNDN);
  mpfr_sub(diff.get(), y.get(), expected.get(), MPFR_RNDN);
  return std::abs(diff.to_double());
}

/// Column c of a computed row (one output element) against the exact row.
inline attention_element_error attention_error_at(const exact_attention_row& e, std::size_t c,
                                                  double computed) {
  attention_element_error r;
  r.computed = computed;
  r.exact = e.output[c].to_double();
  r.error = attention_difference(computed, e.output[c]);
  // A non-zero error where the scale is 0 (every kept v_jc is 0) is infinitely large.
  if (r.error != 0)
    r.componentwise =
        e.weighted[c] > 0 ? r.error / e.weighted[c] : std::numeric_limits<double>::infinity();
  return r;
}

/// The bound of one row (attention_bound_of) and its logsumexp bound, for kernel k.
struct attention_row_allowance {
  attention_row_terms terms;
  attention_row_bound bound;
  double logsumexp_allowed = 0;
};

template <class T>
attention_row_allowance attention_allowance(const attention_kernel<T>& k,
                                            const exact_attention_row& e, std::size_t d,
                                            std::size_t kv_len) {
  attention_row_allowance a;
  a.terms = attention_terms_of(k, e, d);
  a.bound = attention_bound_of(k, kv_len, a.terms.logit_error, a.terms.softmax_ulps);
  a.logsumexp_allowed = attention_logsumexp_bound(k, std::abs(e.logsumexp.to_double()),
                                                  a.terms.logit_error, a.terms.log_a);
  return a;
}

/// The allowed error of column c under the allowance.
inline double attention_allowed_at(const attention_row_allowance& a, const exact_attention_row& e,
                                   std::size_t c) {
  return a.bound.allowed(e.weighted[c], std::abs(e.output[c].to_double()), e.largest[c]);
}

}  // namespace softlab::reference
