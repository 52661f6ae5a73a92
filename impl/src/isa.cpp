// The instruction-set choice: the library's one piece of global state.
#include <softlab/simd/isa.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <cpuid.h>

namespace softlab {

namespace {
constexpr int not_chosen = -1;  // detail::chosen_isa before the first choice (isa.hpp)
}  // namespace

std::atomic<int> detail::chosen_isa{not_chosen};

namespace {
using detail::chosen_isa;

/// The register state the operating system saves on a context switch (XCR0), 0 when it has
/// not enabled XSAVE: a CPU's AVX or AVX-512 flags say nothing about whether the OS restores
/// ymm/zmm and the mask registers, and using them where it does not corrupts other threads'
/// state or faults. Read with XGETBV as bytes, so that this file needs no -mxsave.
std::uint64_t os_saved_state() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || (ecx & bit_OSXSAVE) == 0) return 0;
  std::uint32_t low, high;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(low), "=d"(high) : "c"(0));  // xgetbv
  return (std::uint64_t(high) << 32) | low;
}

// XCR0 bits: 1 SSE (xmm), 2 AVX (upper ymm), 5 opmask (k0-k7), 6 ZMM_Hi256 (upper zmm0-15),
// 7 Hi16_ZMM (zmm16-31).
constexpr std::uint64_t avx_state = (1u << 1) | (1u << 2);
constexpr std::uint64_t avx512_state = avx_state | (1u << 5) | (1u << 6) | (1u << 7);

bool os_saves(std::uint64_t state) { return (os_saved_state() & state) == state; }

/// F16C (CPUID leaf 1, ECX bit 29), read directly: clang 14's __builtin_cpu_supports does not
/// know the feature's name.
bool has_f16c() {
  unsigned eax, ebx, ecx, edx;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}

}  // namespace

bool cpu_supports(isa which) {
  switch (which) {
    case isa::sse2:
      return true;  // the x86-64 baseline
    case isa::avx2:
      // F16C (float16 <-> float, VCVTPH2PS/VCVTPS2PH) is part of softlab's AVX2: every AVX2 CPU
      // has it, and the 16-bit storage kernels use it.
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c() &&
             os_saves(avx_state);
    case isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("fma") && has_f16c() && os_saves(avx512_state);
  }
  return false;
}

namespace {

std::string every_isa_name() {
  std::string names;
  for (isa which : every_isa) {
    if (!names.empty()) names += which == every_isa.back() ? " or " : ", ";
    names += isa_name(which);
  }
  return names;
}

isa choose_at_first_use() {
  if (const char* forced = std::getenv("SOFTLAB_ISA"); forced != nullptr && *forced != '\0') {
    const auto parsed = parse_isa(forced);
    if (!parsed)
      throw std::runtime_error(std::string("SOFTLAB_ISA=") + forced +
                               ": unknown instruction set (expected " + every_isa_name() + ")");
    if (!cpu_supports(*parsed))
      throw std::runtime_error(std::string("SOFTLAB_ISA=") + forced + ": this CPU lacks " +
                               std::string(isa_name(*parsed)) +
                               " (or the operating system has not enabled its registers); it has " +
                               std::string(isa_name(available_isas().back())));
    return *parsed;
  }
  return available_isas().back();
}

}  // namespace

std::string_view isa_name(isa which) {
  switch (which) {
    case isa::sse2:
      return "sse2";
    case isa::avx2:
      return "avx2";
    case isa::avx512:
      return "avx512";
  }
  return "?";
}

std::optional<isa> parse_isa(std::string_view name) {
  for (isa which : every_isa)
    if (name == isa_name(which)) return which;
  return std::nullopt;
}

std::vector<isa> available_isas() {
  std::vector<isa> result;
  for (isa which : every_isa)
    if (cpu_supports(which)) result.push_back(which);
  return result;
}

isa detail::choose_isa() {
  int current = chosen_isa.load(std::memory_order_acquire);
  if (current == not_chosen) {
    const int chosen = static_cast<int>(choose_at_first_use());
    // Two first calls racing both compute the same answer; keep whichever landed first.
    chosen_isa.compare_exchange_strong(current, chosen, std::memory_order_acq_rel);
    current = chosen_isa.load(std::memory_order_acquire);
  }
  return static_cast<isa>(current);
}

void force_isa(isa which) {
  if (!cpu_supports(which))
    throw std::invalid_argument("softlab::force_isa: this CPU lacks " +
                                std::string(isa_name(which)));
  chosen_isa.store(static_cast<int>(which), std::memory_order_release);
}

}  // namespace softlab
