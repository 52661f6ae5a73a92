// bench/attention_benchmarks.hpp: the attention benchmarks, registered at run time from an
// attention registry (softlab's builtin_attention_registry() plus, when built, the attention
// peers), with the decode read floor beside them.
//
// Names (bench/plan.hpp's attention_shapes):
//   attention/<type>/<impl>/prefill/<heads>x<q_len>x<kv_len>x<d>[/causal]/t:<threads>
//   attention/<type>/<impl>/decode/<heads>x<kv_len>x<d>/t:<threads>
//   attention/<type>/read_floor/decode/<heads>x<kv_len>x<d>/t:<threads>
// <type>: float, bf16, f16. <impl>: the registry name; an entry with per-ISA kernels
// (attention_kernel::isas) once per instruction set this CPU runs, as <name>@<isa>, with
// softlab::force_isa before timing; scalar entries and peers (isas 0) without @<isa>. Measured:
// every entry except `accurate` (double arithmetic: the tests' and the study's reference, not a
// contender) and, of the materialized:<softmax> entries, the vectorized default and the scalar
// baseline only (materialized:fast, materialized:stable): the other softmaxes are compared in
// the softmax benchmarks, and each costs minutes here. Peers honor threads (their own pools at
// that count). t:2 (and every threaded reference) is timed in wall-clock time (UseRealTime:
// Google Benchmark appends /real_time).
//
// Counters: items_per_second = kept scores per second (a causal prefill keeps heads L (L + 1) / 2
// of heads L^2), GFLOP/s = 4 d flops per kept score (2 d for q.k, 2 d for p v; masked scores
// count nothing, whatever an implementation spends on them), bytes_per_second = Q, K, V read and
// O written once (decode: essentially K and V). read_floor reads exactly the bytes of K and V
// with roofline/read's loop (split over t threads as roofline/read/<n>/t:<t>) and reports the
// GFLOP/s decode would reach at that speed: decode's memory roofline. roofline/fma_peak@<isa>
// (roofline.hpp) is the arithmetic one.
//
// Inputs: Q, K, V uniform in [-1, 1] from input_seed, one set per (type, shape), made when its
// first benchmark runs and freed when another shape's runs (decode 8x131072x128 float: 1 GiB of
// K and V). Not rotated: prefill works in cache as a caller that just produced Q, K, V would;
// decode's K and V (32 MiB and up) are beyond the last-level cache anyway.
#pragma once

#include "plan.hpp"

#include <softlab/attention_registry.hpp>

namespace softlab::bench {

/// Registers the attention/ benchmarks and, per <impl> segment, the JSON context key
/// "softlab_impl:<impl>" (origin, isa), as the softmax benchmarks do.
void register_attention_benchmarks(const softlab::attention_registry& registry, run_mode mode);

}  // namespace softlab::bench
