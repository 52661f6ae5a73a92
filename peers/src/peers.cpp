// The registration TU: the only one compiled with SOFTLAB_HAVE_TORCH / _ONEDNN / _XNNPACK, one
// per peer built into softlab_peers, so register_peers adds just what was built.
#include "adapters.hpp"

#include <softlab_peers/peers.hpp>

namespace softlab::peers {

void register_peers(softlab::registry& into) {
#ifdef SOFTLAB_HAVE_TORCH
  into.add<float>(detail::torch_float());
  into.add<double>(detail::torch_double());
#endif
#ifdef SOFTLAB_HAVE_ONEDNN
  into.add<float>(detail::onednn_float());
#endif
#ifdef SOFTLAB_HAVE_XNNPACK
  if (auto xnnpack = detail::xnnpack_float()) into.add<float>(*xnnpack);
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
