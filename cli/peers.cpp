// cli/peers.cpp: the tool built with the peers adds them to its registry (add_peers.hpp).
#include "add_peers.hpp"

#include <softlab/attention_registry.hpp>
#include <softlab_peers/peers.hpp>

namespace softlab::cli {

void add_peers(softlab::registry& registry, softlab::attention_registry& attention_registry) {
  softlab::peers::register_peers(registry);
  softlab::peers::register_attention_peers(attention_registry);
}

}  // namespace softlab::cli
