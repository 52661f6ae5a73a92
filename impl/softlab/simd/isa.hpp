// softlab/simd/isa.hpp: which instruction set the vectorized kernels run on.
//
// The choice is made once, on first use: the SOFTLAB_ISA environment variable (sse2 | avx2 |
// avx512) if set, otherwise the best one the CPU and the operating system support. It is the
// library's only global state; force_isa changes it (tests use it to run every path on one
// machine). Reading and changing it is thread-safe; changing it while another thread runs a
// kernel is allowed and takes effect on that thread's next call.
#pragma once

#include <array>
#include <atomic>
#include <optional>
#include <string_view>
#include <vector>

namespace softlab {

enum class isa {
  sse2,    ///< x86-64 baseline: 4 floats / 2 doubles per vector
  avx2,    ///< AVX2 with FMA and F16C (xsimd 8.1's fma3<avx2>): 8 floats / 4 doubles
  avx512,  ///< AVX-512 F, BW, DQ and VL, FMA, F16C (xsimd 8.1's avx512bw): 16 floats / 8 doubles
};

/// Every instruction set softlab compiles its kernels for, narrowest first.
inline constexpr std::array<isa, 3> every_isa{isa::sse2, isa::avx2, isa::avx512};

/// A set of instruction sets, one bit per isa (isa_bit).
using isa_set = unsigned;
constexpr isa_set isa_bit(isa which) { return 1u << static_cast<unsigned>(which); }
inline constexpr isa_set all_isas = isa_bit(isa::sse2) | isa_bit(isa::avx2) | isa_bit(isa::avx512);

std::string_view isa_name(isa which);
std::optional<isa> parse_isa(std::string_view name);

/// Whether this CPU, and the operating system's saved register state (XCR0), support `which`.
bool cpu_supports(isa which);

/// The instruction sets compiled into this build that the CPU can run, best last.
std::vector<isa> available_isas();

namespace detail {
/// The instruction set in use as an int, -1 until the first call of active_isa (isa.cpp).
extern std::atomic<int> chosen_isa;
/// Chooses it on first use (see above) and returns the choice.
isa choose_isa();
}  // namespace detail

/// The one in use (chosen on first call, see above). Throws std::runtime_error when SOFTLAB_ISA
/// names an unknown instruction set or one this CPU lacks. Inline: every kernel call asks; at a
/// row of 16 floats this call and the one for the ISA's table cost ~2 ns of a 20 ns softmax.
inline isa active_isa() {
  const int chosen = detail::chosen_isa.load(std::memory_order_acquire);
  return chosen >= 0 ? static_cast<isa>(chosen) : detail::choose_isa();
}

/// Use `which` from now on; std::invalid_argument if the CPU or the build lacks it.
void force_isa(isa which);

}  // namespace softlab
