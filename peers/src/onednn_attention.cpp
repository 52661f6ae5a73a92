// The onednn attention peer: oneDNN's primitives composed as its users compose them.
//
//   S = scale Q K^T      dnnl::matmul, the scale as the primitive's output scale (one f32
//                        value), Q and K^T read in place through strided memory descriptors,
//                        S into a scratch buffer the primitive's memory owns
//   S += mask            dnnl::binary (binary_add), in place, when there is a mask or a causal
//                        offset: the additive float mask with -inf at the keys a boolean
//                        keep-mask or the causal offset leaves out (the caller's float mask is
//                        used as it is when it is the only one; others are built per call,
//                        the causal one once per shape)
//   P = softmax(S)       dnnl::softmax_v2_forward, softmax_accurate, in place
//   O = P V              dnnl::matmul, written into the caller's O through its strides
// As 4-D problems [kv_heads, group, rows, cols]: the query heads of one K/V head (grouped-query
// attention) broadcast its K and V (batch dimension 1), nothing is copied. logsumexp, asked
// for, is DERIVED as in the softmax peer: softmax_log of S into scratch, then l = S_m - y_m at
// the first largest S_m.
//
// The primitives (and their memory objects and argument maps) are made once per shape,
// strides, scale, mask kind and thread count, per thread (the engine and stream too), and
// cached in a thread_local map of at most 8 shapes; a call binds the data handles and runs.
// Threads: oneDNN here runs on OpenMP (libgomp); a call sets OpenMP's count to
// attention_options::threads (default softlab::default_threads()) and restores it on return
// (adapters.hpp, openmp_threads_for_call), as the torch attention peers do. oneDNN reads it when
// a primitive is made, hence the thread count in the cache key.
#include "adapters.hpp"
#include "onednn_context.hpp"

#include <softlab/attention_registry.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace softlab::peers::detail {
namespace {

using dims = dnnl::memory::dims;
using dim = dnnl::memory::dim;
using tag = dnnl::memory::format_tag;

dim signed_size(std::size_t n) { return static_cast<dim>(n); }

/// 0: no mask; 1: one q_len x kv_len mask for every head; 2: one per query head.
enum class mask_layout { none, shared, per_head };

/// The primitives of one problem shape, ready to run.
struct prepared {
  dnnl::matmul scores;  // S = scale Q K^T
  dnnl::memory q, k, s;
  std::optional<dnnl::binary> add_mask;
  dnnl::memory mask;
  dnnl::softmax_v2_forward softmax;
  std::optional<dnnl::softmax_v2_forward> log_softmax;
  dnnl::memory log_weights;
  dnnl::matmul output;  // O = P V
  dnnl::memory v, o;
  std::string implementations;  // impl_info_str() of each primitive
};

template <class T>
prepared prepare(const softlab::detail::attention_problem<T>& p, mask_layout masking,
                 bool with_logsumexp) {
  onednn_context& c = this_thread_onednn_context();
  const dim kv_heads = signed_size(p.kv_heads), group = signed_size(p.q_heads / p.kv_heads);
  const dim q_len = signed_size(p.q_len), kv_len = signed_size(p.kv_len);
  const dim d = signed_size(p.d), d_v = signed_size(p.d_v);
  const auto type = data_type_of<T>();
  const auto s = [](std::size_t stride) { return signed_size(stride); };
  // Query head h = g_kv * group + g sits at h * head_stride.
  const dnnl::memory::desc q_md(
      {kv_heads, group, q_len, d}, type,
      {s(p.q_head_stride) * group, s(p.q_head_stride), s(p.q_row_stride), 1});
  const dnnl::memory::desc k_md({kv_heads, 1, d, kv_len}, type,
                                {s(p.k_head_stride), s(p.k_head_stride), 1, s(p.k_row_stride)});
  const dnnl::memory::desc s_md({kv_heads, group, q_len, kv_len}, type, tag::abcd);
  const dnnl::memory::desc v_md({kv_heads, 1, kv_len, d_v}, type,
                                {s(p.v_head_stride), s(p.v_head_stride), s(p.v_row_stride), 1});
  const dnnl::memory::desc o_md(
      {kv_heads, group, q_len, d_v}, type,
      {s(p.o_head_stride) * group, s(p.o_head_stride), s(p.o_row_stride), 1});
  prepared r;
  dnnl::primitive_attr scaled;
  scaled.set_output_scales(0, {p.scale});
  const dnnl::matmul::primitive_desc scores_pd(dnnl::matmul::desc(q_md, k_md, s_md), scaled,
                                               c.engine);
  r.scores = dnnl::matmul(scores_pd);
  r.q = dnnl::memory(q_md, c.engine, DNNL_MEMORY_NONE);
  r.k = dnnl::memory(k_md, c.engine, DNNL_MEMORY_NONE);
  r.s = dnnl::memory(s_md, c.engine);  // the scores' scratch, owned by the memory object
  r.implementations = std::string("matmul ") + scores_pd.impl_info_str();
  if (masking != mask_layout::none) {
    const dnnl::memory::desc mask_md(masking == mask_layout::shared
                                         ? dims{1, 1, q_len, kv_len}
                                         : dims{kv_heads, group, q_len, kv_len},
                                     dnnl::memory::data_type::f32, tag::abcd);
    const dnnl::binary::primitive_desc add_pd(
        dnnl::binary::desc(dnnl::algorithm::binary_add, s_md, mask_md, s_md), c.engine);
    r.add_mask = dnnl::binary(add_pd);
    r.mask = dnnl::memory(mask_md, c.engine, DNNL_MEMORY_NONE);
    r.implementations += std::string(", binary ") + add_pd.impl_info_str();
  }
  const dnnl::softmax_v2_forward::primitive_desc softmax_pd(
      dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference,
                                     dnnl::algorithm::softmax_accurate, s_md, s_md, 3),
      c.engine);
  r.softmax = dnnl::softmax_v2_forward(softmax_pd);
  r.implementations += std::string(", softmax ") + softmax_pd.impl_info_str();
  if (with_logsumexp) {
    const dnnl::softmax_v2_forward::primitive_desc log_pd(
        dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference,
                                       dnnl::algorithm::softmax_log, s_md, s_md, 3),
        c.engine);
    r.log_softmax = dnnl::softmax_v2_forward(log_pd);
    r.log_weights = dnnl::memory(s_md, c.engine);
  }
  const dnnl::matmul::primitive_desc output_pd(dnnl::matmul::desc(s_md, v_md, o_md), c.engine);
  r.output = dnnl::matmul(output_pd);
  r.v = dnnl::memory(v_md, c.engine, DNNL_MEMORY_NONE);
  r.o = dnnl::memory(o_md, c.engine, DNNL_MEMORY_NONE);
  r.implementations += std::string(", matmul ") + output_pd.impl_info_str();
  return r;
}

template <class T>
prepared& cached(const softlab::detail::attention_problem<T>& p, mask_layout masking,
                 bool with_logsumexp, int threads) {
  this_thread_onednn_context();  // made first, destroyed last (see the softmax peer)
  thread_local std::map<std::vector<std::int64_t>, prepared> cache;
  const auto n = [](std::size_t v) { return static_cast<std::int64_t>(v); };
  std::vector<std::int64_t> key{n(p.q_heads),
                                n(p.kv_heads),
                                n(p.q_len),
                                n(p.kv_len),
                                n(p.d),
                                n(p.d_v),
                                n(p.q_row_stride),
                                n(p.q_head_stride),
                                n(p.k_row_stride),
                                n(p.k_head_stride),
                                n(p.v_row_stride),
                                n(p.v_head_stride),
                                n(p.o_row_stride),
                                n(p.o_head_stride),
                                std::int64_t(masking),
                                with_logsumexp,
                                threads,
                                std::is_same_v<T, float>};
  const float scale = p.scale;
  std::int64_t scale_bits = 0;
  static_assert(sizeof(scale) <= sizeof(scale_bits));
  __builtin_memcpy(&scale_bits, &scale, sizeof(scale));
  key.push_back(scale_bits);
  if (auto found = cache.find(key); found != cache.end()) return found->second;
  if (cache.size() >= 8) cache.clear();
  return cache.emplace(key, prepare(p, masking, with_logsumexp)).first->second;
}

/// The additive float mask of the call: the caller's float mask when it is the only one;
/// otherwise built into a per-thread buffer (the causal one alone kept while the shape is).
struct built_mask {
  mask_layout layout = mask_layout::none;
  const float* data = nullptr;
};

built_mask mask_of(const softlab::score_mask& mask, const std::optional<std::ptrdiff_t>& causal,
                   std::size_t q_heads, std::size_t q_len, std::size_t kv_len) {
  if (mask.empty_kind() && !causal) return {};
  const std::size_t scores = q_len * kv_len;
  const mask_layout layout =
      mask.empty_kind() || mask.size() == scores ? mask_layout::shared : mask_layout::per_head;
  if (mask.which() == softlab::score_mask::kind::additive_float && !causal)
    return {layout, mask.additive_float()};
  thread_local std::vector<float> buffer;
  thread_local std::vector<std::int64_t> causal_key;  // the causal mask now in buffer
  constexpr float minus_infinity = -std::numeric_limits<float>::infinity();
  const std::size_t size = layout == mask_layout::shared ? scores : q_heads * scores;
  if (mask.empty_kind()) {
    const std::vector<std::int64_t> key{std::int64_t(q_len), std::int64_t(kv_len), *causal};
    if (key == causal_key) return {layout, buffer.data()};
    causal_key = key;
  } else {
    causal_key.clear();
  }
  buffer.assign(size, 0.0f);
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t r = i / kv_len % q_len, j = i % kv_len;
    switch (mask.which()) {
      case softlab::score_mask::kind::additive_float:
        buffer[i] = mask.additive_float()[i];
        break;
      case softlab::score_mask::kind::additive_double:
        buffer[i] = float(mask.additive_double()[i]);
        break;
      case softlab::score_mask::kind::keep:
        buffer[i] = mask.keep()[i] ? 0.0f : minus_infinity;
        break;
      case softlab::score_mask::kind::none:
        break;
    }
    if (causal && std::ptrdiff_t(j) > std::ptrdiff_t(r) + *causal) buffer[i] = minus_infinity;
  }
  return {layout, buffer.data()};
}

template <class T>
void onednn_composed(heads_view<const T> q, heads_view<const T> k, heads_view<const T> v,
                     heads_view<T> o, const attention_options& options) {
  const auto p = softlab::detail::checked_attention(q, k, v, o, options);
  if (p.q_heads == 0 || p.q_len == 0 || p.kv_len == 0 || p.d_v == 0)
    throw std::logic_error("onednn_composed: oneDNN takes no empty dimension (q_heads " +
                           std::to_string(p.q_heads) + ", q_len " + std::to_string(p.q_len) +
                           ", kv_len " + std::to_string(p.kv_len) + ", d_v " +
                           std::to_string(p.d_v) + ")");
  const std::size_t threads = options.threads.value_or(softlab::default_threads());
  const openmp_threads_for_call for_this_call(threads);
  const built_mask mask = mask_of(options.mask, options.causal, p.q_heads, p.q_len, p.kv_len);
  const bool with_logsumexp = !options.logsumexp.empty();
  prepared& r = cached(p, mask.layout, with_logsumexp, static_cast<int>(threads));
  dnnl::stream& stream = this_thread_onednn_context().stream;
  r.q.set_data_handle(const_cast<T*>(p.q));  // read only: DNNL_ARG_SRC
  r.k.set_data_handle(const_cast<T*>(p.k));
  r.v.set_data_handle(const_cast<T*>(p.v));
  r.o.set_data_handle(p.o);
  r.scores.execute(stream, {{DNNL_ARG_SRC, r.q}, {DNNL_ARG_WEIGHTS, r.k}, {DNNL_ARG_DST, r.s}});
  if (r.add_mask) {
    r.mask.set_data_handle(const_cast<float*>(mask.data));
    r.add_mask->execute(stream,
                        {{DNNL_ARG_SRC_0, r.s}, {DNNL_ARG_SRC_1, r.mask}, {DNNL_ARG_DST, r.s}});
  }
  if (r.log_softmax) {
    r.log_softmax->execute(stream, {{DNNL_ARG_SRC, r.s}, {DNNL_ARG_DST, r.log_weights}});
    stream.wait();
    const T* scores = static_cast<const T*>(r.s.get_data_handle());
    const T* logs = static_cast<const T*>(r.log_weights.get_data_handle());
    for (std::size_t row = 0; row < p.q_heads * p.q_len; ++row) {
      const T* z = scores + row * p.kv_len;
      std::size_t m = 0;  // the first largest score (NaN is never larger)
      for (std::size_t j = 1; j < p.kv_len; ++j)
        if (float(z[j]) > float(z[m])) m = j;
      options.logsumexp[row] = float(z[m]) - float(logs[row * p.kv_len + m]);
    }
  }
  r.softmax.execute(stream, {{DNNL_ARG_SRC, r.s}, {DNNL_ARG_DST, r.s}});
  r.output.execute(stream, {{DNNL_ARG_SRC, r.s}, {DNNL_ARG_WEIGHTS, r.v}, {DNNL_ARG_DST, r.o}});
  stream.wait();
}

template <class T>
attention_kernel<T> make() {
  attention_kernel<T> k;
  k.facts = attention_facts{
      .name = "onednn_composed",
      .algorithm = "oneDNN " SOFTLAB_DNNL_VERSION
                   " primitives: matmul (output scale) S = scale Q K^T; binary_add of the mask; "
                   "softmax_v2 softmax_accurate over S in place; matmul O = P V",
      .passes = "matmul, mask add, softmax over S, matmul: S is materialized",
      .stated_bound = "none stated by the library",
      .softmax = "oneDNN softmax_v2 (softmax_accurate)",
  };
  k.attention = &onednn_composed<T>;
  k.meets_contract = false;
  k.origin = "oneDNN " SOFTLAB_DNNL_VERSION;
  return k;
}

}  // namespace

attention_kernel<float> onednn_composed_float() { return make<float>(); }

/// oneDNN 2.6 runs bf16 matmul and softmax only on CPUs with AVX-512 (avx512_core): registered
/// when a small call runs.
std::optional<attention_kernel<bfloat16>> onednn_composed_bfloat16() {
  attention_kernel<bfloat16> k = make<bfloat16>();
  try {
    std::vector<bfloat16> q(2 * 4, bfloat16(0.5f)), kv(3 * 4, bfloat16(0.25f)), out(2 * 4);
    k.attention(heads_of(std::span<const bfloat16>(q), 1, 2, 4),
                heads_of(std::span<const bfloat16>(kv), 1, 3, 4),
                heads_of(std::span<const bfloat16>(kv), 1, 3, 4),
                heads_of(std::span<bfloat16>(out), 1, 2, 4), {.threads = 1});
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
  return k;
}

}  // namespace softlab::peers::detail
