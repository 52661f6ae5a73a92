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
std::string torch_description();
/// torch::softmax(x, 0) (a new tensor each call), copied into y: peers::allocating_softmax.
void torch_softmax_allocating(std::span<const float> x, std::span<float> y);

// onednn_peer.cpp.
kernel<float> onednn_float();
std::string onednn_description();

// xnnpack_peer.cpp. Empty if xnn_initialize fails (e.g. a CPU XNNPACK does not support).
std::optional<kernel<float>> xnnpack_float();
std::string xnnpack_description();

}  // namespace softlab::peers::detail
