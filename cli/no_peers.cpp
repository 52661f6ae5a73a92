// cli/no_peers.cpp: the tool built without the peers keeps the builtin registry (add_peers.hpp).
#include "add_peers.hpp"

namespace softlab::cli {

void add_peers(softlab::registry&, softlab::attention_registry&) {}

}  // namespace softlab::cli
