// adapters.hpp (private to softlab_peers): what each peer's translation unit provides to the
// registration TU (peers.cpp). Only the TUs of the peers that are built define these; peers.cpp
// calls only those whose SOFTLAB_HAVE_* is defined.
#pragma once

#include <softlab/attention_registry.hpp>
#include <softlab/registry.hpp>

#include <omp.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace softlab::peers::detail {

/// The attention peers' threads: libtorch (its intra-op parallel_for and the OpenMP build of
/// OpenBLAS under its matmul) and oneDNN run their parallel regions on GCC's OpenMP with the
/// calling thread's thread count (at::get_num_threads() is omp_get_max_threads()). A call sets
/// it to attention_options::threads (default softlab::default_threads()) and restores it on
/// return, so it neither inherits nor leaves a count (the softmax peers keep libtorch's 1).
class openmp_threads_for_call {
 public:
  explicit openmp_threads_for_call(std::size_t threads) : previous_(omp_get_max_threads()) {
    if (previous_ != static_cast<int>(threads)) omp_set_num_threads(static_cast<int>(threads));
  }
  ~openmp_threads_for_call() {
    if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
  }
  openmp_threads_for_call(const openmp_threads_for_call&) = delete;
  openmp_threads_for_call& operator=(const openmp_threads_for_call&) = delete;

 private:
  int previous_;
};

/// k, if a two-element softmax, log_softmax and logsumexp run without the library throwing
/// Error: the registration check of a type the library may lack on this CPU (ATen's float16,
/// oneDNN's bfloat16 without AVX-512).
template <class Error, class T>
std::optional<kernel<T>> if_it_runs(kernel<T> k) {
  try {
    const std::vector<T> x{T(1.0), T(2.0)};
    std::vector<T> y(2);
    k.softmax(x, y);
    k.log_softmax(x, y);
    (void)k.logsumexp(x);
  } catch (const Error&) {
    return std::nullopt;
  }
  return k;
}

// torch_peer.cpp. The kernels set at::set_num_threads(1) once, when first made.
kernel<float> torch_float();
kernel<double> torch_double();
/// The 16-bit storage types where ATen has a CPU kernel for them (bfloat16 in 1.13), else empty.
std::optional<kernel<bfloat16>> torch_bfloat16();
std::optional<kernel<float16>> torch_float16();
std::string torch_description();
/// torch::softmax(x, 0) (a new tensor each call), copied into y: peers::allocating_softmax.
void torch_softmax_allocating(std::span<const float> x, std::span<float> y);
/// Sets ATEN_CPU_CAPABILITY (unless set) before ATen's first CPU op; "libtorch 1.13.1 (ATen CPU
/// capability AVX2)".
void torch_best_cpu_capability();
const std::string& torch_origin();

// torch_attention.cpp: the attention peers, each when a small call runs for the type.
std::optional<attention_kernel<float>> torch_composed_float();
std::optional<attention_kernel<bfloat16>> torch_composed_bfloat16();
std::optional<attention_kernel<float>> torch_sdpa_float();
std::optional<attention_kernel<bfloat16>> torch_sdpa_bfloat16();
/// "BLAS openblas-openmp, OpenBLAS 0.3.21 ..., <path>": what libblas.so.3 resolves to.
std::string torch_blas();

// onednn_peer.cpp.
kernel<float> onednn_float();
std::optional<kernel<bfloat16>> onednn_bfloat16();  ///< where oneDNN runs bf16 (AVX-512 CPUs)
std::string onednn_description();

// onednn_attention.cpp: matmul, softmax, matmul primitives; bf16 only where oneDNN runs it.
attention_kernel<float> onednn_composed_float();
std::optional<attention_kernel<bfloat16>> onednn_composed_bfloat16();

// xnnpack_peer.cpp. Empty if xnn_initialize fails (e.g. a CPU XNNPACK does not support).
std::optional<kernel<float>> xnnpack_float();
std::string xnnpack_description();

// sleef_peer.cpp: ATen's softmax on SLEEF, per ISA (isa_dispatch.hpp).
bool sleef_runs_here();  // false: no ISA of its kernels runs on this CPU, not registered
kernel<float> sleef_float();
kernel<double> sleef_double();
std::string sleef_description();

// highway_peer.cpp: gemma.cpp's softmax on Highway, AVX2 and AVX-512 (isa_dispatch.hpp).
bool highway_runs_here();  // false: Highway's AVX2 target does not run here, not registered
kernel<float> highway_float();
kernel<double> highway_double();
std::string highway_description();

// eigen_peer.cpp: Eigen 3.4 arrays, per ISA (isa_dispatch.hpp).
kernel<float> eigen_float();
kernel<double> eigen_double();
std::string eigen_description();

}  // namespace softlab::peers::detail
