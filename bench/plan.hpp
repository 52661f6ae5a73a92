// bench/plan.hpp: what a run of softlab-bench measures: the element types, the sizes, the row
// shapes and the input sets, for each mode (full, --quick, --smoke).
#pragma once

#include <softlab/types.hpp>

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace softlab::bench {

/// full: every size (the default). quick: n = 16, 4096, 1M and a short --benchmark_min_time,
/// for CI runs in seconds. smoke: n = 16 and rows 2x16 only, one iteration each, for the CTest
/// smoke test that runs every family once.
enum class run_mode { full, quick, smoke };

std::string_view run_mode_name(run_mode mode);

/// The element types measured. fp16sim and bf16sim are left out (simulated in double, a
/// rounding per operation: they measure the simulation, not an algorithm), and so is bin100
/// (bin50 already shows what multiprecision costs).
using benchmarked_types = softlab::type_list<float, double, long double, softlab::bin50>;

/// The largest element count measured for T, to keep a run short: long double up to 1M (x87
/// arithmetic: stable softmax takes ~7x double's time here), bin50 up to 1024 (~800x double's).
template <class T>
inline constexpr std::size_t max_elements = std::numeric_limits<std::size_t>::max();
template <>
inline constexpr std::size_t max_elements<long double> = std::size_t{1} << 20;
template <>
inline constexpr std::size_t max_elements<softlab::bin50> = 1024;

/// What one benchmark computes on: one vector of `cols` elements (rows == 1; its name segment is
/// "<cols>"), or a batch of rows, one softmax per row (its name segment is "<rows>x<cols>").
struct shape {
  std::size_t rows = 1;
  std::size_t cols = 0;
  std::size_t elements() const { return rows * cols; }
  std::string label() const;
};

/// Lengths of the one-vector benchmarks, ascending: powers of 4 from 16 to 16M (the last two
/// out of any last-level cache in float), plus the lengths attention meets: 77 (CLIP's text
/// context), 128, 1000 (ImageNet classes), 32000 and 128000 (LLM vocabularies).
std::vector<shape> vector_shapes(run_mode mode);

/// The batches of the rows/ benchmarks: short rows in many heads (4096x77), a classifier batch
/// (64x1000), vocabulary rows (16x32000) and a small one bin50 can afford (8x128).
std::vector<shape> row_shapes(run_mode mode);

/// The batches of the scores/ benchmarks, attention's score rows: 32 heads x 512 queries of 512
/// keys (16384x512) and a long context, 1024 queries of 4096 keys (1024x4096); both out of any
/// last-level cache in float. --quick: 256x4096 (1M elements); --smoke: 4x16384, the smallest
/// batch that 2 threads split.
std::vector<shape> score_shapes(run_mode mode);

/// The thread counts of the scores/ benchmarks and the threaded roofline references.
inline constexpr std::size_t score_threads[] = {1, 2};

/// One attention problem of the attention/ benchmarks: prefill (q_len queries over kv_len keys,
/// optionally causal: query r keeps keys j <= r) or decode (one query per head over kv_len
/// keys, no mask), heads query heads on as many K/V heads, d = d_v; run at each of `threads`.
struct attention_shape {
  bool decode = false;
  std::size_t heads = 1, q_len = 1, kv_len = 1, d = 1;
  bool causal = false;
  std::vector<std::size_t> threads;
  /// "prefill/8x512x512x64", "prefill/8x512x512x64/causal", "decode/8x4096x128".
  std::string label() const;
  /// The scores a query keeps, summed over heads and queries: attention's work (4 d flops each:
  /// 2 d for q.k, 2 d for p v).
  std::size_t kept_scores() const;
};

/// Prefill 8x512x512x64, 8x2048x2048x128 (t:1, t:2) and 1x2048x2048x128 (t:1: the one-thread
/// target), each also causal; decode at kv_len 4096, 32768, 131072 with 8 heads and d = 128
/// (t:1, t:2). --quick: prefill 8x512x512x64 and decode 8x4096x128; --smoke: prefill 2x16x16x8
/// and decode 2x64x8.
std::vector<attention_shape> attention_shapes(run_mode mode);

/// Lengths of the softmax_inputs/ benchmarks (the data-dependent input sets): one in cache, one
/// out of L2, enough to show a slow path without multiplying the run time.
std::vector<shape> input_set_shapes(run_mode mode);

}  // namespace softlab::bench
