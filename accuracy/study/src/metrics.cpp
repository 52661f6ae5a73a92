// metrics.cpp: the MPFR set-up of the threads that compute references, and the one instantiation
// of the engine's templates for every element type (declared extern in metrics.hpp).
#include <softlab_accuracy/metrics.hpp>

namespace softlab::accuracy {

void widen_mpfr_exponent_range() {
  mpfr_set_emin(mpfr_get_emin_min());
  mpfr_set_emax(mpfr_get_emax_max());
}

worker_pool make_reference_pool(unsigned threads) {
  widen_mpfr_exponent_range();
  return worker_pool(threads, widen_mpfr_exponent_range,
                     [] { mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE); });
}

#define SOFTLAB_ACCURACY_ENGINE(T)                                                             \
  template std::vector<vector_reference<T>> compute_references<T>(std::vector<std::vector<T>>, \
                                                                  worker_pool&);               \
  template cell_metrics evaluate<T>(const kernel<T>&, std::span<const vector_reference<T>>,    \
                                    worker_pool&, value_format);
SOFTLAB_FOR_EACH_ELEMENT_TYPE(SOFTLAB_ACCURACY_ENGINE)
#undef SOFTLAB_ACCURACY_ENGINE

}  // namespace softlab::accuracy
