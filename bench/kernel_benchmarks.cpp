// bench/kernel_benchmarks.cpp: one templated registration loop, run for every operation and
// every benchmarked type over the contenders a registry yields.
#include "kernel_benchmarks.hpp"

#include "buffers.hpp"
#include "timing.hpp"

#include <softlab/kernel_rows.hpp>
#include <softlab/options.hpp>
#include <softlab/simd/isa.hpp>
#include <softlab/storage.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace softlab::bench {
namespace {

/// One thing measured: a registry entry (at one instruction set, if it is a vectorized softlab
/// kernel) or an extra float softmax.
template <class T>
struct contender {
  std::string name;                 ///< the <impl> segment of the benchmark names
  softlab::kernel<T> kernel;        ///< its entry points; the operations it lacks are skipped
  std::optional<softlab::isa> isa;  ///< forced before each run
  std::string origin;               ///< "softlab", or the peer's library and version
  std::string isa_label;            ///< the ISA forced, "-" for scalar code, "native" for a peer
  std::string variant_of;           ///< for an extra: the registry entry whose library it calls
};

template <class T>
std::vector<contender<T>> contenders_of(const softlab::registry& registry,
                                        std::span<const extra_float_softmax> extras) {
  std::vector<contender<T>> result;
  for (const softlab::kernel<T>& k : registry.kernels<T>()) {
    // Libraries that dispatch on their own run once, "native"; kernels that follow softlab's
    // ISA choice once per instruction set (kernel::isas).
    const std::string origin(k.origin);
    const std::vector<softlab::isa> isas = softlab::isa_variants_of(k);
    for (softlab::isa which : isas) {
      const std::string isa(softlab::isa_name(which));
      result.push_back({std::string(k.facts.name) + "@" + isa, k, which, origin, isa, ""});
    }
    if (isas.empty())
      result.push_back({std::string(k.facts.name), k, std::nullopt, origin,
                        k.origin == "softlab" ? "-" : "native", ""});
  }
  if constexpr (std::is_same_v<T, float>) {
    for (const extra_float_softmax& extra : extras) {
      softlab::kernel<float> softmax_only;  // every other entry point stays nullptr: not measured
      softmax_only.facts.name = extra.name;
      softmax_only.softmax = extra.softmax;
      const softlab::kernel<float>* library = registry.find<float>(extra.variant_of);
      const std::string origin(library != nullptr ? library->origin : "unknown");
      result.push_back({extra.name, softmax_only, std::nullopt, origin,
                        origin == "softlab" ? "-" : "native", extra.variant_of});
    }
  }
  return result;
}

// The operations. Each states its family (the first name segment), the shapes it runs on, how
// many arrays of n elements it must touch (for bytes_per_second), whether a kernel provides it,
// and the call timed.

/// The query of pairwise_attention: scores 0.5 * keys, in [-5, 5] for the default keys.
constexpr double attention_query = 0.5;

struct softmax_op {
  static constexpr std::string_view family = "softmax";
  static constexpr std::size_t arrays = 2;  // x read, y written
  static std::vector<shape> shapes(run_mode mode) { return vector_shapes(mode); }
  template <class T>
  static bool provided_by(const softlab::kernel<T>& k) {
    return k.softmax != nullptr;
  }
  template <class T>
  static void run(const softlab::kernel<T>& k, std::span<const T> x, std::span<T> y, shape) {
    k.softmax(x, y);
  }
};

struct log_softmax_op {
  static constexpr std::string_view family = "log_softmax";
  static constexpr std::size_t arrays = 2;
  static std::vector<shape> shapes(run_mode mode) { return vector_shapes(mode); }
  template <class T>
  static bool provided_by(const softlab::kernel<T>& k) {
    return k.log_softmax != nullptr;
  }
  template <class T>
  static void run(const softlab::kernel<T>& k, std::span<const T> x, std::span<T> y, shape) {
    k.log_softmax(x, y);
  }
};

struct logsumexp_op {
  static constexpr std::string_view family = "logsumexp";
  static constexpr std::size_t arrays = 1;  // x read; one value out
  static std::vector<shape> shapes(run_mode mode) { return vector_shapes(mode); }
  template <class T>
  static bool provided_by(const softlab::kernel<T>& k) {
    return k.logsumexp != nullptr;
  }
  template <class T>
  static void run(const softlab::kernel<T>& k, std::span<const T> x, std::span<T>, shape) {
    const T result = k.logsumexp(x);
    benchmark::DoNotOptimize(result);
  }
};

struct pairwise_attention_op {
  static constexpr std::string_view family = "pairwise_attention";
  static constexpr std::size_t arrays = 2;  // keys read, weights written
  static std::vector<shape> shapes(run_mode mode) { return vector_shapes(mode); }
  // Not softlab::pairwise_attention(kernel, ...), whose fallback for entries without their own
  // (the peers) allocates the scores: it would time an allocation, not the library.
  template <class T>
  static bool provided_by(const softlab::kernel<T>& k) {
    return k.pairwise_attention != nullptr;
  }
  template <class T>
  static void run(const softlab::kernel<T>& k, std::span<const T> keys, std::span<T> weights,
                  shape) {
    k.pairwise_attention(T(attention_query), keys, weights);
  }
};

struct rows_op {
  static constexpr std::string_view family = "rows";
  static constexpr std::size_t arrays = 2;
  static std::vector<shape> shapes(run_mode mode) { return row_shapes(mode); }
  template <class T>
  static bool provided_by(const softlab::kernel<T>& k) {
    return k.softmax != nullptr;
  }
  // One call per row, as softlab::softmax_rows does: the registry has no batched entry point,
  // so a peer's per-call overhead counts once per row, as it would for its users' row loops.
  template <class T>
  static void run(const softlab::kernel<T>& k, std::span<const T> x, std::span<T> y, shape s) {
    for (std::size_t row = 0; row < s.rows; ++row)
      k.softmax(x.subspan(row * s.cols, s.cols), y.subspan(row * s.cols, s.cols));
  }
};

using operations =
    std::tuple<softmax_op, log_softmax_op, logsumexp_op, pairwise_attention_op, rows_op>;

/// Whether `who` can be measured on Op: it has the entry point, and a call on one element does
/// not throw std::logic_error, a library's way to say it has no such operation (xnnpack's
/// log_softmax). Other exceptions are not a reason to skip: the timed run reports them.
template <class T, class Op>
bool measurable(const contender<T>& who) {
  if (!Op::provided_by(who.kernel)) return false;
  if (who.isa) softlab::force_isa(*who.isa);
  aligned_vector<T> x(1, T(0)), y(1);
  try {
    Op::run(who.kernel, std::span<const T>(x), std::span<T>(y), shape{.rows = 1, .cols = 1});
  } catch (const std::invalid_argument&) {
    return true;  // a std::logic_error, but a failed argument check: a bug the run reports
  } catch (const std::logic_error&) {
    return false;
  } catch (const std::exception&) {
    return true;
  }
  return true;
}

/// THE registration loop: <family>/<type>/<impl>/<shape> for every shape T affords and every
/// contender that provides Op, in that order (shape outer), so the benchmarks sharing a size
/// run one after another on the same buffers unless interleaved.
template <class T, class Op>
void register_operation(const std::string& family, const std::vector<contender<T>>& contenders,
                        const std::vector<shape>& shapes, input_set set) {
  std::vector<contender<T>> measured;
  for (const contender<T>& who : contenders)
    if (measurable<T, Op>(who)) measured.push_back(who);
  for (const shape& s : shapes) {
    if (s.elements() > max_elements<T>) continue;
    for (const contender<T>& who : measured) {
      const std::string name =
          family + "/" + std::string(softlab::type_token_v<T>) + "/" + who.name + "/" + s.label();
      benchmark::RegisterBenchmark(name.c_str(), [who, s, set](benchmark::State& state) {
        if (who.isa) softlab::force_isa(*who.isa);
        time_over_buffers<T>(
            state, set, s.elements(), Op::arrays,
            [&](std::span<const T> x, std::span<T> y) { Op::run(who.kernel, x, y, s); });
      });
    }
  }
}

/// scores/<type>/<impl>/<rows>x<cols>/t:<threads>: attention's score rows, one softmax per row,
/// the rows split across `threads` threads by softlab::softmax_rows over the entry's softmax
/// (kernel_rows.hpp), timed in wall-clock time (UseRealTime: the CPU time of the calling thread
/// alone would hide the second's). Not Google Benchmark's Threads(n), which runs n copies of
/// the whole benchmark. Peers run at t:1 only: threading them is each library's own business
/// (libtorch's intra-op pool, set to 1 thread at registration; oneDNN's OpenMP; XNNPACK's
/// pthreadpool, not given one) and needs a batched call the registry does not have; softlab's
/// split over their single-row calls would time softlab's threading, not theirs.
template <class T>
void register_scores(const std::vector<contender<T>>& contenders, run_mode mode) {
  std::vector<contender<T>> measured;
  for (const contender<T>& who : contenders)
    if (measurable<T, rows_op>(who)) measured.push_back(who);
  for (const shape& s : score_shapes(mode)) {
    if (s.elements() > max_elements<T>) continue;
    for (const std::size_t threads : score_threads)
      for (const contender<T>& who : measured) {
        if (threads != 1 && who.origin != "softlab") continue;
        const std::string name = "scores/" + std::string(softlab::type_token_v<T>) + "/" +
                                 who.name + "/" + s.label() + "/t:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), [who, s, threads](benchmark::State& state) {
          if (who.isa) softlab::force_isa(*who.isa);
          const softlab::softmax_options options{.threads = threads};
          time_over_buffers<T>(state, input_set::uniform, s.elements(), 2,
                               [&](std::span<const T> x, std::span<T> y) {
                                 softlab::softmax_rows<T>(who.kernel, x, s.rows, s.cols, s.cols, y,
                                                          s.cols, options);
                               });
        })->UseRealTime();
      }
  }
}

/// The facts of each <impl> segment, once (the same entry is benchmarked in several types).
template <class T>
void describe_contenders(const std::vector<contender<T>>& contenders,
                         std::set<std::string>& described) {
  for (const contender<T>& who : contenders) {
    if (!described.insert(who.name).second) continue;
    std::string facts = "origin=" + who.origin + ";isa=" + who.isa_label;
    if (!who.variant_of.empty()) facts += ";variant_of=" + who.variant_of;
    benchmark::AddCustomContext("softlab_impl:" + who.name, facts);
  }
}

template <class T>
void register_type(const softlab::registry& registry, std::span<const extra_float_softmax> extras,
                   run_mode mode, std::set<std::string>& described) {
  const std::vector<contender<T>> contenders = contenders_of<T>(registry, extras);
  describe_contenders(contenders, described);
  std::apply(
      [&]<class... Ops>(Ops...) {
        (register_operation<T, Ops>(std::string(Ops::family), contenders, Ops::shapes(mode),
                                    input_set::uniform),
         ...);
      },
      operations{});
  register_scores<T>(contenders, mode);
  // The data-dependent sets, on softmax only. Hardware types only: bin50's exponent range makes
  // near_underflow another experiment (and its size cap is below these lengths anyway).
  if constexpr (softlab::is_hardware_float<T>)
    for (input_set set : data_dependent_sets)
      register_operation<T, softmax_op>("softmax_inputs/" + std::string(input_set_name(set)),
                                        contenders, input_set_shapes(mode), set);
}

// ---- the shapes models run (issue 13): 16-bit storage, a sampling temperature, a mask ----

/// Sampling's temperature T: scale = 1 / T on every vocab/ benchmark.
constexpr double vocab_temperature = 0.7;
/// The attention scale of masked/ (1/sqrt(64): a head dimension of 64).
constexpr double masked_scale = 0.125;

std::vector<std::size_t> storage_softmax_sizes(run_mode mode) {
  switch (mode) {
    case run_mode::smoke:
      return {16};
    case run_mode::quick:
      return {4096};
    case run_mode::full:
      break;
  }
  return {4096, std::size_t(1) << 20, std::size_t(1) << 24};
}
std::vector<std::size_t> vocab_sizes(run_mode mode) {
  switch (mode) {
    case run_mode::smoke:
      return {16};
    case run_mode::quick:
      return {128256};
    case run_mode::full:
      break;
  }
  return {32000, 128256, 256000};  // Llama 2, Llama 3, Gemma vocabularies
}
std::vector<std::size_t> masked_sizes(run_mode mode) {
  switch (mode) {
    case run_mode::smoke:
      return {16};
    case run_mode::quick:
      return {4096};
    case run_mode::full:
      break;
  }
  return {4096, std::size_t(1) << 20};
}

/// The additive float mask of masked/ at n: uniform in [-1, 0] (a relative-position bias), 5%
/// -inf (padding) at random positions, from the inputs' seed; made once per n.
std::span<const float> additive_mask(std::size_t n) {
  static std::map<std::size_t, aligned_vector<float>> masks;
  auto& mask = masks[n];
  if (mask.empty()) {
    std::seed_seq seed{static_cast<std::uint32_t>(input_seed), static_cast<std::uint32_t>(n), 7u};
    std::mt19937_64 rng(seed);
    mask.resize(n);
    for (float& m : mask) {
      const double u = detail::unit_interval(rng);
      m = u < 0.05 ? -std::numeric_limits<float>::infinity() : float(-detail::unit_interval(rng));
    }
  }
  return mask;
}

/// One row with options through the registry entry: softlab's own rows entry (the scores formed
/// inside its passes, for fast and accurate), or for a peer the separate operations a caller
/// of it runs (kernel_rows.hpp: the scores formed in T, then its softmax).
template <class T>
void scored_softmax(const contender<T>& who, std::span<const T> x, std::span<T> y,
                    const softlab::softmax_options& options) {
  softlab::softmax_rows<T>(who.kernel, x, 1, x.size(), x.size(), y, x.size(), options);
}

/// softmax/<bf16|f16>/<impl>/<n> (vectorized softlab entries and peers: the scalar ones run
/// the float algorithm after a widening pass), vocab/<type>/<impl>/<n>/t:<threads> (one row of
/// logits at temperature 0.7: scale = 1/0.7) and masked/<type>/<impl>/<n> (scale 0.125 + an
/// additive float mask), for float, bf16 and f16, every entry of the type.
template <class T>
void register_model_shapes(const std::vector<contender<T>>& contenders, run_mode mode) {
  std::vector<contender<T>> measured;
  for (const contender<T>& who : contenders)
    if (who.variant_of.empty() && measurable<T, softmax_op>(who)) measured.push_back(who);
  const std::string type(softlab::type_token_v<T>);
  if constexpr (softlab::is_storage_float<T>) {
    for (const std::size_t n : storage_softmax_sizes(mode))
      for (const contender<T>& who : measured) {
        if (!who.isa && who.origin == "softlab") continue;
        const std::string name = "softmax/" + type + "/" + who.name + "/" + std::to_string(n);
        benchmark::RegisterBenchmark(name.c_str(), [who, n](benchmark::State& state) {
          if (who.isa) softlab::force_isa(*who.isa);
          time_over_buffers<T>(
              state, input_set::uniform, n, 2,
              [&](std::span<const T> x, std::span<T> y) { who.kernel.softmax(x, y); });
        });
      }
  }
  // One row on `threads` threads (softlab's entries only, as for scores/), in wall-clock time.
  for (const std::size_t n : vocab_sizes(mode))
    for (const std::size_t threads : score_threads)
      for (const contender<T>& who : measured) {
        if (threads != 1 && who.origin != "softlab") continue;
        const std::string name = "vocab/" + type + "/" + who.name + "/" + std::to_string(n) +
                                 "/t:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), [who, n, threads](benchmark::State& state) {
          if (who.isa) softlab::force_isa(*who.isa);
          const softlab::softmax_options options{.scale = 1 / vocab_temperature,
                                                 .threads = threads};
          time_over_buffers<T>(
              state, input_set::uniform, n, 2,
              [&](std::span<const T> x, std::span<T> y) { scored_softmax(who, x, y, options); });
        })->UseRealTime();
      }
  for (const std::size_t n : masked_sizes(mode))
    for (const contender<T>& who : measured) {
      const std::string name = "masked/" + type + "/" + who.name + "/" + std::to_string(n);
      benchmark::RegisterBenchmark(name.c_str(), [who, n](benchmark::State& state) {
        if (who.isa) softlab::force_isa(*who.isa);
        const softlab::softmax_options options{
            .scale = masked_scale, .mask = additive_mask(n), .threads = 1};
        // x, y and the float mask: bytes_per_second counts the mask as sizeof(float) / sizeof(T)
        // arrays of T.
        time_over_buffers<T>(
            state, input_set::uniform, n, 2 + sizeof(float) / sizeof(T),
            [&](std::span<const T> x, std::span<T> y) { scored_softmax(who, x, y, options); });
      });
    }
}

}  // namespace

void register_kernel_benchmarks(const softlab::registry& registry,
                                std::span<const extra_float_softmax> extras, run_mode mode) {
  std::set<std::string> described;
  std::string types, storage;
  softlab::for_each_type(benchmarked_types{}, [&]<class T>() {
    register_type<T>(registry, extras, mode, described);
    types += (types.empty() ? "" : ",") + std::string(softlab::type_token_v<T>) + ":" +
             std::to_string(std::numeric_limits<T>::digits);
    storage += (storage.empty() ? "" : ",") + std::string(softlab::type_token_v<T>) + ":" +
               std::to_string(softlab::is_storage_float<T> ? 8 * sizeof(T) : 0);
  });
  // The types in the order the report shows them, each with p: the report's first one is the
  // one it compares against the roofline and the accuracy study. And which are 16-bit storage
  // (their bits; 0 for the others), for the report's 16-bit section.
  // The model shapes: float beside the 16-bit storage types, which join the types' list.
  softlab::for_each_type(
      softlab::type_list<float, softlab::bfloat16, softlab::float16>{}, [&]<class T>() {
        const std::vector<contender<T>> contenders = contenders_of<T>(registry, extras);
        describe_contenders(contenders, described);
        register_model_shapes<T>(contenders, mode);
        if constexpr (softlab::is_storage_float<T>) {
          types += "," + std::string(softlab::type_token_v<T>) + ":" +
                   std::to_string(std::numeric_limits<T>::digits);
          storage +=
              "," + std::string(softlab::type_token_v<T>) + ":" + std::to_string(8 * sizeof(T));
        }
      });
  benchmark::AddCustomContext("softlab_types", types);
  benchmark::AddCustomContext("softlab_storage_bits", storage);
}

}  // namespace softlab::bench
