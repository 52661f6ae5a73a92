// softlab/entry_points.hpp: what makes a type an implementation, and the checked entry points
// on spans that the range API (softlab.hpp), the runtime registry and the tools all call.
#pragma once

#include <softlab/detail/arguments.hpp>
#include <softlab/detail/reductions.hpp>
#include <softlab/detail/rows.hpp>
#include <softlab/detail/scores.hpp>
#include <softlab/facts.hpp>
#include <softlab/options.hpp>
#include <softlab/types.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

namespace softlab {

/// The type an implementation computes T in: T itself, except for the 16-bit storage types
/// (softlab/storage.hpp), computed in float, or in the type Impl names as
/// `template <class S> using storage_compute = ...;` (accurate: double).
template <class T>
concept storage_element = is_storage_float<T>;
template <class Impl, class T>
struct compute_type {
  using type = T;
};
template <class Impl, storage_element T>
struct compute_type<Impl, T> {
  using type = float;
};
template <class Impl, storage_element T>
requires requires { typename Impl::template storage_compute<T>; }
struct compute_type<Impl, T> {
  using type = typename Impl::template storage_compute<T>;
};
template <class Impl, class T>
using compute_type_t = typename compute_type<Impl, T>::type;

/// What makes a type an implementation: its facts, and the three kernels for the types it
/// supports (arguments already checked, x non-empty).
template <class Impl>
concept implementation = requires {
  { Impl::facts } -> std::convertible_to<implementation_facts>;
};

template <class Impl, class T>
concept implementation_for =
    implementation<Impl> && Impl::template supports<compute_type_t<Impl, T>>;

namespace detail {

/// Storage in, Out (the storage type or float) out: the scores widened exactly to C, the
/// implementation's own kernel on C, each result rounded once to Out. One scratch vector of n C
/// when Out is not C; none when it is (y holds the widened scores and is computed in place).
template <class C, class S, class Out, class Kernel>
void through_compute_type(std::span<const S> x, std::span<Out> y, Kernel&& kernel) {
  if constexpr (std::is_same_v<Out, C>) {
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = C(x[i]);
    kernel(std::span<const C>(y), y);
  } else {
    std::vector<C> wide(x.begin(), x.end());
    kernel(std::span<const C>(wide), std::span<C>(wide));
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = Out(wide[i]);
  }
}

/// Implementations that split one long row across threads with the same bits for every
/// thread count (softlab::fast: Impl::softmax_split, see its header).
template <class Impl, class C>
concept splits_long_rows = requires(std::span<const C> x, std::span<C> y) {
  Impl::softmax_split(x, y, std::size_t{1});
};

/// Impl's softmax kernel on C, one long row split across up to `threads` threads where Impl
/// splits rows (the same bits as one thread), on the calling thread otherwise.
template <class Impl, class C>
void softmax_kernel(std::span<const C> x, std::span<C> y, std::size_t threads) {
  if constexpr (splits_long_rows<Impl, C>) {
    if (threads > 1) return Impl::softmax_split(x, y, threads);
  }
  Impl::template softmax<C>(x, y);
}

/// Implementations that form the scores (16-bit x, softmax_options) inside their own passes
/// (fast): Impl::scored_softmax<T, Out>(x, y, row_transform<C>, threads) (a long row split as
/// softmax_split splits it) and scored_log_softmax<T, Out>(x, y, row_transform<C>), which must
/// give the bits of the generic path below (z formed in C, Impl's kernel, rounded to Out).
template <class Impl, class T, class Out, class C>
concept forms_scores_in_passes = requires(std::span<const T> x, std::span<Out> y,
                                          const row_transform<C>& t, std::size_t threads) {
  Impl::template scored_softmax<T, Out>(x, y, t, threads);
  Impl::template scored_log_softmax<T, Out>(x, y, t);
};

/// Impl's softmax on checked, non-empty arguments, for every T it supports; `threads` for an
/// implementation that splits long rows (detail::threads_for_row).
template <class Impl, class T, class Out = T>
void softmax_of(std::span<const T> x, std::span<Out> y, std::size_t threads = 1) {
  if constexpr (is_storage_float<T>) {
    using C = compute_type_t<Impl, T>;
    if constexpr (forms_scores_in_passes<Impl, T, Out, C>)
      return Impl::template scored_softmax<T, Out>(x, y, row_transform<C>{}, threads);
    through_compute_type<C>(x, y, [threads](std::span<const C> in, std::span<C> out) {
      softmax_kernel<Impl, C>(in, out, threads);
    });
  } else {
    softmax_kernel<Impl, T>(x, y, threads);
  }
}

template <class Impl, class T, class Out = T>
void log_softmax_of(std::span<const T> x, std::span<Out> y) {
  if constexpr (is_storage_float<T>) {
    using C = compute_type_t<Impl, T>;
    if constexpr (forms_scores_in_passes<Impl, T, Out, C>)
      return Impl::template scored_log_softmax<T, Out>(x, y, row_transform<C>{});
    through_compute_type<C>(x, y, [](std::span<const C> in, std::span<C> out) {
      Impl::template log_softmax<C>(in, out);
    });
  } else {
    Impl::template log_softmax<T>(x, y);
  }
}

template <class Impl, class T>
T logsumexp_of(std::span<const T> x) {
  if constexpr (is_storage_float<T>) {
    using C = compute_type_t<Impl, T>;
    const std::vector<C> wide(x.begin(), x.end());
    return T(Impl::template logsumexp<C>(std::span<const C>(wide)));
  } else {
    return Impl::template logsumexp<T>(x);
  }
}

/// A storage type's input of another element type (float out): nothing may overlap, since an
/// element written is wider than the one read.
template <class T, class Out>
void require_disjoint(const char* function, std::span<const T> x, std::span<const Out> y) {
  const auto* x_bytes = reinterpret_cast<const unsigned char*>(x.data());
  const auto* y_bytes = reinterpret_cast<const unsigned char*>(y.data());
  require_no_partial_overlap<unsigned char>(function, {x_bytes, x.size_bytes()},
                                            {y_bytes, y.size_bytes()});
  if (!x.empty() && !y.empty() && x_bytes == y_bytes)
    throw std::invalid_argument(std::string("softlab::") + function +
                                ": the float output overlaps the 16-bit input (in place needs "
                                "one element type)");
}

/// The bound of Impl on a storage type S from its bound on the compute type C: the result in C
/// errs by d ULPs of S (Impl's bound in C, times 2^(p_S - p_C)), and rounding it to S adds half
/// an ULP of the rounded value, which is an ULP of the exact value as long as d < 1 (a result
/// that rounds across a power of two rounds to it); beyond, the ULP at the result is at most
/// 2 (1 + d 2^(1 - p_S)) ULPs of the exact value.
template <class S, class C>
bound_inputs in_compute_type(bound_inputs in) {
  in.precision_bits = precision_bits<C>;
  in.log_max_finite = std::log(double(std::numeric_limits<C>::max()));
  in.log_min_normal = std::log(double(std::numeric_limits<C>::min()));
  in.exp_ulps = scalar_libm_error<C>.exp_ulps;
  in.exp_ulps_per_unit = scalar_libm_error<C>.exp_per_unit;
  in.log_ulps = scalar_libm_error<C>.log_ulps;
  return in;
}

/// The kinds of entry point the scored helpers below run.
enum class entry { softmax, log_softmax };

/// Impl's softmax (log_softmax) of the scores t makes of x: z formed in the compute type C into
/// y when y holds C (in place over x included: z_i only needs x_i), else into one scratch row
/// of C; then Impl's own kernel on z in place, each result rounded once to Out. Rows whose
/// transform changes nothing take the plain entry (the same bits as without options).
template <class Impl, entry what, class T, class Out>
void scored_row(std::span<const T> x, std::span<Out> y,
                const row_transform<compute_type_t<Impl, T>>& t, std::size_t threads) {
  using C = compute_type_t<Impl, T>;
  const auto kernel = [&](std::span<const C> in, std::span<C> out) {
    if constexpr (what == entry::softmax) {
      softmax_kernel<Impl, C>(in, out, threads);
    } else {
      Impl::template log_softmax<C>(in, out);
    }
  };
  if (t.identity(x.size())) {
    if constexpr (what == entry::softmax) {
      return softmax_of<Impl>(x, y, threads);
    } else {
      return log_softmax_of<Impl>(x, y);
    }
  }
  if constexpr (forms_scores_in_passes<Impl, T, Out, C>) {
    if constexpr (what == entry::softmax) {
      return Impl::template scored_softmax<T, Out>(x, y, t, threads);
    } else {
      return Impl::template scored_log_softmax<T, Out>(x, y, t);
    }
  }
  if constexpr (std::is_same_v<Out, C>) {
    form_scores<C>(x, t, y.data());
    kernel(std::span<const C>(y), y);
  } else {
    std::vector<C> z(x.size());
    form_scores<C>(x, t, z.data());
    kernel(std::span<const C>(z), std::span<C>(z));
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = Out(z[i]);
  }
}

template <class Impl, class T>
T scored_logsumexp(std::span<const T> x, const row_transform<compute_type_t<Impl, T>>& t) {
  using C = compute_type_t<Impl, T>;
  if (t.identity(x.size())) return logsumexp_of<Impl>(x);
  std::vector<C> z(x.size());
  form_scores<C>(x, t, z.data());
  return T(Impl::template logsumexp<C>(std::span<const C>(z)));
}
}  // namespace detail

namespace detail {

/// A bound R (ULPs, made valid beyond first order by beyond_first_order) with `extra` more
/// first-order ULPs: R's first-order B recovered ((1 - u)^-B = 1 + R u), extra added, and the
/// sum made valid again.
inline double with_more_first_order(double bound, double extra, const bound_inputs& in) {
  if (bound == no_bound_claimed) return no_bound_claimed;
  const double u = std::ldexp(1.0, -in.precision_bits);
  return beyond_first_order(-std::log1p(bound * u) / std::log1p(-u) + extra, in);
}

/// What rounding the scores once costs (in.score_roundings == 1): z_i (1 + d_i), |d_i| <= u,
/// moves weight i by a relative d_i z_i - sum_j g_j d_j z_j: |z_i| + sum_j g_j |z_j| ULPs to
/// first order (the same absolute amount, in u, for log_softmax and logsumexp). Rounded twice
/// (scale x_i, then + mask_i), the error is relative to |scale x_i|, which the inputs do not
/// carry: no bound is claimed.
inline double score_rounding_ulps(const bound_inputs& in) {
  if (in.score_roundings == 0) return 0;
  if (in.score_roundings > 1) return no_bound_claimed;
  return in.magnitude + in.mean_magnitude;
}

}  // namespace detail

/// Impl's stated softmax bound on T, in ULPs of T (see detail::in_compute_type for the storage
/// types), with the rounding of transformed scores (bound_inputs::score_roundings) included.
template <class Impl, class T>
double softmax_bound_ulps_of(const bound_inputs& in) {
  const double scores = detail::score_rounding_ulps(in);
  if (scores == no_bound_claimed) return no_bound_claimed;
  if constexpr (is_storage_float<T>) {
    using C = compute_type_t<Impl, T>;
    const bound_inputs in_c = detail::in_compute_type<T, C>(in);
    const double bound_c = Impl::softmax_bound_ulps(in_c);
    const double in_c_ulps =
        scores == 0 ? bound_c : detail::with_more_first_order(bound_c, scores, in_c);
    if (in_c_ulps == no_bound_claimed) return no_bound_claimed;
    const double d = std::ldexp(in_c_ulps, precision_bits<T> - precision_bits<C>);
    return d < 1 ? 0.5 + d : d + 1 + std::ldexp(d, 1 - precision_bits<T>);
  } else {
    const double bound = Impl::softmax_bound_ulps(in);
    return scores == 0 ? bound : detail::with_more_first_order(bound, scores, in);
  }
}

/// Impl's a (log_softmax, logsumexp: error <= a u max(1, |y|)) on T, the rounding of transformed
/// scores included (its absolute error, <= (|z_i| + sum_j g_j|z_j|) u, is at most that many u
/// times max(1, |y|)). Storage types: the result in C errs by a_C u_C M (M = max(1, |y|));
/// rounding it to S adds u_S |y_C| <= u_S (M + a_C u_C M): a_S = 1 + a_C (u_C / u_S) (1 + u_S).
template <class Impl, class T>
double log_bound_a_of(const bound_inputs& in) {
  const double scores = detail::score_rounding_ulps(in);
  if (scores == no_bound_claimed) return no_bound_claimed;
  if constexpr (is_storage_float<T>) {
    using C = compute_type_t<Impl, T>;
    const double a_c = Impl::log_bound_a(detail::in_compute_type<T, C>(in));
    if (a_c == no_bound_claimed) return no_bound_claimed;
    return 1 + std::ldexp(a_c + scores, precision_bits<T> - precision_bits<C>) *
                   (1 + std::ldexp(1.0, -precision_bits<T>));
  } else {
    const double a = Impl::log_bound_a(in);
    return a == no_bound_claimed ? a : a + scores;
  }
}

/// The entry points on spans: checked arguments, then the implementation. The range overloads
/// below, the runtime registry and the tools all call these.
template <class Impl, class T>
requires implementation_for<Impl, T>
void softmax_span(std::span<const T> x, std::span<T> y) {
  detail::check_elementwise<T>("softmax", x, y);
  if (x.empty()) return;
  detail::softmax_of<Impl>(x, y, detail::threads_for_row(softmax_options{}, x.size()));
}

/// A 16-bit storage type in, float out (the logits stay bfloat16, the probabilities are
/// wanted in float): each weight rounded once to float.
template <class Impl, class T>
requires implementation_for<Impl, T> && is_storage_float<T>
void softmax_span(std::span<const T> x, std::span<float> y) {
  detail::require_same_size("softmax", "x", x.size(), "y", y.size());
  detail::require_disjoint<T, float>("softmax", x, y);
  if (x.empty()) return;
  detail::softmax_of<Impl>(x, y, detail::threads_for_row(softmax_options{}, x.size()));
}

template <class Impl, class T>
requires implementation_for<Impl, T>
void log_softmax_span(std::span<const T> x, std::span<T> y) {
  detail::check_elementwise<T>("log_softmax", x, y);
  if (x.empty()) return;
  detail::log_softmax_of<Impl>(x, y);
}

template <class Impl, class T>
requires implementation_for<Impl, T> && is_storage_float<T>
void log_softmax_span(std::span<const T> x, std::span<float> y) {
  detail::require_same_size("log_softmax", "x", x.size(), "y", y.size());
  detail::require_disjoint<T, float>("log_softmax", x, y);
  if (x.empty()) return;
  detail::log_softmax_of<Impl>(x, y);
}

template <class Impl, class T>
requires implementation_for<Impl, T> T logsumexp_span(std::span<const T> x) {
  if (x.empty()) return -std::numeric_limits<T>::infinity();  // log of an empty sum
  return detail::logsumexp_of<Impl>(x);
}

/// The entry points with options (softlab/options.hpp): the scores z = scale x + mask formed
/// in the compute type, then the implementation. Checked like the plain ones, the options too
/// (a scale that is not finite and non-zero, a mask of the wrong size, a causal offset on one
/// row, 0 threads): std::invalid_argument naming the values, nothing written.
template <class Impl, class T, class Out>
requires implementation_for<Impl, T> &&
    (std::is_same_v<Out, T> ||
     (is_storage_float<T> &&
      std::is_same_v<Out, float>)) void softmax_span(std::span<const T> x, std::span<Out> y,
                                                     const softmax_options& options) {
  using C = compute_type_t<Impl, T>;
  if constexpr (std::is_same_v<Out, T>) {
    detail::check_elementwise<T>("softmax", x, y);
  } else {
    detail::require_same_size("softmax", "x", x.size(), "y", y.size());
    detail::require_disjoint<T, Out>("softmax", x, y);
  }
  detail::check_options("softmax", options);
  detail::check_score_options<C>("softmax", options, 1, x.size(), false);
  if (x.empty()) return;
  detail::scored_row<Impl, detail::entry::softmax>(
      x, y, detail::transform_of_row<C>(options, 0, x.size()),
      detail::threads_for_row(options, x.size()));
}

template <class Impl, class T, class Out>
requires implementation_for<Impl, T> &&
    (std::is_same_v<Out, T> ||
     (is_storage_float<T> &&
      std::is_same_v<Out, float>)) void log_softmax_span(std::span<const T> x, std::span<Out> y,
                                                         const softmax_options& options) {
  using C = compute_type_t<Impl, T>;
  if constexpr (std::is_same_v<Out, T>) {
    detail::check_elementwise<T>("log_softmax", x, y);
  } else {
    detail::require_same_size("log_softmax", "x", x.size(), "y", y.size());
    detail::require_disjoint<T, Out>("log_softmax", x, y);
  }
  detail::check_options("log_softmax", options);
  detail::check_score_options<C>("log_softmax", options, 1, x.size(), false);
  if (x.empty()) return;
  detail::scored_row<Impl, detail::entry::log_softmax>(
      x, y, detail::transform_of_row<C>(options, 0, x.size()), 1);
}

template <class Impl, class T>
requires implementation_for<Impl, T> T logsumexp_span(std::span<const T> x,
                                                      const softmax_options& options) {
  using C = compute_type_t<Impl, T>;
  detail::check_options("logsumexp", options);
  detail::check_score_options<C>("logsumexp", options, 1, x.size(), false);
  if (x.empty()) return -std::numeric_limits<T>::infinity();
  return detail::scored_logsumexp<Impl>(x, detail::transform_of_row<C>(options, 0, x.size()));
}

namespace detail {

/// One scored row per row of a row-major batch (row r of x at x[r * x_stride]), the rows
/// split across threads (softlab/detail/rows.hpp); every argument checked first.
template <class Impl, entry what, class T>
void scored_rows(const char* function, std::span<const T> x, std::size_t rows, std::size_t cols,
                 std::size_t x_stride, std::span<T> y, std::size_t y_stride,
                 const softmax_options& options) {
  using C = compute_type_t<Impl, T>;
  check_rows<T>(function, x, y, rows, cols, x_stride, y_stride);
  check_options(function, options);
  check_score_options<C>(function, options, rows, cols, true);
  if (cols == 0) return;
  // One row: its own threads (an implementation that splits long rows); more: across rows.
  const std::size_t row_threads = rows == 1 ? threads_for_row(options, cols) : 1;
  const std::size_t threads = threads_for_rows(options, rows, cols);
  for_row_blocks(rows, threads, [&](std::size_t first, std::size_t last) {
    for (std::size_t r = first; r < last; ++r)
      scored_row<Impl, what>(x.subspan(r * x_stride, cols), y.subspan(r * y_stride, cols),
                             transform_of_row<C>(options, r, cols), row_threads);
  });
}

}  // namespace detail

/// One softmax (log_softmax) per row of a row-major batch, with options: the entry points of
/// softlab::softmax_rows and of the registry's kernel<T>::softmax_rows.
template <class Impl, class T>
requires implementation_for<Impl, T>
void softmax_rows_span(std::span<const T> x, std::size_t rows, std::size_t cols,
                       std::size_t x_stride, std::span<T> y, std::size_t y_stride,
                       const softmax_options& options) {
  detail::scored_rows<Impl, detail::entry::softmax>("softmax_rows", x, rows, cols, x_stride, y,
                                                    y_stride, options);
}

template <class Impl, class T>
requires implementation_for<Impl, T>
void log_softmax_rows_span(std::span<const T> x, std::size_t rows, std::size_t cols,
                           std::size_t x_stride, std::span<T> y, std::size_t y_stride,
                           const softmax_options& options) {
  detail::scored_rows<Impl, detail::entry::log_softmax>("log_softmax_rows", x, rows, cols, x_stride,
                                                        y, y_stride, options);
}

/// One logsumexp per row of a row-major batch (row r of x at x[r * x_stride]) into lse[r],
/// with options (the scores formed in the compute type, as logsumexp_span forms them); the
/// rows split across threads, each row's bits the same at any thread count. An empty row
/// (cols 0) or one the options leave empty gives -inf. The entry point of
/// softlab::logsumexp_rows and of the registry's kernel<T>::logsumexp_rows.
template <class Impl, class T>
requires implementation_for<Impl, T>
void logsumexp_rows_span(std::span<const T> x, std::size_t rows, std::size_t cols,
                         std::size_t x_stride, std::span<T> lse, const softmax_options& options) {
  using C = compute_type_t<Impl, T>;
  detail::check_reduced_rows<T>("logsumexp_rows", x, rows, cols, x_stride, lse);
  detail::check_options("logsumexp_rows", options);
  detail::check_score_options<C>("logsumexp_rows", options, rows, cols, true);
  if (cols == 0) {
    std::fill_n(lse.begin(), rows, -std::numeric_limits<T>::infinity());
    return;
  }
  detail::for_row_blocks(rows, detail::threads_for_rows(options, rows, cols),
                         [&](std::size_t first, std::size_t last) {
                           for (std::size_t r = first; r < last; ++r)
                             lse[r] = detail::scored_logsumexp<Impl>(
                                 x.subspan(r * x_stride, cols),
                                 detail::transform_of_row<C>(options, r, cols));
                         });
}

/// Implementations may form the scores their own way (e.g. in a wider type); by default the
/// scores query * keys_i are formed in T, and a product that overflows T becomes +-inf and
/// takes the contract's limits.
template <class Impl, class T>
concept forms_own_scores = requires(const T& q, std::span<const T> k, std::span<T> w) {
  Impl::template pairwise_attention<T>(q, k, w);
};

template <class Impl, class T>
requires implementation_for<Impl, T>
void pairwise_attention_span(const T& query, std::span<const T> keys, std::span<T> weights) {
  detail::require_same_size("pairwise_attention", "keys", keys.size(), "weights", weights.size());
  detail::require_no_partial_overlap<T>("pairwise_attention", keys, std::span<const T>(weights));
  if (keys.empty()) return;
  if constexpr (forms_own_scores<Impl, T>) {
    Impl::template pairwise_attention<T>(query, keys, weights);
  } else {
    for (std::size_t i = 0; i < keys.size(); ++i) weights[i] = T(query * keys[i]);
    detail::softmax_of<Impl>(std::span<const T>(weights), weights);
  }
}

}  // namespace softlab
