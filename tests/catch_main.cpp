// Catch2's main, compiled once (softlab_test_main) and linked into every test executable: the
// main translation unit is the slowest to compile of Catch2 v2's single header. Before running,
// a process restricted to an instruction set the CPU lacks (SOFTLAB_TEST_ISA, see
// isa_under_test.hpp) says so and exits with CTest's skip code.
#define CATCH_CONFIG_RUNNER
#include "isa_under_test.hpp"

#include <softlab/simd/isa.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  try {
    if (const auto only = softlab::testing::isa_under_test();
        only && !softlab::cpu_supports(*only)) {
      const std::string name(softlab::isa_name(*only));
      std::printf(
          "skipped: this CPU lacks %s (or the OS has not enabled it); its kernels are not run\n",
          name.c_str());
      return softlab::testing::skipped_exit_code;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return Catch::Session().run(argc, argv);
}
