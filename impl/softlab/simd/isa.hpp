// softlab/simd/isa.hpp: which instruction set the vectorized kernels run on.
//
// The choice is made once, on first use: the SOFTLAB_ISA environment variable (sse2 | avx2) if
// set, otherwise the best one the CPU has. It is the library's only global state; force_isa
// changes it (tests use it to run both paths on one machine). Reading and changing it is
// thread-safe; changing it while another thread runs a kernel is allowed and takes effect on
// that thread's next call.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace softlab {

enum class isa {
  sse2,  ///< x86-64 baseline: 4 floats / 2 doubles per vector
  avx2,  ///< AVX2 with FMA (xsimd 8.1's fma3<avx2>): 8 floats / 4 doubles
};

std::string_view isa_name(isa which);
std::optional<isa> parse_isa(std::string_view name);

/// The instruction sets compiled into this build that the CPU can run, best last.
std::vector<isa> available_isas();

/// The one in use (chosen on first call, see above). Throws std::runtime_error when SOFTLAB_ISA
/// names an unknown or unavailable instruction set.
isa active_isa();

/// Use `which` from now on; std::invalid_argument if the CPU or the build lacks it.
void force_isa(isa which);

}  // namespace softlab
