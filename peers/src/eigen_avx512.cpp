// The eigen peer's kernels for AVX-512 (Eigen's packets: 16 floats, 8 doubles), compiled with the
// avx512 flags of cmake/SoftlabIsa.cmake; run only when softlab::cpu_supports(isa::avx512). Eigen's
// namespace is renamed for this TU (eigen_softmax.hpp says why).
#define SOFTLAB_EIGEN_NAMESPACE softlab_eigen_avx512
#define Eigen softlab_eigen_avx512
#include "eigen_softmax.hpp"

namespace softlab::peers::eigen_avx512 {
const detail::isa_tables* tables() { return &eigen_kernels::tables; }
}  // namespace softlab::peers::eigen_avx512
