// The torch peer: libtorch's ATen softmax, log_softmax and logsumexp on the caller's buffers.
//
// Both buffers are wrapped with torch::from_blob (no copy; the input view is const_cast, never
// written) as 1-D tensors and reduced over dim 0. at::softmax_out / at::log_softmax_out write
// straight into the caller's output; at::logsumexp allocates its 0-d result and temporaries
// (amax, x - max, its exp), which libtorch offers no way to avoid. Every call runs under
// c10::InferenceMode, so no autograd bookkeeping (version counters, grad_fn) is done.
//
// torch_softmax_allocating is torch::softmax(x, 0) as most users call it, a new tensor per call,
// copied into y; it is not a registry entry (softlab_peers/peers.hpp, allocating_softmax).
//
// ATen 1.13's CPU kernels for a contiguous last dimension (aten/src/ATen/native/cpu/
// SoftMaxKernel.cpp, _vec_softmax_lastdim and _vec_log_softmax_lastdim), vectorized with
// Vectorized<T> and Sleef's exp and log:
//   softmax:     m = max x; y = exp(x - m); s = sum y; y *= 1/s          (4 passes)
//   log_softmax: m = max x; s = sum exp(x - m); y = x - m - log s        (3 passes)
//   logsumexp:   m = amax x (0 if +-inf); log(sum exp(x - m)) + m        (at::logsumexp)
// The only threading is libtorch's intra-op pool; registration sets at::set_num_threads(1)
// once, process-wide (a 1-D softmax has one row, so it would run on one thread anyway).
//
// ATen picks its CPU kernels (DEFAULT, AVX2, AVX512) once, from ATEN_CPU_CAPABILITY, the first
// time it needs one; unset, libtorch 1.13 never picks AVX512 (opt-in: it can be slower than
// AVX2 on some CPUs, aten/src/ATen/native/DispatchStub.cpp). So before the first
// ATen call (registration, the description, the allocating call, whichever comes first) this
// adapter sets ATEN_CPU_CAPABILITY, if unset, to the best this CPU runs: avx512 when
// softlab::cpu_supports(isa::avx512), else avx2, else default; a value the user set stays. The
// capability that ran is ATen's own report (at::show_config()'s "CPU capability usage") and is
// part of the entries' origin and algorithm, so the study's CSV and the benchmark JSON carry it.
#include "adapters.hpp"

#include <softlab/detail/arguments.hpp>
#include <softlab/detail/reductions.hpp>
#include <softlab/simd/isa.hpp>

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <c10/core/InferenceMode.h>
#include <torch/types.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#ifndef SOFTLAB_TORCH_VERSION
#error "SOFTLAB_TORCH_VERSION (the libtorch version string) is set by peers/CMakeLists.txt"
#endif

namespace softlab::peers::detail {
namespace {

/// ATen's scalar type of T, and T from ATen's scalar (the 16-bit types: the same bits).
template <class T>
at::ScalarType scalar_type() {
  if constexpr (std::is_same_v<T, float>) return at::kFloat;
  if constexpr (std::is_same_v<T, double>) return at::kDouble;
  if constexpr (std::is_same_v<T, bfloat16>) return at::kBFloat16;
  if constexpr (std::is_same_v<T, float16>) return at::kHalf;
}
template <class T>
at::TensorOptions options() {
  return at::TensorOptions().dtype(scalar_type<T>());
}
template <class T>
T scalar_of(const at::Tensor& t) {
  if constexpr (std::is_same_v<T, bfloat16>)
    return bfloat16::from_bits(t.item<c10::BFloat16>().x);
  else if constexpr (std::is_same_v<T, float16>)
    return float16::from_bits(t.item<c10::Half>().x);
  else
    return t.item<T>();
}

template <class T>
at::Tensor view_of(const T* data, std::size_t n) {
  // from_blob never takes ownership; the input view is only read.
  return torch::from_blob(const_cast<T*>(data), {static_cast<std::int64_t>(n)}, options<T>());
}

template <class T>
void torch_softmax(std::span<const T> x, std::span<T> y) {
  softlab::detail::check_elementwise<T>("softmax", x, std::span<const T>(y));
  if (x.empty()) return;
  c10::InferenceMode inference;
  at::Tensor out = view_of<T>(y.data(), y.size());
  at::softmax_out(out, view_of<T>(x.data(), x.size()), 0);
}

template <class T>
void torch_log_softmax(std::span<const T> x, std::span<T> y) {
  softlab::detail::check_elementwise<T>("log_softmax", x, std::span<const T>(y));
  if (x.empty()) return;
  c10::InferenceMode inference;
  at::Tensor out = view_of<T>(y.data(), y.size());
  at::log_softmax_out(out, view_of<T>(x.data(), x.size()), 0);
}

template <class T>
T torch_logsumexp(std::span<const T> x) {
  if (x.empty()) return -std::numeric_limits<T>::infinity();  // log of an empty sum, as softlab
  c10::InferenceMode inference;
  return scalar_of<T>(at::logsumexp(view_of<T>(x.data(), x.size()), {0}));
}

double no_bound(const bound_inputs&) { return no_bound_claimed; }

/// Sets ATEN_CPU_CAPABILITY (if unset) before ATen reads it; every path into ATen calls this first.
void best_cpu_capability_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* best = softlab::cpu_supports(softlab::isa::avx512) ? "avx512"
                       : softlab::cpu_supports(softlab::isa::avx2) ? "avx2"
                                                                   : "default";
    setenv("ATEN_CPU_CAPABILITY", best, /*overwrite=*/0);
  });
}

void one_thread_once() {
  best_cpu_capability_once();
  static std::once_flag once;
  std::call_once(once, [] { at::set_num_threads(1); });
}

/// "AVX2" from at::show_config()'s "CPU capability usage: AVX2" line, or "?".
std::string cpu_capability() {
  best_cpu_capability_once();
  const std::string config = at::show_config();
  const std::string key = "CPU capability usage: ";
  const auto at = config.find(key);
  if (at == std::string::npos) return "?";
  const auto begin = at + key.size();
  return config.substr(begin, config.find('\n', begin) - begin);
}

/// "libtorch 1.13.1 (ATen CPU capability AVX2)", built once, after the capability is chosen.
const std::string& origin() {
  static const std::string text =
      "libtorch " SOFTLAB_TORCH_VERSION " (ATen CPU capability " + cpu_capability() + ")";
  return text;
}

const std::string& algorithm() {
  static const std::string text =
      origin() +
      " at::softmax, ATen's vectorized CPU kernel (Sleef exp): max; exp(x - max) stored; sum; "
      "times 1/sum";
  return text;
}

template <class T>
kernel<T> make() {
  one_thread_once();
  return kernel<T>{
      .facts =
          implementation_facts{
              .name = "torch",
              .algorithm = algorithm(),
              .passes = "4: read; read + write; read; read + write (log_softmax 3: read; read; "
                        "read + write)",
              .stated_bound = "none stated by the library",
              .vectorized = true,
              .meets_contract = false,
              .subnormals = subnormal_results::kept,
          },
      .softmax = &torch_softmax<T>,
      .log_softmax = &torch_log_softmax<T>,
      .logsumexp = &torch_logsumexp<T>,
      .pairwise_attention = nullptr,
      .softmax_bound_ulps = &no_bound,
      .log_bound_a = &no_bound,
      .origin = origin(),
  };
}

}  // namespace

void torch_best_cpu_capability() { best_cpu_capability_once(); }
const std::string& torch_origin() { return origin(); }

kernel<float> torch_float() { return make<float>(); }
kernel<double> torch_double() { return make<double>(); }

/// ATen 1.13 has CPU softmax kernels for bfloat16 (computed in float) but not for float16 (a
/// "not implemented for 'Half'" error): each is registered only if a two-element softmax, log
/// softmax and logsumexp run.
std::optional<kernel<bfloat16>> torch_bfloat16() {
  return if_it_runs<c10::Error>(make<bfloat16>());
}
std::optional<kernel<float16>> torch_float16() { return if_it_runs<c10::Error>(make<float16>()); }

std::string torch_description() {
  best_cpu_capability_once();
  std::string types = "float, double";
  if (torch_bfloat16()) types += ", bf16";
  if (torch_float16()) types += ", f16";
  return "torch: libtorch " SOFTLAB_TORCH_VERSION ", built (" + types + "; ATen CPU capability " +
         cpu_capability() + "; intra-op threads now " + std::to_string(at::get_num_threads()) +
         ", set to 1 at registration; matmul on " + torch_blas() + ")";
}

void torch_softmax_allocating(std::span<const float> x, std::span<float> y) {
  softlab::detail::check_elementwise<float>("softmax", x, std::span<const float>(y));
  if (x.empty()) return;
  one_thread_once();  // as the registry's torch entries: best capability, single-threaded
  c10::InferenceMode inference;
  // What most libtorch code writes: the result is a new tensor, allocated here, freed on return.
  const at::Tensor result = torch::softmax(view_of<float>(x.data(), x.size()), 0);
  std::copy_n(result.data_ptr<float>(), y.size(), y.data());
}

}  // namespace softlab::peers::detail
