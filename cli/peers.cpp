// cli/peers.cpp: the tool built with the peers adds them to its registry (command.hpp).
#include "command.hpp"

#include <softlab_peers/peers.hpp>

namespace softlab::cli {

void add_peers(softlab::registry& registry) { softlab::peers::register_peers(registry); }

}  // namespace softlab::cli
