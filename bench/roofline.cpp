// bench/roofline.cpp: registration of the roofline references, one loop over references and
// lengths, with the loops of the widest instruction set this CPU runs.
#include "roofline.hpp"

#include "roofline_loops.hpp"
#include "timing.hpp"

#include <softlab/detail/rows.hpp>
#include <softlab/simd/isa.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <string>

namespace softlab::bench {
namespace {

softlab::isa widest_isa() { return softlab::available_isas().back(); }

/// The loops of one instruction set (call only for one the CPU runs).
const roofline::loops& loops_for(softlab::isa which) {
  static const roofline::loops sse2 = roofline::sse2_loops();
  switch (which) {
    case softlab::isa::avx512: {
      static const roofline::loops avx512 = roofline::avx512_loops();
      return avx512;
    }
    case softlab::isa::avx2: {
      static const roofline::loops avx2 = roofline::avx2_loops();
      return avx2;
    }
    case softlab::isa::sse2:
      break;
  }
  return sse2;
}

const roofline::loops& widest_loops() { return loops_for(widest_isa()); }

/// Rounds of the FMA chains per call: 12 chains x 8 lanes x 2 flops x 2^16 = 12.6 MFLOP in AVX2,
/// about 0.4 ms on one Zen 3 core; 64 in --smoke.
std::size_t fma_rounds(run_mode mode) { return mode == run_mode::smoke ? 64 : 65536; }

/// roofline/fma_peak@<isa>/t:<threads>: every thread runs the chains; GFLOP/s counts them all.
void register_fma_peaks(run_mode mode) {
  for (const softlab::isa which : softlab::available_isas())
    for (const std::size_t threads : score_threads) {
      const std::string name = "roofline/fma_peak@" + std::string(softlab::isa_name(which)) +
                               "/t:" + std::to_string(threads);
      const std::size_t rounds = fma_rounds(mode);
      auto* b = benchmark::RegisterBenchmark(
          name.c_str(), [which, threads, rounds](benchmark::State& state) {
            const roofline::loops& loops = loops_for(which);
            for (auto _ : state)
              softlab::detail::for_row_blocks(threads, threads,
                                              [&](std::size_t first, std::size_t last) {
                                                for (std::size_t t = first; t < last; ++t) {
                                                  const float chains = loops.fma_peak(rounds);
                                                  benchmark::DoNotOptimize(chains);
                                                }
                                              });
            const std::size_t flops = 2 * roofline::fma_chains * loops.width * rounds * threads;
            report_throughput(state, flops, 0);  // items: flops; no memory
            state.counters["GFLOP/s"] = benchmark::Counter(
                static_cast<double>(flops) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
          });
      if (threads > 1) b->UseRealTime();
    }
}

struct reference {
  std::string_view name;
  std::size_t arrays;  ///< 1: reads x; 2: reads x and writes y
  void (*run)(std::span<const float> x, std::span<float> y);
};

constexpr reference references[] = {
    {"read", 1,
     [](std::span<const float> x, std::span<float>) {
       const float sum = widest_loops().read(x.data(), x.size());
       benchmark::DoNotOptimize(sum);
     }},
    {"copy", 2,
     [](std::span<const float> x, std::span<float> y) {
       widest_loops().copy(x.data(), y.data(), x.size());
     }},
    {"copy_nt", 2,
     [](std::span<const float> x, std::span<float> y) {
       widest_loops().copy_nt(x.data(), y.data(), x.size());
     }},
    {"memcpy", 2,
     [](std::span<const float> x, std::span<float> y) {
       std::memcpy(y.data(), x.data(), x.size_bytes());
     }},
};

}  // namespace

std::string_view roofline_isa_name() { return softlab::isa_name(widest_isa()); }

float read_floats(std::span<const float> x) { return widest_loops().read(x.data(), x.size()); }

void register_roofline_benchmarks(run_mode mode) {
  for (const shape& s : vector_shapes(mode))  // length outer: consecutive runs share buffers
    for (const reference& ref : references) {
      const std::string name = "roofline/" + std::string(ref.name) + "/" + s.label();
      benchmark::RegisterBenchmark(name.c_str(), [ref, s](benchmark::State& state) {
        time_over_buffers<float>(state, input_set::uniform, s.elements(), ref.arrays, ref.run);
      });
    }
  // The threaded references, at the element counts of the scores/ batches.
  for (const shape& s : score_shapes(mode))
    for (const std::size_t threads : score_threads)
      for (const reference& ref : references) {
        if (ref.name != "read" && ref.name != "copy_nt") continue;
        const std::size_t n = s.elements();
        const std::string name = "roofline/" + std::string(ref.name) + "/" + std::to_string(n) +
                                 "/t:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), [ref, n, threads](benchmark::State& state) {
          time_over_buffers<float>(
              state, input_set::uniform, n, ref.arrays,
              [&](std::span<const float> x, std::span<float> y) {
                // Part p of `threads` consecutive parts, each a multiple of a cache line.
                const auto part_start = [&](std::size_t p) { return n * p / threads / 16 * 16; };
                softlab::detail::for_row_blocks(
                    threads, threads, [&](std::size_t first, std::size_t last) {
                      for (std::size_t p = first; p < last; ++p) {
                        const std::size_t start = part_start(p);
                        const std::size_t count =
                            (p + 1 == threads ? n : part_start(p + 1)) - start;
                        ref.run(x.subspan(start, count), y.subspan(start, count));
                      }
                    });
              });
        })->UseRealTime();
      }
  register_fma_peaks(mode);
}

}  // namespace softlab::bench
