// softlab_accuracy/exact_array.hpp: n MPFR numbers of one precision in three flat arrays.
//
// The study keeps the exact softmax of inputs of up to 16M elements; a std::vector of mpfr_t
// would cost a heap block per number. This uses MPFR's documented custom interface
// (mpfr_custom_init_set): the significands live in one array of limbs, the exponents and kinds
// in two more, and a number is viewed through a stack mpfr_t that points into the array.
#pragma once

#include <mpfr.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace softlab::accuracy {

class exact_array {
 public:
  exact_array() = default;
  exact_array(std::size_t n, mpfr_prec_t precision)
      : precision_(precision),
        limbs_((mpfr_custom_get_size(precision) + sizeof(mp_limb_t) - 1) / sizeof(mp_limb_t)),
        significands_(n * limbs_),
        exponents_(n, 0),
        kinds_(n, static_cast<std::int8_t>(MPFR_ZERO_KIND)) {}

  std::size_t size() const { return exponents_.size(); }
  mpfr_prec_t precision() const { return precision_; }

  /// Element i, readable through `view` (any mpfr function that only reads it). The view stays
  /// valid while the array is alive and element i is not stored again.
  mpfr_srcptr get(std::size_t i, mpfr_t view) const {
    mpfr_custom_init_set(view, kinds_[i], exponents_[i], precision_,
                         const_cast<mp_limb_t*>(significands_.data() + i * limbs_));
    return view;
  }

  /// Element i = value, rounded to nearest at this array's precision.
  void set(std::size_t i, mpfr_srcptr value) {
    mpfr_t target;
    mp_limb_t* significand = significands_.data() + i * limbs_;
    mpfr_custom_init(significand, precision_);
    mpfr_custom_init_set(target, MPFR_ZERO_KIND, 0, precision_, significand);
    mpfr_set(target, value, MPFR_RNDN);
    const int kind = mpfr_custom_get_kind(target);
    kinds_[i] = static_cast<std::int8_t>(kind);
    exponents_[i] =
        (kind == MPFR_REGULAR_KIND || kind == -MPFR_REGULAR_KIND) ? mpfr_custom_get_exp(target) : 0;
  }

 private:
  mpfr_prec_t precision_ = MPFR_PREC_MIN;
  std::size_t limbs_ = 1;
  std::vector<mp_limb_t> significands_;
  std::vector<mpfr_exp_t> exponents_;
  std::vector<std::int8_t> kinds_;
};

}  // namespace softlab::accuracy
