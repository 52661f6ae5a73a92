// softlab/options.hpp: the one options argument of softmax, log_softmax, logsumexp and
// softmax_rows, and the thread counts its `threads` field defaults to.
//
//   softlab::softmax_rows<softlab::fast>(x, rows, cols, cols, y, cols, {.threads = 4});
//
// Every field is optional, and an unset field leaves the call exactly as the overload without
// options computes it, so a default-constructed softmax_options is the same as no options. The
// fields that change what is computed (a scale applied to the scores, an additive or boolean
// mask, a causal offset) are meant to join this struct rather than new overloads; `threads`
// changes only how the work is spread, never a bit of the result.
#pragma once

#include <cstddef>
#include <optional>

namespace softlab {

struct softmax_options {
  /// The threads softmax_rows may split its rows across; unset: default_threads(); 0:
  /// std::invalid_argument naming the value, checked before anything is written. Rows are
  /// dealt to threads in contiguous blocks (OpenMP's static schedule, GCC's libgomp) and each
  /// row is computed, whole, by the code one thread would run on it, so the output is the same
  /// bits for every thread count. Work too small to pay for waking threads (rows * cols below
  /// a measured threshold per thread, see impl/src/threads.cpp) runs on the calling thread. A
  /// single row (softmax, log_softmax, logsumexp) always runs on the calling thread.
  std::optional<std::size_t> threads;
};

/// The CPUs this process may use: the size of its affinity mask (sched_getaffinity), capped by
/// the CPU quota of its cgroup (v2 cpu.max "quota period", v1 cpu.cfs_quota_us and
/// cpu.cfs_period_us; ceil(quota / period); no quota: no cap), at least 1. A container limited
/// to 2 CPUs on a 64-core host gets 2: more threads than that would only take turns.
std::size_t available_cpus();

/// The thread count softmax_rows uses when softmax_options::threads is unset: the environment
/// variable SOFTLAB_THREADS when set (a positive decimal integer; anything else, "" included, is
/// std::invalid_argument naming the variable and its value), otherwise available_cpus(). Read
/// on every call, so a program may change it between calls.
std::size_t default_threads();

}  // namespace softlab
