// bench/roofline_loops.hpp: the roofline reference loops, written once over a vector type and
// instantiated per instruction set by roofline_sse2.cpp and roofline_avx2.cpp (each compiled
// with its own -m flags, like the library's kernels; the one the CPU runs is chosen at run time).
//
// Include only from those two files, each with its vector type in an unnamed namespace: every
// function here is then local to its translation unit, so the linker can never hand the SSE2
// path a copy compiled for AVX2. Nothing from the standard library is called for that reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace softlab::bench::roofline {

/// The reference loops of one instruction set, on float arrays of n elements.
struct loops {
  float (*read)(const float* x, std::size_t n);              ///< sum of x: a read-only pass
  void (*copy)(const float* x, float* y, std::size_t n);     ///< y = x with plain vector stores
  void (*copy_nt)(const float* x, float* y, std::size_t n);  ///< y = x with non-temporal stores
  /// `rounds` rounds of fma_chains independent multiply-adds on vectors of `width` floats
  /// (AVX2, AVX-512: fused; SSE2 has no FMA: a multiply and an add), 2 flops per lane each:
  /// the arithmetic peak. Returns a value of the chains, so nothing is optimized away.
  float (*fma_peak)(std::size_t rounds);
  std::size_t width;  ///< floats per vector
};

loops sse2_loops();
loops avx2_loops();    ///< only for a CPU with AVX2
loops avx512_loops();  ///< only for a CPU with AVX-512

// The generic loops. V is a vector type: width (floats), type, zero(), set1(f), load(p),
// add(a, b), fma(a, b, c) (a b + c), horizontal_sum(v), store(p, v), stream(p, v) (a
// non-temporal store; p aligned to the vector size), store_fence().

/// Independent accumulators of the read loop: enough adds in flight to hide their latency
/// (3-4 cycles, 2 per cycle on current x86), so the loop runs at the speed of its loads.
inline constexpr std::size_t read_accumulators = 8;
/// Vectors per iteration of the copy loops: loop overhead off the store port.
inline constexpr std::size_t copy_unroll = 4;

template <class V, std::size_t... K>
void accumulate(typename V::type (&sums)[sizeof...(K)], const float* x, std::index_sequence<K...>) {
  ((sums[K] = V::add(sums[K], V::load(x + K * V::width))), ...);
}

template <class V>
float sum_of(const float* x, std::size_t n) {
  typename V::type sums[read_accumulators];
  for (auto& s : sums) s = V::zero();
  constexpr std::size_t step = read_accumulators * V::width;
  std::size_t i = 0;
  for (; i + step <= n; i += step)
    accumulate<V>(sums, x + i, std::make_index_sequence<read_accumulators>{});
  for (; i + V::width <= n; i += V::width) sums[0] = V::add(sums[0], V::load(x + i));
  for (std::size_t k = 1; k < read_accumulators; ++k) sums[0] = V::add(sums[0], sums[k]);
  float total = V::horizontal_sum(sums[0]);
  for (; i < n; ++i) total += x[i];
  return total;
}

template <class V, bool non_temporal, std::size_t... K>
void copy_block(const float* x, float* y, std::index_sequence<K...>) {
  const typename V::type v[] = {V::load(x + K * V::width)...};
  if constexpr (non_temporal)
    (V::stream(y + K * V::width, v[K]), ...);
  else
    (V::store(y + K * V::width, v[K]), ...);
}

template <class V, bool non_temporal>
void copy_with(const float* x, float* y, std::size_t n) {
  std::size_t i = 0;
  if constexpr (non_temporal) {
    // Streaming stores need an aligned destination: scalar stores up to the first boundary.
    constexpr std::uintptr_t vector_bytes = V::width * sizeof(float);
    for (; i < n && reinterpret_cast<std::uintptr_t>(y + i) % vector_bytes != 0; ++i) y[i] = x[i];
  }
  constexpr std::size_t step = copy_unroll * V::width;
  for (; i + step <= n; i += step)
    copy_block<V, non_temporal>(x + i, y + i, std::make_index_sequence<copy_unroll>{});
  for (; i < n; ++i) y[i] = x[i];
  // Non-temporal stores are weakly ordered: fence them, as any real user of them must.
  if constexpr (non_temporal) V::store_fence();
}

/// Independent chains of the FMA peak loop: two FMA pipes times a latency of 4 cycles (Zen 3,
/// Ice Lake) need 8 in flight; 12 leave room for a latency of 5 or 6 (or SSE2's multiply then
/// add) and still fit the 16 registers of AVX2 with the two constants.
inline constexpr std::size_t fma_chains = 12;

template <class V, std::size_t... K>
float fma_rounds(std::size_t rounds, std::index_sequence<K...>) {
  typename V::type chains[] = {V::set1(1.0f + 0.01f * float(K))...};
  // c = c a + b converges to b / (1 - a) = 0.1: every value stays normal.
  const typename V::type a = V::set1(0.999999f), b = V::set1(1e-7f);
  for (std::size_t r = 0; r < rounds; ++r) ((chains[K] = V::fma(chains[K], a, b)), ...);
  typename V::type total = V::zero();
  ((total = V::add(total, chains[K])), ...);
  return V::horizontal_sum(total);
}

template <class V>
float fma_peak(std::size_t rounds) {
  return fma_rounds<V>(rounds, std::make_index_sequence<fma_chains>{});
}

template <class V>
loops loops_of() {
  return {.read = &sum_of<V>,
          .copy = &copy_with<V, false>,
          .copy_nt = &copy_with<V, true>,
          .fma_peak = &fma_peak<V>,
          .width = V::width};
}

}  // namespace softlab::bench::roofline
