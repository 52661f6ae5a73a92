// The highway peer's AVX2 kernels: Highway's static target N_AVX2, which the -mavx2 -mfma
// -mbmi -mbmi2 flags of this TU select (peers/CMakeLists.txt); highway_softmax.hpp has the
// algorithm.
#include "highway_softmax.hpp"

static_assert(HWY_TARGET == HWY_AVX2, "highway_avx2.cpp must compile Highway's AVX2 target");

namespace softlab::peers::highway_avx2 {
const detail::isa_tables* tables() { return &highway_kernels::tables; }
}  // namespace softlab::peers::highway_avx2
