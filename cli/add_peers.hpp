// cli/add_peers.hpp: the one hook between the tool and the peers, apart from the subcommands'
// CLI11 code (command.hpp) so that the two files defining it compile neither CLI11 nor the
// registry's algorithms.
#pragma once

namespace softlab {
class registry;            // softlab/registry.hpp
class attention_registry;  // softlab/attention_registry.hpp
}  // namespace softlab

namespace softlab::cli {

/// Adds the peers (softlab_peers) to the tool's registry: peers.cpp in the `softlab` built with
/// them; no_peers.cpp, which adds nothing, in a build without them and in the tests' copy of
/// the tool without peers (softlab-without-peers: the same commands, without the second that
/// loading libtorch's libraries takes at every start).
void add_peers(softlab::registry& registry, softlab::attention_registry& attention_registry);

}  // namespace softlab::cli
