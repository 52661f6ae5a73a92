// softlab/attention.hpp: attention over heads of row-major matrices, O = softmax(scale Q K^T +
// mask) V, and the contract every attention implementation meets.
//
//   #include <softlab/attention_registry.hpp>  // this header, every implementation, the registry
//   auto q = softlab::heads_of(q_data, q_heads, q_len, d);  // and k, v, o likewise
//   softlab::attention<softlab::materialized<softlab::fast>>(q, k, v, o, {.causal = 0});
//   softlab::attention<softlab::accurate_attention>(q, k, v, o, {.scale = 0.125, .mask = m});
//
// Shapes. Q is q_heads x q_len x d, K is kv_heads x kv_len x d, V is kv_heads x kv_len x d_v,
// O is q_heads x q_len x d_v, each a heads_view: row r of head h at data[h * head_stride + r *
// row_stride] (a single matrix is one head; the heads may interleave, as in a [L, H, d] tensor
// with row_stride H d and head_stride d). Grouped-query attention: q_heads a multiple of
// kv_heads, query head h reads K/V head h / (q_heads / kv_heads). Q, K, V and O are float,
// softlab::bfloat16 or softlab::float16, all of one type; everything is computed in float (the
// `accurate` implementation: double), each output rounded once to the storage type.
//
// Options (attention_options): scale (default 1/sqrt(d)), a causal offset (query row r keeps the
// keys j <= r + offset: 0 is the square causal mask, kv_len - q_len the last q_len positions of a
// longer sequence, kv_len - 1 one decoding query), an additive (float, double) or boolean keep
// mask over the scores (q_len x kv_len, shared by every head, or q_heads x q_len x kv_len), an
// optional logsumexp output per query row (q_heads x q_len floats, head-major), threads.
// The scale and an additive mask are rounded to float first; the exact reference uses those
// float values.
//
// THE CONTRACT, met by every attention implementation (softlab/attention_registry.hpp):
//  - a key is masked when the causal offset, a false keep-mask entry or a -inf additive mask
//    entry leaves it out; a masked key's row of K and V is never read, so a NaN there does not
//    leak (and an implementation may skip blocks of masked keys);
//  - a query row whose keys are all masked (kv_len 0 included) gets O = 0 and logsumexp -inf,
//    whatever its query holds;
//  - otherwise a NaN in the query row, in an unmasked key or value row, or in an unmasked mask
//    entry gives NaN for the whole output row; its logsumexp is NaN when the NaN reaches a logit
//    (query, key, mask), not for a NaN in V;
//  - +inf logits take the limit: O is the mean of the V rows whose logit is +inf (logsumexp
//    +inf); -inf logits weigh 0;
//  - the error bound, componentwise against the convex combination's condition scale:
//        |O_hat_c - O_c| <= (1 + u_T) [rho + sigma (1 + rho)] sum_j p_j |v_jc| + u_T |O_c| + floor
//    with rho = (1 + 2 b u_C) e^(2 Delta) - 1 the weights' relative error: Delta the largest
//    error of one logit (a function of d, the logit's condition |scale| sum_i |q_i k_ji| and
//    |z_j|, stated by each implementation), b the ULP bound of the softmax it runs (its stated
//    bound, evaluated on the logits widened by Delta), u_C the unit roundoff of that softmax's
//    type; sigma the relative error of the weighted sum over kv_len terms; u_T the storage
//    type's unit roundoff when O is rounded to it (0 when O is computed in it); floor an absolute
//    term for subnormal weights, products and outputs (detail::subnormal_weight_floor,
//    detail::underflow_floor).
//    accuracy/README.md ("Attention's bound") derives it. It holds while scale q.k and the mask
//    sum fit in float; beyond, a logit of +-inf takes the limits above (an overflowing q.k whose
//    products have both signs is inf - inf = NaN: a NaN row);
//  - bad arguments (shapes that do not match, d = 0, a stride shorter than its row, a buffer too
//    short, O overlapping Q, K or V or its own heads (Q, K and V may share memory), heads that are
//    not a multiple, a mask or logsumexp output of the wrong size, a scale of 0, NaN or inf, 0
//    threads): std::invalid_argument naming the values, and nothing is written.
// The rows (head, query row) are split across threads in contiguous blocks; each row is
// computed whole by one thread, with the code one thread runs: the bits do not depend on the
// thread count. An implementation that splits one row's keys across threads (flash, when there
// are fewer rows than threads) does so in fixed chunks merged in a fixed order: the same bits.
#pragma once

#include <softlab/detail/attention_rows.hpp>
#include <softlab/options.hpp>
#include <softlab/storage.hpp>

#include <cmath>
#include <cstddef>
#include <optional>
#include <ranges>
#include <span>
#include <string_view>
#include <type_traits>

namespace softlab {

/// What every attention implementation states about itself (its header derives each line).
struct attention_facts {
  std::string_view name;          ///< registry name: materialized:<softmax>, accurate
  std::string_view algorithm;     ///< one line
  std::string_view passes;        ///< passes over K and V per query row
  std::string_view stated_bound;  ///< the contract's bound with this implementation's terms
  std::string_view softmax;       ///< the softmax it runs on each row of logits (flash: the
                                  ///< one whose algorithm it fuses, online)
};

/// The storage types of attention's Q, K, V and O.
template <class T>
concept attention_element =
    std::is_same_v<T, float> || std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>;

/// A batch of heads of row-major matrices of the same shape (a view: softlab neither copies nor
/// owns it). Row r of head h starts at data[h * head_stride + r * row_stride]; data must hold
/// every element of every row.
template <class T>
struct heads_view {
  std::span<T> data;
  std::size_t heads = 1;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t row_stride = 0;
  std::size_t head_stride = 0;

  T* row(std::size_t head, std::size_t r) const {
    return data.data() + head * head_stride + r * row_stride;
  }
  /// The same heads, read-only.
  operator heads_view<const T>() const  // NOLINT: a view of T is a view of const T
      requires(!std::is_const_v<T>) {
    return {data, heads, rows, cols, row_stride, head_stride};
  }
};

/// One matrix (one head), rows x cols, row r at data[r * row_stride] (default: packed).
template <std::ranges::contiguous_range R>
auto matrix_view(R&& data, std::size_t rows, std::size_t cols,
                 std::optional<std::size_t> row_stride = std::nullopt) {
  using T = std::remove_reference_t<std::ranges::range_reference_t<R>>;
  const std::size_t stride = row_stride.value_or(cols);
  return heads_view<T>{std::span<T>(std::ranges::data(data), std::ranges::size(data)),
                       1,
                       rows,
                       cols,
                       stride,
                       rows * stride};
}

/// heads matrices of rows x cols; default strides: packed, head after head ([H, L, d]).
template <std::ranges::contiguous_range R>
auto heads_of(R&& data, std::size_t heads, std::size_t rows, std::size_t cols,
              std::optional<std::size_t> row_stride = std::nullopt,
              std::optional<std::size_t> head_stride = std::nullopt) {
  using T = std::remove_reference_t<std::ranges::range_reference_t<R>>;
  const std::size_t stride = row_stride.value_or(cols);
  return heads_view<T>{std::span<T>(std::ranges::data(data), std::ranges::size(data)),
                       heads,
                       rows,
                       cols,
                       stride,
                       head_stride.value_or(rows * stride)};
}

struct attention_options {
  /// The logits' scale; unset: 1/sqrt(d). Any finite non-zero value that float does not round
  /// to 0 or inf; otherwise std::invalid_argument naming the value.
  std::optional<double> scale;
  /// Query row r keeps the keys j <= r + causal (any offset; negative leaves the first rows with
  /// no key: zeros). Unset: no causal mask.
  std::optional<std::ptrdiff_t> causal;
  /// Additive (float, double; -inf masks the key) or boolean keep-mask over the scores: q_len *
  /// kv_len elements (one matrix shared by every head) or q_heads * q_len * kv_len (one per
  /// query head), row-major. Any other size: std::invalid_argument naming both.
  score_mask mask;
  /// When not empty: logsumexp of each query row's logits, q_heads * q_len floats (row r of
  /// head h at h * q_len + r); -inf for a fully masked row.
  std::span<float> logsumexp;
  /// The threads the rows may be split across; unset: default_threads(); 0:
  /// std::invalid_argument.
  std::optional<std::size_t> threads;
};

/// O = softmax(scale Q K^T + mask) V with the attention implementation Impl (a type of
/// softlab/attention_registry.hpp's list, e.g. materialized<fast> or accurate_attention).
/// Every argument is checked first (std::invalid_argument, nothing written).
template <class Impl, attention_element T>
void attention(heads_view<const T> q, heads_view<const T> k, heads_view<const T> v, heads_view<T> o,
               const attention_options& options = {}) {
  const detail::attention_problem<T> problem = detail::checked_attention(q, k, v, o, options);
  if constexpr (requires { Impl::run(problem, options); })
    Impl::run(problem, options);  // it schedules its own work (flash splits a row's keys)
  else
    detail::for_each_attention_row(problem, options,
                                   [](const detail::attention_row<T>& row) { Impl::run_row(row); });
}

/// The same with any views convertible to heads_view<const T> (a heads_view<T> among them).
template <class Impl, attention_element T>
void attention(heads_view<T> q, heads_view<T> k, heads_view<T> v, heads_view<T> o,
               const attention_options& options = {}) {
  attention<Impl, T>(heads_view<const T>(q), heads_view<const T>(k), heads_view<const T>(v), o,
                     options);
}

}  // namespace softlab
