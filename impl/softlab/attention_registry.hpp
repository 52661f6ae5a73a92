// softlab/attention_registry.hpp: the one list of attention implementations, and its runtime
// view. The softmax names stay softmax names (softlab/registry.hpp); attention has its own list.
//
// materialized:<softmax> is generated for every softmax implementation of
// builtin_implementations that meets the contract and computes float; `flash` and `accurate`
// follow. Tests, benchmarks, the study and the tool iterate builtin_attention_registry() and
// keep no list.
#pragma once

#include <softlab/attention.hpp>
#include <softlab/attention/accurate.hpp>
#include <softlab/attention/flash.hpp>
#include <softlab/attention/materialized.hpp>
#include <softlab/registry.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace softlab {

namespace detail {

template <class List>
struct materialized_list;
/// materialized<S> for every S of the softmax list that meets the contract on float.
template <class... Softmaxes>
struct materialized_list<implementation_list<Softmaxes...>> {
  template <class S>
  using one = std::conditional_t<S::facts.meets_contract && implementation_for<S, float>,
                                 implementation_list<materialized<S>>, implementation_list<>>;
  template <class... Lists>
  struct join;
  template <class... A>
  struct join<implementation_list<A...>> {
    using type = implementation_list<A...>;
  };
  template <class... A, class... B, class... Rest>
  struct join<implementation_list<A...>, implementation_list<B...>, Rest...> {
    using type = typename join<implementation_list<A..., B...>, Rest...>::type;
  };
  using type = typename join<implementation_list<>, one<Softmaxes>...>::type;
};

/// Impl::underflow_roundings when it states them; otherwise one product per key.
template <class Impl>
double underflow_roundings_of(std::size_t kv_len) {
  if constexpr (requires { Impl::underflow_roundings(kv_len); })
    return Impl::underflow_roundings(kv_len);
  else
    return double(kv_len);
}

template <class List, class... More>
struct appended;
template <class... Impls, class... More>
struct appended<implementation_list<Impls...>, More...> {
  using type = implementation_list<Impls..., More...>;
};

}  // namespace detail

/// THE list of attention implementations, in the order tools print them.
using builtin_attention_implementations =
    typename detail::appended<typename detail::materialized_list<builtin_implementations>::type,
                              flash_attention, accurate_attention>::type;

/// The storage types attention computes.
using attention_element_types = type_list<float, float16, bfloat16>;

/// One attention implementation for one storage type, as the tools see it, with what its stated
/// bound (softlab/attention.hpp) is made of.
template <class T>
struct attention_kernel {
  attention_facts facts;
  void (*attention)(heads_view<const T> q, heads_view<const T> k, heads_view<const T> v,
                    heads_view<T> o, const attention_options& options) = nullptr;
  /// Delta_j: the absolute error of one logit, from d, its condition |scale| sum_i |q_i k_ji|
  /// and |z_j|.
  double (*logit_error)(std::size_t d, double condition, double logit_magnitude) = nullptr;
  /// sigma: the relative error of the weighted sum of kv_len value rows.
  double (*weighted_sum_error)(std::size_t kv_len) = nullptr;
  /// The roundings of the weighted sum that may underflow, each by up to half a subnormal
  /// spacing of the compute type (times the relative roundings after it): kv_len products for
  /// materialized and accurate; flash adds its rescalings (detail::underflow_floor).
  double (*underflow_roundings)(std::size_t kv_len) = nullptr;
  /// The softmax's stated bound, in ULPs of softmax_precision_bits, and its logsumexp constant a.
  double (*softmax_bound_ulps)(const bound_inputs&) = nullptr;
  double (*log_bound_a)(const bound_inputs&) = nullptr;
  int softmax_precision_bits = 24;
  subnormal_results softmax_subnormals = subnormal_results::kept;
  double softmax_denorm_min = 0, softmax_min_normal = 0;
  /// O is rounded once from the compute type to T (u_T of the bound is then 2^-p of T).
  bool rounds_output = false;
  /// logsumexp is rounded once to float from a wider type.
  bool rounds_logsumexp = false;
  /// The instruction sets its softmax has kernels for, chosen by softlab::active_isa() (the
  /// tools run each as `name@isa`); 0 for scalar code.
  isa_set isas = 0;
  /// False for a peer (softlab_peers/peers.hpp: another library's attention behind this
  /// interface): it states no bound, so logit_error and the other bound functions are null, and
  /// the tools report its error without judging it.
  bool meets_contract = true;
  /// Where the code comes from: "softlab", or the peer library and version.
  std::string_view origin = "softlab";
};

template <class Impl, attention_element T>
attention_kernel<T> make_attention_kernel() {
  using C = typename Impl::softmax_type;
  return {
      .facts = Impl::facts,
      .attention = &attention<Impl, T>,
      .logit_error = &Impl::logit_error,
      .weighted_sum_error = &Impl::weighted_sum_error,
      .underflow_roundings = &detail::underflow_roundings_of<Impl>,
      .softmax_bound_ulps = &Impl::softmax_bound_ulps,
      .log_bound_a = &Impl::log_bound_a,
      .softmax_precision_bits = std::numeric_limits<C>::digits,
      .softmax_subnormals = Impl::softmax_subnormals,
      .softmax_denorm_min = double(std::numeric_limits<C>::denorm_min()),
      .softmax_min_normal = double(std::numeric_limits<C>::min()),
      .rounds_output = Impl::template rounds_output<T>,
      .rounds_logsumexp = Impl::rounds_logsumexp,
      .isas = Impl::vectorized ? all_isas : isa_set{0},
  };
}

/// The contract's bound for one query row (softlab/attention.hpp), from quantities of its exact
/// solution: Delta, the largest logit error over the kept keys (k.logit_error), and b, the
/// largest softmax bound over them (k.softmax_bound_ulps at inputs widened by Delta:
/// detail::widened_by_logit_error).
struct attention_row_bound {
  double coefficient = 0;      ///< B: times sum_j p_j |v_jc|
  double output_rounding = 0;  ///< u_T: times |O_c|
  double floor_per_value = 0;  ///< times max_j |v_jc|, plus output_floor
  double output_floor = 0;
  /// |O_hat_c - O_c| may be at most this.
  double allowed(double weighted_magnitude, double output_magnitude, double largest_value) const {
    return coefficient * weighted_magnitude + output_rounding * output_magnitude +
           floor_per_value * largest_value + output_floor;
  }
};

template <class T>
attention_row_bound attention_bound_of(const attention_kernel<T>& k, std::size_t kv_len,
                                       double logit_error, double softmax_ulps) {
  const double u_c = std::ldexp(1.0, -k.softmax_precision_bits);
  const double u_t = k.rounds_output ? std::ldexp(1.0, -std::numeric_limits<T>::digits) : 0;
  const double rho = detail::weight_relative_error(logit_error, softmax_ulps, u_c);
  attention_row_bound bound;
  bound.coefficient = detail::attention_error_coefficient(rho, k.weighted_sum_error(kv_len), u_t);
  bound.output_rounding = u_t;
  const double denorm_min_t = k.rounds_output ? double(std::numeric_limits<T>::denorm_min()) : 0;
  bound.floor_per_value = detail::subnormal_weight_floor(
      kv_len, softmax_ulps, k.softmax_subnormals == subnormal_results::flushed_to_zero,
      k.softmax_denorm_min, k.softmax_min_normal);
  bound.output_floor =
      detail::underflow_floor(k.underflow_roundings(kv_len), k.softmax_denorm_min, denorm_min_t);
  return bound;
}

/// The logsumexp bound of one row: |l_hat - l| <= Delta + a u_c max(1, |l| + Delta), then, when
/// rounded from a wider type to float, u_f times that result's magnitude.
template <class T>
double attention_logsumexp_bound(const attention_kernel<T>& k, double exact_magnitude,
                                 double logit_error, double log_bound_a) {
  const double u_c = std::ldexp(1.0, -k.softmax_precision_bits);
  const double before =
      logit_error + log_bound_a * u_c * std::max(1.0, exact_magnitude + logit_error);
  return k.rounds_logsumexp ? before + 0x1p-24 * (exact_magnitude + before) : before;
}

/// The runtime view: per storage type, the attention kernels in list order.
class attention_registry {
 public:
  template <class T>
  void add(attention_kernel<T> entry) {
    auto& list = std::get<std::vector<attention_kernel<T>>>(kernels_);
    for (const auto& k : list)
      if (k.facts.name == entry.facts.name)
        throw std::invalid_argument("softlab::attention_registry: '" +
                                    std::string(entry.facts.name) + "' is already registered for " +
                                    std::string(type_token_v<T>));
    list.push_back(entry);
  }
  template <class T>
  std::span<const attention_kernel<T>> kernels() const {
    return std::get<std::vector<attention_kernel<T>>>(kernels_);
  }
  template <class T>
  const attention_kernel<T>* find(std::string_view name) const {
    for (const auto& k : kernels<T>())
      if (k.facts.name == name) return &k;
    return nullptr;
  }

 private:
  std::tuple<std::vector<attention_kernel<float>>, std::vector<attention_kernel<float16>>,
             std::vector<attention_kernel<bfloat16>>>
      kernels_;
};

/// The registry of an attention implementation list, every storage type.
template <class... Impls>
attention_registry attention_registry_of(implementation_list<Impls...> list) {
  attention_registry result;
  for_each_implementation(list, [&]<class Impl>() {
    for_each_type(attention_element_types{},
                  [&]<class T>() { result.add(make_attention_kernel<Impl, T>()); });
  });
  return result;
}

/// Every builtin attention implementation; defined in impl/src/attention_registry.cpp, the one
/// translation unit that instantiates them.
attention_registry builtin_attention_registry();

}  // namespace softlab
