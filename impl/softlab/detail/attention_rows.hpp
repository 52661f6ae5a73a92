// softlab/detail/attention_rows.hpp: what every attention implementation shares: the checks of
// Q, K, V, O and attention_options, one query row as the implementations see it (its query, its
// head's keys and values, which keys it keeps, its mask and scale), the split of the rows across
// threads, and the error-bound arithmetic of softlab/attention.hpp's contract.
#pragma once

#include <softlab/detail/arguments.hpp>
#include <softlab/detail/float_blocks.hpp>
#include <softlab/detail/rows.hpp>
#include <softlab/detail/scores.hpp>
#include <softlab/facts.hpp>
#include <softlab/options.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace softlab {

template <class T>
struct heads_view;
struct attention_options;

namespace detail {

/// One query row of one head: what an implementation's run_row computes O (and logsumexp) of.
template <class T>
struct attention_row {
  const T* query = nullptr;  ///< d elements
  const T* keys = nullptr;   ///< key j at keys + j * key_stride, d elements
  std::size_t key_stride = 0;
  const T* values = nullptr;  ///< value j at values + j * value_stride, d_v elements
  std::size_t value_stride = 0;
  T* output = nullptr;  ///< d_v elements
  std::size_t d = 0, d_v = 0, kv_len = 0;
  std::size_t causal_kept = 0;  ///< keys j < causal_kept pass the causal mask
  score_mask mask;              ///< this row's kv_len entries, or none
  float scale = 1;              ///< the options' scale rounded to float
  float* logsumexp = nullptr;   ///< where this row's logsumexp goes, or nullptr

  /// The additive mask entry of key j rounded to float (0 without an additive mask).
  float additive(std::size_t j) const {
    switch (mask.which()) {
      case score_mask::kind::additive_float:
        return mask.additive_float()[j];
      case score_mask::kind::additive_double:
        return float(mask.additive_double()[j]);
      case score_mask::kind::none:
      case score_mask::kind::keep:
        break;
    }
    return 0;
  }
  bool has_additive() const {
    return mask.which() == score_mask::kind::additive_float ||
           mask.which() == score_mask::kind::additive_double;
  }
  /// The contract's masked keys: left out by the causal offset, a false keep entry or a -inf
  /// additive entry. Their K and V rows are never read.
  bool key_kept(std::size_t j) const {
    if (j >= causal_kept) return false;
    if (mask.which() == score_mask::kind::keep) return mask.keep()[j];
    return !has_additive() || additive(j) != -std::numeric_limits<float>::infinity();
  }
  const T* key(std::size_t j) const { return keys + j * key_stride; }
  const T* value(std::size_t j) const { return values + j * value_stride; }
};

/// The checked arguments of one attention call.
template <class T>
struct attention_problem {
  const T* q = nullptr;
  const T* k = nullptr;
  const T* v = nullptr;
  T* o = nullptr;
  std::size_t q_heads = 0, kv_heads = 0, q_len = 0, kv_len = 0, d = 0, d_v = 0;
  std::size_t q_row_stride = 0, q_head_stride = 0, k_row_stride = 0, k_head_stride = 0;
  std::size_t v_row_stride = 0, v_head_stride = 0, o_row_stride = 0, o_head_stride = 0;
  float scale = 1;
};

/// The elements `heads` heads of `rows` rows of `cols` span with these strides, or nullopt when
/// that exceeds size_t (a huge stride must not wrap around to a small extent).
inline std::optional<std::size_t> heads_extent(std::size_t heads, std::size_t rows,
                                               std::size_t cols, std::size_t row_stride,
                                               std::size_t head_stride) {
  if (heads == 0 || rows == 0 || cols == 0) return 0;
  const std::optional<std::size_t> one = checked_rows_extent(rows, cols, row_stride);
  std::size_t before = 0, total = 0;
  if (!one || __builtin_mul_overflow(heads - 1, head_stride, &before) ||
      __builtin_add_overflow(before, *one, &total))
    return std::nullopt;
  return total;
}

inline std::string attention_error(const std::string& what) {
  return "softlab::attention: " + what;
}

/// A view's strides cover its rows and its data holds every element.
template <class T>
void check_heads_view(const char* name, const heads_view<T>& view) {
  const auto n = [](std::size_t v) { return std::to_string(v); };
  if (view.row_stride < view.cols)
    throw std::invalid_argument(attention_error(std::string(name) + "'s row stride " +
                                                n(view.row_stride) + " is less than its " +
                                                n(view.cols) + " columns"));
  const std::optional<std::size_t> extent =
      heads_extent(view.heads, view.rows, view.cols, view.row_stride, view.head_stride);
  if (!extent || view.data.size() < *extent)
    throw std::invalid_argument(attention_error(
        std::string(name) + " has " + n(view.data.size()) + " elements but " + n(view.heads) +
        " heads of " + n(view.rows) + " x " + n(view.cols) + " with row stride " +
        n(view.row_stride) + " and head stride " + n(view.head_stride) + " need " +
        (extent ? n(*extent) : std::string("more than SIZE_MAX"))));
}

/// The bytes a view spans (for the overlap checks).
template <class T>
std::span<const unsigned char> bytes_of(const heads_view<T>& view) {
  const std::size_t extent =
      *heads_extent(view.heads, view.rows, view.cols, view.row_stride, view.head_stride);
  return {reinterpret_cast<const unsigned char*>(view.data.data()), extent * sizeof(T)};
}

/// Every check of softlab::attention, in the order a reader would check them; throws
/// std::invalid_argument naming the values before anything is written.
template <class T, class Options>
attention_problem<T> checked_attention(const heads_view<const T>& q, const heads_view<const T>& k,
                                       const heads_view<const T>& v, const heads_view<T>& o,
                                       const Options& options) {
  const auto n = [](std::size_t value) { return std::to_string(value); };
  const auto fail = [](const std::string& what) {
    return std::invalid_argument(attention_error(what));
  };
  if (q.cols == 0) throw fail("d (the columns of Q and K) is 0");
  if (k.cols != q.cols)
    throw fail("K has " + n(k.cols) + " columns but Q has " + n(q.cols) + " (both are d)");
  if (v.rows != k.rows)
    throw fail("V has " + n(v.rows) + " rows but K has " + n(k.rows) + " (both are kv_len)");
  if (o.rows != q.rows || o.cols != v.cols)
    throw fail("O is " + n(o.rows) + " x " + n(o.cols) + " but must be q_len x d_v = " + n(q.rows) +
               " x " + n(v.cols));
  if (o.heads != q.heads) throw fail("O has " + n(o.heads) + " heads but Q has " + n(q.heads));
  if (v.heads != k.heads) throw fail("V has " + n(v.heads) + " heads but K has " + n(k.heads));
  if (q.heads > 0 && (k.heads == 0 || q.heads % k.heads != 0))
    throw fail(n(q.heads) + " query heads are not a multiple of " + n(k.heads) +
               " key/value heads (grouped-query attention shares each K/V head among "
               "q_heads / kv_heads query heads)");
  check_heads_view("Q", q);
  check_heads_view("K", k);
  check_heads_view("V", v);
  check_heads_view<T>("O", o);
  const auto overlaps = [](std::span<const unsigned char> a, std::span<const unsigned char> b) {
    if (a.empty() || b.empty()) return false;
    const std::less<const unsigned char*> before;
    return before(a.data(), b.data() + b.size()) && before(b.data(), a.data() + a.size());
  };
  if (o.heads > 1 && o.rows > 0 && o.cols > 0) {
    // Two output elements must never share memory. With one head stride and one row stride
    // that holds when the heads lie apart (each head's rows before the next head) or the rows do
    // (each row's heads before the next row, a [L, H, d_v] tensor).
    const std::size_t head_extent = *checked_rows_extent(o.rows, o.cols, o.row_stride);
    const std::optional<std::size_t> row_extent =
        checked_rows_extent(o.heads, o.cols, o.head_stride);
    if (o.head_stride < head_extent && (!row_extent || o.row_stride < *row_extent))
      throw fail("O's heads overlap: head stride " + n(o.head_stride) + " is less than a head's " +
                 n(head_extent) + " elements and row stride " + n(o.row_stride) +
                 " is less than a row's " +
                 (row_extent ? n(*row_extent) : std::string("more than SIZE_MAX")) +
                 " elements across the " + n(o.heads) + " heads");
  }
  const auto out = bytes_of<T>(o);
  if (overlaps(out, bytes_of(q))) throw fail("O overlaps Q");
  if (overlaps(out, bytes_of(k))) throw fail("O overlaps K");
  if (overlaps(out, bytes_of(v))) throw fail("O overlaps V");

  const std::size_t scores = q.rows * k.rows;
  if (!options.mask.empty_kind() && options.mask.size() != scores &&
      options.mask.size() != q.heads * scores)
    throw fail("the " + options.mask.description() + " mask has " + n(options.mask.size()) +
               " elements but the scores are q_len x kv_len = " + n(q.rows) + " x " + n(k.rows) +
               " (a mask has " + n(scores) + " elements, shared by every head, or " +
               n(q.heads * scores) + " for " + n(q.heads) + " query heads)");
  if (!options.logsumexp.empty() && options.logsumexp.size() != q.heads * q.rows)
    throw fail("attention_options::logsumexp has " + n(options.logsumexp.size()) +
               " elements but there are " + n(q.heads * q.rows) + " query rows (" + n(q.heads) +
               " heads x q_len " + n(q.rows) + ")");
  if (!options.logsumexp.empty()) {
    const std::span<const unsigned char> lse{
        reinterpret_cast<const unsigned char*>(options.logsumexp.data()),
        options.logsumexp.size_bytes()};
    if (overlaps(lse, out) || overlaps(lse, bytes_of(q)) || overlaps(lse, bytes_of(k)) ||
        overlaps(lse, bytes_of(v)))
      throw fail("attention_options::logsumexp overlaps Q, K, V or O");
  }
  if (options.threads && *options.threads == 0)
    throw fail("attention_options::threads is 0; it must be at least 1");
  const double scale = options.scale.value_or(1 / std::sqrt(double(q.cols)));
  const float converted = float(scale);
  if (!std::isfinite(scale) || scale == 0 || !std::isfinite(converted) || converted == 0)
    throw fail("attention_options::scale is " + shortest(scale) +
               (std::isfinite(scale) && scale != 0
                    ? std::string(converted == 0 ? " (float rounds it to 0)" : " (float overflows)")
                    : std::string()) +
               "; it must be finite and non-zero in float");

  return {q.data.data(), k.data.data(), v.data.data(), o.data.data(), q.heads,
          k.heads,       q.rows,        k.rows,        q.cols,        v.cols,
          q.row_stride,  q.head_stride, k.row_stride,  k.head_stride, v.row_stride,
          v.head_stride, o.row_stride,  o.head_stride, converted};
}

/// Query row `index` (head index / q_len, row index % q_len) of a checked problem, as the
/// implementations see it.
template <class T, class Options>
attention_row<T> attention_row_at(const attention_problem<T>& p, const Options& options,
                                  std::size_t index) {
  const std::size_t group = p.q_heads / p.kv_heads;  // query heads per K/V head
  const std::size_t h = index / p.q_len, r = index % p.q_len, kv_h = h / group;
  attention_row<T> row;
  row.query = p.q + h * p.q_head_stride + r * p.q_row_stride;
  row.keys = p.k + kv_h * p.k_head_stride;
  row.key_stride = p.k_row_stride;
  row.values = p.v + kv_h * p.v_head_stride;
  row.value_stride = p.v_row_stride;
  row.output = p.o + h * p.o_head_stride + r * p.o_row_stride;
  row.d = p.d;
  row.d_v = p.d_v;
  row.kv_len = p.kv_len;
  // The causal offset as softmax_rows reads it (row r keeps the columns c <= r + offset).
  softmax_options causal_only;
  causal_only.causal = options.causal;
  row.causal_kept = transform_of_row<float>(causal_only, r, p.kv_len).kept;
  row.causal_kept = std::min(row.causal_kept, p.kv_len);
  if (!options.mask.empty_kind()) {
    const std::size_t scores = p.q_len * p.kv_len;
    const std::size_t head_offset = options.mask.size() == scores ? 0 : h * scores;
    row.mask = options.mask.from(head_offset + r * p.kv_len);
  }
  row.scale = p.scale;
  if (!options.logsumexp.empty()) row.logsumexp = options.logsumexp.data() + index;
  return row;
}

/// Calls run(row) for every (query head, query row) of a checked problem, the rows split across
/// threads in contiguous blocks (each row whole on one thread: the bits do not depend on the
/// thread count). A batch too small to pay for waking threads runs on the calling thread.
template <class T, class Options, class Run>
void for_each_attention_row(const attention_problem<T>& p, const Options& options, Run&& run) {
  const std::size_t rows = p.q_heads * p.q_len;
  if (rows == 0) return;
  // The work of one row, in multiply-adds, stands for its "columns" in the thread heuristic.
  const std::size_t work = std::max<std::size_t>(1, p.kv_len * (p.d + p.d_v));
  softmax_options thread_options;
  thread_options.threads = options.threads;
  const std::size_t threads = threads_for_rows(thread_options, rows, work);
  for_row_blocks(rows, threads, [&](std::size_t first, std::size_t last) {
    for (std::size_t index = first; index < last; ++index) run(attention_row_at(p, options, index));
  });
}

/// The contract's NaN row: a NaN in one column of a kept value row reaches only that column of
/// the weighted sum, so any NaN among the accumulated outputs makes every output of the row NaN.
template <class W>
void spread_nan_over_row(std::span<W> outputs) {
  for (const W& value : outputs)
    if (is_nan(value)) {
      for (W& each : outputs) each = quiet_nan<W>();
      return;
    }
}

// ---- the error bound of the contract (softlab/attention.hpp) ----

/// Higham's gamma_n = n u / (1 - n u): the relative error of a sum or dot product of n terms
/// (Accuracy and Stability of Numerical Algorithms, 3.1); +inf once n u >= 1.
inline double gamma(double n, double u) {
  const double nu = n * u;
  return nu < 1 ? nu / (1 - nu) : std::numeric_limits<double>::infinity();
}

/// Delta_j of a logit formed in float as materialized and flash form it: a sequential dot
/// product of d products (gamma_d, Higham 3.1) times the scale, then one rounding of z_j (the
/// product by the scale, or a fused multiply-add with the additive mask): (1 + u) gamma_d
/// |scale| sum_i |q_i k_ji| + u |z_j|, u = 2^-24.
inline double float_logit_error(std::size_t d, double condition, double logit_magnitude) {
  constexpr double u = 0x1p-24;
  return (1 + u) * gamma(double(d), u) * condition + u * logit_magnitude;
}

/// rho: the relative error of each weight, from the logits' error (at most `logit_error` each,
/// absolute) and the softmax's own (softmax_ulps ULPs of a type with unit roundoff u_c). A
/// perturbation delta_j of the logits changes weight j by the factor e^(delta_j) / sum_k p_k
/// e^(delta_k), within [e^(-2 Delta), e^(2 Delta)]; an error of b ULPs is a relative error of at
/// most 2 b u_c (the ULP is taken at the exact weight's binade, up to twice u_c times it).
inline double weight_relative_error(double logit_error, double softmax_ulps, double u_c) {
  return (1 + 2 * softmax_ulps * u_c) * std::exp(2 * logit_error) - 1;
}

/// The coefficient B of sum_j p_j |v_jc| in the contract's bound:
/// (1 + u_T) [rho + sigma (1 + rho)], sigma the weighted sum's relative error, u_T the unit
/// roundoff of the final rounding to the storage type (0 when O is computed in it).
inline double attention_error_coefficient(double rho, double sigma, double u_t) {
  return (1 + u_t) * (rho + sigma * (1 + rho));
}

/// The contract's absolute floor for one output element, in two parts. Per unit of max_j
/// |v_jc|: a weight below the smallest normal of the softmax's type C errs by up to b + 1
/// subnormal spacings (its ULP is floored there), or, for a softmax that flushes, by up to the
/// smallest normal; kv_len of them.
inline double subnormal_weight_floor(std::size_t kv_len, double softmax_ulps,
                                     bool flushes_subnormals, double denorm_min_c,
                                     double min_normal_c) {
  return double(kv_len) * (flushes_subnormals ? min_normal_c : (softmax_ulps + 1) * denorm_min_c);
}
/// Absolute: a product p_j v_jc below C's normal range is rounded by up to half a subnormal
/// spacing (`roundings` of them: kv_len products, and flash's rescaled partial sums; additions
/// of subnormals are exact), and a subnormal O_c rounded to the storage type T by half of T's
/// spacing (denorm_min_t: 0 when O is not rounded).
inline double underflow_floor(double roundings, double denorm_min_c, double denorm_min_t) {
  return roundings * denorm_min_c / 2 + denorm_min_t / 2;
}

/// The widened inputs of a softmax bound when every logit may be off by up to Delta: gaps and
/// magnitudes grow by 2 Delta and Delta, and the weighted means, whose weights move by a factor
/// within e^(2 Delta), by that factor too. Each stated softmax bound grows with these, so the
/// bound at the widened inputs covers the softmax of the computed logits.
inline bound_inputs widened_by_logit_error(bound_inputs in, double logit_error) {
  const double factor = std::exp(2 * logit_error);
  in.gap += 2 * logit_error;
  in.mean_gap = factor * (in.mean_gap + 2 * logit_error);
  in.magnitude += logit_error;
  in.mean_magnitude = factor * (in.mean_magnitude + logit_error);
  in.max_value += logit_error;
  in.min_value -= logit_error;
  return in;
}

}  // namespace detail
}  // namespace softlab
