// adapters.hpp (private to softlab_peers): what each peer's translation unit provides to the
// registration TU (peers.cpp). Only the TUs of the peers that are built define these; peers.cpp
// calls only those whose SOFTLAB_HAVE_* is defined.
#pragma once

#include <softlab/registry.hpp>

#include <optional>
#include <span>
#include <string>

namespace softlab::peers::detail {

// torch_peer.cpp. The kernels set at::set_num_threads(1) once, when first made.
kernel<float> torch_float();
kernel<double> torch_double();
/// The 16-bit storage types where ATen has a CPU kernel for them (bfloat16 in 1.13), else empty.
std::optional<kernel<bfloat16>> torch_bfloat16();
std::optional<kernel<float16>> torch_float16();
std::string torch_description();
/// torch::softmax(x, 0) (a new tensor each call), copied into y: peers::allocating_softmax.
void torch_softmax_allocating(std::span<const float> x, std::span<float> y);

// onednn_peer.cpp.
kernel<float> onednn_float();
std::string onednn_description();

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
