// bench/passes.cpp: registration of the passes/ microbenchmarks (passes.hpp), and the
// ISA-neutral half of pass 1 (the fold of each block's sum into the running one, as
// impl/src/fast.cpp does it).
#include "passes.hpp"

#include "passes_table.hpp"
#include "timing.hpp"

#include <softlab/detail/float_blocks.hpp>
#include <softlab/simd/isa.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace softlab::bench {
namespace {

using passes::block_sum;
using passes::loops;

loops loops_of(softlab::isa which) {
  switch (which) {
    case softlab::isa::avx512:
      return passes::avx512::float_loops();
    case softlab::isa::avx2:
      return passes::avx2::float_loops();
    case softlab::isa::sse2:
      break;
  }
  return passes::sse2::float_loops();
}

/// The running sum's fold of fast.cpp (online_max_and_sum): the old sum brought to the new
/// block's pivot by 2^(j_old - j_new), exactly, then Knuth's two-sum.
void fold(block_sum& sum, const block_sum& block) {
  const int rescale = sum.pivot - block.pivot;
  const auto hi = softlab::detail::two_sum(std::ldexp(sum.hi, rescale), block.hi);
  sum.lo = std::ldexp(sum.lo, rescale) + (hi.error + block.lo);
  sum.hi = hi.value;
  sum.pivot = block.pivot;
}

/// Pass 1 as fast.cpp runs it (the input is ordinary: no limit checks): per block the block's
/// max, then its sum against the running max, by block_loop(x, max, count).
template <class BlockLoop>
block_sum pass1(const loops& l, std::span<const float> x, std::size_t block,
                BlockLoop&& block_loop) {
  float max = -softlab::detail::infinity<float>();
  block_sum sum;
  for (std::size_t start = 0; start < x.size(); start += block) {
    const std::size_t count = std::min(block, x.size() - start);
    max = std::max(max, l.max(x.data() + start, count));
    fold(sum, block_loop(x.data() + start, max, count));
  }
  return sum;
}

/// The max and the reciprocal pair (hi, lo) of row x, as pass 2 gets them (fast.cpp's
/// reciprocal for float), computed once per length with the shipped pass 1.
struct pass2_arguments {
  float max = 0, hi = 0, lo = 0;
};
const pass2_arguments& arguments_for(const loops& l, std::size_t n) {
  static std::map<std::size_t, pass2_arguments> known;
  auto [slot, inserted] = known.try_emplace(n);
  if (inserted) {
    const std::span<const float> x = shared_input<float>(input_set::uniform, n);
    const block_sum s = pass1(l, x, 2048, l.shipped_block_sum);
    slot->second.max = l.max(x.data(), x.size());
    const double inverse = 1.0 / (s.hi + s.lo);
    slot->second.hi = float(inverse);
    slot->second.lo = float(inverse - double(slot->second.hi));
  }
  return slot->second;
}

/// The parts joined: a string of appends, not of operator+ (GCC 12's -O3 reports a false
/// -Wrestrict in the chains' inlined insert, its bug 105651).
std::string joined(std::initializer_list<std::string_view> parts) {
  std::string name;
  for (const std::string_view part : parts) name += part;
  return name;
}

template <class Run>
void add(const std::string& name, std::size_t n, std::size_t arrays, Run run) {
  benchmark::RegisterBenchmark(name.c_str(), [n, arrays, run](benchmark::State& state) {
    time_over_buffers<float>(state, input_set::uniform, n, arrays, run);
  });
}

void keep(const block_sum& s) {
  benchmark::DoNotOptimize(s.hi);
  benchmark::DoNotOptimize(s.lo);
}

/// L1 (x: 16 KiB), L2 (128 KiB), L3 (4 MiB) and memory (64 MiB, rotated: buffers.hpp).
constexpr std::size_t lengths[] = {4096, 32768, std::size_t{1} << 20, std::size_t{1} << 24};
constexpr std::size_t largest = std::size_t{1} << 24;
/// fast.cpp's block, and the sweep around it (4 KiB to 256 KiB of floats; L1 holds 32-48 KiB).
constexpr std::size_t shipped_block = 2048;
constexpr std::size_t blocks[] = {1024, 2048, 4096, 8192, 16384, 32768, 65536};

void register_for(softlab::isa which) {
  const loops l = loops_of(which);
  const std::string prefix = joined({"passes/", softlab::isa_name(which), "/"});
  for (const std::size_t n : lengths) {
    const std::string size = joined({"/", std::to_string(n)});
    add(joined({prefix, "max", size}), n, 1, [l](std::span<const float> x, std::span<float>) {
      benchmark::DoNotOptimize(l.max(x.data(), x.size()));
    });
    for (const bool with_exp : {true, false}) {
      const std::string op = with_exp ? "exp" : "mul";
      const auto sum = with_exp ? l.exp_sum : l.mul_sum;
      for (const std::size_t ahead : {std::size_t{0}, shipped_block * sizeof(float)})
        add(joined({prefix, "sum/", op, "/p", std::to_string(ahead), size}), n, 1,
            [sum, ahead](std::span<const float> x, std::span<float>) {
              keep(sum(x.data(), 10.0f, x.size(), ahead));
            });
      // The block sweep where it matters, out of cache; in cache, the shipped block only.
      for (const std::size_t block : blocks) {
        if (block > n || ((n != largest || !with_exp) && block != shipped_block)) continue;
        for (const std::size_t blocks_ahead : {0, 1, 2}) {
          const std::size_t ahead = blocks_ahead * block * sizeof(float);
          add(joined({prefix, "pass1/", op, "/b", std::to_string(block), "/p",
                      std::to_string(ahead), size}),
              n, 1, [l, sum, block, ahead](std::span<const float> x, std::span<float>) {
                keep(pass1(l, x, block, [&](const float* at, float m, std::size_t count) {
                  return sum(at, m, count, ahead);
                }));
              });
        }
      }
      for (const bool stream : {true, false})
        for (const std::size_t ahead : {std::size_t{0}, shipped_block * sizeof(float)}) {
          const auto write = with_exp ? l.exp_write : l.mul_write;
          add(joined({prefix, "pass2/", op, stream ? "/nt" : "/plain", "/p", std::to_string(ahead),
                      size}),
              n, 2, [l, write, stream, ahead, n](std::span<const float> x, std::span<float> y) {
                const pass2_arguments& a = arguments_for(l, n);
                write(x.data(), a.max, a.hi, a.lo, y.data(), x.size(), stream, ahead);
              });
        }
    }
    add(joined({prefix, "pass1/shipped", size}), n, 1,
        [l](std::span<const float> x, std::span<float>) {
          keep(pass1(l, x, shipped_block, l.shipped_block_sum));
        });
    add(joined({prefix, "pass2/shipped", size}), n, 2,
        [l, n](std::span<const float> x, std::span<float> y) {
          const pass2_arguments& a = arguments_for(l, n);
          l.shipped_write(x.data(), a.max, a.hi, a.lo, y.data(), x.size());
        });
  }
}

}  // namespace

void register_pass_benchmarks() {
  for (const softlab::isa which : softlab::available_isas()) register_for(which);
}

}  // namespace softlab::bench
