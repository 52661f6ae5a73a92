// bench/timing.hpp: the one timing loop every benchmark uses (kernels and roofline references),
// and the counters it reports.
//
// Counters (JSON and console), per benchmark:
//   items_per_second    elements processed per second (Google Benchmark's own)
//   bytes_per_second    the bytes the operation must move at least: each array it reads or
//                       writes once (softmax: n sizeof(T) read + n sizeof(T) written; logsumexp
//                       and roofline/read: n sizeof(T) read). Extra passes of an algorithm and
//                       the write-allocate reads of plain stores are not counted, so this is
//                       the useful bandwidth, comparable across implementations.
//   ns_per_element      nanoseconds per element: Counter(n 1e-9, kIsIterationInvariantRate |
//                       kInvert), i.e. 1 / (n 1e-9 iterations / seconds)
//   cycles_per_element  the same in clock cycles at this_machine().cpu_mhz (Counter(n / Hz,
//                       ...)); omitted when the clock is unknown
// The JSON holds plain numbers. The console appends "s" to the last two (it marks every inverted
// rate so): "ns_per_element=0.5875s" is 0.5875 ns.
#pragma once

#include "buffers.hpp"
#include "machine.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>

namespace softlab::bench {

inline void report_throughput(benchmark::State& state, std::size_t elements,
                              std::size_t bytes_per_element) {
  const auto items = static_cast<std::int64_t>(elements) * state.iterations();
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(items * static_cast<std::int64_t>(bytes_per_element));
  const auto per_element =
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert;
  state.counters["ns_per_element"] =
      benchmark::Counter(static_cast<double>(elements) * 1e-9, per_element);
  if (const double mhz = this_machine().cpu_mhz; mhz > 0)
    state.counters["cycles_per_element"] =
        benchmark::Counter(static_cast<double>(elements) / (mhz * 1e6), per_element);
}

/// Times run(x, y) on the buffers of (set, elements) in T, rotating pairs when they are larger
/// than the last-level cache (buffers.hpp). `arrays` is how many of x and y the operation must
/// touch (1 or 2), for bytes_per_second. An exception from run reports the benchmark as an error
/// (error_occurred in the JSON) with its message, and the run goes on with the next benchmark.
template <class T, class Run>
void time_over_buffers(benchmark::State& state, input_set set, std::size_t elements,
                       std::size_t arrays, Run&& run) {
  rotating_buffers<T>& buffers = buffers_for<T>(set, elements);
  try {
    // One untimed call per pair, pair 0 last: a peer's per-size setup (oneDNN primitive,
    // XNNPACK operator) and every first-touch cost stay out of the measurement. Zeroed outputs
    // are not enough: on this project's Zen 5 VM a 32 MiB output first written in a timed call
    // made that repetition of bf16 softmax at 2^24 about 10x slower (zero-filled pages left
    // unbacked until written, as a VM host may), and with random interleaving, which rebuilds
    // the buffers for every repetition, every repetition. The timed calls start on pair 1, which
    // pair 0 has evicted.
    std::size_t pair = 0;
    for (std::size_t warm = buffers.pairs(); warm-- > 0;)
      run(buffers.input(warm), buffers.output(warm));
    for (auto _ : state) {
      pair = buffers.next(pair);
      run(buffers.input(pair), buffers.output(pair));
      benchmark::ClobberMemory();
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  report_throughput(state, elements, arrays * sizeof(T));
}

}  // namespace softlab::bench
