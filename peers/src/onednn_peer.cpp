// The onednn peer: oneDNN's softmax_v2 primitive (float; bfloat16 where oneDNN runs it), on the
// caller's buffers.
//
// softmax: algorithm::softmax_accurate; log_softmax: algorithm::softmax_log; both
// prop_kind::forward_inference over a 1-D f32 (bf16) memory (format tag `a`, axis 0). oneDNN 2.6
// computes a bf16 softmax in float and rounds the result to bf16; it has bf16 kernels only for
// CPUs with AVX-512 (avx512_core), so the bf16 entry is registered where a small call runs. The CPU
// engine and stream are created once per thread; for each size a thread meets, the primitive, its
// two memory objects (created without a buffer) and the execute() argument map are built once and
// cached in a thread_local map, so a call only sets the two data handles, executes and waits.
// oneDNN computes in place when src and dst are the same buffer.
//
// logsumexp: oneDNN has no logsumexp primitive. It is DERIVED from the library's own output:
// one softmax_log into a per-thread scratch buffer, then lse = x_m - y_m at the first largest
// entry x_m (y_m = x_m - max - log sum: the entry whose subtraction is exact to first order;
// for the first finite entry instead, |y| may be large and x - y cancels). Whatever oneDNN gives
// for -inf, +inf or NaN inputs carries through unchanged.
#include "adapters.hpp"
#include "onednn_context.hpp"

#include <softlab/detail/arguments.hpp>
#include <softlab/detail/reductions.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace softlab::peers::detail {

onednn_context& this_thread_onednn_context() {
  thread_local onednn_context c;
  return c;
}

namespace {

/// One size's primitive, ready to run: memories without a buffer, bound at each call.
struct prepared {
  dnnl::softmax_v2_forward primitive;
  dnnl::memory src;
  dnnl::memory dst;
  std::unordered_map<int, dnnl::memory> arguments;
  std::string implementation;  ///< pd.impl_info_str(): which oneDNN kernel runs
};

template <class T>
prepared prepare(dnnl::algorithm algorithm, std::size_t n) {
  onednn_context& c = this_thread_onednn_context();
  const dnnl::memory::desc desc({static_cast<dnnl::memory::dim>(n)}, data_type_of<T>(),
                                dnnl::memory::format_tag::a);
  const dnnl::softmax_v2_forward::desc op(dnnl::prop_kind::forward_inference, algorithm, desc, desc,
                                          0);
  const dnnl::softmax_v2_forward::primitive_desc pd(op, c.engine);
  prepared p{dnnl::softmax_v2_forward(pd),
             dnnl::memory(desc, c.engine, DNNL_MEMORY_NONE),
             dnnl::memory(desc, c.engine, DNNL_MEMORY_NONE),
             {},
             pd.impl_info_str()};
  // The map holds handles to the same memory objects: set_data_handle on p.src reaches it.
  p.arguments = {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_DST, p.dst}};
  return p;
}

/// The cached primitive of one algorithm, type and size for this thread. Bounded: a thread that
/// has met more than 256 sizes of one algorithm starts over.
template <class T>
prepared& cached(dnnl::algorithm algorithm, std::size_t n) {
  // The context first: thread_local objects die in reverse order of construction, so the
  // primitives and memories below are destroyed before the engine they were made on.
  this_thread_onednn_context();
  thread_local std::unordered_map<std::size_t, prepared> softmax_cache, log_cache;
  auto& cache = algorithm == dnnl::algorithm::softmax_log ? log_cache : softmax_cache;
  auto found = cache.find(n);
  if (found != cache.end()) return found->second;
  if (cache.size() >= 256) cache.clear();
  return cache.emplace(n, prepare<T>(algorithm, n)).first->second;
}

template <class T>
void run(dnnl::algorithm algorithm, const T* x, T* y, std::size_t n) {
  prepared& p = cached<T>(algorithm, n);
  p.src.set_data_handle(const_cast<T*>(x));  // read only: DNNL_ARG_SRC
  p.dst.set_data_handle(y);
  dnnl::stream& stream = this_thread_onednn_context().stream;
  p.primitive.execute(stream, p.arguments);
  stream.wait();
}

template <class T>
void onednn_softmax(std::span<const T> x, std::span<T> y) {
  softlab::detail::check_elementwise<T>("softmax", x, std::span<const T>(y));
  if (x.empty()) return;
  run<T>(dnnl::algorithm::softmax_accurate, x.data(), y.data(), x.size());
}

template <class T>
void onednn_log_softmax(std::span<const T> x, std::span<T> y) {
  softlab::detail::check_elementwise<T>("log_softmax", x, std::span<const T>(y));
  if (x.empty()) return;
  run<T>(dnnl::algorithm::softmax_log, x.data(), y.data(), x.size());
}

/// x_m - y_m in float, rounded once to T (for bfloat16, y_m is oneDNN's bf16 log_softmax).
template <class T>
T onednn_logsumexp(std::span<const T> x) {
  if (x.empty()) return T(-softlab::detail::infinity<float>());  // log of an empty sum
  thread_local std::vector<T> scratch;
  scratch.resize(x.size());
  run<T>(dnnl::algorithm::softmax_log, x.data(), scratch.data(), x.size());
  std::size_t m = 0;  // the first largest entry (NaN entries are never larger)
  for (std::size_t i = 1; i < x.size(); ++i)
    if (float(x[i]) > float(x[m])) m = i;
  return T(float(x[m]) - float(scratch[m]));
}

double no_bound(const bound_inputs&) { return no_bound_claimed; }

template <class T>
kernel<T> make() {
  static constexpr implementation_facts facts{
      .name = "onednn",
      .algorithm = "oneDNN " SOFTLAB_DNNL_VERSION
                   " softmax_v2_forward, softmax_accurate (log_softmax: softmax_log), "
                   "forward_inference: max; exp(x - max) stored and summed; times 1/sum "
                   "(bf16: computed in float, rounded to bf16; AVX-512 CPUs only)",
      .passes =
          "3: read; read + write; read + write (jit kernel; logsumexp derived from log_softmax)",
      .stated_bound = "none stated by the library",
      .vectorized = true,
      .meets_contract = false,
      .subnormals = subnormal_results::flushed_to_zero,
  };
  return kernel<T>{
      .facts = facts,
      .softmax = &onednn_softmax<T>,
      .log_softmax = &onednn_log_softmax<T>,
      .logsumexp = &onednn_logsumexp<T>,
      .pairwise_attention = nullptr,
      .softmax_bound_ulps = &no_bound,
      .log_bound_a = &no_bound,
      .origin = "oneDNN " SOFTLAB_DNNL_VERSION,
  };
}

}  // namespace

kernel<float> onednn_float() { return make<float>(); }

/// Registered where oneDNN runs a bf16 softmax (CPUs with AVX-512): a two-element softmax, log
/// softmax and logsumexp must run.
std::optional<kernel<bfloat16>> onednn_bfloat16() {
  return if_it_runs<dnnl::error>(make<bfloat16>());
}

std::string onednn_description() {
  const dnnl_version_t* v = dnnl::version();
  std::string implementation = "?";
  try {
    implementation = cached<float>(dnnl::algorithm::softmax_accurate, 1000).implementation;
  } catch (const std::exception& e) {
    implementation = std::string("no primitive: ") + e.what();
  }
  return "onednn: oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + " (compiled against " SOFTLAB_DNNL_VERSION "), built (float" +
         (onednn_bfloat16() ? ", bf16" : "") + "; CPU engine, kernel " + implementation +
         " at n = 1000)";
}

}  // namespace softlab::peers::detail
