// builtin_attention_registry(): the one translation unit that instantiates every (attention
// implementation, storage type); the tests and tools see them through the registry's pointers.
#include <softlab/attention_registry.hpp>

namespace softlab {

attention_registry builtin_attention_registry() {
  return attention_registry_of(builtin_attention_implementations{});
}

}  // namespace softlab
