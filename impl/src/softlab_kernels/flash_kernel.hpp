// src/softlab_kernels/flash_kernel.hpp: the vector kernels of softlab::flash_attention (see
// softlab/attention/flash.hpp for the algorithm, the bound and the specials). Templates on the
// xsimd architecture, instantiated by the per-ISA translation units only (kernel_tables.hpp);
// impl/src/flash.cpp drives them block by block.
//
// Two shapes of work, both one block of flash_kernel_block keys at a time:
//   tile_block: a tile of tile_rows query rows (prefill). S = Q_tile K_block^T by a
//     register-blocked micro-kernel: K packed once per head into panels of panel_keys keys,
//     transposed (d x panel_keys floats), q[r][i] broadcast and multiplied into the panel's
//     vectors: tile_rows x 2 accumulators stay in registers. Then per row the block max, the
//     rescaling, the vector exp, P in an L1 buffer; then O_tile += P V_block, the tile's rows x 2
//     vectors of O in registers per column panel, p[r][j] broadcast, V rows contiguous.
//   row_block: one query row (decode): the dot over d in vector lanes, width keys at a time (their
//     sums reduced together, each key's lanes in a fixed order), the weighted sum of V read
//     directly from 16-bit storage.
// Every (row, key) logit is a sequential chain of multiply-adds over i, and every (row, column)
// output a sequential chain over the kept keys in key order: the same operations whatever tile
// a row is in, so the bits do not depend on the tiling or on the split across threads.
#pragma once

#include <softlab_kernels/exp_kernel.hpp>
#include <softlab_kernels/lanes.hpp>
#include <softlab_kernels/score_kernel.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace softlab::simd {

/// Keys per block (softlab::detail::flash_block_keys; impl/src/flash.cpp checks they agree).
inline constexpr std::size_t flash_kernel_block = 64;

/// One query row's running state over one chunk of its keys: e_j = exp(z_j - pivot), sum = sum
/// of the e_j, the row's acc (d_v floats) = sum of e_j v_j.
struct flash_row_state {
  float max;              ///< the running max of the kept logits (NaN aside); -inf: none yet
  float sum;              ///< l
  double pivot;           ///< P: j ln 2 (shifted) or max (|max| >= the exp kernel's pivot_below)
  std::int32_t exponent;  ///< j when shifted
  bool shifted;
  bool any_kept;
  /// The running max is not one the vector exp takes (+inf, all -inf, beyond +-2^24): the
  /// driver recomputes this (row, chunk) with the portable scalar code.
  bool fallback;
};

/// Key kinds of a tile's block: no row of the tile keeps the key, every row does, or some do.
enum class flash_key : unsigned char { none, all, some };

struct flash_tile_args {
  const float* queries;           ///< tile_rows rows of d floats
  const float* panels;            ///< the block's keys, packed (pack_keys)
  const float* values;            ///< the block's first key in the values' panel 0 (pack_values)
  std::size_t value_stride;       ///< floats between the values' column panels
  std::size_t keys, d, d_v;       ///< keys <= flash_kernel_block
  float scale;                    ///< the logits' scale
  const float* bias;              ///< tile_rows x block: additive mask, -inf masked; nullptr: none
  const flash_key* kinds;         ///< per key, with bias; nullptr: every key kept by every row
  const unsigned char* row_kept;  ///< tile_rows: the row keeps a key of the block (0 or 1)
  flash_row_state* states;        ///< tile_rows
  float* acc;                     ///< tile_rows x d_v
};

struct flash_row_args {
  const float* query;  ///< d floats (bfloat16: in pair order, flash_storage_passes::paired)
  const void* keys;    ///< the block's first key row, storage type
  std::size_t key_stride;
  const void* values;  ///< the block's first value row, storage type
  std::size_t value_stride;
  std::size_t keys_count, d, d_v;
  float scale;
  const float* bias;  ///< block entries: additive mask, -inf masked; nullptr: every key kept
  flash_row_state* state;
  float* acc;  ///< d_v
};

/// One storage type's kernels.
struct flash_storage_passes {
  void (*row_block)(const flash_row_args&);
  /// keys rows of d into panels of panel_keys keys: panel p at panels + p d panel_keys, key k of
  /// it, element i at [i panel_keys + k]; the last panel padded with zero keys.
  void (*pack_keys)(const void* keys, std::size_t key_stride, std::size_t count, std::size_t d,
                    float* panels);
  /// count rows of d_v widened to float, row after row.
  /// count value rows of d_v into column panels of panel_keys columns, key after key: column c
  /// of key k at out[(c / panel_keys) panel_stride + k panel_keys + c % panel_keys], the last
  /// panel padded with zero columns. The tile's P V then reads each panel as one stream.
  void (*pack_values)(const void* rows, std::size_t stride, std::size_t count, std::size_t d_v,
                      std::size_t panel_stride, float* out);
  /// bfloat16: row_block reads 2 width elements as one vector of 32-bit words, the even
  /// elements widened by a shift and the odd ones by a mask (no shuffle): the query comes in
  /// that order (for each group of pair_width elements below d / pair_width pair_width: the
  /// even ones, then the odd ones), and the row's acc is kept in it over its first
  /// paired_columns(d_v) columns until natural_order puts it back. Else false and null.
  bool paired;
  void (*natural_order)(float* acc, std::size_t d_v);
};

struct flash_passes {
  std::size_t tile_rows, panel_keys, pair_width;
  void (*tile_block)(const flash_tile_args&);
  flash_storage_passes storage[3];  ///< by score_storage: float, bfloat16, float16
};

template <class Arch>
struct flash_kernel {
  using batch = ::xsimd::batch<float, Arch>;
  using lane = lanes<Arch, float>;
  using exp = exp_kernel<Arch, float, 6>;
  using scores = score_kernel<Arch, float>;
  static constexpr std::size_t width = lane::width;
  static constexpr std::size_t block = flash_kernel_block;
  static constexpr std::size_t block_vectors = block / width;
  static_assert(block % (4 * width) == 0, "the exps run four vectors at a time");
  /// Two vectors of keys per panel and tile_rows rows: 2 tile_rows accumulators, two panel
  /// vectors and a broadcast in registers (AVX2 and SSE2: 15 of 16; AVX-512: 19 of 32).
  static constexpr std::size_t panel_vectors = 2;
  static constexpr std::size_t panel_keys = panel_vectors * width;
  static constexpr std::size_t tile_rows = vector_bits<Arch> == 512 ? 8 : 6;
  static_assert(block % panel_keys == 0, "a block is whole panels");

  static constexpr float infinity = __builtin_inff();
  /// Beyond this |max| the pivot's floor m - 120 may round to m (the exp kernel's dominant
  /// rows): the scalar path takes the chunk.
  static constexpr float ordinary_below = 0x1p24f;
  /// The exp kernel returns 2^64 exp(z - P): times 2^-64, exact for a normal result, and a
  /// result below half float's smallest subnormal (a clamped z) rounds to 0 here.
  static constexpr float unscale = 0x1p-64f;
  static constexpr double ln2 = 0.693147180559945309417;

  // ---- per row: the block's logits z (block floats, -inf where masked or past the keys) ----

  /// Brings the row's state to the block's max and writes its weights e_j to p (block floats);
  /// row_kept: the row keeps a key of the block (else p = 0 and nothing changes).
  static void update_row(flash_row_state& s, const float* z, float* p, float* acc, std::size_t d_v,
                         bool row_kept) {
    const auto zero_weights = [&] {
      for (std::size_t v = 0; v < block_vectors; ++v) batch(0.0f).store_unaligned(p + v * width);
    };
    if (s.fallback || !row_kept) return zero_weights();
    s.any_kept = true;
    batch largest(-infinity);
    // MAXPS returns its second operand when either is NaN: a NaN logit never enters the max.
    for (std::size_t v = 0; v < block_vectors; ++v)
      largest = ::xsimd::max(batch::load_unaligned(z + v * width), largest);
    const float block_max = lane::horizontal_max(largest);
    const float m = block_max > s.max ? block_max : s.max;
    // All kept logits so far -inf (their 0 v_j still count: 0 times a NaN value is NaN), +inf,
    // or too large for the pivot: the scalar path.
    if (!(m > -ordinary_below && m < ordinary_below)) {
      s.fallback = true;
      return zero_weights();
    }
    const typename exp::pivot pivot = exp::pivot::shifted(m);
    if (m > s.max) {
      const bool shifted = m < exp::pivot_below && m > -exp::pivot_below;
      const std::int32_t j = std::int32_t(pivot.j);
      const double new_pivot = shifted ? double(j) * ln2 : double(m);
      if (s.max != -infinity) {
        // acc and l to the new pivot: 2^(j_old - j_new), exact, between shifted pivots; else
        // exp(P_old - P_new) in double, each product rounded once to float.
        double factor = 1;
        if (shifted && s.shifted)
          factor = __builtin_bit_cast(double, std::uint64_t(1023 + s.exponent - j) << 52);
        else if (new_pivot != s.pivot)
          factor = __builtin_exp(s.pivot - new_pivot);
        if (factor != 1) {
          for (std::size_t c = 0; c < d_v; ++c) acc[c] = float(double(acc[c]) * factor);
          s.sum = float(double(s.sum) * factor);
        }
      }
      s.max = m;
      s.pivot = new_pivot;
      s.exponent = j;
      s.shifted = shifted;
    }
    // The pivot's exps, four vectors at a time; the row's block sum in lanes, in key order,
    // then across lanes (xsimd's hadd: a fixed order per ISA).
    batch total(0.0f);
    for (std::size_t v = 0; v < block_vectors; v += 4) {
      std::array<batch, 4> e;
      SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) e[u] =
          batch::load_unaligned(z + (v + u) * width);
      exp::of_row(e, pivot);
      SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) {
        e[u] *= batch(unscale);
        e[u].store_unaligned(p + (v + u) * width);
        total += e[u];
      }
    }
    s.sum += ::xsimd::hadd(total);
  }

  /// z_j of one row from its dot products s_j: scale s_j, or with a bias (an additive mask,
  /// -inf where the key is masked) fma(scale, s_j, bias_j) with one rounding (SSE2 has no vector
  /// FMA: a scalar one). Keys past count get -inf.
  static void logits(const float* s, std::size_t count, float scale, const float* bias, float* z) {
    if (bias == nullptr) {
      const batch scaled(scale);
      for (std::size_t v = 0; v < block_vectors; ++v)
        (scaled * batch::load_unaligned(s + v * width)).store_unaligned(z + v * width);
    } else if constexpr (lane::fused) {
      const batch scaled(scale), minus_inf(-infinity);
      for (std::size_t v = 0; v < block_vectors; ++v) {
        const batch b = batch::load_unaligned(bias + v * width);
        const batch formed = lane::fma(scaled, batch::load_unaligned(s + v * width), b);
        ::xsimd::select(b == minus_inf, minus_inf, formed).store_unaligned(z + v * width);
      }
    } else {
      for (std::size_t k = 0; k < block; ++k)
        z[k] = bias[k] == -infinity ? -infinity : __builtin_fmaf(scale, s[k], bias[k]);
    }
    for (std::size_t k = count; k < block; ++k) z[k] = -infinity;
  }

  // ---- the tile (prefill) ----

  /// s[r][k] = sum_i q[r][i] K[k][i] for the block's keys, each a chain of multiply-adds in i.
  static void tile_scores(const float* queries, const float* panels, std::size_t keys,
                          std::size_t d, float* s) {
    for (std::size_t first = 0; first < keys; first += panel_keys) {
      const float* panel = panels + (first / panel_keys) * d * panel_keys;
      std::array<std::array<batch, panel_vectors>, tile_rows> acc;
      SOFTLAB_UNROLL for (std::size_t r = 0; r < tile_rows; ++r)
          SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) acc[r][n] = batch(0.0f);
      for (std::size_t i = 0; i < d; ++i) {
        std::array<batch, panel_vectors> k;
        SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) k[n] =
            batch::load_unaligned(panel + i * panel_keys + n * width);
        SOFTLAB_UNROLL for (std::size_t r = 0; r < tile_rows; ++r) {
          const batch q(queries[r * d + i]);
          SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) acc[r][n] =
              lane::fma(q, k[n], acc[r][n]);
        }
      }
      SOFTLAB_UNROLL for (std::size_t r = 0; r < tile_rows; ++r)
          SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) acc[r][n]
              .store_unaligned(s + r * block + first + n * width);
    }
  }

  /// acc[r][c..c + panel_keys) += sum_j p[r][j] V[j][c..], c a column panel's first column:
  /// the tile's rows x 2 accumulators in registers, the panel's values read as one stream; a
  /// key no row keeps is skipped, one some rows keep is added to those rows only (p times a
  /// masked V row would carry its NaN). A last panel of fewer columns (`tail`) loads and stores
  /// only those of acc (its values are padded with zeros).
  template <bool tail>
  SOFTLAB_ALWAYS_INLINE static void tile_values_panel(const flash_tile_args& a, const float* p,
                                                      std::size_t c) {
    std::array<std::array<batch, panel_vectors>, tile_rows> acc;
    std::array<std::size_t, panel_vectors> count;
    SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) {
      const std::size_t first = c + n * width;
      count[n] = !tail ? width : first >= a.d_v ? 0 : a.d_v - first < width ? a.d_v - first : width;
    }
    const auto load = [&](const float* x, std::size_t n) {
      if constexpr (tail)
        return count[n] == width ? batch::load_unaligned(x)
                                 : lane::load_tail(x, count[n], 0.0f);  // count 0: all 0
      else
        return batch::load_unaligned(x);
    };
    SOFTLAB_UNROLL for (std::size_t r = 0; r < tile_rows; ++r)
        SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) acc[r][n] =
            load(a.acc + r * a.d_v + c + n * width, n);
    const float* panel = a.values + (c / panel_keys) * a.value_stride;
    for (std::size_t j = 0; j < a.keys; ++j) {
      const flash_key kind = a.kinds == nullptr ? flash_key::all : a.kinds[j];
      if (kind == flash_key::none) continue;
      std::array<batch, panel_vectors> v;
      SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) v[n] =
          batch::load_unaligned(panel + j * panel_keys + n * width);
      if (kind == flash_key::all) {
        SOFTLAB_UNROLL for (std::size_t r = 0; r < tile_rows; ++r) {
          const batch w(p[r * block + j]);
          SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) acc[r][n] =
              lane::fma(w, v[n], acc[r][n]);
        }
      } else {
        SOFTLAB_UNROLL for (std::size_t r = 0; r < tile_rows; ++r) {
          if (a.bias[r * block + j] == -infinity) continue;
          const batch w(p[r * block + j]);
          SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) acc[r][n] =
              lane::fma(w, v[n], acc[r][n]);
        }
      }
    }
    SOFTLAB_UNROLL for (std::size_t r = 0; r < tile_rows; ++r)
        SOFTLAB_UNROLL for (std::size_t n = 0; n < panel_vectors; ++n) {
      float* to = a.acc + r * a.d_v + c + n * width;
      if (count[n] == width)
        acc[r][n].store_unaligned(to);
      else if (count[n] > 0)
        lane::store_tail(acc[r][n], to, count[n]);
    }
  }

  static void tile_block(const flash_tile_args& a) {
    alignas(64) float s[tile_rows * block];
    alignas(64) float z[block];
    alignas(64) float p[tile_rows * block];
    tile_scores(a.queries, a.panels, a.keys, a.d, s);
    for (std::size_t r = 0; r < tile_rows; ++r) {
      logits(s + r * block, a.keys, a.scale, a.bias == nullptr ? nullptr : a.bias + r * block, z);
      update_row(a.states[r], z, p + r * block, a.acc + r * a.d_v, a.d_v, a.row_kept[r] != 0);
    }
    std::size_t c = 0;
    for (; c + panel_keys <= a.d_v; c += panel_keys) tile_values_panel<false>(a, p, c);
    if (c < a.d_v) tile_values_panel<true>(a, p, c);
  }

  // ---- one row (decode) ----

  /// A vector of S at x, widened to float; `count` < width elements, padded with 0 (16-bit
  /// tails through a buffer: a full 16-bit load could pass the end of the data).
  template <score_storage S>
  static batch widened(const void* x, std::size_t i) {
    return scores::template widened_at<S>(x, i);
  }
  template <score_storage S>
  static batch widened_tail(const void* x, std::size_t i, std::size_t count) {
    if constexpr (S == score_storage::compute) {
      return lane::load_tail(static_cast<const float*>(x) + i, count, 0.0f);
    } else {
      std::array<std::uint16_t, width> buffer{};
      const std::uint16_t* from = static_cast<const std::uint16_t*>(x) + i;
      for (std::size_t k = 0; k < count; ++k) buffer[k] = from[k];
      return widened<S>(buffer.data(), 0);
    }
  }

  template <score_storage S>
  static constexpr std::size_t storage_bytes = S == score_storage::compute ? 4 : 2;

  /// 2 width bfloat16 elements at element i of x as two float vectors: the even elements (the
  /// low halves of the 32-bit words, shifted up) and the odd ones (the high halves, masked).
  using words = ::xsimd::batch<std::uint32_t, Arch>;
  static constexpr std::size_t pair_width = 2 * width;
  SOFTLAB_ALWAYS_INLINE static void bfloat16_pairs(const void* x, std::size_t i, batch& even,
                                                   batch& odd) {
    const words w = words::load_unaligned(
        reinterpret_cast<const std::uint32_t*>(static_cast<const std::uint16_t*>(x) + i));
    even = ::xsimd::bitwise_cast<batch>(w << 16);
    odd = ::xsimd::bitwise_cast<batch>(w & words(0xffff0000u));
  }
  /// Columns of the row's acc kept in pair order by row_block (whole panels of 8 vectors).
  static constexpr std::size_t value_panel = 8 * width;
  static std::size_t paired_columns(std::size_t d_v) { return d_v / value_panel * value_panel; }
  static void natural_order(float* acc, std::size_t d_v) {
    alignas(64) float pair[pair_width];
    for (std::size_t c = 0; c < paired_columns(d_v); c += pair_width) {
      for (std::size_t l = 0; l < width; ++l) {
        pair[2 * l] = acc[c + l];
        pair[2 * l + 1] = acc[c + width + l];
      }
      for (std::size_t l = 0; l < pair_width; ++l) acc[c + l] = pair[l];
    }
  }

  /// How far ahead decode prefetches each of its two streams (K's rows in the dot products, V's
  /// in the weighted sum): a few kilobytes, enough to cover the memory's latency at its
  /// bandwidth (about 100 ns at 25-40 GB/s on one core) without evicting from L1 (48 KiB on Zen 5)
  /// the block being computed on. A whole block ahead (64 rows, 16 KiB of bfloat16 K and as
  /// much of V at d = 128) evicted it. softlab-bench's decode of 8 x 32768 bfloat16 keys, d =
  /// 128, one thread, on the Zen 5 VM (medians of runs minutes apart; the memory's own speed
  /// moved 1.5x between them): 5.0-9.0 ms with 64 rows ahead, 4.6-6.2 with 4 KiB, 5.2-6.8 with
  /// 2 KiB, 5.2-7.3 with 8 KiB; 4 KiB was also the fastest at 4096 and 131072 keys and in float.
  static constexpr std::size_t prefetch_bytes_ahead = 4096;
  /// Rows of row_bytes that make prefetch_bytes_ahead, at least one (V's rows have no bytes
  /// when d_v is 0: then one, and nothing is prefetched).
  static std::size_t prefetch_rows_ahead(std::size_t row_bytes) {
    return row_bytes == 0 || row_bytes >= prefetch_bytes_ahead ? 1
                                                               : prefetch_bytes_ahead / row_bytes;
  }

  /// Prefetches the `bytes` of the row `rows_ahead` rows past `row`: the rows a few kilobytes
  /// ahead are fetched from memory while these are computed on (decode reads K and V once, and
  /// would otherwise wait for each line). Addresses, not pointers: past the data's end they
  /// point nowhere (a prefetch never faults, and no out-of-bounds pointer is formed).
  template <score_storage S>
  SOFTLAB_ALWAYS_INLINE static void prefetch_row(const void* row, std::size_t stride,
                                                 std::size_t rows_ahead, std::size_t bytes) {
    const std::uintptr_t start =
        reinterpret_cast<std::uintptr_t>(row) + rows_ahead * stride * storage_bytes<S>;
    for (std::size_t line = 0; line < bytes; line += 64)
      _mm_prefetch(reinterpret_cast<const char*>(start + line), _MM_HINT_T0);
  }

  template <score_storage S>
  static const void* row_at(const void* rows, std::size_t stride, std::size_t j) {
    return static_cast<const unsigned char*>(rows) + j * stride * storage_bytes<S>;
  }

  /// s[first + k] = q . K[first + k] for the Group keys of a full group (Group = width), or the
  /// remaining keys one at a time (Group = 1): the same lanes and reduction for each key.
  template <score_storage S, std::size_t Group>
  SOFTLAB_ALWAYS_INLINE static void dot_group(const flash_row_args& a, std::size_t first,
                                              std::size_t full, float* s) {
    const std::size_t group = Group == width ? width : a.keys_count - first;
    std::array<batch, width> acc;
    SOFTLAB_UNROLL for (std::size_t k = 0; k < width; ++k) acc[k] = batch(0.0f);
    const auto key = [&](std::size_t k) { return row_at<S>(a.keys, a.key_stride, first + k); };
    constexpr bool paired = S == score_storage::bfloat16;
    const std::size_t pairs_end = paired ? a.d / pair_width * pair_width : 0;
    if constexpr (Group == width) {
      const std::size_t row_bytes = a.d * storage_bytes<S>;
      const std::size_t ahead = prefetch_rows_ahead(row_bytes);
      for (std::size_t k = 0; k < width; ++k)
        prefetch_row<S>(key(k), a.key_stride, ahead, row_bytes);
      if constexpr (paired) {
        for (std::size_t i = 0; i < pairs_end; i += pair_width) {
          const batch q_even = batch::load_unaligned(a.query + i);
          const batch q_odd = batch::load_unaligned(a.query + i + width);
          SOFTLAB_UNROLL for (std::size_t k = 0; k < width; ++k) {
            batch even, odd;
            bfloat16_pairs(key(k), i, even, odd);
            acc[k] = lane::fma(q_odd, odd, lane::fma(q_even, even, acc[k]));
          }
        }
      }
      for (std::size_t i = pairs_end; i < full; i += width) {
        const batch q = batch::load_unaligned(a.query + i);
        SOFTLAB_UNROLL for (std::size_t k = 0; k < width; ++k) acc[k] =
            lane::fma(q, widened<S>(key(k), i), acc[k]);
      }
    } else {
      for (std::size_t k = 0; k < group; ++k) {
        batch sum(0.0f);
        if constexpr (paired) {
          for (std::size_t i = 0; i < pairs_end; i += pair_width) {
            batch even, odd;
            bfloat16_pairs(key(k), i, even, odd);
            sum = lane::fma(batch::load_unaligned(a.query + i + width), odd,
                            lane::fma(batch::load_unaligned(a.query + i), even, sum));
          }
        }
        for (std::size_t i = pairs_end; i < full; i += width)
          sum = lane::fma(batch::load_unaligned(a.query + i), widened<S>(key(k), i), sum);
        acc[k] = sum;
      }
    }
    if (full < a.d) {
      const batch q = lane::load_tail(a.query + full, a.d - full, 0.0f);
      for (std::size_t k = 0; k < group; ++k)
        acc[k] = lane::fma(q, widened_tail<S>(key(k), full, a.d - full), acc[k]);
    }
    alignas(64) float sums[width];
    lane::sums_of_each(acc.data()).store_aligned(sums);
    for (std::size_t k = 0; k < group; ++k) s[first + k] = sums[k];
  }

  template <score_storage S>
  static void row_block(const flash_row_args& a) {
    alignas(64) float s[block];
    alignas(64) float z[block];
    alignas(64) float p[block];
    const std::size_t full = a.d / width * width;
    // width keys at a time: one accumulator each, the lanes of all reduced together (sums_of_each);
    // a last group of fewer keys leaves the others' accumulators at 0.
    for (std::size_t first = 0; first < a.keys_count; first += width) {
      if (a.keys_count - first >= width)
        dot_group<S, width>(a, first, full, s);
      else
        dot_group<S, 1>(a, first, full, s);
    }
    logits(s, a.keys_count, a.scale, a.bias, z);
    update_row(*a.state, z, p, a.acc, a.d_v, true);
    if (a.state->fallback) return;
    // acc += p_j v_j over the kept keys, in key order, eight vectors of columns at a time
    // (bfloat16: four pairs of vectors, in pair order).
    constexpr std::size_t columns = 8;
    static_assert(columns * width == value_panel);
    const std::size_t value_bytes = a.d_v * storage_bytes<S>;
    const std::size_t values_ahead = prefetch_rows_ahead(value_bytes);
    std::size_t c = 0;
    for (; c + columns * width <= a.d_v; c += columns * width) {
      std::array<batch, columns> o;
      SOFTLAB_UNROLL for (std::size_t n = 0; n < columns; ++n) o[n] =
          batch::load_unaligned(a.acc + c + n * width);
      for (std::size_t j = 0; j < a.keys_count; ++j) {
        if (a.bias != nullptr && a.bias[j] == -infinity) continue;
        const batch w(p[j]);
        const void* value = row_at<S>(a.values, a.value_stride, j);
        if (c == 0) prefetch_row<S>(value, a.value_stride, values_ahead, value_bytes);
        if constexpr (S == score_storage::bfloat16) {
          SOFTLAB_UNROLL for (std::size_t n = 0; n < columns; n += 2) {
            batch even, odd;
            bfloat16_pairs(value, c + n * width, even, odd);
            o[n] = lane::fma(w, even, o[n]);
            o[n + 1] = lane::fma(w, odd, o[n + 1]);
          }
        } else {
          SOFTLAB_UNROLL for (std::size_t n = 0; n < columns; ++n) o[n] =
              lane::fma(w, widened<S>(value, c + n * width), o[n]);
        }
      }
      SOFTLAB_UNROLL for (std::size_t n = 0; n < columns; ++n) o[n].store_unaligned(a.acc + c +
                                                                                    n * width);
    }
    for (; c < a.d_v; c += width) {
      const std::size_t count = a.d_v - c < width ? a.d_v - c : width;
      batch o = lane::load_tail(a.acc + c, count, 0.0f);
      for (std::size_t j = 0; j < a.keys_count; ++j) {
        if (a.bias != nullptr && a.bias[j] == -infinity) continue;
        const void* value = row_at<S>(a.values, a.value_stride, j);
        o = lane::fma(batch(p[j]),
                      count == width ? widened<S>(value, c) : widened_tail<S>(value, c, count), o);
      }
      lane::store_tail(o, a.acc + c, count);
    }
  }

  // ---- packing ----

  template <score_storage S>
  static void pack_keys(const void* keys, std::size_t key_stride, std::size_t count, std::size_t d,
                        float* panels) {
    for (std::size_t first = 0; first < count; first += panel_keys) {
      float* panel = panels + (first / panel_keys) * d * panel_keys;
      for (std::size_t k = 0; k < panel_keys; ++k) {
        if (first + k >= count) {
          for (std::size_t i = 0; i < d; ++i) panel[i * panel_keys + k] = 0.0f;
          continue;
        }
        const void* key = row_at<S>(keys, key_stride, first + k);
        std::size_t i = 0;
        alignas(64) float wide[width];
        for (; i + width <= d; i += width) {
          widened<S>(key, i).store_aligned(wide);
          for (std::size_t l = 0; l < width; ++l) panel[(i + l) * panel_keys + k] = wide[l];
        }
        if (i < d) {
          widened_tail<S>(key, i, d - i).store_aligned(wide);
          for (std::size_t l = 0; i + l < d; ++l) panel[(i + l) * panel_keys + k] = wide[l];
        }
      }
    }
  }

  template <score_storage S>
  static void pack_values(const void* rows, std::size_t stride, std::size_t count, std::size_t d_v,
                          std::size_t panel_stride, float* out) {
    alignas(64) float wide[width];
    for (std::size_t k = 0; k < count; ++k) {
      const void* row = row_at<S>(rows, stride, k);
      for (std::size_t c = 0; c < d_v; c += width) {
        const std::size_t n = d_v - c < width ? d_v - c : width;
        (n == width ? widened<S>(row, c) : widened_tail<S>(row, c, n)).store_aligned(wide);
        float* to = out + (c / panel_keys) * panel_stride + k * panel_keys + c % panel_keys;
        for (std::size_t l = 0; l < width; ++l) to[l] = wide[l];
      }
      // The last panel's columns past d_v: zeros (the tail's loads read them).
      for (std::size_t c = (d_v + width - 1) / width * width; c % panel_keys != 0; c += width) {
        float* to = out + (c / panel_keys) * panel_stride + k * panel_keys + c % panel_keys;
        for (std::size_t l = 0; l < width; ++l) to[l] = 0.0f;
      }
    }
  }

  template <score_storage S>
  static constexpr flash_storage_passes storage_passes{
      &row_block<S>, &pack_keys<S>, &pack_values<S>, S == score_storage::bfloat16,
      S == score_storage::bfloat16 ? &natural_order : nullptr};

  static constexpr flash_passes passes{
      tile_rows,
      panel_keys,
      pair_width,
      &tile_block,
      {storage_passes<score_storage::compute>, storage_passes<score_storage::bfloat16>,
       storage_passes<score_storage::float16>}};
};

}  // namespace softlab::simd
