// Rows across threads: softmax_rows with softmax_options::threads gives the same bits for every
// thread count, and the same bits as softmax on each row alone, for every (implementation, type)
// of the compile-time list (each its own test case, registered at start-up; vectorized ones on
// every ISA under test); the thread engine itself (real threads, every row once, exceptions,
// the caller's floating-point environment); the thread counts (SOFTLAB_THREADS, the CPU
// affinity and the cgroup quota).
#include "cpu_quota.hpp"
#include "isa_under_test.hpp"
#include "same_bits.hpp"

#include <softlab/kernel_rows.hpp>
#include <softlab/softlab.hpp>
#include <softlab_reference/families.hpp>

#include <catch2/catch.hpp>

#include <xmmintrin.h>

#include <unistd.h>
#include <atomic>
#include <cfenv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using namespace softlab;
using testing::same_bits;

constexpr std::uint64_t seed = 20261204;  // every random score below is drawn from this

/// The thread counts compared; 1 is the reference for the others.
constexpr std::size_t thread_counts[] = {1, 2, 3, 4};

/// The multiprecision types, whose exp costs ~1000 times double's (~10 us).
template <class T>
inline constexpr bool multiprecision = !(is_hardware_float<T> || is_narrow_format<T>);

/// The columns tested for T: around the vector widths and the small-row limit, and long rows
/// (5000: fast's two-pass structure in float).
template <class T>
std::vector<std::size_t> columns_for() {
  // The multiprecision types stay below the threading threshold (33 x 64 < 2 x 16384): their
  // rows are split by the same type-independent code the hardware types check with threads, at a
  // cost of seconds per case under the sanitizers.
  if constexpr (multiprecision<T>) return {1, 7, 64};
  return {1, 7, 64, 1000, 5000};
}

/// rows x x_stride random scores in [-20, 20] from the seed; then row 1 (when there is one)
/// holds -inf entries, row 2 a +inf, row 3 a NaN, row 4 is all -inf: the contract's limits
/// must come out the same on every thread.
template <class T>
std::vector<T> scores(std::size_t rows, std::size_t cols, std::size_t stride) {
  reference::seeded_random random(seed ^ (rows * 1000003 + cols * 101 + stride));
  std::vector<T> x(rows * stride);
  for (T& v : x) v = T(random.uniform(-20, 20));
  const T inf = detail::infinity<T>();
  if (rows > 1)
    for (std::size_t c = 0; c < cols; c += 3) x[1 * stride + c] = -inf;
  if (rows > 2) x[2 * stride + cols / 2] = inf;
  if (rows > 3) x[3 * stride + cols - 1] = detail::quiet_nan<T>();
  if (rows > 4)
    for (std::size_t c = 0; c < cols; ++c) x[4 * stride + c] = -inf;
  return x;
}

/// -7 in every element of y the softmaxes must not write (the gaps between rows).
template <class T>
T untouched() {
  return T(-7);
}

template <class Impl, class T>
void check_shape(std::size_t rows, std::size_t cols, std::size_t x_stride, std::size_t y_stride,
                 bool in_place) {
  INFO(rows << " rows of " << cols << ", x stride " << x_stride << ", y stride " << y_stride
            << (in_place ? ", in place" : ""));
  const std::vector<T> x = scores<T>(rows, cols, x_stride);
  // The reference: softmax on each row alone, through the span entry point.
  std::vector<T> expected(rows * y_stride, untouched<T>());
  for (std::size_t r = 0; r < rows; ++r)
    softmax_span<Impl, T>(std::span<const T>(x).subspan(r * x_stride, cols),
                          std::span<T>(expected).subspan(r * y_stride, cols));
  const registry kernels = builtin_registry();
  const kernel<T>& k = *kernels.find<T>(Impl::facts.name);
  std::set<std::size_t> effective_counts;
  for (std::size_t threads : thread_counts) {
    INFO("threads " << threads);
    const softmax_options options{.threads = threads};
    // A count the batch caps to one already run (3 and 4 threads on 33 rows of 1000 are 2) runs
    // the same code: skipped.
    if (!effective_counts.insert(detail::threads_for_rows(options, rows, cols)).second) continue;
    std::vector<T> y;
    if (in_place) {
      y = x;
      softmax_rows<Impl>(y, rows, cols, x_stride, y, x_stride, options);
    } else {
      y.assign(rows * y_stride, untouched<T>());
      softmax_rows<Impl>(x, rows, cols, x_stride, y, y_stride, options);
    }
    // In place, the gaps keep x's values; the reference has -7 there.
    std::vector<T> want = expected;
    if (in_place)
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = cols; c < x_stride && r * x_stride + c < want.size(); ++c)
          want[r * x_stride + c] = x[r * x_stride + c];
    CHECK(same_bits<T>(y, want));
    // The registry's view, the same split over k.softmax: the same bits.
    std::vector<T> through_kernel(rows * y_stride, untouched<T>());
    if (!in_place && threads == 2) {
      softmax_rows<T>(k, x, rows, cols, x_stride, through_kernel, y_stride, options);
      CHECK(same_bits<T>(through_kernel, expected));
    }
  }
}

template <class Impl, class T>
void check_every_shape() {
  for (std::size_t cols : columns_for<T>())
    for (std::size_t rows : {1, 3, 33}) {
      check_shape<Impl, T>(rows, cols, cols + 3, cols + 5, false);  // strides > cols
      check_shape<Impl, T>(rows, cols, cols, cols, false);          // packed
      check_shape<Impl, T>(rows, cols, cols + 2, cols + 2, true);   // in place
    }
}

template <class Impl, class T>
void run_on_every_isa() {
  if constexpr (!Impl::facts.vectorized) {
    check_every_shape<Impl, T>();
  } else {
    const registry kernels = builtin_registry();
    const isa before = active_isa();
    for (isa which : testing::isas_under_test(*kernels.find<T>(Impl::facts.name))) {
      force_isa(which);
      DYNAMIC_SECTION("ISA " << isa_name(which)) { check_every_shape<Impl, T>(); }
    }
    force_isa(before);
  }
}

/// A Catch2 test case per (implementation, type), like the contract suite's.
class rows_case : public Catch::ITestInvoker {
 public:
  explicit rows_case(std::function<void()> body) : body_(std::move(body)) {}
  void invoke() const override { body_(); }

 private:
  std::function<void()> body_;
};

struct register_every_implementation {
  register_every_implementation() {
    static std::deque<Catch::AutoReg> registrations;
    for_each_implementation(builtin_implementations{}, [&]<class Impl>() {
      for_each_type(element_types{}, [&]<class T>() {
        if constexpr (Impl::template supports<T>) {
          const std::string name =
              "rows_threads/" + std::string(Impl::facts.name) + "/" + std::string(type_token_v<T>);
          const std::string tags = "[rows_threads][" + std::string(Impl::facts.name) + "]" +
                                   (Impl::facts.vectorized ? "[vectorized]" : "");
          registrations.emplace_back(new rows_case([] { run_on_every_isa<Impl, T>(); }),
                                     Catch::SourceLineInfo(__FILE__, __LINE__), Catch::StringRef(),
                                     Catch::NameAndTags(name, tags));
        }
      });
    });
  }
} const registration;

/// Sets (or, with nullopt, unsets) an environment variable for the scope, then restores it.
class scoped_environment {
 public:
  scoped_environment(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    set(value);
  }
  ~scoped_environment() { set(old_); }
  scoped_environment(const scoped_environment&) = delete;
  scoped_environment& operator=(const scoped_environment&) = delete;

 private:
  void set(const std::optional<std::string>& value) {
    if (value)
      setenv(name_, value->c_str(), 1);
    else
      unsetenv(name_);
  }
  const char* name_;
  std::optional<std::string> old_;
};

/// The thread each block of rows ran on.
struct block_log {
  std::mutex mutex;
  std::vector<std::pair<std::size_t, std::size_t>> blocks;
  std::set<std::thread::id> threads;
  void record(std::size_t first, std::size_t last) {
    const std::lock_guard<std::mutex> lock(mutex);
    blocks.emplace_back(first, last);
    threads.insert(std::this_thread::get_id());
  }
};

/// True when the environment lets OpenMP grant fewer threads than asked.
bool openmp_may_shrink_teams() {
  for (const char* name : {"OMP_DYNAMIC", "OMP_THREAD_LIMIT", "OMP_NUM_THREADS"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

}  // namespace

/// fast splits one long row (from fast::split_from_elements) in fixed chunks: 1, 2, 3 and 4
/// threads, softmax without options, softmax_rows of the one row and in place all give the
/// same bits, limits included; bfloat16 rows through it too.
template <class T>
void check_long_row_split() {
  constexpr std::size_t from = fast::split_from_elements<T>;
  for (const std::size_t n : {from - 1, from, from + 12345, 4 * from + 7}) {
    for (const int limit : {0, 1, 2, 3}) {  // finite; a -inf block; one +inf; one NaN
      reference::seeded_random random(seed ^ n ^ std::uint64_t(limit));
      std::vector<T> x(n);
      for (T& v : x) v = T(random.uniform(-30, 30));
      if (limit == 1)
        std::fill(x.begin(), x.begin() + std::ptrdiff_t(n / 3), -detail::infinity<T>());
      if (limit == 2) x[random.below(n)] = detail::infinity<T>();
      if (limit == 3) x[random.below(n)] = detail::quiet_nan<T>();
      INFO("n = " << n << ", limit case " << limit);
      std::vector<T> plain(n);
      softmax<fast>(x, plain);
      for (const std::size_t threads : thread_counts) {
        std::vector<T> y(n), rows(n);
        softmax<fast>(x, y, {.threads = threads});
        softmax_rows<fast>(x, 1, n, rows, {.threads = threads});
        INFO(threads << " threads");
        CHECK(same_bits<T>(y, plain));
        CHECK(same_bits<T>(rows, plain));
      }
      std::vector<T> in_place = x;
      softmax<fast>(in_place, in_place, {.threads = 2});
      CHECK(same_bits<T>(in_place, plain));
    }
  }
}

TEST_CASE("fast splits one long row with the same bits on every thread count",
          "[rows_threads][vectorized]") {
  const registry kernels = builtin_registry();
  const isa before = active_isa();
  for (isa which : testing::isas_under_test(*kernels.find<float>("fast"))) {
    force_isa(which);
    DYNAMIC_SECTION("ISA " << isa_name(which)) {
      check_long_row_split<float>();
      check_long_row_split<double>();
      // bfloat16 in, through float: the same split.
      const std::size_t n = 3 * fast::split_from_elements<float> + 5;
      reference::seeded_random random(seed);
      std::vector<bfloat16> x(n);
      for (bfloat16& v : x) v = bfloat16(random.uniform(-30, 30));
      std::vector<bfloat16> one(n), two(n);
      softmax<fast>(x, one, {.threads = 1});
      softmax<fast>(x, two, {.threads = 2});
      CHECK(same_bits<bfloat16>(one, two));
    }
  }
  force_isa(before);
}

TEST_CASE("rows engine: real threads, every row once, in contiguous blocks", "[rows_threads]") {
  for (std::size_t threads : {2, 3, 4}) {
    INFO("threads " << threads);
    block_log log;
    std::vector<std::atomic<int>> visits(33);
    detail::for_row_blocks(33, threads, [&](std::size_t first, std::size_t last) {
      log.record(first, last);
      for (std::size_t r = first; r < last; ++r) ++visits[r];
      // Long enough that one thread cannot take every block before the others start.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    });
    for (const auto& v : visits) CHECK(v.load() == 1);
    for (const auto& [first, last] : log.blocks) CHECK(last - first >= 33 / threads);
    // The check that the region is compiled as one (clang++ -fopenmp=libgomp alone would link
    // libgomp and run it on one thread).
    if (!openmp_may_shrink_teams()) {
      CHECK(log.blocks.size() == threads);
      CHECK(log.threads.size() == threads);
    }
  }
  // One thread, or one row: the caller alone.
  block_log alone;
  detail::for_row_blocks(5, 1,
                         [&](std::size_t first, std::size_t last) { alone.record(first, last); });
  CHECK(alone.blocks == std::vector<std::pair<std::size_t, std::size_t>>{{0, 5}});
  CHECK(*alone.threads.begin() == std::this_thread::get_id());
}

TEST_CASE("rows engine: an exception from a block reaches the caller after every block",
          "[rows_threads]") {
  std::vector<std::atomic<int>> visits(8);
  CHECK_THROWS_WITH(detail::for_row_blocks(8, 4,
                                           [&](std::size_t first, std::size_t last) {
                                             for (std::size_t r = first; r < last; ++r) ++visits[r];
                                             if (first == 4) throw std::runtime_error("row 4");
                                           }),
                    "row 4");
  int visited = 0;
  for (const auto& v : visits) visited += v.load();
  CHECK(visited >= 2);  // the throwing block's rows; the others may have been skipped
}

TEST_CASE("rows engine: phases in order, each seeing every block of the phase before",
          "[rows_threads]") {
  for (std::size_t threads : {1, 2, 3, 4}) {
    INFO("threads " << threads);
    constexpr std::size_t rows = 12, phases = 3;
    // value[p][r]: phase p's result for row r, computed from every row of phase p - 1 (a
    // block that started before the others finished the previous phase would read zeros).
    std::vector<std::vector<std::atomic<long>>> value(phases);
    for (auto& v : value) v = std::vector<std::atomic<long>>(rows);
    std::vector<std::atomic<int>> visits(phases * rows);
    detail::for_row_phases(rows, threads, phases,
                           [&](std::size_t phase, std::size_t first, std::size_t last) {
                             if (first == 0)  // one block late: the others must wait for it
                               std::this_thread::sleep_for(std::chrono::milliseconds(20));
                             long before = 1;
                             if (phase > 0)
                               for (const auto& v : value[phase - 1]) before += v.load();
                             for (std::size_t r = first; r < last; ++r) {
                               ++visits[phase * rows + r];
                               value[phase][r] = before + long(r);
                             }
                           });
    for (const auto& v : visits) CHECK(v.load() == 1);
    // Phase 0: 1 + r, summing to 78 over the rows; phase 1: 79 + r (sum 1014); phase 2:
    // 1015 + r.
    for (std::size_t r = 0; r < rows; ++r) {
      CHECK(value[0][r].load() == 1 + long(r));
      CHECK(value[1][r].load() == 79 + long(r));
      CHECK(value[2][r].load() == 1015 + long(r));
    }
  }
  // An exception skips the later phases on every thread, and reaches the caller.
  std::atomic<int> after{0};
  CHECK_THROWS_WITH(detail::for_row_phases(8, 4, 2,
                                           [&](std::size_t phase, std::size_t first, std::size_t) {
                                             if (phase == 1) ++after;
                                             if (phase == 0 && first == 4)
                                               throw std::runtime_error("phase 0, row 4");
                                           }),
                    "phase 0, row 4");
  CHECK(after.load() == 0);
}

TEST_CASE("rows engine: the threads take the caller's floating-point environment",
          "[rows_threads]") {
  // The pool's threads exist already (the cases above), made under the default environment.
  detail::for_row_blocks(4, 4, [](std::size_t, std::size_t) {});
  const unsigned int default_csr = _mm_getcsr();
  const int default_rounding = fegetround();
  std::feclearexcept(FE_ALL_EXCEPT);
  // Rounding up, flush-to-zero and denormals-are-zero (MXCSR bits 15 and 6).
  REQUIRE(fesetround(FE_UPWARD) == 0);
  _mm_setcsr(_mm_getcsr() | 0x8040u);
  const unsigned int caller_csr = _mm_getcsr();
  std::mutex mutex;
  std::vector<unsigned int> seen_csr;
  std::vector<int> seen_rounding;
  detail::for_row_blocks(4, 4, [&](std::size_t first, std::size_t) {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      seen_csr.push_back(_mm_getcsr() & ~0x3fu);  // without the exception flags (bits 0-5)
      seen_rounding.push_back(fegetround());
    }
    if (first == 3) {  // the last block, on another thread: an overflow the caller must see
      volatile double big = 1e300;
      volatile double product = big * big;
      (void)product;
    }
  });
  const bool overflow_seen = std::fetestexcept(FE_OVERFLOW) != 0;
  _mm_setcsr(default_csr);
  fesetround(default_rounding);
  std::feclearexcept(FE_ALL_EXCEPT);
  CHECK(seen_csr == std::vector<unsigned int>(4, caller_csr & ~0x3fu));
  CHECK(seen_rounding == std::vector<int>(4, FE_UPWARD));
  CHECK(overflow_seen);

  // End to end: a caller flushing subnormals gets flushed rows from every thread. Scores 0 and
  // -720: exp(-720) is subnormal in double, so flushing changes those weights.
  constexpr std::size_t rows = 4, cols = 16384;
  std::vector<double> x(rows * cols, -720.0);
  for (std::size_t r = 0; r < rows; ++r) x[r * cols] = 0.0;
  std::vector<double> gradual(x.size()), one(x.size()), two(x.size());
  softmax_rows<stable>(x, rows, cols, gradual, {.threads = 1});
  _mm_setcsr(default_csr | 0x8040u);
  softmax_rows<stable>(x, rows, cols, one, {.threads = 1});
  softmax_rows<stable>(x, rows, cols, two, {.threads = 2});
  _mm_setcsr(default_csr);
  CHECK(detail::threads_for_rows({.threads = 2}, rows, cols) == 2);
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(double)) == 0);
  CHECK(std::memcmp(one.data(), gradual.data(), one.size() * sizeof(double)) != 0);
}

TEST_CASE("threads = 0 is invalid_argument naming it, before anything is written",
          "[rows_threads]") {
  const std::vector<float> x(64 * 1000, 0.5f);
  std::vector<float> y(x.size(), -7.0f);
  const softmax_options zero{.threads = 0};
  CHECK_THROWS_WITH(
      softmax_rows<fast>(x, 64, 1000, y, zero),
      Catch::Matchers::Contains("softmax_rows") && Catch::Matchers::Contains("threads is 0"));
  for (float v : y) REQUIRE(v == -7.0f);
  std::vector<float> row(1000);
  CHECK_THROWS_AS(softmax<stable>(std::span(x).first(1000), row, zero), std::invalid_argument);
  CHECK_THROWS_AS(log_softmax<stable>(std::span(x).first(1000), row, zero), std::invalid_argument);
  CHECK_THROWS_AS(logsumexp<stable>(x, zero), std::invalid_argument);
  const registry kernels = builtin_registry();
  CHECK_THROWS_WITH(
      softmax_rows<float>(*kernels.find<float>("fast"), x, 64, 1000, 1000, y, 1000, zero),
      Catch::Matchers::Contains("threads is 0"));
  for (float v : y) REQUIRE(v == -7.0f);
  // A shape error is reported before the options (and still writes nothing).
  CHECK_THROWS_WITH(softmax_rows<fast>(x, 65, 1000, y, zero),
                    Catch::Matchers::Contains("x has 64000 elements"));
  // The options overloads with threads set compute what the plain calls do, on this thread.
  std::vector<float> plain(1000), with_options(1000);
  softmax<fast>(std::span(x).first(1000), plain);
  softmax<fast>(std::span(x).first(1000), with_options, {.threads = 4});
  CHECK(plain == with_options);
  // 16-bit storage in, float out, with options too.
  const std::vector<bfloat16> logits{bfloat16(0.5f), bfloat16(-1.0f), bfloat16(2.0f)};
  std::vector<float> weights(3), weights_with_options(3);
  softmax<stable>(logits, weights);
  softmax<stable>(logits, weights_with_options, {.threads = 2});
  CHECK(weights == weights_with_options);
  CHECK_THROWS_AS(softmax<stable>(logits, weights, zero), std::invalid_argument);
}

TEST_CASE("SOFTLAB_THREADS: a positive integer, anything else named", "[rows_threads]") {
  {
    const scoped_environment unset("SOFTLAB_THREADS", std::nullopt);
    CHECK(default_threads() == available_cpus());
  }
  {
    const scoped_environment three("SOFTLAB_THREADS", "3");
    CHECK(default_threads() == 3);
    // The batch's own cap (rows, elements per thread) still applies.
    CHECK(detail::threads_for_rows({}, 33, 5000) == 3);
    CHECK(detail::threads_for_rows({}, 2, 5000) == 1);
    CHECK(detail::threads_for_rows({.threads = 2}, 33, 5000) == 2);
  }
  for (const char* bad : {"0", "abc", "", "-1", "3x", " 2"}) {
    INFO("SOFTLAB_THREADS=\"" << bad << "\"");
    const scoped_environment invalid("SOFTLAB_THREADS", bad);
    CHECK_THROWS_WITH(default_threads(),
                      std::string("SOFTLAB_THREADS=\"") + bad + "\" is not a positive integer");
    // softmax_rows without threads reads it, for small batches too, before writing.
    const std::vector<double> x{1.0, 2.0, 3.0, 4.0};
    std::vector<double> y(4, -7.0);
    CHECK_THROWS_AS(softmax_rows<stable>(x, 2, 2, y), std::invalid_argument);
    CHECK(y == std::vector<double>(4, -7.0));
    // An explicit count does not read it.
    CHECK_NOTHROW(softmax_rows<stable>(x, 2, 2, y, {.threads = 2}));
  }
}

TEST_CASE("available_cpus: at least 1, at most the hardware's", "[rows_threads]") {
  const std::size_t cpus = available_cpus();
  CHECK(cpus >= 1);
  const unsigned hardware = std::thread::hardware_concurrency();
  if (hardware > 0) CHECK(cpus <= hardware);
  std::printf("available_cpus() = %zu, hardware_concurrency() = %u\n", cpus, hardware);
}

TEST_CASE("cgroup CPU quotas: v2 cpu.max and v1 cfs, the smallest up the tree", "[rows_threads]") {
  using detail::cgroup_cpu_limit;
  using detail::cpus_of_cfs_quota;
  using detail::cpus_of_cpu_max;
  CHECK(cpus_of_cpu_max("150000 100000\n") == 2);
  CHECK(cpus_of_cpu_max("200000 100000") == 2);
  CHECK(cpus_of_cpu_max("50000 100000") == 1);
  CHECK(cpus_of_cpu_max("max 100000\n") == std::nullopt);
  CHECK(cpus_of_cpu_max("garbage") == std::nullopt);
  CHECK(cpus_of_cfs_quota("-1\n", "100000\n") == std::nullopt);
  CHECK(cpus_of_cfs_quota("250000\n", "100000\n") == 3);

  const auto root =
      std::filesystem::temp_directory_path() / ("softlab-cgroup-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  const auto write = [](const std::filesystem::path& file, const std::string& text) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
  };
  // v2: the process in /a/b; b allows 4 CPUs, its parent a 3: 3.
  write(root / "v2/a/b/cpu.max", "400000 100000\n");
  write(root / "v2/a/cpu.max", "300000 100000\n");
  write(root / "v2/cpu.max", "max 100000\n");
  CHECK(cgroup_cpu_limit("0::/a/b\n", root / "v2") == 3);
  CHECK(cgroup_cpu_limit("0::/a\n", root / "v2") == 3);
  // A namespaced view ("/") or a path not under the mount: the mount point's own file.
  CHECK(cgroup_cpu_limit("0::/\n", root / "v2") == std::nullopt);
  write(root / "v2ns/cpu.max", "150000 100000\n");
  CHECK(cgroup_cpu_limit("0::/elsewhere/x\n", root / "v2ns") == 2);
  // v1: the cpu controller's hierarchy.
  write(root / "v1/cpu,cpuacct/job/cpu.cfs_quota_us", "250000\n");
  write(root / "v1/cpu,cpuacct/job/cpu.cfs_period_us", "100000\n");
  write(root / "v1/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  write(root / "v1/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  CHECK(cgroup_cpu_limit("12:memory:/job\n4:cpu,cpuacct:/job\n", root / "v1") == 3);
  CHECK(cgroup_cpu_limit("12:memory:/job\n", root / "v1") == std::nullopt);
  CHECK(cgroup_cpu_limit("", root / "v1") == std::nullopt);
  std::filesystem::remove_all(root);
}
