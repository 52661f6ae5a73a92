// softlab_accuracy/metrics.hpp: how far a kernel's softmax is from the exact one. The one
// metric module of the project: `softlab accuracy`, `softlab check` and tests use it.
//
//   compute_references<T>(inputs, pool)   the exact softmax, log_softmax and logsumexp of each
//                                         input vector (MPFR, 2p + 64 bits), once per vector,
//                                         in parallel; shared by every kernel evaluated on it
//   evaluate<T>(kernel, references, pool, format)   one cell: the kernel on every vector, then
//                                         every metric below, accumulated over the vectors
//
// The metrics of a cell (the CSV columns of the study):
//  - max_ulp, mean_ulp: componentwise ULP error, reference::ulp_error (fractional ULPs
//    at the exact value's exponent, floored at the subnormal spacing; NaN against non-NaN and a
//    wrong infinity are +inf), over every element (an exact 0 computed as 0 counts 0);
//    *_normal: the same over the elements whose exact result is >= the smallest normal T;
//  - max_rel_error: |y - g| / |g| over every element with g != 0 (a flushed subnormal scores 1);
//  - normwise_error: max_i |y_i - g_i| / (u max_i g_i), u = 2^-p, the normwise measure of
//    Blanchard, Higham & Higham (2021) (reference::normwise_error); the largest over the vectors;
//  - max_sum_error: |sum y - sum g| (sum g is 1, or 0 for a fully masked row), the sum of the
//    computed y taken in MPFR;
//  - max_error_over_u_kappa: max_i |y_i - g_i| / (g_i u max(1, kappa_i)) with the componentwise
//    relative condition number kappa_i = |x_i| + sum_j g_j |x_j| (dg_i/dx_j = g_i(delta_ij -
//    g_j)), over results >= the smallest normal. Near 1: the error is what the problem's
//    sensitivity to rounding its inputs explains; far above: the algorithm adds its own. The 1
//    in max(1, kappa_i) stands for rounding the result itself, which no algorithm avoids (with
//    kappa_i -> 0, e.g. all-zero or subnormal scores, a correctly rounded 1/3 would otherwise
//    score infinity);
//  - nan_count, inf_count: NaN and infinite outputs (for the NaN family every output should be
//    NaN: read the count with the family); wrong_zero_count: y = 0 where the exact g rounded to
//    T is not 0 (flushed); wrong_nonzero_count: y a number other than 0 where g is exactly 0
//    (a -inf entry, the losers of a +inf); not_correctly_rounded_count: y other than the exact
//    g rounded to nearest in T, i.e. an error above half an ULP (the reference's 2p + 64 bits
//    leave no tie to decide: an exact softmax at a midpoint of T is not met in these families);
//  - argmax_preserved: the fraction of vectors where some largest y_i is at a largest x_i (the
//    argmax of g); vectors with a NaN input do not count (nan if none count);
//  - worst element (largest ULP error, first such): its index in its vector (from 0), x, y and
//    the exact g;
//    stated_bound_at_worst: the kernel's softmax_bound_ulps there (+inf: no bound claimed; nan
//    for inputs with a NaN or +inf, where no bound applies); max_observed_over_stated: the
//    largest ULP error / stated bound over results >= the smallest normal (nan: no bound stated);
//  - log_softmax_error: max |y - exact| / (u max(1, |exact|)) of log_softmax (as
//    reference::log_error_units); logsumexp_error the same for logsumexp, over the vectors;
//    nullopt ("unsupported") when the kernel has none or throws std::logic_error.
#pragma once

#include <softlab/detail/reductions.hpp>
#include <softlab/registry.hpp>
#include <softlab_accuracy/exact_array.hpp>
#include <softlab_accuracy/format.hpp>
#include <softlab_accuracy/parallel.hpp>
#include <softlab_reference/reference.hpp>

#include <mpfr.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace softlab::accuracy {

/// Makes this thread's MPFR exponent range the widest MPFR allows: the multiprecision types
/// reach 2^(2^31), beyond MPFR's default 2^(2^30). Every thread that computes references calls
/// it (the worker pool of make_reference_pool does).
void widen_mpfr_exponent_range();

/// A worker pool whose threads widen their MPFR range first and free MPFR's per-thread caches
/// last. Also widens the caller's range.
worker_pool make_reference_pool(unsigned threads);

/// What the exact softmax of an input is, in the contract's terms.
enum class input_kind { finite, nan, positive_infinity, all_negative_infinity };

namespace element_flag {
inline constexpr std::uint8_t exact_zero = 1;      ///< g is exactly 0 (a -inf entry, ...)
inline constexpr std::uint8_t rounds_nonzero = 2;  ///< g rounded to T is not 0
inline constexpr std::uint8_t normal = 4;          ///< g >= the smallest normal T
}  // namespace element_flag

/// Elements per work item of the parallel passes.
inline constexpr std::size_t chunk_elements = 4096;

/// The exact results for one input vector, computed once and shared by every kernel.
template <class T>
struct vector_reference {
  static constexpr mpfr_prec_t bits = reference::reference_bits<T>();

  std::vector<T> x;
  input_kind kind = input_kind::finite;
  std::size_t infinite_count = 0;  ///< entries equal to +inf
  T max_x{};                       ///< largest entry (NaN inputs: unspecified)
  reference::exact max{bits};      ///< max x (finite kind)
  reference::exact log_sum{bits};  ///< log sum_j exp(x_j - max) (finite kind)
  reference::exact logsumexp{bits};
  exact_array softmax;      ///< g_i
  exact_array log_softmax;  ///< log g_i
  std::vector<std::uint8_t> flags;
  std::vector<double> g;  ///< g_i rounded to double, for the bound inputs
  double max_g = 0;       ///< max_i g_i (double)
  bound_inputs bounds;    ///< reference::bound_inputs_for(x, 0, g) (finite kind)
  double seconds = 0;     ///< wall time of compute_references, shared out over its vectors

  /// reference::bound_inputs_for(x, i, g) in O(1): the vector's quantities, i's gap and size.
  bound_inputs bounds_at(std::size_t i) const {
    bound_inputs in = bounds;
    const double xi = static_cast<double>(x[i]);
    in.gap = std::abs(xi - in.max_value);
    in.magnitude = std::abs(xi);
    return in;
  }
};

namespace detail {

/// Items of the parallel passes: (vector, first element) pairs, chunk_elements at a time.
struct work_item {
  std::size_t vector = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

template <class Vectors>
std::vector<work_item> chunk_items(const Vectors& vectors) {
  std::vector<work_item> items;
  for (std::size_t v = 0; v < vectors.size(); ++v) {
    const std::size_t n = vectors[v].x.size();
    for (std::size_t begin = 0; begin < n; begin += chunk_elements)
      items.push_back({v, begin, std::min(n, begin + chunk_elements)});
  }
  return items;
}

}  // namespace detail

/// The exact results of every input vector, computed in parallel over all of them.
template <class T>
std::vector<vector_reference<T>> compute_references(std::vector<std::vector<T>> inputs,
                                                    worker_pool& pool) {
  using ref_t = vector_reference<T>;
  constexpr mpfr_prec_t bits = ref_t::bits;
  const auto start = std::chrono::steady_clock::now();
  std::vector<ref_t> refs(inputs.size());
  for (std::size_t v = 0; v < inputs.size(); ++v) {
    ref_t& r = refs[v];
    r.x = std::move(inputs[v]);
    const std::size_t n = r.x.size();
    r.softmax = exact_array(n, bits);
    r.log_softmax = exact_array(n, bits);
    r.flags.assign(n, 0);
    r.g.assign(n, 0.0);
    // Classify as reference::normalize does.
    T max = -softlab::detail::infinity<T>();
    bool nan = false;
    for (const T& value : r.x) {
      if (softlab::detail::is_nan(value)) {
        nan = true;
        break;
      }
      if (value == softlab::detail::infinity<T>()) ++r.infinite_count;
      if (value > max) max = value;
    }
    r.max_x = max;
    if (nan)
      r.kind = input_kind::nan;
    else if (r.infinite_count > 0)
      r.kind = input_kind::positive_infinity;
    else if (max == -softlab::detail::infinity<T>())
      r.kind = input_kind::all_negative_infinity;
    else
      r.kind = input_kind::finite;
    if (r.kind == input_kind::finite) reference::assign(r.max.get(), max);
  }
  const std::vector<detail::work_item> items = detail::chunk_items(refs);

  // Pass 1 (finite inputs): e_j = exp(x_j - max) into the softmax array, partial sums per item.
  std::vector<reference::exact> partial(items.size(), reference::exact(bits));
  pool.run(items.size(), [&](std::size_t k) {
    const detail::work_item& item = items[k];
    ref_t& r = refs[item.vector];
    mpfr_set_zero(partial[k].get(), 1);
    if (r.kind != input_kind::finite) return;
    reference::exact term(bits);
    for (std::size_t j = item.begin; j < item.end; ++j) {
      if (r.x[j] == -softlab::detail::infinity<T>()) {
        mpfr_set_zero(term.get(), 1);
      } else {
        reference::assign(term.get(), r.x[j]);
        mpfr_sub(term.get(), term.get(), r.max.get(), MPFR_RNDN);
        mpfr_exp(term.get(), term.get(), MPFR_RNDN);
      }
      r.softmax.set(j, term.get());
      mpfr_add(partial[k].get(), partial[k].get(), term.get(), MPFR_RNDN);
    }
  });

  // The sums (in item order: the same bits for any thread count), log sum, logsumexp.
  std::vector<reference::exact> sums(refs.size(), reference::exact(bits));
  for (auto& s : sums) mpfr_set_zero(s.get(), 1);
  for (std::size_t k = 0; k < items.size(); ++k)
    mpfr_add(sums[items[k].vector].get(), sums[items[k].vector].get(), partial[k].get(), MPFR_RNDN);
  std::vector<reference::exact> share(refs.size(), reference::exact(bits));  // 1/k, +inf kind
  for (std::size_t v = 0; v < refs.size(); ++v) {
    ref_t& r = refs[v];
    switch (r.kind) {
      case input_kind::finite:
        mpfr_log(r.log_sum.get(), sums[v].get(), MPFR_RNDN);
        mpfr_add(r.logsumexp.get(), r.max.get(), r.log_sum.get(), MPFR_RNDN);
        break;
      case input_kind::nan:
        mpfr_set_nan(r.logsumexp.get());
        break;
      case input_kind::positive_infinity:
        mpfr_set_inf(r.logsumexp.get(), 1);
        mpfr_set_ui(share[v].get(), r.infinite_count, MPFR_RNDN);
        mpfr_ui_div(share[v].get(), 1, share[v].get(), MPFR_RNDN);
        break;
      case input_kind::all_negative_infinity:
        mpfr_set_inf(r.logsumexp.get(), -1);
        break;
    }
  }

  // Pass 2: g_j and log g_j with the contract's limits, flags, g_j as double.
  pool.run(items.size(), [&](std::size_t k) {
    const detail::work_item& item = items[k];
    ref_t& r = refs[item.vector];
    reference::exact g(bits), log_g(bits), smallest_normal(bits);
    reference::assign(smallest_normal.get(), std::numeric_limits<T>::min());
    for (std::size_t j = item.begin; j < item.end; ++j) {
      const T& xj = r.x[j];
      switch (r.kind) {
        case input_kind::finite:
          if (xj == -softlab::detail::infinity<T>()) {
            mpfr_set_zero(g.get(), 1);
            mpfr_set_inf(log_g.get(), -1);
          } else {
            mpfr_t e;
            mpfr_div(g.get(), r.softmax.get(j, e), sums[item.vector].get(), MPFR_RNDN);
            reference::assign(log_g.get(), xj);
            mpfr_sub(log_g.get(), log_g.get(), r.max.get(), MPFR_RNDN);
            mpfr_sub(log_g.get(), log_g.get(), r.log_sum.get(), MPFR_RNDN);
          }
          break;
        case input_kind::nan:
          mpfr_set_nan(g.get());
          mpfr_set_nan(log_g.get());
          break;
        case input_kind::positive_infinity:
          if (xj == softlab::detail::infinity<T>()) {
            mpfr_set(g.get(), share[item.vector].get(), MPFR_RNDN);
            mpfr_log(log_g.get(), g.get(), MPFR_RNDN);
          } else {
            mpfr_set_zero(g.get(), 1);
            mpfr_set_inf(log_g.get(), -1);
          }
          break;
        case input_kind::all_negative_infinity:
          mpfr_set_zero(g.get(), 1);
          mpfr_set_inf(log_g.get(), -1);
          break;
      }
      r.softmax.set(j, g.get());
      r.log_softmax.set(j, log_g.get());
      // Exactly 0 by the contract (not an exp that underflowed MPFR's range, e^-(10^38)).
      const bool exact_zero =
          r.kind == input_kind::all_negative_infinity ||
          (r.kind == input_kind::finite && xj == -softlab::detail::infinity<T>()) ||
          (r.kind == input_kind::positive_infinity && xj != softlab::detail::infinity<T>());
      std::uint8_t f = 0;
      if (exact_zero) {
        f = element_flag::exact_zero;
      } else if (!mpfr_nan_p(g.get()) && !mpfr_zero_p(g.get())) {
        if (mpfr_cmp(g.get(), smallest_normal.get()) >= 0)
          f = element_flag::normal | element_flag::rounds_nonzero;
        else if (reference::round_to<T>(g.get()) != T(0))
          f = element_flag::rounds_nonzero;
      }
      r.flags[j] = f;
      r.g[j] = mpfr_get_d(g.get(), MPFR_RNDN);
    }
  });

  for (ref_t& r : refs) {
    r.max_g = 0;
    for (const double gj : r.g)
      if (gj > r.max_g) r.max_g = gj;
    if (r.kind == input_kind::finite && !r.x.empty())
      r.bounds = reference::bound_inputs_for<T>(r.x, 0, r.g);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (ref_t& r : refs) r.seconds = refs.empty() ? 0 : seconds / double(refs.size());
  return refs;
}

/// One cell's metrics (see the top of this file). Values are nan where they do not apply.
struct cell_metrics {
  std::size_t vectors = 0;
  std::size_t elements = 0;
  double max_ulp = 0;
  double mean_ulp = 0;
  double max_ulp_normal = std::numeric_limits<double>::quiet_NaN();
  double mean_ulp_normal = std::numeric_limits<double>::quiet_NaN();
  double max_rel_error = 0;
  double normwise_error = 0;
  double max_sum_error = 0;
  double max_error_over_u_kappa = std::numeric_limits<double>::quiet_NaN();
  std::size_t nan_count = 0;
  std::size_t inf_count = 0;
  std::size_t wrong_zero_count = 0;
  std::size_t wrong_nonzero_count = 0;
  std::size_t not_correctly_rounded_count = 0;
  double argmax_preserved = std::numeric_limits<double>::quiet_NaN();
  std::size_t worst_vector = 0;
  std::size_t worst_index = 0;
  std::string worst_x, worst_y, worst_exact;
  double stated_bound_at_worst = std::numeric_limits<double>::quiet_NaN();
  double max_observed_over_stated = std::numeric_limits<double>::quiet_NaN();
  std::optional<double> log_softmax_error;  ///< nullopt: unsupported
  std::optional<double> logsumexp_error;    ///< nullopt: unsupported
  double seconds = 0;  ///< the kernel calls and this cell's metric pass (wall time)
  std::string error;   ///< the kernel's softmax threw this (the metrics are then empty)
};

namespace detail {

/// What one work item of the metric pass accumulates.
struct partial_metrics {
  explicit partial_metrics(mpfr_prec_t sum_bits) : sum(sum_bits) { mpfr_set_zero(sum.get(), 1); }
  std::size_t elements = 0, normal = 0;
  double max_ulp = -1, sum_ulp = 0, max_ulp_normal = 0, sum_ulp_normal = 0;
  double max_rel = 0, max_ratio = -1, max_kappa = -1, max_log = 0;
  std::size_t nan_count = 0, inf_count = 0, wrong_zero = 0, wrong_nonzero = 0;
  std::size_t not_correctly_rounded = 0;
  long double max_abs_diff = 0;
  std::size_t worst_index = 0;
  reference::exact sum;  ///< sum of the computed y
};

/// The kernel's outputs on one vector.
template <class T>
struct kernel_outputs {
  std::vector<T> y, log_y;
  bool has_log_softmax = false;
  bool has_logsumexp = false;
  double logsumexp_error = 0;
  bool argmax_counts = false, argmax_preserved = false;
  std::string error;
};

template <class T>
void argmax_check(const vector_reference<T>& r, const std::vector<T>& y, kernel_outputs<T>& out) {
  if (r.kind == input_kind::nan || y.empty()) return;
  out.argmax_counts = true;
  T best{};
  bool any = false;
  for (const T& v : y)
    if (!softlab::detail::is_nan(v) && (!any || v > best)) {
      best = v;
      any = true;
    }
  if (!any) return;  // all NaN: no argmax
  for (std::size_t i = 0; i < y.size(); ++i)
    if (y[i] == best && (r.kind == input_kind::all_negative_infinity || r.x[i] == r.max_x)) {
      out.argmax_preserved = true;
      return;
    }
}

}  // namespace detail

/// Runs kernel k on every vector of refs and measures it. Kernel calls run on the pool's threads
/// (several vectors at once); the caller fixes the instruction set for vectorized kernels
/// before, as the calls of one cell all take the ISA in force. `format` prints the worst element.
template <class T>
cell_metrics evaluate(const kernel<T>& k, std::span<const vector_reference<T>> refs,
                      worker_pool& pool, value_format format) {
  const auto start = std::chrono::steady_clock::now();
  constexpr mpfr_prec_t bits = vector_reference<T>::bits;
  constexpr mpfr_prec_t sum_bits = bits + 64;
  constexpr int p = std::numeric_limits<T>::digits;
  const double u = std::ldexp(1.0, -p);
  cell_metrics result;
  result.vectors = refs.size();

  // Phase 1: the kernel's softmax, log_softmax and logsumexp of every vector.
  std::vector<detail::kernel_outputs<T>> outputs(refs.size());
  pool.run(refs.size(), [&](std::size_t v) {
    const vector_reference<T>& r = refs[v];
    detail::kernel_outputs<T>& out = outputs[v];
    out.y.assign(r.x.size(), T(0));
    try {
      k.softmax(r.x, out.y);
    } catch (const std::exception& e) {
      out.error = std::string("softmax threw: ") + e.what();
      return;
    }
    detail::argmax_check(r, out.y, out);
    if (k.log_softmax != nullptr) {
      out.log_y.assign(r.x.size(), T(0));
      try {
        k.log_softmax(r.x, out.log_y);
        out.has_log_softmax = true;
      } catch (const std::logic_error&) {
        out.log_y.clear();
      }
    }
    if (k.logsumexp != nullptr) {
      try {
        const T lse = k.logsumexp(r.x);
        reference::exact y(bits), diff(bits);
        out.logsumexp_error =
            reference::log_error_units(lse, r.logsumexp.get(), y.get(), diff.get());
        out.has_logsumexp = true;
      } catch (const std::logic_error&) {
      }
    }
  });
  for (const auto& out : outputs)
    if (!out.error.empty()) {
      result.error = out.error;
      result.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return result;
    }

  // Phase 2: the elementwise metrics, in parallel over chunks of every vector.
  const std::vector<detail::work_item> items = detail::chunk_items(refs);
  std::vector<detail::partial_metrics> partial(items.size(), detail::partial_metrics(sum_bits));
  pool.run(items.size(), [&](std::size_t item_index) {
    const detail::work_item& item = items[item_index];
    const vector_reference<T>& r = refs[item.vector];
    const detail::kernel_outputs<T>& out = outputs[item.vector];
    detail::partial_metrics& acc = partial[item_index];
    reference::exact y(bits), diff(bits);
    mpfr_t g_view, log_view;
    const bool bounded = r.kind == input_kind::finite && k.softmax_bound_ulps != nullptr;
    for (std::size_t j = item.begin; j < item.end; ++j) {
      const T& yj = out.y[j];
      const std::uint8_t f = r.flags[j];
      mpfr_srcptr g = r.softmax.get(j, g_view);
      const bool y_nan = softlab::detail::is_nan(yj);
      const bool y_finite = softlab::detail::is_finite(yj);
      acc.nan_count += y_nan ? 1 : 0;
      acc.inf_count += !y_nan && !y_finite ? 1 : 0;
      if (yj == T(0) && (f & element_flag::rounds_nonzero) != 0) ++acc.wrong_zero;
      if ((f & element_flag::exact_zero) != 0 && !y_nan && yj != T(0)) ++acc.wrong_nonzero;

      const double ulp =
          reference::ulp_error(yj, g, y.get(), diff.get());  // diff = y - g if both finite
      const bool compared = y_finite && !mpfr_nan_p(g);
      if (ulp > 0.5) ++acc.not_correctly_rounded;
      if (!compared) reference::assign(y.get(), yj);
      mpfr_add(acc.sum.get(), acc.sum.get(), y.get(), MPFR_RNDN);
      ++acc.elements;
      acc.sum_ulp += ulp;
      if (ulp > acc.max_ulp) {
        acc.max_ulp = ulp;
        acc.worst_index = j;
      }
      // |y - g| and |y - g| / |g|.
      double rel = 0;
      if (compared) {
        if (!mpfr_zero_p(diff.get())) {
          acc.max_abs_diff =
              std::max(acc.max_abs_diff, std::abs(mpfr_get_ld(diff.get(), MPFR_RNDN)));
          if (!mpfr_zero_p(g)) {
            long de = 0, ge = 0;
            const double dm = reference::mantissa_and_exponent(diff.get(), de);
            const double gm = reference::mantissa_and_exponent(g, ge);
            rel = reference::times_power_of_two(dm / gm, de - ge);
          }
        }
      } else if (ulp != 0) {
        acc.max_abs_diff = std::numeric_limits<long double>::infinity();
        rel = std::numeric_limits<double>::infinity();
      }
      if (!mpfr_zero_p(g)) acc.max_rel = std::max(acc.max_rel, rel);

      if ((f & element_flag::normal) != 0) {
        ++acc.normal;
        acc.sum_ulp_normal += ulp;
        acc.max_ulp_normal = std::max(acc.max_ulp_normal, ulp);
        const double xj = std::abs(static_cast<double>(r.x[j]));
        const double kappa = xj + r.bounds.mean_magnitude;
        acc.max_kappa = std::max(acc.max_kappa, rel / (u * std::max(1.0, kappa)));
        if (bounded) {
          const double bound = k.softmax_bound_ulps(r.bounds_at(j));
          if (std::isfinite(bound) && bound > 0)
            acc.max_ratio = std::max(acc.max_ratio, ulp / bound);
        }
      }
      if (out.has_log_softmax)
        acc.max_log = std::max(
            acc.max_log, reference::log_error_units(out.log_y[j], r.log_softmax.get(j, log_view),
                                                    y.get(), diff.get()));
    }
  });

  // Merge, in item order.
  std::vector<reference::exact> sums(refs.size(), reference::exact(sum_bits));
  for (auto& s : sums) mpfr_set_zero(s.get(), 1);
  std::vector<long double> max_abs_diff(refs.size(), 0);
  double sum_ulp = 0, sum_ulp_normal = 0, worst = -1;
  std::size_t normal = 0;
  double max_ratio = -1, max_kappa = -1, max_log = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const detail::partial_metrics& acc = partial[i];
    const std::size_t v = items[i].vector;
    mpfr_add(sums[v].get(), sums[v].get(), acc.sum.get(), MPFR_RNDN);
    max_abs_diff[v] = std::max(max_abs_diff[v], acc.max_abs_diff);
    result.elements += acc.elements;
    sum_ulp += acc.sum_ulp;
    normal += acc.normal;
    sum_ulp_normal += acc.sum_ulp_normal;
    if (acc.max_ulp > worst) {
      worst = acc.max_ulp;
      result.worst_vector = v;
      result.worst_index = acc.worst_index;
    }
    if (acc.normal > 0)
      result.max_ulp_normal = std::isnan(result.max_ulp_normal)
                                  ? acc.max_ulp_normal
                                  : std::max(result.max_ulp_normal, acc.max_ulp_normal);
    result.max_rel_error = std::max(result.max_rel_error, acc.max_rel);
    max_ratio = std::max(max_ratio, acc.max_ratio);
    max_kappa = std::max(max_kappa, acc.max_kappa);
    max_log = std::max(max_log, acc.max_log);
    result.nan_count += acc.nan_count;
    result.inf_count += acc.inf_count;
    result.wrong_zero_count += acc.wrong_zero;
    result.wrong_nonzero_count += acc.wrong_nonzero;
    result.not_correctly_rounded_count += acc.not_correctly_rounded;
  }
  result.max_ulp = std::max(worst, 0.0);
  result.mean_ulp = result.elements > 0 ? sum_ulp / double(result.elements) : 0;
  if (normal > 0) result.mean_ulp_normal = sum_ulp_normal / double(normal);
  if (max_ratio >= 0) result.max_observed_over_stated = max_ratio;
  if (max_kappa >= 0) result.max_error_over_u_kappa = max_kappa;

  // Per vector: normwise error, sum error, argmax, logsumexp.
  std::size_t argmax_counted = 0, argmax_kept = 0;
  bool all_log = !refs.empty(), all_lse = !refs.empty();
  double lse_error = 0;
  reference::exact deviation(sum_bits);
  for (std::size_t v = 0; v < refs.size(); ++v) {
    const vector_reference<T>& r = refs[v];
    const detail::kernel_outputs<T>& out = outputs[v];
    if (r.x.empty()) continue;
    result.normwise_error =
        std::max(result.normwise_error, reference::normwise_error(max_abs_diff[v], r.max_g, u));
    // sum: |sum y - sum g|.
    double sum_error = 0;
    if (r.kind == input_kind::nan) {
      sum_error = mpfr_nan_p(sums[v].get()) ? 0 : std::numeric_limits<double>::infinity();
    } else if (!mpfr_number_p(sums[v].get())) {
      sum_error = std::numeric_limits<double>::infinity();
    } else {
      mpfr_sub_ui(deviation.get(), sums[v].get(),
                  r.kind == input_kind::all_negative_infinity ? 0 : 1, MPFR_RNDN);
      sum_error = std::abs(mpfr_get_d(deviation.get(), MPFR_RNDN));
    }
    result.max_sum_error = std::max(result.max_sum_error, sum_error);
    if (out.argmax_counts) {
      ++argmax_counted;
      argmax_kept += out.argmax_preserved ? 1 : 0;
    }
    all_log = all_log && out.has_log_softmax;
    all_lse = all_lse && out.has_logsumexp;
    if (out.has_logsumexp) lse_error = std::max(lse_error, out.logsumexp_error);
  }
  if (argmax_counted > 0) result.argmax_preserved = double(argmax_kept) / double(argmax_counted);
  if (all_log) result.log_softmax_error = max_log;
  if (all_lse) result.logsumexp_error = lse_error;

  // The worst element, and the bound stated there.
  if (!refs.empty() && !refs[result.worst_vector].x.empty()) {
    const vector_reference<T>& r = refs[result.worst_vector];
    const std::size_t i = result.worst_index;
    mpfr_t view;
    result.worst_x = format_value(r.x[i], format);
    result.worst_y = format_value(outputs[result.worst_vector].y[i], format);
    result.worst_exact = format_exact(r.softmax.get(i, view), p, format);
    if (r.kind == input_kind::finite && k.softmax_bound_ulps != nullptr)
      result.stated_bound_at_worst =
          k.softmax_bound_ulps(reference::bound_inputs_for<T>(r.x, i, r.g));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// The engine's two heavy templates are instantiated once, in metrics.cpp, for every element type;
// the study, the tool's `check` and the tests only call them.
#define SOFTLAB_ACCURACY_ENGINE(T)                                                                 \
  extern template std::vector<vector_reference<T>> compute_references<T>(                          \
      std::vector<std::vector<T>>, worker_pool&);                                                  \
  extern template cell_metrics evaluate<T>(const kernel<T>&, std::span<const vector_reference<T>>, \
                                           worker_pool&, value_format);
SOFTLAB_FOR_EACH_ELEMENT_TYPE(SOFTLAB_ACCURACY_ENGINE)
#undef SOFTLAB_ACCURACY_ENGINE

}  // namespace softlab::accuracy
