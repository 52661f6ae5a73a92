// The registration TU: the only one compiled with SOFTLAB_HAVE_TORCH / _ONEDNN / _XNNPACK /
// _SLEEF / _HIGHWAY / _EIGEN, one
// per peer built into softlab_peers, so register_peers adds just what was built.
#include "adapters.hpp"

#include <softlab/attention_registry.hpp>
#include <softlab_peers/peers.hpp>

namespace softlab::peers {

void register_peers(softlab::registry& into) {
#ifdef SOFTLAB_HAVE_TORCH
  into.add<float>(detail::torch_float());
  into.add<double>(detail::torch_double());
  if (auto k = detail::torch_bfloat16()) into.add<bfloat16>(*k);
  if (auto k = detail::torch_float16()) into.add<float16>(*k);
#endif
#ifdef SOFTLAB_HAVE_ONEDNN
  into.add<float>(detail::onednn_float());
  if (auto k = detail::onednn_bfloat16()) into.add<bfloat16>(*k);
#endif
#ifdef SOFTLAB_HAVE_XNNPACK
  if (auto xnnpack = detail::xnnpack_float()) into.add<float>(*xnnpack);
#endif
#ifdef SOFTLAB_HAVE_SLEEF
  if (detail::sleef_runs_here()) {
    into.add<float>(detail::sleef_float());
    into.add<double>(detail::sleef_double());
  }
#endif
#ifdef SOFTLAB_HAVE_HIGHWAY
  if (detail::highway_runs_here()) {
    into.add<float>(detail::highway_float());
    into.add<double>(detail::highway_double());
  }
#endif
#ifdef SOFTLAB_HAVE_EIGEN
  into.add<float>(detail::eigen_float());
  into.add<double>(detail::eigen_double());
#endif
  (void)into;  // every peer may be absent
}

void register_attention_peers(softlab::attention_registry& into) {
#ifdef SOFTLAB_HAVE_TORCH
  if (auto k = detail::torch_composed_float()) into.add<float>(*k);
  if (auto k = detail::torch_composed_bfloat16()) into.add<bfloat16>(*k);
  if (auto k = detail::torch_sdpa_float()) into.add<float>(*k);
  if (auto k = detail::torch_sdpa_bfloat16()) into.add<bfloat16>(*k);
#endif
#ifdef SOFTLAB_HAVE_ONEDNN
  into.add<float>(detail::onednn_composed_float());
  if (auto k = detail::onednn_composed_bfloat16()) into.add<bfloat16>(*k);
#endif
  (void)into;  // every peer may be absent
}

std::vector<std::string> peer_descriptions() {
  std::vector<std::string> lines;
#ifdef SOFTLAB_HAVE_TORCH
  lines.push_back(detail::torch_description());
#else
  lines.push_back("torch: libtorch, not built (SOFTLAB_PEERS=OFF or libtorch-dev not found)");
#endif
#ifdef SOFTLAB_HAVE_ONEDNN
  lines.push_back(detail::onednn_description());
#else
  lines.push_back("onednn: oneDNN, not built (SOFTLAB_PEERS=OFF or libdnnl-dev not found)");
#endif
#ifdef SOFTLAB_HAVE_XNNPACK
  lines.push_back(detail::xnnpack_description());
#else
  lines.push_back("xnnpack: XNNPACK, not built (SOFTLAB_PEERS=OFF or libxnnpack-dev not found)");
#endif
#ifdef SOFTLAB_HAVE_SLEEF
  lines.push_back(detail::sleef_description());
#else
  lines.push_back("sleef: SLEEF, not built (SOFTLAB_PEERS=OFF or libsleef-dev not found)");
#endif
#ifdef SOFTLAB_HAVE_HIGHWAY
  lines.push_back(detail::highway_description());
#else
  lines.push_back("highway: Highway, not built (SOFTLAB_PEERS=OFF or libhwy-dev not found)");
#endif
#ifdef SOFTLAB_HAVE_EIGEN
  lines.push_back(detail::eigen_description());
#else
  lines.push_back("eigen: Eigen, not built (SOFTLAB_PEERS=OFF or libeigen3-dev not found)");
#endif
  return lines;
}

std::vector<allocating_softmax> allocating_softmax_variants() {
  std::vector<allocating_softmax> variants;
#ifdef SOFTLAB_HAVE_TORCH
  variants.push_back(
      {.name = "torch_alloc", .variant_of = "torch", .softmax = &detail::torch_softmax_allocating});
#endif
  return variants;
}

}  // namespace softlab::peers
