// softlab_accuracy/parallel.hpp: a fixed set of worker threads that share numbered work items.
//
// The study spends its time in MPFR (the exact reference and the metrics), so it spreads work
// over every core. The threads live as long as the pool: per-thread state (MPFR's constant
// caches, the peers' per-thread primitives) is built once, not once per parallel loop.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace softlab::accuracy {

class worker_pool {
 public:
  /// `threads` threads in all, the caller of run() included (0: one per core). Each of the
  /// threads the pool starts calls on_start first and on_exit last; the caller does not.
  explicit worker_pool(unsigned threads = 0, std::function<void()> on_start = {},
                       std::function<void()> on_exit = {});
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Threads that take part in run(), the caller included.
  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Calls f(item) for every item in [0, count), on the pool's threads and the caller's, and
  /// returns when all are done. The first exception thrown by f is rethrown here (the other
  /// items still run). Not reentrant: f must not call run().
  void run(std::size_t count, const std::function<void(std::size_t)>& f);

 private:
  void work();
  void take_items();

  std::vector<std::thread> workers_;
  std::function<void()> on_start_, on_exit_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t count_ = 0;
  std::size_t next_ = 0;      // next item to hand out (under mutex_)
  std::size_t finished_ = 0;  // items done (under mutex_)
  unsigned long generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

/// The number of threads to use for `requested` (0: std::thread::hardware_concurrency, at least 1).
unsigned thread_count(unsigned requested);

}  // namespace softlab::accuracy
