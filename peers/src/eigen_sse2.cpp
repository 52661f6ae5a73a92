// The eigen peer's kernels for SSE2 (Eigen's packets: 4 floats, 2 doubles), compiled for the x86-64
// baseline. Eigen's namespace is renamed for this TU (eigen_softmax.hpp says why).
#define SOFTLAB_EIGEN_NAMESPACE softlab_eigen_sse2
#define Eigen softlab_eigen_sse2
#include "eigen_softmax.hpp"

namespace softlab::peers::eigen_sse2 {
const detail::isa_tables* tables() { return &eigen_kernels::tables; }
}  // namespace softlab::peers::eigen_sse2
