// bench/roofline.hpp: the roofline references, measured in the same run as the kernels so every
// softmax figure can be read as a multiple of what this machine's memory allows.
//
//   roofline/read/<n>     sum of n floats, vectorized (8 accumulators): one read pass
//   roofline/copy/<n>     y = x with plain vector stores (the CPU also reads y's lines before
//                         writing them: write-allocate)
//   roofline/copy_nt/<n>  y = x with non-temporal stores and a final sfence (no write-allocate;
//                         slower than plain stores while y fits in cache)
//   roofline/memcpy/<n>   std::memcpy (glibc picks its own loop; it goes non-temporal above a
//                         fraction of the last-level cache)
//   roofline/<read|copy_nt>/<n>/t:<t>  the same on t threads (1, 2), each one contiguous part of
//                         the arrays, started as softmax_rows starts its threads, in wall-clock
//                         time; at the element counts of the scores/ batches: the bandwidth the
//                         threaded softmax can reach
// float, at the lengths of softmax/float/*, with the same input and cold-run buffer rotation
// (buffers.hpp). bytes_per_second counts n floats read (read) or n read + n written (the copies),
// so GB/s shows the useful bandwidth. The loops are the widest this CPU runs: AVX2 when
// softlab::available_isas() has it, else SSE2 (roofline_isa_name(), in the JSON context).
//   roofline/fma_peak@<isa>/t:<t>  the arithmetic peak: 12 independent chains of vector
//                         multiply-adds (fused in AVX2 and AVX-512; SSE2: multiply then add) on
//                         every one of t threads, in registers; GFLOP/s (and items: flops); one
//                         per instruction set this CPU runs; the ceiling of attention's GFLOP/s
// A lower bound for a two-pass softmax is then the read time plus the faster copy's.
#pragma once

#include "plan.hpp"

#include <span>
#include <string_view>

namespace softlab::bench {

void register_roofline_benchmarks(run_mode mode);

/// "avx2" or "sse2": the instruction set of the roofline loops.
std::string_view roofline_isa_name();

/// The sum of x with the read loop of roofline/read (the widest ISA): a pass at read bandwidth,
/// for other references (attention's read_floor).
float read_floats(std::span<const float> x);

}  // namespace softlab::bench
