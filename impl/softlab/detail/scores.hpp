// softlab/detail/scores.hpp: the scores softmax sees when softmax_options transforms them
// (softlab/options.hpp): the checks of a scale, a mask and a causal offset, and the per-row
// transform z_i = scale x_i + mask_i in the compute type.
#pragma once

#include <softlab/detail/reductions.hpp>
#include <softlab/options.hpp>
#include <softlab/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace softlab::detail {

/// The compute types with a correctly rounded fused multiply-add (std::fma): z_i is rounded
/// once there. The others (multiprecision, simulated) round scale x_i and then + mask_i.
template <class C>
inline constexpr bool has_fused_multiply_add =
    std::is_same_v<C, float> || std::is_same_v<C, double> || std::is_same_v<C, long double>;

inline std::string shortest(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

/// The checks of the options' score fields for `rows` rows of `cols` scores in compute type C
/// (`rows_call`: softmax_rows, which alone takes a causal offset). std::invalid_argument naming
/// the function, the field and the values; nothing has been written when it throws.
template <class C>
void check_score_options(const char* function, const softmax_options& options, std::size_t rows,
                         std::size_t cols, bool rows_call) {
  // Built only when a check fails: these checks run on every call, however short the row.
  const auto name = [function] { return std::string("softlab::") + function; };
  if (options.scale) {
    const double s = *options.scale;
    const C converted = C(s);
    if (!std::isfinite(s) || s == 0 || !is_finite(converted) || converted == C(0))
      throw std::invalid_argument(
          name() + ": softmax_options::scale is " + shortest(s) +
          (std::isfinite(s) && s != 0 ? " (" + std::string(type_token_v<C>) +
                                            (converted == C(0) ? " rounds it to 0)" : " overflows)")
                                      : std::string()) +
          "; it must be finite and non-zero in the compute type");
  }
  if (!options.mask.empty_kind()) {
    const std::size_t size = options.mask.size();
    const bool per_score = size == rows * cols;
    const bool per_column = rows_call && size == cols;
    if (!per_score && !per_column)
      throw std::invalid_argument(name() + ": the " + options.mask.description() + " mask has " +
                                  std::to_string(size) + " elements but the scores are " +
                                  (rows_call ? std::to_string(rows) + " rows of " +
                                                   std::to_string(cols) + " (a mask has " +
                                                   std::to_string(rows * cols) + " elements, or " +
                                                   std::to_string(cols) + " for every row alike)"
                                             : std::to_string(cols)));
  }
  if (options.causal && !rows_call)
    throw std::invalid_argument(name() + ": softmax_options::causal is set (" +
                                std::to_string(*options.causal) +
                                ") but a causal mask needs rows: use softmax_rows");
}

/// How one row's stored scores become the scores softmax sees, in compute type C.
template <class C>
struct row_transform {
  C scale = C(1);
  bool scaled = false;
  score_mask mask;                                             ///< this row's
  std::size_t kept = std::numeric_limits<std::size_t>::max();  ///< causal: columns < kept

  /// True when z is x for a row of n scores (the plain entry then computes the same bits).
  bool identity(std::size_t n) const {
    return !scaled && mask.which() == score_mask::kind::none && kept >= n;
  }
  /// True when forming z rounds (a scale, or an additive mask): the stated bounds then carry it.
  bool rounds() const {
    return scaled || mask.which() == score_mask::kind::additive_float ||
           mask.which() == score_mask::kind::additive_double;
  }

  /// z_i from the stored x_i (read only when score i is kept).
  template <class T>
  C operator()(const T* x, std::size_t i) const {
    if (i >= kept) return -infinity<C>();
    switch (mask.which()) {
      case score_mask::kind::none:
        return scaled ? C(scale * C(x[i])) : C(x[i]);
      case score_mask::kind::keep:
        return !mask.keep()[i] ? -infinity<C>() : scaled ? C(scale * C(x[i])) : C(x[i]);
      case score_mask::kind::additive_float:
        return add(C(x[i]), C(mask.additive_float()[i]));
      case score_mask::kind::additive_double:
        return add(C(x[i]), C(mask.additive_double()[i]));
    }
    return C(x[i]);
  }

 private:
  C add(const C& x, const C& m) const {
    if (!scaled) return C(x + m);
    if constexpr (has_fused_multiply_add<C>) {
      return std::fma(scale, x, m);
    } else {
      return C(C(scale * x) + m);
    }
  }
};

/// The transform of row `row` of a batch of `cols` columns (softmax, log_softmax, logsumexp:
/// row 0 of one). The options have been checked.
template <class C>
row_transform<C> transform_of_row(const softmax_options& options, std::size_t row,
                                  std::size_t cols) {
  row_transform<C> t;
  if (options.scale) {
    t.scale = C(*options.scale);
    t.scaled = true;
  }
  if (!options.mask.empty_kind())
    t.mask = options.mask.size() == cols ? options.mask : options.mask.from(row * cols);
  if (options.causal) {
    // Columns c <= row + offset are kept: min(cols, row + offset + 1) of them, or none. In
    // size_t, without forming row + offset (any offset is allowed: it may overflow ptrdiff_t).
    const std::ptrdiff_t offset = *options.causal;
    if (offset >= 0) {
      const auto ahead = static_cast<std::size_t>(offset);
      t.kept = ahead >= cols || row >= cols - ahead ? cols : row + ahead + 1;
    } else {
      const std::size_t behind = static_cast<std::size_t>(-(offset + 1)) + 1;  // |offset|
      t.kept = row < behind ? 0 : std::min(cols, row - behind + 1);
    }
  }
  return t;
}

/// z = the transformed scores of x (z may be the same memory as x when C is T).
template <class C, class T>
void form_scores(std::span<const T> x, const row_transform<C>& t, C* z) {
  for (std::size_t i = 0; i < x.size(); ++i) z[i] = t(x.data(), i);
}

}  // namespace softlab::detail
