// bench/attention_benchmarks.cpp: one registration loop over types, shapes, thread counts and
// the attention registry's entries.
#include "attention_benchmarks.hpp"

#include "buffers.hpp"
#include "roofline.hpp"
#include "timing.hpp"

#include <softlab/detail/rows.hpp>
#include <softlab/simd/isa.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace softlab::bench {
namespace {

/// Whether a registry entry is measured here (attention_benchmarks.hpp says why).
template <class T>
bool in_attention_benchmarks(const softlab::attention_kernel<T>& k) {
  const std::string_view name = k.facts.name;
  if (name == "accurate") return false;
  if (name.starts_with("materialized:"))
    return name == "materialized:fast" || name == "materialized:stable";
  return true;
}

template <class T>
struct attention_contender {
  std::string name;  ///< <impl>: the registry name, @<isa> for a per-ISA variant
  softlab::attention_kernel<T> kernel;
  std::optional<softlab::isa> isa;
};

template <class T>
std::vector<attention_contender<T>> attention_contenders(const softlab::attention_registry& r) {
  std::vector<attention_contender<T>> result;
  for (const softlab::attention_kernel<T>& k : r.kernels<T>()) {
    if (!in_attention_benchmarks(k)) continue;
    bool any_isa = false;
    for (const softlab::isa which : softlab::available_isas())
      if ((k.isas & softlab::isa_bit(which)) != 0) {
        result.push_back(
            {std::string(k.facts.name) + "@" + std::string(softlab::isa_name(which)), k, which});
        any_isa = true;
      }
    if (!any_isa) result.push_back({std::string(k.facts.name), k, std::nullopt});
  }
  return result;
}

/// Q, K, V and O of one shape, in T.
template <class T>
struct attention_buffers {
  aligned_vector<T> q, k, v, o;
};

/// The buffers of (T, shape): one set alive at a time across all types (the largest is 1 GiB).
template <class T>
attention_buffers<T>& buffers_of(const attention_shape& s) {
  static std::shared_ptr<void> alive;  // the one set, of whatever type
  static std::string alive_key;
  const std::string key = std::string(softlab::type_token_v<T>) + "/" + s.label();
  if (key != alive_key) {
    alive.reset();  // free the previous set first
    auto made = std::make_shared<attention_buffers<T>>();
    std::uint64_t state = input_seed ^ std::hash<std::string>{}(key);
    const auto fill = [&](aligned_vector<T>& data, std::size_t n) {
      data.resize(n);
      for (T& x : data) {  // xorshift64: uniform in [-1, 1), fast enough for 1 GiB
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        x = T(float(double(state >> 11) * 0x1p-52 - 1.0));
      }
    };
    fill(made->q, s.heads * s.q_len * s.d);
    fill(made->k, s.heads * s.kv_len * s.d);
    fill(made->v, s.heads * s.kv_len * s.d);
    made->o.assign(s.heads * s.q_len * s.d, T(0.0f));
    alive = made;
    alive_key = key;
  }
  return *static_cast<attention_buffers<T>*>(alive.get());
}

/// The counters of attention_benchmarks.hpp: kept scores as items, 4 d flops each, `bytes`.
void report_attention(benchmark::State& state, const attention_shape& s, std::size_t bytes) {
  report_throughput(state, s.kept_scores(), 0);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(4e-9 * double(s.d) * double(s.kept_scores()),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void run_attention(benchmark::State& state, const attention_contender<T>& who,
                   const attention_shape& s, std::size_t threads) {
  if (who.isa) softlab::force_isa(*who.isa);
  attention_buffers<T>& b = buffers_of<T>(s);
  const auto q = softlab::heads_of(std::span<const T>(b.q), s.heads, s.q_len, s.d);
  const auto k = softlab::heads_of(std::span<const T>(b.k), s.heads, s.kv_len, s.d);
  const auto v = softlab::heads_of(std::span<const T>(b.v), s.heads, s.kv_len, s.d);
  const auto o = softlab::heads_of(std::span<T>(b.o), s.heads, s.q_len, s.d);
  softlab::attention_options options;
  if (s.causal) options.causal = 0;
  options.threads = threads;
  try {
    who.kernel.attention(q, k, v, o, options);  // untimed: a peer's per-shape setup
    for (auto _ : state) {
      who.kernel.attention(q, k, v, o, options);
      benchmark::ClobberMemory();
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  report_attention(state, s, (b.q.size() + b.k.size() + b.v.size() + b.o.size()) * sizeof(T));
}

/// read_floor: K and V read once, as floats, split over `threads` as roofline/read/<n>/t:<t>.
template <class T>
void run_read_floor(benchmark::State& state, const attention_shape& s, std::size_t threads) {
  attention_buffers<T>& b = buffers_of<T>(s);
  const std::span<const float> arrays[] = {
      {reinterpret_cast<const float*>(b.k.data()), b.k.size() * sizeof(T) / sizeof(float)},
      {reinterpret_cast<const float*>(b.v.data()), b.v.size() * sizeof(T) / sizeof(float)}};
  for (auto _ : state)
    softlab::detail::for_row_blocks(threads, threads, [&](std::size_t first, std::size_t last) {
      for (std::size_t p = first; p < last; ++p)
        for (const std::span<const float> x : arrays) {
          // Part p of `threads`, each a multiple of a cache line.
          const auto start = [&](std::size_t part) { return x.size() * part / threads / 16 * 16; };
          const std::size_t end = p + 1 == threads ? x.size() : start(p + 1);
          const float sum = read_floats(x.subspan(start(p), end - start(p)));
          benchmark::DoNotOptimize(sum);
        }
    });
  report_attention(state, s, (b.k.size() + b.v.size()) * sizeof(T));
}

template <class T>
void register_type(const softlab::attention_registry& registry, run_mode mode,
                   std::set<std::string>& described) {
  const std::vector<attention_contender<T>> contenders = attention_contenders<T>(registry);
  for (const attention_contender<T>& who : contenders)
    if (described.insert(who.name).second)
      benchmark::AddCustomContext(
          "softlab_impl:" + who.name,
          "origin=" + std::string(who.kernel.origin) + ";isa=" +
              (who.isa ? std::string(softlab::isa_name(*who.isa))
                       : std::string(who.kernel.origin == "softlab" ? "-" : "native")));
  const std::string type(softlab::type_token_v<T>);
  // Shape outer, so consecutive benchmarks share one set of buffers.
  for (const attention_shape& s : attention_shapes(mode))
    for (const std::size_t threads : s.threads) {
      // Appended piece by piece: g++ 12 -O3 warns (-Wrestrict, a false positive) on
      // "literal" + std::string&& here.
      std::string tail(1, '/');
      tail.append(s.label()).append("/t:").append(std::to_string(threads));
      if (s.decode) {
        const std::string name = "attention/" + type + "/read_floor" + tail;
        auto* floor = benchmark::RegisterBenchmark(
            name.c_str(),
            [s, threads](benchmark::State& state) { run_read_floor<T>(state, s, threads); });
        if (threads > 1) floor->UseRealTime();
      }
      for (const attention_contender<T>& who : contenders) {
        const std::string name = "attention/" + type + "/" + who.name + tail;
        auto* b =
            benchmark::RegisterBenchmark(name.c_str(), [who, s, threads](benchmark::State& state) {
              run_attention<T>(state, who, s, threads);
            });
        if (threads > 1) b->UseRealTime();
      }
    }
}

}  // namespace

void register_attention_benchmarks(const softlab::attention_registry& registry, run_mode mode) {
  std::set<std::string> described;
  register_type<float>(registry, mode, described);
  register_type<softlab::bfloat16>(registry, mode, described);
  register_type<softlab::float16>(registry, mode, described);
}

}  // namespace softlab::bench
