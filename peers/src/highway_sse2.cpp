// The highway peer has no SSE2 kernels: Highway 1.0.3's x86 targets start at SSSE3, and gemma.cpp
// builds for AVX2 and up. This object exists because softlab_isa_objects builds one per ISA.
#include "isa_kernels.hpp"

namespace softlab::peers::highway_sse2 {
const detail::isa_tables* tables() { return nullptr; }
}  // namespace softlab::peers::highway_sse2
