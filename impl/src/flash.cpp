// The ISA-neutral half of softlab::flash_attention: the split of the rows across threads, the
// tiles and their groups, the packing of K, the masks of each block, the chunks and their merge.
// The arithmetic is the active ISA's (src/softlab_kernels/flash_kernel.hpp); see
// softlab/attention/flash.hpp for the algorithm and the bound.
#include "kernel_tables.hpp"

#include <softlab_kernels/flash_kernel.hpp>

#include <softlab/attention/flash.hpp>
#include <softlab/detail/rows.hpp>
#include <softlab/storage.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

namespace softlab::detail {
namespace {

static_assert(simd::flash_kernel_block == flash_block_keys, "the kernels' block is flash's");

constexpr simd::flash_row_state fresh_state{-flash_infinity, 0, 0, 0, false, false, false};

/// Tiles that take each key block in turn, so that the block's K and V come from L2 for all
/// but the first (48 rows on AVX2: 8 tiles of 6).
constexpr std::size_t tiles_per_group = 8;

template <class T>
constexpr std::size_t storage_index = std::is_same_v<T, float>      ? 0
                                      : std::is_same_v<T, bfloat16> ? 1
                                                                    : 2;

template <class T>
const simd::flash_storage_passes& storage_passes(const simd::flash_passes& passes) {
  return passes.storage[storage_index<T>];
}

/// Whether row keeps every key of [start, start + count) with no additive term.
template <class T>
bool keeps_all_plainly(const attention_row<T>& row, std::size_t start, std::size_t count) {
  return row.mask.which() == score_mask::kind::none && start + count <= row.causal_kept;
}

/// The row's bias over the block's keys [start, start + count): the additive mask entry (0
/// without one), -inf where the key is masked, -inf past count. Whether it keeps any.
template <class T>
bool row_bias(const attention_row<T>& row, std::size_t start, std::size_t count, float* bias) {
  if (row.mask.which() == score_mask::kind::none) {  // causal alone
    const std::size_t kept = row.causal_kept > start ? std::min(count, row.causal_kept - start) : 0;
    std::fill(bias, bias + kept, 0.0f);
    std::fill(bias + kept, bias + flash_block_keys, -flash_infinity);
    return kept > 0;
  }
  bool any = false;
  for (std::size_t k = 0; k < count; ++k) {
    const bool kept = row.key_kept(start + k);
    bias[k] = kept ? row.additive(start + k) : -flash_infinity;
    any = any || kept;
  }
  std::fill(bias + count, bias + flash_block_keys, -flash_infinity);
  return any;
}

template <class T>
void widen_query(const attention_row<T>& row, float* out) {
  for (std::size_t i = 0; i < row.d; ++i) out[i] = float(row.query[i]);
}

/// The state of a finished (row, chunk) as a partial; its acc stays where the kernel left it.
flash_partial partial_of(const simd::flash_row_state& s) { return {s.pivot, s.sum, s.any_kept}; }

// ---- decode: one row at a time ----

/// The chunk [first, last) of one row by the row kernel (the scalar path when it gives up).
/// The query in the kernel's order: bfloat16's pairs (flash_storage_passes::paired), else as is.
void kernel_query(const simd::flash_passes& passes, const simd::flash_storage_passes& storage,
                  const float* query, std::size_t d, float* out) {
  std::copy_n(query, d, out);
  if (!storage.paired) return;
  const std::size_t pair = passes.pair_width, half = pair / 2;
  for (std::size_t i = 0; i + pair <= d; i += pair)
    for (std::size_t l = 0; l < half; ++l) {
      out[i + l] = query[i + 2 * l];
      out[i + half + l] = query[i + 2 * l + 1];
    }
}

/// query as widened (the scalar path's), kernel_order as kernel_query made it.
template <class T>
flash_partial row_chunk(const simd::flash_passes& passes, const attention_row<T>& row,
                        const float* query, const float* kernel_order, std::size_t first,
                        std::size_t last, float* acc) {
  const simd::flash_storage_passes& storage = storage_passes<T>(passes);
  simd::flash_row_state state = fresh_state;
  std::fill(acc, acc + row.d_v, 0.0f);
  const std::size_t end = std::min(last, row.causal_kept);
  alignas(64) float bias[flash_block_keys];
  for (std::size_t start = first; start < end; start += flash_block_keys) {
    const std::size_t count = std::min(flash_block_keys, end - start);
    const bool plain = keeps_all_plainly(row, start, count);
    if (!plain && !row_bias(row, start, count, bias)) continue;
    const simd::flash_row_args args{kernel_order,
                                    row.key(start),
                                    row.key_stride,
                                    row.value(start),
                                    row.value_stride,
                                    count,
                                    row.d,
                                    row.d_v,
                                    row.scale,
                                    plain ? nullptr : bias,
                                    &state,
                                    acc};
    storage.row_block(args);
    if (state.fallback) return flash_chunk(row, query, first, last, acc);
  }
  if (storage.natural_order != nullptr) storage.natural_order(acc, row.d_v);
  return partial_of(state);
}

template <class T>
void decode_rows(const simd::flash_passes& passes, const attention_problem<T>& p,
                 const attention_options& options) {
  const std::size_t rows = p.q_heads * p.q_len, chunks = flash_chunks(p.kv_len);
  if (rows == 0) return;
  softmax_options thread_options;
  thread_options.threads = options.threads;
  const std::size_t chunk_threads =
      chunks > 1 ? threads_for_rows(thread_options, rows * chunks, flash_chunk_keys * (p.d + p.d_v))
                 : 1;
  std::vector<flash_partial> partials(rows * chunks);
  std::vector<float> accs(rows * chunks * p.d_v);
  // query: d floats as widened, then d in the kernel's order.
  const auto chunk_of = [&](std::size_t item, std::vector<float>& query) {
    const attention_row<T> row = attention_row_at(p, options, item / chunks);
    widen_query(row, query.data());
    kernel_query(passes, storage_passes<T>(passes), query.data(), p.d, query.data() + p.d);
    const std::size_t k = item % chunks;
    partials[item] =
        row_chunk(passes, row, query.data(), query.data() + p.d, k * flash_chunk_keys,
                  std::min(row.kv_len, (k + 1) * flash_chunk_keys), accs.data() + item * p.d_v);
  };
  if (chunk_threads <= 1 || chunk_threads <= rows) {
    // Each row whole on one thread (the same chunks, so the same bits).
    const std::size_t threads =
        threads_for_rows(thread_options, rows, std::max<std::size_t>(1, p.kv_len * (p.d + p.d_v)));
    for_row_blocks(rows, threads, [&](std::size_t first, std::size_t last) {
      std::vector<float> query(2 * p.d);
      for (std::size_t index = first; index < last; ++index) {
        for (std::size_t k = 0; k < chunks; ++k) chunk_of(index * chunks + k, query);
        flash_finish(attention_row_at(p, options, index),
                     std::span<const flash_partial>(partials).subspan(index * chunks, chunks),
                     accs.data() + index * chunks * p.d_v);
      }
    });
    return;
  }
  for_row_blocks(rows * chunks, chunk_threads, [&](std::size_t first, std::size_t last) {
    std::vector<float> query(2 * p.d);
    for (std::size_t item = first; item < last; ++item) chunk_of(item, query);
  });
  for (std::size_t index = 0; index < rows; ++index)
    flash_finish(attention_row_at(p, options, index),
                 std::span<const flash_partial>(partials).subspan(index * chunks, chunks),
                 accs.data() + index * chunks * p.d_v);
}

// ---- prefill: tiles of rows ----

/// One thread's buffers, kept across the groups it runs.
struct tile_scratch {
  std::vector<float> panels;  ///< the head's packed keys
  std::vector<float> values;  ///< the head's packed values
  std::size_t head = std::size_t(-1), packed = 0, widened = 0;
  std::vector<float> queries, bias, acc, accs;
  std::vector<simd::flash_key> kinds;
  std::vector<unsigned char> row_kept;
  std::vector<simd::flash_row_state> states;
  std::vector<flash_partial> partials;
};

/// K (and 16-bit V) of K/V head kv_head packed up to key `needed` (once per head and thread;
/// a later group of the same head that needs more keys packs the rest).
template <class T>
void prepare_head(const simd::flash_passes& passes, const attention_problem<T>& p,
                  std::size_t kv_head, std::size_t needed, tile_scratch& s) {
  const std::size_t panel = passes.panel_keys;
  if (s.head != kv_head) {
    s.head = kv_head;
    s.packed = s.widened = 0;
    s.panels.resize((p.kv_len + panel - 1) / panel * panel * p.d);
    s.values.resize((p.d_v + panel - 1) / panel * panel * p.kv_len);
  }
  const T* keys = p.k + kv_head * p.k_head_stride;
  if (needed > s.packed) {
    const std::size_t from = s.packed / panel * panel;  // a partial last panel is packed again
    storage_passes<T>(passes).pack_keys(keys + from * p.k_row_stride, p.k_row_stride, needed - from,
                                        p.d, s.panels.data() + from * p.d);
    s.packed = needed;
  }
  if (needed > s.widened) {
    const T* values = p.v + kv_head * p.v_head_stride;
    storage_passes<T>(passes).pack_values(values + s.widened * p.v_row_stride, p.v_row_stride,
                                          needed - s.widened, p.d_v, p.kv_len * panel,
                                          s.values.data() + s.widened * panel);
    s.widened = needed;
  }
}

/// The rows [first, last) of one head, in tiles of passes.tile_rows, groups of tiles_per_group.
template <class T>
void tile_group(const simd::flash_passes& passes, const attention_problem<T>& p,
                const attention_options& options, std::size_t first, std::size_t last,
                tile_scratch& s) {
  const std::size_t m = passes.tile_rows, block = flash_block_keys;
  const std::size_t n = last - first, tiles = (n + m - 1) / m, padded = tiles * m;
  const std::size_t chunks = flash_chunks(p.kv_len);
  std::vector<attention_row<T>> rows;
  rows.reserve(n);
  std::size_t needed = 0;
  for (std::size_t i = first; i < last; ++i) {
    rows.push_back(attention_row_at(p, options, i));
    needed = std::max(needed, rows.back().causal_kept);
  }
  const std::size_t kv_head = (first / p.q_len) / (p.q_heads / p.kv_heads);
  prepare_head(passes, p, kv_head, needed, s);
  s.queries.resize(padded * p.d);
  for (std::size_t r = 0; r < padded; ++r)  // the last tile's missing rows repeat the last row
    widen_query(rows[std::min(r, n - 1)], s.queries.data() + r * p.d);
  s.bias.resize(padded * block);
  s.kinds.resize(block);
  s.row_kept.resize(padded);
  s.states.resize(padded);
  s.acc.resize(padded * p.d_v);
  s.partials.assign(n * chunks, flash_partial{});
  s.accs.resize(n * chunks * p.d_v);
  // Per tile: the largest and smallest causal limit of its rows.
  std::vector<std::size_t> tile_most(tiles, 0), tile_least(tiles, p.kv_len);
  for (std::size_t r = 0; r < n; ++r) {
    tile_most[r / m] = std::max(tile_most[r / m], rows[r].causal_kept);
    tile_least[r / m] = std::min(tile_least[r / m], rows[r].causal_kept);
  }
  const bool masked = !options.mask.empty_kind();
  const float* values = s.values.data();
  const std::size_t value_stride = p.kv_len * passes.panel_keys;

  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t chunk_first = c * flash_chunk_keys;
    const std::size_t chunk_last = std::min(p.kv_len, chunk_first + flash_chunk_keys);
    if (chunk_first >= needed) break;  // no row keeps a key here: the partials stay empty
    std::fill(s.states.begin(), s.states.end(), fresh_state);
    std::fill(s.acc.begin(), s.acc.end(), 0.0f);
    for (std::size_t start = chunk_first; start < std::min(chunk_last, needed); start += block) {
      const std::size_t block_count = std::min(block, chunk_last - start);
      for (std::size_t t = 0; t < tiles; ++t) {
        if (start >= tile_most[t]) continue;  // above the tile's diagonal
        // The keys past every row's causal limit end the tile's block: on the diagonal the
        // tile computes up to its last kept key (rounded up to a K panel), not the whole block.
        const std::size_t count = std::min(block_count, tile_most[t] - start);
        const std::size_t real = std::min(m, n - t * m);
        unsigned char* kept = s.row_kept.data() + t * m;
        float* bias = s.bias.data() + t * m * block;
        const bool plain = !masked && start + count <= tile_least[t];
        if (plain) {
          for (std::size_t r = 0; r < m; ++r) kept[r] = r < real ? 1 : 0;
        } else {
          bool any = false;
          for (std::size_t r = 0; r < m; ++r) {
            if (r < real) {
              kept[r] = row_bias(rows[t * m + r], start, count, bias + r * block) ? 1 : 0;
            } else {
              kept[r] = 0;
              std::fill(bias + r * block, bias + (r + 1) * block, -flash_infinity);
            }
            any = any || kept[r] != 0;
          }
          if (!any) continue;
          for (std::size_t k = 0; k < count; ++k) {
            if (!masked) {  // causal alone: the tile's limits decide
              s.kinds[k] = start + k < tile_least[t]  ? simd::flash_key::all
                           : start + k < tile_most[t] ? simd::flash_key::some
                                                      : simd::flash_key::none;
              continue;
            }
            std::size_t keeping = 0;
            for (std::size_t r = 0; r < real; ++r)
              keeping += bias[r * block + k] != -flash_infinity ? 1 : 0;
            s.kinds[k] = keeping == 0      ? simd::flash_key::none
                         : keeping == real ? simd::flash_key::all
                                           : simd::flash_key::some;
          }
        }
        const simd::flash_tile_args args{s.queries.data() + t * m * p.d,
                                         s.panels.data() + start * p.d,
                                         values + start * passes.panel_keys,
                                         value_stride,
                                         count,
                                         p.d,
                                         p.d_v,
                                         p.scale,
                                         plain ? nullptr : bias,
                                         plain ? nullptr : s.kinds.data(),
                                         kept,
                                         s.states.data() + t * m,
                                         s.acc.data() + t * m * p.d_v};
        passes.tile_block(args);
      }
    }
    for (std::size_t r = 0; r < n; ++r) {
      float* acc = s.accs.data() + (r * chunks + c) * p.d_v;
      if (s.states[r].fallback) {
        s.partials[r * chunks + c] =
            flash_chunk(rows[r], s.queries.data() + r * p.d, chunk_first, chunk_last, acc);
      } else {
        s.partials[r * chunks + c] = partial_of(s.states[r]);
        std::copy_n(s.acc.data() + r * p.d_v, p.d_v, acc);
      }
    }
  }
  for (std::size_t r = 0; r < n; ++r)
    flash_finish(rows[r], std::span<const flash_partial>(s.partials).subspan(r * chunks, chunks),
                 s.accs.data() + r * chunks * p.d_v);
}

template <class T>
void tile_rows(const simd::flash_passes& passes, const attention_problem<T>& p,
               const attention_options& options) {
  const std::size_t rows = p.q_heads * p.q_len;
  if (rows == 0) return;
  softmax_options thread_options;
  thread_options.threads = options.threads;
  const std::size_t threads =
      threads_for_rows(thread_options, rows, std::max<std::size_t>(1, p.kv_len * (p.d + p.d_v)));
  const std::size_t group = passes.tile_rows * tiles_per_group;
  for_row_blocks(rows, threads, [&](std::size_t first, std::size_t last) {
    // Kept by each thread from call to call: a prefill's packed K and V (2 MiB at 2048 keys and
    // d = 128) would otherwise be fresh pages, faulted in and zeroed by the system on every
    // call. Nothing carries over but the memory: the head is packed anew.
    thread_local tile_scratch scratch;
    scratch.head = std::size_t(-1);
    for (std::size_t index = first; index < last;) {
      // A group never spans two heads: its rows share K and V.
      const std::size_t head_last = std::min(last, (index / p.q_len + 1) * p.q_len);
      const std::size_t group_last = std::min(head_last, index + group);
      tile_group(passes, p, options, index, group_last, scratch);
      index = group_last;
    }
  });
}

template <class T>
void run(const attention_problem<T>& p, const attention_options& options) {
  const simd::flash_passes& passes = *simd::active_table<float>().flash;
  if (p.q_len >= passes.tile_rows)
    tile_rows(passes, p, options);
  else
    decode_rows(passes, p, options);
}

}  // namespace

void flash_vectorized(const attention_problem<float>& p, const attention_options& options) {
  run(p, options);
}
void flash_vectorized(const attention_problem<bfloat16>& p, const attention_options& options) {
  run(p, options);
}
void flash_vectorized(const attention_problem<float16>& p, const attention_options& options) {
  run(p, options);
}

}  // namespace softlab::detail
