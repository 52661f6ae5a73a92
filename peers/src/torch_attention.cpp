// The torch attention peers: attention as libtorch users write it, on the caller's heads.
//
// torch_composed: S = at::matmul(q, k^T) * scale; the mask applied to S (an additive float mask
// added, a boolean keep-mask and the causal offset as masked_fill(-inf)); P = at::softmax(S, -1);
// O = at::matmul(P, v), copied into the caller's O; logsumexp, when asked, is at::logsumexp(S,
// -1). torch_sdpa: libtorch 1.13's at::_scaled_dot_product_attention(q, k, v, mask, 0.0, false,
// is_causal), which on the CPU is the same composition (matmul, softmax, matmul) with q and k
// each divided by d^(1/4) (its only scale: 1/sqrt(d)); for another scale q is multiplied by
// scale sqrt(d) first (one more pass over Q). Its is_causal aligns the mask to the top left
// (query r keeps keys j <= r): used for a causal offset of 0 without a mask; any other causal
// offset (decode, a suffix of a sequence) or mask goes in as one additive float mask with -inf
// at the masked keys. It returns no logsumexp: asked for one, it throws std::logic_error after
// the argument checks.
//
// Q, K, V and O are torch::from_blob views of the caller's heads ([heads, rows, cols] with the
// heads_view strides), never copied by the adapter; libtorch's matmul copies what its BLAS
// call cannot take (the K^T of sdpa, divided by d^(1/4), is a new tensor). Grouped-query
// attention expands each K/V head to its query heads (unsqueeze, expand, reshape: a copy), as
// models write it (Llama's repeat_kv).
//
// Threads: a call runs on attention_options::threads (default softlab::default_threads()),
// OpenMP's count for the call, restored on return (adapters.hpp, openmp_threads_for_call):
// ATen's parallel_for and the OpenMP OpenBLAS under its matmul read it. Not at::set_num_threads,
// which is process-wide and also rebuilds libtorch's pthreadpool at every change.
#include "adapters.hpp"

#include <softlab/attention_registry.hpp>

#include <c10/core/InferenceMode.h>
#include <torch/types.h>

#include <dlfcn.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace softlab::peers::detail {
namespace {

using std::int64_t;

template <class T>
at::ScalarType scalar_type() {
  if constexpr (std::is_same_v<T, float>) return at::kFloat;
  if constexpr (std::is_same_v<T, bfloat16>) return at::kBFloat16;
  if constexpr (std::is_same_v<T, float16>) return at::kHalf;
}

int64_t signed_size(std::size_t n) { return static_cast<int64_t>(n); }

/// [heads, rows, cols] over the caller's memory, with its strides (never written for Q, K, V).
template <class T>
at::Tensor heads_tensor(const T* data, std::size_t heads, std::size_t rows, std::size_t cols,
                        std::size_t row_stride, std::size_t head_stride) {
  return torch::from_blob(const_cast<T*>(data),
                          {signed_size(heads), signed_size(rows), signed_size(cols)},
                          {signed_size(head_stride), signed_size(row_stride), 1},
                          at::TensorOptions().dtype(scalar_type<T>()));
}

/// K or V with each head repeated for the query heads of its group (grouped-query attention).
at::Tensor repeated_for_groups(const at::Tensor& kv, int64_t group) {
  if (group == 1) return kv;
  return kv.unsqueeze(1)
      .expand({kv.size(0), group, kv.size(1), kv.size(2)})
      .reshape({kv.size(0) * group, kv.size(1), kv.size(2)});
}

/// The mask's shape: [1 or q_heads, q_len, kv_len].
std::vector<int64_t> mask_shape(const softlab::score_mask& mask, std::size_t q_len,
                                std::size_t kv_len) {
  const std::size_t heads =
      mask.empty_kind() || mask.size() == q_len * kv_len ? 1 : mask.size() / (q_len * kv_len);
  return {signed_size(heads), signed_size(q_len), signed_size(kv_len)};
}

/// The user's additive mask as a float tensor (a view for float, converted for double), or an
/// undefined tensor.
at::Tensor additive_mask(const softlab::score_mask& mask, std::size_t q_len, std::size_t kv_len) {
  const auto shape = mask_shape(mask, q_len, kv_len);
  switch (mask.which()) {
    case softlab::score_mask::kind::additive_float:
      return torch::from_blob(const_cast<float*>(mask.additive_float()), shape, at::kFloat);
    case softlab::score_mask::kind::additive_double:
      return torch::from_blob(const_cast<double*>(mask.additive_double()), shape, at::kDouble)
          .to(at::kFloat);
    case softlab::score_mask::kind::none:
    case softlab::score_mask::kind::keep:
      break;
  }
  return {};
}

/// true where a key is left out: a false keep-mask entry, or past the causal offset.
at::Tensor keep_mask_dropped(const softlab::score_mask& mask, std::size_t q_len,
                             std::size_t kv_len) {
  if (mask.which() != softlab::score_mask::kind::keep) return {};
  return torch::from_blob(const_cast<bool*>(mask.keep()), mask_shape(mask, q_len, kv_len),
                          at::kBool)
      .logical_not();
}
at::Tensor causal_dropped(const std::optional<std::ptrdiff_t>& causal, std::size_t q_len,
                          std::size_t kv_len) {
  if (!causal) return {};
  // Row r keeps j <= r + offset: dropped where j - r >= offset + 1.
  return at::ones({signed_size(q_len), signed_size(kv_len)}, at::kBool).triu(*causal + 1);
}

constexpr double minus_infinity = -std::numeric_limits<double>::infinity();

struct torch_heads {
  at::Tensor q, k, v, o;
};

template <class T>
torch_heads tensors_of(const softlab::detail::attention_problem<T>& p) {
  const auto group = signed_size(p.q_heads / p.kv_heads);
  return {
      heads_tensor(p.q, p.q_heads, p.q_len, p.d, p.q_row_stride, p.q_head_stride),
      repeated_for_groups(
          heads_tensor(p.k, p.kv_heads, p.kv_len, p.d, p.k_row_stride, p.k_head_stride), group),
      repeated_for_groups(
          heads_tensor(p.v, p.kv_heads, p.kv_len, p.d_v, p.v_row_stride, p.v_head_stride), group),
      heads_tensor<T>(p.o, p.q_heads, p.q_len, p.d_v, p.o_row_stride, p.o_head_stride)};
}

template <class T>
void torch_composed(heads_view<const T> q, heads_view<const T> k, heads_view<const T> v,
                    heads_view<T> o, const attention_options& options) {
  const auto p = softlab::detail::checked_attention(q, k, v, o, options);
  if (p.q_heads == 0 || p.q_len == 0) return;
  torch_best_cpu_capability();
  const openmp_threads_for_call threads(options.threads.value_or(softlab::default_threads()));
  c10::InferenceMode inference;
  const torch_heads t = tensors_of(p);
  at::Tensor scores = at::matmul(t.q, t.k.transpose(-2, -1)) * double(p.scale);
  if (const at::Tensor mask = additive_mask(options.mask, p.q_len, p.kv_len); mask.defined())
    scores.add_(mask);
  if (const at::Tensor dropped = keep_mask_dropped(options.mask, p.q_len, p.kv_len);
      dropped.defined())
    scores.masked_fill_(dropped, minus_infinity);
  if (const at::Tensor dropped = causal_dropped(options.causal, p.q_len, p.kv_len);
      dropped.defined())
    scores.masked_fill_(dropped, minus_infinity);
  if (!options.logsumexp.empty())
    torch::from_blob(options.logsumexp.data(), {signed_size(p.q_heads), signed_size(p.q_len)},
                     at::kFloat)
        .copy_(at::logsumexp(scores, {-1}));
  const at::Tensor weights = at::softmax(scores, -1);
  t.o.copy_(at::matmul(weights, t.v));
}

template <class T>
void torch_sdpa(heads_view<const T> q, heads_view<const T> k, heads_view<const T> v,
                heads_view<T> o, const attention_options& options) {
  const auto p = softlab::detail::checked_attention(q, k, v, o, options);
  if (!options.logsumexp.empty())
    throw std::logic_error(
        "torch_sdpa: at::_scaled_dot_product_attention (libtorch 1.13) returns no logsumexp");
  if (p.q_heads == 0 || p.q_len == 0) return;
  torch_best_cpu_capability();
  const openmp_threads_for_call threads(options.threads.value_or(softlab::default_threads()));
  c10::InferenceMode inference;
  const torch_heads t = tensors_of(p);
  // sdpa's own scale is 1/sqrt(d) (q and k each divided by d^(1/4)); another one goes into q.
  const float sdpa_scale = float(1 / std::sqrt(double(p.d)));
  const at::Tensor query =
      p.scale == sdpa_scale ? t.q : t.q * (double(p.scale) * std::sqrt(double(p.d)));
  const bool top_left_causal = options.causal == 0 && options.mask.empty_kind();
  c10::optional<at::Tensor> mask;
  if (!top_left_causal && (options.causal || !options.mask.empty_kind())) {
    at::Tensor additive = additive_mask(options.mask, p.q_len, p.kv_len);
    if (!additive.defined())  // as many heads as a keep-mask has: masked_fill_ writes in place
      additive = at::zeros(mask_shape(options.mask, p.q_len, p.kv_len), at::kFloat);
    else
      additive = additive.clone();  // the user's mask is not written
    if (const at::Tensor dropped = keep_mask_dropped(options.mask, p.q_len, p.kv_len);
        dropped.defined())
      additive.masked_fill_(dropped, minus_infinity);
    if (const at::Tensor dropped = causal_dropped(options.causal, p.q_len, p.kv_len);
        dropped.defined())
      additive.masked_fill_(dropped, minus_infinity);
    mask = additive.to(scalar_type<T>());
  }
  const auto [out, unused_weights] = at::_scaled_dot_product_attention(
      query, t.k, t.v, mask, /*dropout_p=*/0.0, /*need_attn_weights=*/false, top_left_causal);
  t.o.copy_(out);
}

/// The BLAS libblas.so.3 resolves to (Debian's alternatives): OpenBLAS's own configuration
/// line when it is OpenBLAS, else the alternative's directory (blas: the reference BLAS).
std::string blas_in_use() {
  const char* link = "/usr/lib/x86_64-linux-gnu/libblas.so.3";
  char resolved[PATH_MAX];
  if (realpath(link, resolved) == nullptr) return "BLAS unknown (no " + std::string(link) + ")";
  const std::string path(resolved);
  std::string name = path;
  if (const auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    const auto parent = path.rfind('/', slash - 1);
    name = path.substr(parent + 1, slash - parent - 1);
  }
  if (name == "blas") name = "reference BLAS (netlib)";
  using config_function = char* (*)();
  if (auto* config = reinterpret_cast<config_function>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
    name += ", " + std::string(config());
  return "BLAS " + name + ", " + path;
}

const std::string& attention_origin() {
  static const std::string text = torch_origin() + "; " + blas_in_use();
  return text;
}

/// torch_sdpa's origin: the same library, and the kernels it runs on the CPU.
const std::string& sdpa_origin() {
  static const std::string text =
      attention_origin() +
      "; at::_scaled_dot_product_attention runs the same CPU kernels as torch_composed "
      "(at::matmul, at::softmax, at::matmul)";
  return text;
}

const std::string& composed_algorithm() {
  static const std::string text =
      attention_origin() +
      ": S = at::matmul(q, k^T) * scale; mask added / masked_fill(-inf); at::softmax(S, -1); "
      "at::matmul(P, v)";
  return text;
}

const std::string& sdpa_algorithm() {
  static const std::string text =
      sdpa_origin() +
      ": at::_scaled_dot_product_attention, on the CPU the same kernels as torch_composed "
      "(matmul of q / d^(1/4) and k^T / d^(1/4), mask added, softmax, matmul); another scale "
      "multiplies q first; causal offsets other than 0 as an additive mask";
  return text;
}

template <class T>
attention_kernel<T> make_attention(std::string_view name, const std::string& algorithm,
                                   const std::string& origin,
                                   decltype(attention_kernel<T>::attention) run) {
  attention_kernel<T> k;
  k.facts = attention_facts{
      .name = name,
      .algorithm = algorithm,
      .passes = "matmul, scale (and mask) over S, softmax over S, matmul: S is materialized",
      .stated_bound = "none stated by the library",
      .softmax = "at::softmax (ATen's vectorized CPU kernel)",
  };
  k.attention = run;
  k.meets_contract = false;
  k.origin = origin;
  return k;
}

/// The entry when a small call runs (ATen may lack a kernel for the type), else empty.
template <class T>
std::optional<attention_kernel<T>> if_it_runs(attention_kernel<T> k) {
  try {
    std::vector<T> q(2 * 4, T(0.5f)), kv(3 * 4, T(0.25f)), o(2 * 4);
    k.attention(heads_of(std::span<const T>(q), 1, 2, 4), heads_of(std::span<const T>(kv), 1, 3, 4),
                heads_of(std::span<const T>(kv), 1, 3, 4), heads_of(std::span<T>(o), 1, 2, 4),
                {.causal = 0, .threads = 1});
  } catch (const c10::Error&) {
    return std::nullopt;
  }
  return k;
}

}  // namespace

std::optional<attention_kernel<float>> torch_composed_float() {
  return if_it_runs(make_attention<float>("torch_composed", composed_algorithm(),
                                          attention_origin(), &torch_composed<float>));
}
std::optional<attention_kernel<bfloat16>> torch_composed_bfloat16() {
  return if_it_runs(make_attention<bfloat16>("torch_composed", composed_algorithm(),
                                             attention_origin(), &torch_composed<bfloat16>));
}
std::optional<attention_kernel<float>> torch_sdpa_float() {
  return if_it_runs(
      make_attention<float>("torch_sdpa", sdpa_algorithm(), sdpa_origin(), &torch_sdpa<float>));
}
std::optional<attention_kernel<bfloat16>> torch_sdpa_bfloat16() {
  return if_it_runs(make_attention<bfloat16>("torch_sdpa", sdpa_algorithm(), sdpa_origin(),
                                             &torch_sdpa<bfloat16>));
}
std::string torch_blas() { return blas_in_use(); }

}  // namespace softlab::peers::detail
