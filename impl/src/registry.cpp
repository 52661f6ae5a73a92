// builtin_registry(): the one translation unit that instantiates every (implementation, type) of
// the registry. Everything else (the tool, the benchmarks, the study, the tests) sees the kernels
// through the registry's function pointers and compiles none of the generic algorithms again.
#include <softlab/registry.hpp>

namespace softlab {

registry builtin_registry() { return registry_of(builtin_implementations{}); }

}  // namespace softlab
