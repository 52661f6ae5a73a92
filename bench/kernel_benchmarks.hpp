// bench/kernel_benchmarks.hpp: the benchmarks of every implementation in a registry, registered
// at run time (benchmark::RegisterBenchmark in loops), for every benchmarked type and size.
//
// Names (a --benchmark_filter regex selects a slice):
//   softmax/<type>/<impl>/<n>                   y = softmax(x), x uniform in [-10, 10]
//   log_softmax/<type>/<impl>/<n>               y = log_softmax(x)
//   logsumexp/<type>/<impl>/<n>                 logsumexp(x)
//   pairwise_attention/<type>/<impl>/<n>        w = softmax(0.5 * keys)
//   rows/<type>/<impl>/<rows>x<cols>            one softmax per row of a row-major batch
//   scores/<type>/<impl>/<rows>x<cols>/t:<t>    attention's score rows (16384x512, 1024x4096),
//                                               softmax_rows on t threads (1, 2), wall-clock
//                                               time; peers at t:1 only
//   softmax_inputs/<set>/<type>/<impl>/<n>      softmax on a data-dependent input set: wide,
//                                               near_underflow, masked (buffers.hpp)
// <type> is softlab's type token (float, double, long-double, bin50). <impl> is the registry
// name; a vectorized softlab kernel is measured once per instruction set this CPU runs, as
// <name>@<isa> (xsimd@sse2, xsimd@avx2), with softlab::force_isa before timing. Peers are
// registry entries like any other (torch, onednn, xnnpack); an entry point that is nullptr or
// throws std::logic_error (xnnpack's log_softmax) is not registered for that operation.
#pragma once

#include "plan.hpp"

#include <softlab/registry.hpp>

#include <span>
#include <string>
#include <vector>

namespace softlab::bench {

/// A float softmax measured beside the registry's entries but not one of them (e.g. torch's
/// allocating call, softlab_peers' allocating_softmax_variants()), under its own <impl> name.
struct extra_float_softmax {
  std::string name;
  std::string variant_of;  ///< the registry entry whose library it calls (its origin is that one's)
  void (*softmax)(std::span<const float> x, std::span<float> y) = nullptr;
};

/// Registers the benchmarks and adds to the JSON's context, for each <impl> segment, the
/// key "softlab_impl:<impl>" with "origin=<softlab or the peer's library and version>;isa=<the
/// forced ISA, - for scalar code, native for a peer's own dispatch>" and, for an extra,
/// ";variant_of=<registry entry>"; and "softlab_types": "<type>:<precision bits>,...". The
/// report reads these facts instead of keeping lists of names.
void register_kernel_benchmarks(const softlab::registry& registry,
                                std::span<const extra_float_softmax> extras, run_mode mode);

}  // namespace softlab::bench
