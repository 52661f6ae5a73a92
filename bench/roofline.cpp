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

const roofline::loops& widest_loops() {
  static const roofline::loops loops = [] {
    switch (widest_isa()) {
      case softlab::isa::avx512:
        return roofline::avx512_loops();
      case softlab::isa::avx2:
        return roofline::avx2_loops();
      case softlab::isa::sse2:
        break;
    }
    return roofline::sse2_loops();
  }();
  return loops;
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
}

}  // namespace softlab::bench
