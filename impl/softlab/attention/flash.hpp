// softlab::flash_attention (registry name "flash"): attention fused with the online softmax
// (Milakov & Gimelshein 2018), never holding more than a block of logits, as in FlashAttention
// (Dao et al. 2022); portable scalar C++ whose loops over d_v the compiler vectorizes.
//
// Algorithm, per query row, in float (the 16-bit Q, K, V widened exactly): the keys in fixed
//   chunks of flash_chunk_keys, each chunk in blocks of flash_block_keys. Per block: the logits
//   z_j = scale q.k_j (+ mask_j) exactly as materialized forms them (a sequential float dot, one
//   fused multiply-add with the mask; the same bits); the block's max; when it exceeds the
//   running max m, the running sum l and output acc[d_v] are multiplied by exp(m - m_new);
//   then e_j = exp(z_j - m) and l += e_j, acc += e_j v_j. Each exp is glibc's double exp of the
//   double difference, rounded once to float. The chunks' (m, l, acc) are merged in chunk order
//   in double (factor exp(m_c - M), M the largest m_c); O = acc / l rounded once to the storage
//   type (float too); logsumexp = M + log(l), in double, rounded to float. Masked keys are never
//   read; a block whose keys are all masked is skipped, and so are the blocks past a causal
//   row's last key. Every row has the chunked structure (a row shorter than a chunk is one
//   chunk); with fewer rows than threads (decode), the chunks of a row run on different
//   threads and are merged in the same order: the bits do not depend on the thread count.
// Passes per query row: K and V once each, interleaved block by block; no logits kept beyond a
//   block (64 floats).
// Stated bound (softlab/attention.hpp's contract), u = 2^-24, u_x = u + 2^-41 (a rounding to
//   float of glibc's double exp of a rounded double difference: within 2^-42 before it):
//   Delta as materialized, (1 + u) gamma_d |scale| sum_i |q_i k_ji| + u |z_j|. With n_c =
//   min(kv_len, chunk) keys per chunk, B_c = ceil(n_c / block) blocks per chunk and C chunks,
//   each term e_j v_jc of the output passes through at most: its exp (1), the rescalings of acc
//   after its block (B_c - 1), the chunk's merge factor and product (1), the quotient (1), and
//   the sum l in the denominator (its exp, n_c additions, B_c - 1 rescalings, 1 merge product,
//   C - 1 merge additions): K_w = n_c + 2 B_c + C + 2 roundings that act as the weight's, so
//   b = gamma_{K_w}(u_x) / (2u) (the contract's rho = (1 + 2 b u) e^(2 Delta) - 1); and its
//   product with v (1), the chunk's additions (n_c) and the merge additions (C - 1): sigma =
//   gamma_{n_c + C}(u_x). u_T = 2^-p of the storage type (float: 2^-24). Underflow: kv_len
//   products and the rescaled and merged partial sums (kv_len + C (B_c + 1) roundings of half a
//   subnormal float spacing, times the later relative factors). logsumexp: |l_hat - l| <= Delta + a
//   u max(1, |l| + Delta), a = -log(1 - gamma_{n_c + B_c + C}(u_x)) / u + 2^-10, then one rounding
//   to float.
// Specials: as the contract. All masked (kv_len 0 included): O = 0, logsumexp -inf. Every kept
//   logit -inf: l = 0, O = 0 (NaN from a NaN value row, as 0 times NaN), logsumexp -inf. NaN
//   logits never enter the max; their e_j = exp(NaN) is NaN and makes l, O and logsumexp NaN.
//   A running max of +inf: the +inf logits get e_j = 1, the others 0, so O is their mean and
//   logsumexp +inf. exp(-inf - -inf) is never formed (e_j of a -inf logit is 0).
#pragma once

#include <softlab/algorithms/online.hpp>
#include <softlab/attention.hpp>
#include <softlab/detail/attention_rows.hpp>
#include <softlab/detail/rows.hpp>
#include <softlab/options.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace softlab {

namespace detail {

/// Keys whose logits are formed before the running max is updated: 64 floats stay in
/// registers and L1 (with d = 128 the block's keys are 32 KiB of float K), and the rescaling
/// of acc, d_v multiplies when the max grows, happens at most once per 64 keys.
inline constexpr std::size_t flash_block_keys = 64;

/// Keys per chunk, each chunk's (m, l, acc) computed on its own and merged in chunk order: the
/// unit of work split across threads when one query row has many keys (decode: 32768 keys are
/// 64 chunks), and small enough that its n_c additions, not kv_len, enter the bound; a merge
/// (d_v multiply-adds in double) costs 1/512 of the chunk's work.
inline constexpr std::size_t flash_chunk_keys = 512;
static_assert(flash_chunk_keys % flash_block_keys == 0, "a chunk is whole blocks");

inline constexpr float flash_infinity = std::numeric_limits<float>::infinity();

/// Output columns updated together. GCC 12 at -O2 (its "very-cheap" cost model) vectorizes no
/// loop whose trip count is unknown, since that would need a scalar epilogue; a loop of a
/// constant 8 it does (two SSE or one AVX vector), so the d_v loops run in groups of 8 and the
/// remaining columns one by one. Each column is the same operation either way: the same bits.
inline constexpr std::size_t flash_lanes = 8;

/// acc_c += weight v_c over the d_v columns of one value row (a rounded product, a rounded sum).
template <class T>
void flash_add_weighted(float* acc, float weight, const T* value, std::size_t d_v) {
  std::size_t c = 0;
  for (; c + flash_lanes <= d_v; c += flash_lanes) {
    std::array<float, flash_lanes> sum;
    for (std::size_t k = 0; k < flash_lanes; ++k)
      sum[k] = acc[c + k] + weight * float(value[c + k]);
    for (std::size_t k = 0; k < flash_lanes; ++k) acc[c + k] = sum[k];
  }
  for (; c < d_v; ++c) acc[c] += weight * float(value[c]);
}

/// acc_c = acc_c factor, the product in double rounded once to float.
inline void flash_rescale(float* acc, double factor, std::size_t d_v) {
  std::size_t c = 0;
  for (; c + flash_lanes <= d_v; c += flash_lanes) {
    std::array<float, flash_lanes> scaled;
    for (std::size_t k = 0; k < flash_lanes; ++k) scaled[k] = float(double(acc[c + k]) * factor);
    for (std::size_t k = 0; k < flash_lanes; ++k) acc[c + k] = scaled[k];
  }
  for (; c < d_v; ++c) acc[c] = float(double(acc[c]) * factor);
}

/// One chunk's online-softmax state; its acc (d_v floats) lives in the caller's buffer.
struct flash_partial {
  float max = -flash_infinity;  ///< m: the largest logit of the chunk's kept keys (NaN aside)
  float sum = 0;                ///< l: sum of e_j = exp(z_j - m) over the kept keys
  bool any_kept = false;
};

/// e_j = exp(z_j - m) rounded once to float: glibc's double exp (within 1 ULP,
/// softlab::scalar_libm_error<double>) of the double difference (rounded by at most 2^-53
/// |z_j - m|, |z_j - m| < 745 where the result is not 0), so within 2^-42 before the rounding.
/// The limits: a -inf logit weighs 0 (also when m is -inf: no -inf - -inf); under a running max
/// of +inf, the +inf logits weigh 1 each and the finite ones 0; a NaN logit gives NaN.
inline float flash_weight(float logit, float running_max) {
  if (logit == -flash_infinity) return 0;
  if (running_max == flash_infinity) return logit == flash_infinity ? 1.0f : logit * 0.0f;
  return float(std::exp(double(logit) - double(running_max)));
}

/// The chunk [first, last) of one row's keys: its (m, l) and acc[d_v].
template <class T>
flash_partial flash_chunk(const attention_row<T>& row, const float* query, std::size_t first,
                          std::size_t last, float* acc) {
  flash_partial state;
  std::fill(acc, acc + row.d_v, 0.0f);
  // Keys past the causal limit are masked: the blocks there are never visited.
  last = std::min(last, row.causal_kept);
  std::array<float, flash_block_keys> logits{};
  std::array<bool, flash_block_keys> kept{};
  for (std::size_t block = first; block < last; block += flash_block_keys) {
    const std::size_t count = std::min(flash_block_keys, last - block);
    float block_max = -flash_infinity;
    bool block_kept = false;
    for (std::size_t b = 0; b < count; ++b) {
      const std::size_t j = block + b;
      kept[b] = row.key_kept(j);
      if (!kept[b]) continue;
      block_kept = true;
      // Sequential, as materialized's: the logits are materialized's bit for bit, so comparing
      // the two isolates what the online softmax's rescaling costs.
      const T* key = row.key(j);
      float dot = 0;
      for (std::size_t i = 0; i < row.d; ++i) dot += query[i] * float(key[i]);
      const float z =
          row.has_additive() ? std::fma(row.scale, dot, row.additive(j)) : row.scale * dot;
      logits[b] = z;
      if (z > block_max) block_max = z;  // a NaN never enters the max
    }
    if (!block_kept) continue;
    state.any_kept = true;
    if (block_max > state.max) {
      // exp(m - m_new) in double, each product rounded once to float (from -inf: exactly 0).
      const double rescale = std::exp(double(state.max) - double(block_max));
      flash_rescale(acc, rescale, row.d_v);
      state.sum = float(double(state.sum) * rescale);
      state.max = block_max;
    }
    for (std::size_t b = 0; b < count; ++b) {
      if (!kept[b]) continue;
      const float weight = flash_weight(logits[b], state.max);
      state.sum += weight;
      flash_add_weighted(acc, weight, row.value(block + b), row.d_v);
    }
  }
  return state;
}

/// Merges a row's chunks in chunk order (in double) and writes O and logsumexp.
template <class T>
void flash_finish(const attention_row<T>& row, std::span<const flash_partial> partials,
                  const float* accs) {
  bool any_kept = false;
  float largest = -flash_infinity;
  for (const flash_partial& p : partials)
    if (p.any_kept) {
      any_kept = true;
      largest = std::max(largest, p.max);
    }
  if (!any_kept) {
    for (std::size_t c = 0; c < row.d_v; ++c) row.output[c] = T(0.0f);
    if (row.logsumexp != nullptr) *row.logsumexp = -flash_infinity;
    return;
  }
  std::vector<double> out(row.d_v, 0.0);
  double sum = 0;
  for (std::size_t k = 0; k < partials.size(); ++k) {
    if (!partials[k].any_kept) continue;
    // exp(m_c - M): exactly 1 for the chunk holding the max (and for equal infinities).
    const double factor =
        partials[k].max == largest ? 1.0 : std::exp(double(partials[k].max) - double(largest));
    sum += factor * double(partials[k].sum);
    const float* acc = accs + k * row.d_v;
    for (std::size_t c = 0; c < row.d_v; ++c) out[c] += factor * double(acc[c]);
  }
  // l = 0: every kept logit is -inf; O stays the sum of 0 v_j (0, or NaN from a NaN value).
  if (sum != 0)
    for (double& o : out) o /= sum;
  spread_nan_over_row(std::span<double>(out));
  for (std::size_t c = 0; c < row.d_v; ++c) row.output[c] = T(out[c]);
  if (row.logsumexp != nullptr)
    *row.logsumexp = sum == 0 ? -flash_infinity : float(double(largest) + std::log(sum));
}

/// The chunks of a row of kv_len keys.
constexpr std::size_t flash_chunks(std::size_t kv_len) {
  return (kv_len + flash_chunk_keys - 1) / flash_chunk_keys;
}

}  // namespace detail

struct flash_attention {
  static constexpr attention_facts facts{
      .name = "flash",
      .algorithm =
          "online softmax over blocks of 64 keys (running max, rescaled sum and output), "
          "chunks of 512 keys merged in order in double, O = acc / l rounded once",
      .passes = "per query row: K and V once each, block by block; masked blocks skipped",
      .stated_bound =
          "(1 + u_T)[rho + sigma (1 + rho)] sum_j p_j |v_j| + u_T |O|, rho = (1 + 2 b u) "
          "e^(2 Delta) - 1, Delta as materialized, 2 b u = gamma_{n_c + 2 B_c + C + 2}(u_x), "
          "sigma = gamma_{n_c + C}(u_x), u_x = u + 2^-41; n_c keys and B_c blocks per chunk, "
          "C chunks",
      .softmax = online::facts.name,
  };
  /// The running sum and output are float; the bound's ULPs are float's.
  using softmax_type = float;

  /// O is rounded once from double, for float storage too.
  template <class T>
  static constexpr bool rounds_output = true;
  static constexpr bool rounds_logsumexp = true;
  static constexpr subnormal_results softmax_subnormals = subnormal_results::kept;
  /// Portable scalar code: one variant, whatever softlab::active_isa() picks.
  static constexpr bool vectorized = false;

  /// One rounding to float of a value within 2^-42 (relative) of the exact one: the exp in
  /// double (1 ULP of glibc's exp plus 2^-53 |argument| < 745 * 2^-53 for the rounded
  /// argument), a product or sum in double, then the rounding to float.
  static constexpr double rounding = 0x1p-24 + 0x1p-41;

  /// n_c, B_c and C of a row of kv_len keys.
  struct roundings_per_term {
    double keys_per_chunk, blocks_per_chunk, chunks;
  };
  static roundings_per_term counts(std::size_t kv_len) {
    const std::size_t keys = std::min(kv_len, detail::flash_chunk_keys);
    return {double(keys), double((keys + detail::flash_block_keys - 1) / detail::flash_block_keys),
            double(detail::flash_chunks(kv_len))};
  }

  static double logit_error(std::size_t d, double condition, double logit_magnitude) {
    return detail::float_logit_error(d, condition, logit_magnitude);
  }
  /// sigma: the product e_j v_jc, the chunk's n_c additions, the C - 1 merge additions.
  static double weighted_sum_error(std::size_t kv_len) {
    const roundings_per_term n = counts(kv_len);
    return detail::gamma(n.keys_per_chunk + n.chunks, rounding);
  }
  /// b: the weight's roundings, gamma_{K_w}(u_x) as a relative error 2 b u.
  static double softmax_bound_ulps(const bound_inputs& in) {
    const roundings_per_term n = counts(in.n);
    return detail::gamma(n.keys_per_chunk + 2 * n.blocks_per_chunk + n.chunks + 2, rounding) /
           (2 * 0x1p-24);
  }
  /// a: log(l_hat) - log(l) for l within gamma_{n_c + B_c + C}(u_x), in units of u, plus the
  /// double log and sum (below 2^-20 u relative).
  static double log_bound_a(const bound_inputs& in) {
    const roundings_per_term n = counts(in.n);
    const double sum_error =
        detail::gamma(n.keys_per_chunk + n.blocks_per_chunk + n.chunks, rounding);
    return sum_error < 1 ? -std::log1p(-sum_error) / 0x1p-24 + 0x1p-10
                         : std::numeric_limits<double>::infinity();
  }
  /// The products e_j v_jc (kv_len), the rescaled acc (at most C B_c rescalings) and the merge's
  /// double products (C, each far below) may underflow, each by half a subnormal float spacing,
  /// then multiplied by the later roundings (1 + gamma).
  static double underflow_roundings(std::size_t kv_len) {
    const roundings_per_term n = counts(kv_len);
    const double later =
        1 +
        detail::gamma(2 * n.keys_per_chunk + 2 * n.blocks_per_chunk + 2 * n.chunks + 2, rounding);
    return (double(kv_len) + n.chunks * n.blocks_per_chunk + n.chunks) * later;
  }

  template <class T>
  static void run_row(const detail::attention_row<T>& row) {
    std::vector<float> query(row.d);
    for (std::size_t i = 0; i < row.d; ++i) query[i] = float(row.query[i]);
    const std::size_t chunks = detail::flash_chunks(row.kv_len);
    std::vector<detail::flash_partial> partials(chunks);
    std::vector<float> accs(chunks * row.d_v);
    for (std::size_t k = 0; k < chunks; ++k)
      partials[k] = detail::flash_chunk(row, query.data(), k * detail::flash_chunk_keys,
                                        std::min(row.kv_len, (k + 1) * detail::flash_chunk_keys),
                                        accs.data() + k * row.d_v);
    detail::flash_finish(row, std::span<const detail::flash_partial>(partials), accs.data());
  }

  /// The rows across threads (run_row on each); with fewer rows than threads, the (row, chunk)
  /// pairs across threads, then each row's merge: the same functions on the same chunks.
  template <class T, class Options>
  static void run(const detail::attention_problem<T>& p, const Options& options) {
    const std::size_t rows = p.q_heads * p.q_len, chunks = detail::flash_chunks(p.kv_len);
    softmax_options thread_options;
    thread_options.threads = options.threads;
    const std::size_t chunk_threads =
        chunks > 1 && rows > 0 ? detail::threads_for_rows(thread_options, rows * chunks,
                                                          detail::flash_chunk_keys * (p.d + p.d_v))
                               : 1;
    if (chunk_threads <= 1 || chunk_threads <= rows) {
      detail::for_each_attention_row(p, options,
                                     [](const detail::attention_row<T>& row) { run_row(row); });
      return;
    }
    std::vector<detail::flash_partial> partials(rows * chunks);
    std::vector<float> accs(rows * chunks * p.d_v);
    detail::for_row_blocks(rows * chunks, chunk_threads, [&](std::size_t first, std::size_t last) {
      std::vector<float> query(p.d);
      for (std::size_t item = first; item < last; ++item) {
        const detail::attention_row<T> row = detail::attention_row_at(p, options, item / chunks);
        for (std::size_t i = 0; i < row.d; ++i) query[i] = float(row.query[i]);
        const std::size_t k = item % chunks;
        partials[item] = detail::flash_chunk(
            row, query.data(), k * detail::flash_chunk_keys,
            std::min(row.kv_len, (k + 1) * detail::flash_chunk_keys), accs.data() + item * p.d_v);
      }
    });
    for (std::size_t index = 0; index < rows; ++index)
      detail::flash_finish(
          detail::attention_row_at(p, options, index),
          std::span<const detail::flash_partial>(partials).subspan(index * chunks, chunks),
          accs.data() + index * chunks * p.d_v);
  }
};

}  // namespace softlab
