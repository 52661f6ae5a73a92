// tests/isa_under_test.hpp: the instruction set a test process runs the vectorized kernels on.
//
// CTest runs the vectorized kernels' cases once per instruction set softlab compiles for
// (core:vectorized@<isa>, tests/core/CMakeLists.txt), with SOFTLAB_TEST_ISA=<isa>: the process
// runs them on that ISA only, or, when the CPU lacks it, exits with skipped_exit_code before any
// test (catch_main.cpp), which CTest reports as skipped. Without the variable (a developer
// running a test binary by hand) every ISA the CPU has is run.
#pragma once

#include <softlab/registry.hpp>
#include <softlab/simd/isa.hpp>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace softlab::testing {

/// CTest's SKIP_RETURN_CODE for a process whose instruction set this CPU lacks.
inline constexpr int skipped_exit_code = 77;

/// SOFTLAB_TEST_ISA, parsed; empty when unset. std::runtime_error for an unknown name.
inline std::optional<isa> isa_under_test() {
  const char* name = std::getenv("SOFTLAB_TEST_ISA");
  if (name == nullptr || *name == '\0') return std::nullopt;
  const auto parsed = parse_isa(name);
  if (!parsed)
    throw std::runtime_error(std::string("SOFTLAB_TEST_ISA=") + name + ": unknown instruction set");
  return parsed;
}

/// The instruction sets to run k on: its variants this CPU has (isa_variants_of), restricted to
/// SOFTLAB_TEST_ISA when set.
template <class T>
std::vector<isa> isas_under_test(const kernel<T>& k) {
  std::vector<isa> result = isa_variants_of(k);
  if (const auto only = isa_under_test()) std::erase_if(result, [&](isa i) { return i != *only; });
  return result;
}

}  // namespace softlab::testing
