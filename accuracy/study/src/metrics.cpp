// metrics.cpp: the MPFR set-up of the threads that compute references.
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

}  // namespace softlab::accuracy
