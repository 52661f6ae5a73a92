// parallel.cpp: the worker pool.
#include <softlab_accuracy/parallel.hpp>

namespace softlab::accuracy {

unsigned thread_count(unsigned requested) {
  if (requested > 0) return requested;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? cores : 1;
}

worker_pool::worker_pool(unsigned threads, std::function<void()> on_start,
                         std::function<void()> on_exit)
    : on_start_(std::move(on_start)), on_exit_(std::move(on_exit)) {
  const unsigned total = thread_count(threads);
  for (unsigned i = 1; i < total; ++i) workers_.emplace_back([this] { work(); });
}

worker_pool::~worker_pool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void worker_pool::take_items() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (job_ != nullptr && next_ < count_) {
    const std::size_t item = next_++;
    const auto* job = job_;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*job)(item);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !error_) error_ = error;
    if (++finished_ == count_) done_.notify_all();
  }
}

void worker_pool::work() {
  if (on_start_) on_start_();
  unsigned long seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) break;
      seen = generation_;
    }
    take_items();
  }
  if (on_exit_) on_exit_();
}

void worker_pool::run(std::size_t count, const std::function<void(std::size_t)>& f) {
  if (count == 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &f;
    count_ = count;
    next_ = 0;
    finished_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  if (count > 1) wake_.notify_all();
  take_items();
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return finished_ == count_; });
    job_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace softlab::accuracy
