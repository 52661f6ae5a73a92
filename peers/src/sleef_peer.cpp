// The sleef peer: PyTorch's CPU softmax algorithm written directly on SLEEF's vector exp, one
// kernel set per instruction set (sleef_sse2.cpp, sleef_avx2.cpp, sleef_avx512.cpp; the
// algorithm in sleef_softmax.hpp). It is what libtorch's ATen kernel does per row, without
// libtorch's dispatch, tensor wrapping and allocation: the best case of that algorithm. This TU
// is ISA-neutral: it checks arguments and picks the kernels of softlab::active_isa().
#include "adapters.hpp"
#include "isa_dispatch.hpp"

#include <string>

#ifndef SOFTLAB_SLEEF_VERSION
#error "SOFTLAB_SLEEF_VERSION (the SLEEF version string) is set by peers/CMakeLists.txt"
#endif

namespace softlab::peers::detail {
namespace {

const tables_by_isa& sleef_tables() {
  static const tables_by_isa tables{sleef_sse2::tables(), sleef_avx2::tables(),
                                    sleef_avx512::tables()};
  return tables;
}

constexpr implementation_facts facts{
    .name = "sleef",
    .algorithm = "SLEEF " SOFTLAB_SLEEF_VERSION
                 " Sleef_expf*_u10 (1.0-ULP vector exp) in ATen's softmax: max; exp(x - max) "
                 "stored and summed in a vector accumulator; times 1/sum",
    .passes = "3: read; read + write; read + write (log_softmax 3: read; read; read + write)",
    .stated_bound = "none stated by the library",
    .vectorized = true,
    .meets_contract = false,
    .subnormals = subnormal_results::kept,
};

constexpr std::string_view origin = "SLEEF " SOFTLAB_SLEEF_VERSION;

}  // namespace

bool sleef_runs_here() { return runs_here(sleef_tables()); }
kernel<float> sleef_float() { return isa_dispatched_kernel<float, &sleef_tables>(facts, origin); }
kernel<double> sleef_double() {
  return isa_dispatched_kernel<double, &sleef_tables>(facts, origin);
}

std::string sleef_description() {
  return "sleef: SLEEF " SOFTLAB_SLEEF_VERSION
         ", built (float, double; ATen's softmax on Sleef_exp*_u10; sse2, avx2, avx512 kernels)";
}

}  // namespace softlab::peers::detail
