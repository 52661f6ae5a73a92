// The eigen peer: softmax as a C++ user writes it with Eigen 3.4 arrays (eigen_softmax.hpp),
// compiled once per instruction set (eigen_sse2.cpp, eigen_avx2.cpp, eigen_avx512.cpp), each
// with its own renamed copy of Eigen. This TU is ISA-neutral and includes no Eigen header: it
// checks arguments and picks the kernels of softlab::active_isa().
#include "adapters.hpp"
#include "isa_dispatch.hpp"

#include <string>

#ifndef SOFTLAB_EIGEN_VERSION
#error "SOFTLAB_EIGEN_VERSION (the Eigen version string) is set by peers/CMakeLists.txt"
#endif

namespace softlab::peers::detail {
namespace {

const tables_by_isa& eigen_tables() {
  static const tables_by_isa tables{eigen_sse2::tables(), eigen_avx2::tables(),
                                    eigen_avx512::tables()};
  return tables;
}

constexpr implementation_facts facts{
    .name = "eigen",
    .algorithm = "Eigen " SOFTLAB_EIGEN_VERSION
                 " arrays, y = (a - a.maxCoeff()).exp(); y /= y.sum() (Eigen's vectorized exp; "
                 "one renamed Eigen copy per ISA)",
    .passes = "4: read; read + write; read; read + write (log_softmax 3: read; read; read + write)",
    .stated_bound = "none stated by the library",
    .vectorized = true,
    .meets_contract = false,
    // Kept on the lanes std::exp computes; on pexp's lanes a result below about the smallest
    // normal comes out near it (peers.hpp): neither kept nor flushed, which the facts cannot
    // say; "kept" is what the scalar lanes and the short rows do.
    .subnormals = subnormal_results::kept,
};

constexpr std::string_view origin = "Eigen " SOFTLAB_EIGEN_VERSION;

}  // namespace

kernel<float> eigen_float() { return isa_dispatched_kernel<float, &eigen_tables>(facts, origin); }
kernel<double> eigen_double() {
  return isa_dispatched_kernel<double, &eigen_tables>(facts, origin);
}

std::string eigen_description() {
  return "eigen: Eigen " SOFTLAB_EIGEN_VERSION
         ", built (float, double; Eigen arrays' exp, maxCoeff, sum; sse2, avx2, avx512 kernels, "
         "each with its own renamed copy of Eigen)";
}

}  // namespace softlab::peers::detail
