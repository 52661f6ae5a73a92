// bench/buffers.hpp: the inputs every benchmark reads and the buffers it writes.
//
// Inputs: one array per (element type, input set, length), generated once from a fixed seed
// (input_seed) and shared by every implementation measured on it. Values are drawn in double and
// rounded to T, so float and double runs see the same numbers.
//
// Cold runs: a benchmark repeats its call thousands of times; once its input and output fit in
// the last-level cache (LLC), every call after the first finds them there. That is the right
// measure in cache, and the wrong one out of it: a 16M-element softmax is run on data that comes
// from memory. So when one input + output pair takes at least the LLC (2 n sizeof(T) >= LLC),
// the benchmark rotates through enough pairs that together they take more than twice the LLC:
// each call starts on a pair the previous calls have evicted. Below that size one pair is used
// and the benchmark measures in-cache speed, as a caller that just produced its scores would see.
#pragma once

#include "machine.hpp"
#include "plan.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <numbers>
#include <numeric>
#include <random>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace softlab::bench {

/// The seed of every input (printed in the JSON context as input_seed).
inline constexpr std::uint64_t input_seed = 0x5eed50f7a11ab;

/// The input sets. uniform is the default; the others are data-dependent sets, because some
/// kernels slow down on special or tiny values (subnormal arithmetic, branches on -inf).
enum class input_set {
  uniform,         ///< uniform in [-10, 10]: scores of typical magnitude
  wide,            ///< uniform in [-80, 80]: exp(x - max) spans float's whole normal range
  near_underflow,  ///< one 0, the rest uniform in [L - 16, L + 8], L = floor(ln(smallest normal
                   ///< T)) (float: [-104, -80]): most exp(x - max) are subnormal or 0
  masked,          ///< half of the entries -inf (at random positions, so a kernel branching on
                   ///< -inf mispredicts), the rest uniform in [-10, 10]
};

inline constexpr input_set data_dependent_sets[] = {input_set::wide, input_set::near_underflow,
                                                    input_set::masked};

std::string_view input_set_name(input_set set);

/// A std::allocator that aligns to a cache line, so every buffer starts on one (vector loads
/// never split lines at the start, and non-temporal stores need 32-byte alignment).
template <class T>
struct cache_line_allocator {
  using value_type = T;
  static constexpr std::align_val_t alignment{64};
  cache_line_allocator() = default;
  template <class U>
  cache_line_allocator(const cache_line_allocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), alignment)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, alignment); }
  template <class U>
  bool operator==(const cache_line_allocator<U>&) const {
    return true;
  }
};

template <class T>
using aligned_vector = std::vector<T, cache_line_allocator<T>>;

namespace detail {

/// 53 random bits as a double in [0, 1). Not std::uniform_real_distribution, whose algorithm the
/// standard leaves open: with mt19937_64 and seed_seq (both fully specified) the inputs are the
/// same with every standard library.
inline double unit_interval(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1p-53;
}

template <class T>
aligned_vector<T> generate(input_set set, std::size_t n) {
  // One stream per (set, n), independent of the order benchmarks ask for them.
  std::seed_seq seed{static_cast<std::uint32_t>(input_seed),
                     static_cast<std::uint32_t>(input_seed >> 32), static_cast<std::uint32_t>(n),
                     static_cast<std::uint32_t>(std::uint64_t{n} >> 32),
                     static_cast<std::uint32_t>(set)};
  std::mt19937_64 rng(seed);
  auto uniform = [&](double low, double high) { return low + (high - low) * unit_interval(rng); };
  aligned_vector<T> x(n);
  switch (set) {
    case input_set::uniform:
      for (T& v : x) v = static_cast<T>(uniform(-10, 10));
      break;
    case input_set::wide:
      for (T& v : x) v = static_cast<T>(uniform(-80, 80));
      break;
    case input_set::near_underflow: {
      // exp(x - 0) over the band is below T's smallest normal for 16 of its 24 units: subnormal
      // results (or 0, for kernels that flush), the slow path of some exp implementations.
      const double log_min_normal =
          std::floor((std::numeric_limits<T>::min_exponent - 1) * std::numbers::ln2);
      for (T& v : x) v = static_cast<T>(uniform(log_min_normal - 16, log_min_normal + 8));
      if (n > 0) x[rng() % n] = T(0);  // the maximum, so x - max = x
      break;
    }
    case input_set::masked: {
      for (T& v : x) v = static_cast<T>(uniform(-10, 10));
      // Exactly n/2 positions, a random subset: the first n/2 of a partial Fisher-Yates shuffle.
      std::vector<std::size_t> positions(n);
      std::iota(positions.begin(), positions.end(), std::size_t{0});
      for (std::size_t i = 0; i < n / 2; ++i) {
        std::swap(positions[i], positions[i + rng() % (n - i)]);
        x[positions[i]] = -std::numeric_limits<T>::infinity();
      }
      break;
    }
  }
  return x;
}

}  // namespace detail

/// The n values of `set` in T: generated on first use, then kept for the whole run.
template <class T>
const aligned_vector<T>& shared_input(input_set set, std::size_t n) {
  // Benchmarks run one at a time on the main thread; nothing here is shared across threads.
  static std::map<std::pair<input_set, std::size_t>, std::unique_ptr<aligned_vector<T>>> inputs;
  auto& slot = inputs[{set, n}];
  if (!slot) slot = std::make_unique<aligned_vector<T>>(detail::generate<T>(set, n));
  return *slot;
}

/// How many input + output pairs a benchmark rotates through (see the top of this file).
std::size_t pairs_for_cold_runs(std::size_t pair_bytes, std::size_t llc_bytes);

/// The pairs one benchmark works on: pair 0 reads the shared input itself, the others read
/// copies of it; every output is a buffer of its own, zeroed (so its pages are mapped before
/// timing starts).
template <class T>
class rotating_buffers {
 public:
  rotating_buffers(input_set set, std::size_t n, std::size_t llc_bytes)
      : shared_(&shared_input<T>(set, n)) {
    const std::size_t pairs = pairs_for_cold_runs(2 * n * sizeof(T), llc_bytes);
    for (std::size_t pair = 1; pair < pairs; ++pair) copies_.push_back(*shared_);
    outputs_.resize(pairs, aligned_vector<T>(n));
  }

  std::size_t pairs() const { return outputs_.size(); }
  std::size_t next(std::size_t pair) const { return pair + 1 == pairs() ? 0 : pair + 1; }
  std::span<const T> input(std::size_t pair) const {
    return pair == 0 ? std::span<const T>(*shared_) : std::span<const T>(copies_[pair - 1]);
  }
  std::span<T> output(std::size_t pair) { return outputs_[pair]; }

 private:
  const aligned_vector<T>* shared_;
  std::vector<aligned_vector<T>> copies_;  ///< inputs of pairs 1, 2, ...
  std::vector<aligned_vector<T>> outputs_;
};

/// The buffers for (set, n) in T, with the pair count this machine's LLC needs. The last ones
/// asked for are kept (one per T), so the benchmarks of every implementation at one size, which
/// run one after the other unless interleaved, allocate them once; asking for another (set, n)
/// frees them first, so at most one set of large buffers per type is alive.
template <class T>
rotating_buffers<T>& buffers_for(input_set set, std::size_t n) {
  static std::unique_ptr<rotating_buffers<T>> current;
  static std::pair<input_set, std::size_t> current_key;
  if (!current || current_key != std::pair{set, n}) {
    current.reset();  // free the old buffers before the new ones are allocated
    current = std::make_unique<rotating_buffers<T>>(set, n, this_machine().llc_bytes);
    current_key = {set, n};
  }
  return *current;
}

}  // namespace softlab::bench
