// threads.cpp: the thread counts (available_cpus, default_threads) and the one OpenMP region
// that spreads the rows of a batch across threads (detail::run_row_blocks), in phases
// separated by barriers where a pass needs the previous one's results (detail::run_row_phases).
//
// OpenMP here is GCC's runtime, libgomp, with g++ and with clang++ (-fopenmp=libgomp,
// cmake/SoftlabOpenMP.cmake): libtorch and oneDNN, which share processes with softlab, run on
// libgomp, and a second OpenMP runtime in the same process would keep a second set of threads
// spinning against the first. omp.h is not included: clang's copy belongs to LLVM's runtime
// (libomp's package); the few libgomp functions used are declared below.
//
// min_elements_per_thread (softlab/detail/rows.hpp), measured on the 2-core Zen 3 development
// machine while other builds kept it busy (load 7-10): softlab::fast, float, rows of 512, 1
// thread against 2, the minimum of 2000 calls back to back (the pool's threads still spinning
// from the previous call) and of 300 calls 3 ms apart (the threads asleep, woken by the OS).
//   elements            4K     8K     16K    32K    64K    256K
//   back to back        0.99x  1.38x  1.62x  1.78x  1.88x  1.95x   (1 thread: 2.3 us at 4K)
//   woken from sleep    0.62x  0.85x  1.37x  1.44x  1.72x  1.92x
// 16K elements a thread: a batch is split from 32K elements on, where both gain at least 1.4x.
// On a loaded machine the median woken call takes milliseconds, the second thread waiting for a
// core behind other processes: a caller that cannot wait sets SOFTLAB_THREADS=1.
#include "cpu_quota.hpp"

#include <softlab/detail/rows.hpp>
#include <softlab/options.hpp>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cfenv>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

// libgomp's interface (omp.h is not included, see above): the OpenMP API's thread numbers, and
// GOMP_parallel, the libgomp entry point (GOMP_4.0) that g++ compiles `#pragma omp parallel`
// to: the caller runs fn(data) as thread 0 and the pool's threads as the others, and it returns
// when all have.
extern "C" {
int omp_get_thread_num() noexcept;
int omp_get_num_threads() noexcept;
void GOMP_parallel(void (*fn)(void* data), void* data, unsigned num_threads, unsigned flags);
// What g++ compiles `#pragma omp barrier` to: every thread of the region waits for the others.
void GOMP_barrier() noexcept;
}

namespace softlab {
namespace detail {
namespace {

/// A decimal integer >= 1 that fits, the whole text (surrounding whitespace allowed, as the
/// cgroup files end in a newline); empty otherwise.
std::optional<std::size_t> positive_integer(std::string_view text) {
  const auto not_space = [](char c) { return c != ' ' && c != '\t' && c != '\n'; };
  const auto first = std::find_if(text.begin(), text.end(), not_space);
  const auto last = std::find_if(text.rbegin(), text.rend(), not_space).base();
  if (first >= last) return std::nullopt;
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(&*first, &*first + (last - first), value);
  if (error != std::errc() || end != &*first + (last - first) || value == 0) return std::nullopt;
  return value;
}

std::optional<std::size_t> ceil_ratio(std::optional<std::size_t> quota,
                                      std::optional<std::size_t> period) {
  if (!quota || !period) return std::nullopt;
  return std::max<std::size_t>(1, (*quota + *period - 1) / *period);
}

/// The whole file, or empty when it cannot be read.
std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<std::size_t> smaller(std::optional<std::size_t> a, std::optional<std::size_t> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

/// The smallest limit(dir) over mount/path and its ancestors up to mount; mount alone when
/// mount/path does not exist.
template <class Limit>
std::optional<std::size_t> smallest_up_to(const std::filesystem::path& mount, std::string_view path,
                                          Limit limit) {
  std::error_code error;
  std::filesystem::path dir = mount / std::filesystem::path(path).relative_path();
  if (!std::filesystem::is_directory(dir, error)) dir = mount;
  std::optional<std::size_t> result;
  for (;;) {
    result = smaller(result, limit(dir));
    if (dir == mount || !dir.has_relative_path() || dir.parent_path() == dir) break;
    dir = dir.parent_path();
  }
  return result;
}

/// SOFTLAB_THREADS parsed; empty when unset.
std::optional<std::size_t> threads_from_environment() {
  const char* value = std::getenv("SOFTLAB_THREADS");
  if (value == nullptr) return std::nullopt;
  const std::string_view text(value);
  std::size_t threads = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), threads);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || threads == 0)
    throw std::invalid_argument("SOFTLAB_THREADS=\"" + std::string(text) +
                                "\" is not a positive integer");
  return threads;
}

}  // namespace

std::optional<std::size_t> cpus_of_cpu_max(std::string_view text) {
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  return ceil_ratio(positive_integer(text.substr(0, space)),
                    positive_integer(text.substr(space + 1)));
}

std::optional<std::size_t> cpus_of_cfs_quota(std::string_view quota, std::string_view period) {
  return ceil_ratio(positive_integer(quota), positive_integer(period));
}

std::optional<std::size_t> cgroup_cpu_limit(std::string_view self_cgroup,
                                            const std::filesystem::path& root) {
  std::optional<std::size_t> result;
  std::istringstream lines{std::string(self_cgroup)};
  for (std::string line; std::getline(lines, line);) {
    // hierarchy-id:controller-list:path
    const std::size_t first = line.find(':');
    const std::size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string id = line.substr(0, first);
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (id == "0" && controllers.empty()) {
      result = smaller(result, smallest_up_to(root, path, [](const std::filesystem::path& dir) {
                         const auto text = read_text(dir / "cpu.max");
                         return text ? cpus_of_cpu_max(*text) : std::nullopt;
                       }));
      continue;
    }
    bool has_cpu = false;
    std::istringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');) has_cpu = has_cpu || name == "cpu";
    if (!has_cpu) continue;
    for (const char* mount_name : {"cpu,cpuacct", "cpuacct,cpu", "cpu"}) {
      std::error_code error;
      const std::filesystem::path mount = root / mount_name;
      if (!std::filesystem::is_directory(mount, error)) continue;
      result = smaller(result, smallest_up_to(mount, path, [](const std::filesystem::path& dir) {
                         const auto quota = read_text(dir / "cpu.cfs_quota_us");
                         const auto period = read_text(dir / "cpu.cfs_period_us");
                         return quota && period ? cpus_of_cfs_quota(*quota, *period) : std::nullopt;
                       }));
      break;
    }
  }
  return result;
}

void check_options(const char* function, const softmax_options& options) {
  if (options.threads && *options.threads == 0)
    throw std::invalid_argument(std::string("softlab::") + function +
                                ": softmax_options::threads is 0; it must be at least 1 (or unset "
                                "for softlab::default_threads())");
}

std::size_t threads_for_rows(const softmax_options& options, std::size_t rows, std::size_t cols) {
  // The environment is read even when the batch is too small for threads, so a bad
  // SOFTLAB_THREADS fails every call alike, not only the large ones.
  const std::optional<std::size_t> requested =
      options.threads ? options.threads : threads_from_environment();
  const std::size_t affordable = std::min(rows, rows * cols / min_elements_per_thread);
  if (affordable < 2) return 1;
  return std::min(requested ? *requested : available_cpus(), affordable);
}

namespace {

/// What every thread of one region shares.
struct row_team {
  std::size_t rows = 0;
  std::size_t phases = 1;
  void (*run)(void* context, std::size_t phase, std::size_t first, std::size_t last) = nullptr;
  void* context = nullptr;
  fenv_t caller_environment{};
  std::atomic<int> raised{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
};

/// One thread's part: the static schedule, block `member` of `size` consecutive blocks of rows
/// (the thread numbers fix the blocks; nothing is handed out at run time).
void run_team_member(row_team& team) {
  const auto member = static_cast<std::size_t>(omp_get_thread_num());
  const auto size = static_cast<std::size_t>(omp_get_num_threads());
  const std::size_t first = team.rows * member / size;
  const std::size_t last = team.rows * (member + 1) / size;
  // A thread of OpenMP's pool keeps the floating-point environment it had when the pool made
  // it, not the caller's now: a caller that set flush-to-zero or a rounding mode since (torch's
  // set_flush_denormal does, per thread) would get other bits from the rows of other threads.
  fenv_t own_environment;
  fegetenv(&own_environment);
  fesetenv(&team.caller_environment);
  for (std::size_t phase = 0; phase < team.phases; ++phase) {
    // Every thread reaches every barrier, a failed one too (the others would wait forever);
    // the barrier also makes each phase's writes visible to the next.
    if (phase > 0) GOMP_barrier();
    // An exception must not leave the region (std::terminate): kept for the caller, and the
    // phases after it skipped on every thread.
    try {
      if (first < last && !team.failed.load(std::memory_order_acquire))
        team.run(team.context, phase, first, last);
    } catch (...) {
      if (!team.failed.exchange(true)) team.first_error = std::current_exception();
    }
  }
  team.raised.fetch_or(fetestexcept(FE_ALL_EXCEPT), std::memory_order_relaxed);
  fesetenv(&own_environment);
}

}  // namespace

void run_row_phases(std::size_t rows, std::size_t threads, std::size_t phases,
                    void (*run)(void* context, std::size_t phase, std::size_t first,
                                std::size_t last),
                    void* context) {
  threads = std::min(threads, rows);
  if (threads <= 1) {
    for (std::size_t phase = 0; phase < phases; ++phase) run(context, phase, 0, rows);
    return;
  }
  row_team team;
  team.rows = rows;
  team.phases = phases;
  team.run = run;
  team.context = context;
  fegetenv(&team.caller_environment);
  // OpenMP may grant fewer threads than asked (a call from inside another parallel region,
  // OMP_THREAD_LIMIT): the blocks follow the team it grants, and every row is still computed
  // once, by the same code.
  const auto asked = static_cast<unsigned>(std::min<std::size_t>(threads, INT_MAX));
#ifdef _OPENMP
#pragma omp parallel num_threads(asked)
  run_team_member(team);
#else
  // clang++ -fopenmp=libgomp links libgomp but compiles no OpenMP construct (its code generator
  // targets LLVM's runtime only): the region is started with the entry point g++ compiles the
  // pragma above to.
  GOMP_parallel([](void* data) { run_team_member(*static_cast<row_team*>(data)); }, &team, asked,
                0);
#endif
  // The flags the rows raised (inexact, underflow, ...) on every thread, now on the caller's:
  // the state it would be in had it computed every row itself.
  const int missing = team.raised.load() & ~fetestexcept(FE_ALL_EXCEPT);
  if (missing != 0) feraiseexcept(missing);
  if (team.first_error) std::rethrow_exception(team.first_error);
}

void run_row_blocks(std::size_t rows, std::size_t threads,
                    void (*run)(void* context, std::size_t first, std::size_t last),
                    void* context) {
  struct one_phase {
    void (*run)(void* context, std::size_t first, std::size_t last);
    void* context;
  } blocks{run, context};
  run_row_phases(
      rows, threads, 1,
      [](void* data, std::size_t, std::size_t first, std::size_t last) {
        const auto& b = *static_cast<const one_phase*>(data);
        b.run(b.context, first, last);
      },
      &blocks);
}

}  // namespace detail

std::size_t available_cpus() {
  std::size_t cpus = 0;
  // The affinity mask: taskset, numactl, a container's cpuset. cpu_set_t holds 1024 CPUs; a
  // machine with more needs a larger mask (EINVAL until it is large enough).
  for (std::size_t count = CPU_SETSIZE; count <= (std::size_t{1} << 20) && cpus == 0; count *= 2) {
    cpu_set_t* set = CPU_ALLOC(count);
    if (set == nullptr) break;
    const std::size_t bytes = CPU_ALLOC_SIZE(count);
    if (sched_getaffinity(0, bytes, set) == 0) {
      cpus = static_cast<std::size_t>(CPU_COUNT_S(bytes, set));
    } else if (errno != EINVAL) {
      CPU_FREE(set);
      break;
    }
    CPU_FREE(set);
  }
  if (cpus == 0) cpus = 1;
  // The quota is read once: its files take ~0.1 ms to find and read here (more than the work of
  // a batch worth splitting), and a container's quota is set when the container starts. The
  // affinity mask, one system call, is read every time (taskset may change it).
  static const std::optional<std::size_t> quota = [] {
    const auto self = detail::read_text("/proc/self/cgroup");
    return self ? detail::cgroup_cpu_limit(*self, "/sys/fs/cgroup") : std::nullopt;
  }();
  if (quota) cpus = std::min(cpus, *quota);
  return std::max<std::size_t>(cpus, 1);
}

std::size_t default_threads() {
  if (const auto from_environment = detail::threads_from_environment()) return *from_environment;
  return available_cpus();
}

}  // namespace softlab
