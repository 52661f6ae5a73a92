// The highway peer's AVX-512 kernels: Highway's static target N_AVX3 (AVX-512 F, BW, DQ, VL),
// which this TU's flags select (peers/CMakeLists.txt); highway_softmax.hpp has the algorithm.
// Run only when softlab::cpu_supports(isa::avx512) and Highway's own detection agree.
#include "highway_softmax.hpp"

static_assert(HWY_TARGET == HWY_AVX3, "highway_avx512.cpp must compile Highway's AVX3 target");

namespace softlab::peers::highway_avx512 {
const detail::isa_tables* tables() { return &highway_kernels::tables; }
}  // namespace softlab::peers::highway_avx512
