// The instruction-set choice: the library's one piece of global state.
#include <softlab/simd/isa.hpp>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace softlab {
namespace {

constexpr int not_chosen = -1;
std::atomic<int> chosen_isa{not_chosen};

bool cpu_has(isa which) {
  switch (which) {
    case isa::sse2:
      return true;  // the x86-64 baseline
    case isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return false;
}

isa choose_at_first_use() {
  if (const char* forced = std::getenv("SOFTLAB_ISA"); forced != nullptr && *forced != '\0') {
    const auto parsed = parse_isa(forced);
    if (!parsed)
      throw std::runtime_error(std::string("SOFTLAB_ISA=") + forced +
                               ": unknown instruction set (expected sse2 or avx2)");
    if (!cpu_has(*parsed))
      throw std::runtime_error(std::string("SOFTLAB_ISA=") + forced + ": this CPU lacks it");
    return *parsed;
  }
  return cpu_has(isa::avx2) ? isa::avx2 : isa::sse2;
}

}  // namespace

std::string_view isa_name(isa which) { return which == isa::avx2 ? "avx2" : "sse2"; }

std::optional<isa> parse_isa(std::string_view name) {
  if (name == "sse2") return isa::sse2;
  if (name == "avx2") return isa::avx2;
  return std::nullopt;
}

std::vector<isa> available_isas() {
  std::vector<isa> result;
  for (isa which : {isa::sse2, isa::avx2})
    if (cpu_has(which)) result.push_back(which);
  return result;
}

isa active_isa() {
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
  if (!cpu_has(which))
    throw std::invalid_argument("softlab::force_isa: this CPU lacks " +
                                std::string(isa_name(which)));
  chosen_isa.store(static_cast<int>(which), std::memory_order_release);
}

}  // namespace softlab
