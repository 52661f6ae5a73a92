// softlab::flash_attention (registry name "flash"): attention fused with the online softmax
// (Milakov & Gimelshein 2018), never holding more than a block of logits, as in FlashAttention
// (Dao et al. 2022); vector kernels per instruction set (impl/src/softlab_kernels/
// flash_kernel.hpp: SSE2, AVX2 + FMA, AVX-512), chosen by softlab::active_isa(), driven by
// impl/src/flash.cpp.
//
// Algorithm, in float (the 16-bit Q, K, V widened exactly): each query row's keys in fixed chunks
//   of flash_chunk_keys, each chunk in blocks of flash_block_keys. Per block: the logits z_j =
//   scale q.k_j (+ mask_j; one fused multiply-add, SSE2 a scalar one), the dot a chain of
//   multiply-adds over d (fused on AVX2 and AVX-512, a product and a sum on SSE2); the block's
//   max; e_j = exp(z_j - P) by fast's vector exp (src/softlab_kernels/exp_kernel.hpp) against a
//   pivot P = j ln 2, j = round(m / ln 2) of the running max m (|m| >= 240: P = m), so that
//   when m grows the running sum l and output acc[d_v] are multiplied by 2^(j_old - j_new),
//   exactly (or by exp(P_old - P_new) in double, rounded once); then l += the block's e_j (in
//   vector lanes, then across them) and acc += e_j v_j by fused multiply-adds. The chunks'
//   (P, l, acc) are merged in chunk order in double (factor exp(P_c - P_max)); O = acc / l
//   rounded once to the storage type (float too); logsumexp = P_max + log(l), in double,
//   rounded to float.
//   Prefill (q_len >= the ISA's tile of 6 rows; AVX-512: 8): tiles of query rows share each key
//   block: K is packed once per head and thread into transposed float panels (d x 16 keys on
//   AVX2) and V into column panels (16 columns, key after key), both widened from 16 bits while
//   packing; S = Q_tile K^T by a register-blocked kernel (6 rows x 16 keys of accumulators),
//   then O_tile += P V with 6 rows x 16 columns of O in registers, each V panel read as one
//   stream. Groups of 8 tiles take each block in turn, so the block's K and V come from L2, not
//   L3, for seven of them. Decode (fewer rows): the dot over d in vector lanes (each key's lanes
//   reduced in a fixed order), V read from storage directly (bfloat16: two vectors per load, the
//   even elements by a shift and the odd ones by a mask, the query and acc in that order), the
//   next block's K and V rows prefetched.
//   Each (row, key) logit and each (row, column) output is the same sequence of operations
//   whatever tile or thread computes it, and every row has the chunked structure (a row shorter
//   than a chunk is one chunk); with fewer rows than threads (decode) the chunks of a row run on
//   different threads and are merged in the same order: the bits do not depend on the thread
//   count. They do depend on the instruction set (FMA or not, lane counts) and on whether
//   q_len reaches a tile (the tile and the decode kernels sum the dot in different orders).
//   A (row, chunk) whose running max the vector exp does not take (+inf, every kept logit -inf
//   or NaN so far, |m| >= 2^24) is recomputed by the portable scalar code (flash_chunk below:
//   the sequential dot, glibc's double exp): rare, and within the same bound.
// Passes: per query row, K and V once each, interleaved block by block; no logits kept beyond
//   a block (64 floats per row). Prefill also reads K and V once per head and thread to pack
//   them (up to the last key a row of the thread keeps). Masked keys are never used; a block no row
//   of a tile keeps is skipped (causal: the blocks above the tile's diagonal), and so are the
//   chunks past a row's last key.
// Stated bound (softlab/attention.hpp's contract), u = 2^-24, u_x = u + 2^-41 (a rounding to
//   float of a product or exp in double: the rescalings past |m| >= 240, the merge, and the
//   scalar path's glibc exp), E = fast::exp_error_u = 1.63: the vector exp's relative error in
//   units of u (measured on every float argument, pivoted kernel included). Delta as
//   materialized: (1 + u) gamma_d |scale| sum_i |q_i k_ji| + u |z_j| (a sum of d products in any
//   order, fused or not, errs by at most gamma_d; then one rounding of z_j). With n_c =
//   min(kv_len, chunk) keys per chunk, B_c = ceil(n_c / block) blocks per chunk and C chunks,
//   each term e_j v_jc of the output passes through at most: its exp (E), the rescalings of acc
//   after its block (B_c - 1; exact between shifted pivots), the chunk's merge factor and
//   product (1), the quotient (1), and the sum l in the denominator (the exps, E; n_c additions
//   in any order; B_c - 1 rescalings, 1 merge product, C - 1 merge additions): K_w = n_c + 2 B_c
//   + C + 2 E, so b = gamma_{K_w}(u_x) / (2u) (the contract's rho = (1 + 2 b u) e^(2 Delta) -
//   1); and its multiply-add into acc (1: product and sum rounded once), the chunk's other
//   additions and the merge additions (C - 1): sigma = gamma_{n_c + C}(u_x). u_T = 2^-p of the
//   storage type (float: 2^-24). Underflow: kv_len products and the rescaled and merged partial
//   sums (kv_len + C (B_c + 1) roundings of half a subnormal float spacing, times the later
//   relative factors); an e_j below float's normal range is rounded once (times 2^-64 from the
//   exp kernel's 2^64 exp(z_j - P)), within the contract's subnormal weight floor since l >=
//   0.7. logsumexp: |l_hat - l| <= Delta + a u max(1, |l| + Delta), a = -log(1 - gamma_{n_c +
//   B_c + C + E}(u_x)) / u + 2^-10 (P = j ln 2 in double errs by below 2^-44), then one rounding
//   to float.
// Specials: as the contract. All masked (kv_len 0 included): O = 0, logsumexp -inf. Every kept
//   logit -inf: l = 0, O = 0 (NaN from a NaN value row, as 0 times NaN), logsumexp -inf (the
//   scalar path). NaN logits never enter the max; their e_j = exp(NaN) is NaN and makes l, O and
//   logsumexp NaN. A running max of +inf (the scalar path): the +inf logits get e_j = 1, the
//   others 0, so O is their mean and logsumexp +inf. A key one row of a tile masks and another
//   keeps is added to the keeping rows only: a masked NaN value never reaches a row.
#pragma once

#include <softlab/algorithms/online.hpp>
#include <softlab/attention.hpp>
#include <softlab/detail/attention_rows.hpp>
#include <softlab/detail/rows.hpp>
#include <softlab/options.hpp>
#include <softlab/simd/fast.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace softlab {

namespace detail {

/// Keys whose logits are formed before the running max is updated: 64 floats per row stay in
/// L1 (with d = 128 the block's keys are 32 KiB of float K), and the rescaling of acc, d_v
/// multiplies when the max grows, happens at most once per 64 keys.
inline constexpr std::size_t flash_block_keys = 64;

/// Keys per chunk, each chunk's (P, l, acc) computed on its own and merged in chunk order: the
/// unit of work split across threads when one query row has many keys (decode: 32768 keys are
/// 64 chunks), and small enough that its n_c additions, not kv_len, enter the bound; a merge
/// (d_v multiply-adds in double) costs 1/512 of the chunk's work.
inline constexpr std::size_t flash_chunk_keys = 512;
static_assert(flash_chunk_keys % flash_block_keys == 0, "a chunk is whole blocks");

inline constexpr float flash_infinity = std::numeric_limits<float>::infinity();

/// One chunk's online-softmax state; its acc (d_v floats) lives in the caller's buffer.
struct flash_partial {
  double pivot = -double(flash_infinity);  ///< P: e_j = exp(z_j - P)
  float sum = 0;                           ///< l: sum of the e_j over the kept keys
  bool any_kept = false;
};

// ---- the portable scalar path: the vector kernels' fallback for (row, chunk)s whose running
// max their exp does not take (+inf, all -inf, beyond 2^24) ----

/// acc_c += weight v_c over the d_v columns of one value row (a rounded product, a rounded sum).
template <class T>
void flash_add_weighted(float* acc, float weight, const T* value, std::size_t d_v) {
  for (std::size_t c = 0; c < d_v; ++c) acc[c] += weight * float(value[c]);
}

/// acc_c = acc_c factor, the product in double rounded once to float.
inline void flash_rescale(float* acc, double factor, std::size_t d_v) {
  for (std::size_t c = 0; c < d_v; ++c) acc[c] = float(double(acc[c]) * factor);
}

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

/// The chunk [first, last) of one row's keys, sequentially: its (P = m, l) and acc[d_v].
template <class T>
flash_partial flash_chunk(const attention_row<T>& row, const float* query, std::size_t first,
                          std::size_t last, float* acc) {
  flash_partial state;
  float max = -flash_infinity;
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
    if (block_max > max) {
      // exp(m - m_new) in double, each product rounded once to float (from -inf: exactly 0).
      const double rescale = std::exp(double(max) - double(block_max));
      flash_rescale(acc, rescale, row.d_v);
      state.sum = float(double(state.sum) * rescale);
      max = block_max;
    }
    for (std::size_t b = 0; b < count; ++b) {
      if (!kept[b]) continue;
      const float weight = flash_weight(logits[b], max);
      state.sum += weight;
      flash_add_weighted(acc, weight, row.value(block + b), row.d_v);
    }
  }
  state.pivot = max;
  return state;
}

/// Merges a row's chunks in chunk order (in double) and writes O and logsumexp.
template <class T>
void flash_finish(const attention_row<T>& row, std::span<const flash_partial> partials,
                  const float* accs) {
  bool any_kept = false;
  double largest = -double(flash_infinity);
  for (const flash_partial& p : partials)
    if (p.any_kept) {
      any_kept = true;
      largest = std::max(largest, p.pivot);
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
    // exp(P_c - P_max): exactly 1 for the chunk holding the largest pivot (and for equal
    // infinities).
    const double factor =
        partials[k].pivot == largest ? 1.0 : std::exp(partials[k].pivot - largest);
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
    *row.logsumexp = sum == 0 ? -flash_infinity : float(largest + std::log(sum));
}

/// The chunks of a row of kv_len keys.
constexpr std::size_t flash_chunks(std::size_t kv_len) {
  return (kv_len + flash_chunk_keys - 1) / flash_chunk_keys;
}

/// The whole attention of a checked problem on the active ISA's kernels (impl/src/flash.cpp):
/// rows in tiles or one by one, across threads, each row's chunks merged by flash_finish.
void flash_vectorized(const attention_problem<float>& p, const attention_options& options);
void flash_vectorized(const attention_problem<bfloat16>& p, const attention_options& options);
void flash_vectorized(const attention_problem<float16>& p, const attention_options& options);

}  // namespace detail

struct flash_attention {
  static constexpr attention_facts facts{
      .name = "flash",
      .algorithm =
          "online softmax over blocks of 64 keys (pivot 2^j rescaling, fast's vector exp), "
          "query rows in register tiles against packed K panels, chunks of 512 keys merged "
          "in order in double, O = acc / l rounded once",
      .passes =
          "per query row: K and V once each, block by block; K packed once per head; "
          "masked blocks skipped",
      .stated_bound =
          "(1 + u_T)[rho + sigma (1 + rho)] sum_j p_j |v_j| + u_T |O|, rho = (1 + 2 b u) "
          "e^(2 Delta) - 1, Delta as materialized, 2 b u = gamma_{n_c + 2 B_c + C + 2 E}(u_x), "
          "sigma = gamma_{n_c + C}(u_x), u_x = u + 2^-41, E = 1.63 (fast's exp); n_c keys and "
          "B_c blocks per chunk, C chunks",
      .softmax = online::facts.name,
  };
  /// The running sum and output are float; the bound's ULPs are float's.
  using softmax_type = float;

  /// O is rounded once from double, for float storage too.
  template <class T>
  static constexpr bool rounds_output = true;
  static constexpr bool rounds_logsumexp = true;
  static constexpr subnormal_results softmax_subnormals = subnormal_results::kept;
  /// Kernels per instruction set (flash@sse2, flash@avx2, flash@avx512).
  static constexpr bool vectorized = true;

  /// One rounding to float of a value within 2^-42 (relative) of the exact one: an exp in
  /// double (1 ULP of glibc's exp plus 2^-53 |argument| < 745 * 2^-53 for the rounded
  /// argument), a product or sum in double, then the rounding to float.
  static constexpr double rounding = 0x1p-24 + 0x1p-41;

  /// E: the vector exp's relative error in units of u (fast's, float).
  static double exp_error() {
    bound_inputs in;
    in.precision_bits = 24;
    return fast::exp_error_u(in);
  }

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
  /// sigma: the multiply-add e_j v_jc, the chunk's other additions, the C - 1 merge additions.
  static double weighted_sum_error(std::size_t kv_len) {
    const roundings_per_term n = counts(kv_len);
    return detail::gamma(n.keys_per_chunk + n.chunks, rounding);
  }
  /// b: the weight's roundings, gamma_{K_w}(u_x) as a relative error 2 b u.
  static double softmax_bound_ulps(const bound_inputs& in) {
    const roundings_per_term n = counts(in.n);
    return detail::gamma(n.keys_per_chunk + 2 * n.blocks_per_chunk + n.chunks + 2 * exp_error(),
                         rounding) /
           (2 * 0x1p-24);
  }
  /// a: log(l_hat) - log(l) for l within gamma_{n_c + B_c + C + E}(u_x), in units of u, plus the
  /// double log, sum and pivot (below 2^-20 u relative).
  static double log_bound_a(const bound_inputs& in) {
    const roundings_per_term n = counts(in.n);
    const double sum_error =
        detail::gamma(n.keys_per_chunk + n.blocks_per_chunk + n.chunks + exp_error(), rounding);
    return sum_error < 1 ? -std::log1p(-sum_error) / 0x1p-24 + 0x1p-10
                         : std::numeric_limits<double>::infinity();
  }
  /// The products e_j v_jc (kv_len), the rescaled acc (at most C B_c rescalings) and the merge's
  /// double products (C, each far below) may underflow, each by half a subnormal float spacing,
  /// then multiplied by the later roundings (1 + gamma).
  static double underflow_roundings(std::size_t kv_len) {
    const roundings_per_term n = counts(kv_len);
    const double later = 1 + detail::gamma(2 * n.keys_per_chunk + 2 * n.blocks_per_chunk +
                                               2 * n.chunks + 2 * exp_error(),
                                           rounding);
    return (double(kv_len) + n.chunks * n.blocks_per_chunk + n.chunks) * later;
  }

  /// Tiles or rows across threads on the active ISA's kernels (detail::flash_vectorized).
  template <class T>
  static void run(const detail::attention_problem<T>& p, const attention_options& options) {
    detail::flash_vectorized(p, options);
  }
};

}  // namespace softlab
