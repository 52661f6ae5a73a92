// The eigen peer's kernels for AVX2 + FMA (Eigen's packets: 8 floats, 4 doubles), compiled with
// -mavx2 -mfma. Eigen's namespace is renamed for this TU (eigen_softmax.hpp says why).
#define SOFTLAB_EIGEN_NAMESPACE softlab_eigen_avx2
#define Eigen softlab_eigen_avx2
#include "eigen_softmax.hpp"

namespace softlab::peers::eigen_avx2 {
const detail::isa_tables* tables() { return &eigen_kernels::tables; }
}  // namespace softlab::peers::eigen_avx2
