// cli/attention_files.hpp: Q, K, V and a mask from .npy files (cli/npy.hpp), as the library's
// attention takes them (softlab/attention.hpp), for `softlab attention --q --k --v`.
//
// Shapes: Q is [L, d], [H, L, d] or [B, H, L, d] (B * H heads, packed: heads_of's default
// strides); K [.., S, d] and V [.., S, d_v] have as many dimensions as Q, the same batch B, and
// heads H_kv dividing Q's (grouped-query attention). O is Q's shape with d_v last. A mask is
// [L, S] (shared by every head) or one per query head: [H, L, S] or [B, H, L, S] (any leading
// dimensions whose product is Q's heads, or 1); additive (<f4, <f8, <f2, exactly widened to
// float) or a keep mask (|b1: False leaves the key out).
//
// Storage type: --type (float, f16, bf16), or from the files' dtype: <f4 float, <f2 f16, <f8
// float; <u2 (uint16 holding bfloat16's bits) only with --type bf16. Every value is rounded once
// to the storage type; a note for each file whose values it rounds (<f8, or a narrower
// --type). Every error is an input_error naming the option, the file and what is wrong.
#pragma once

#include "npy.hpp"
#include "scores.hpp"

#include <softlab/attention.hpp>
#include <softlab/options.hpp>
#include <softlab/storage.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace softlab::cli {

/// A file option as given: "--q" and its path; labelled "--q q.npy" in messages.
struct npy_source {
  std::string option;
  std::string path;
  std::string label() const { return option + " " + path; }
};

/// The problem's dimensions, from the shapes of Q, K and V.
struct attention_shape {
  std::vector<std::size_t> q_shape;  ///< as in the file
  std::size_t q_heads = 1, kv_heads = 1, q_len = 0, kv_len = 0, d = 0, d_v = 0;
  /// O's shape: Q's with d_v last.
  std::vector<std::size_t> output_shape() const;
};

/// The dimensions of Q, K and V, or input_error naming the file that does not fit (e.g.
/// "--k k.npy: d is 64 but --q q.npy has d 128").
attention_shape attention_shape_of(const npy::array& q, const npy::array& k, const npy::array& v,
                                   const npy_source& qs, const npy_source& ks,
                                   const npy_source& vs);

/// The mask's size in elements (q_len * kv_len or q_heads * q_len * kv_len), or input_error.
std::size_t checked_mask_size(const npy::array& mask, const attention_shape& shape,
                              const npy_source& source);

/// The storage type token ("float", "f16", "bf16"): `given` when not empty, else from the
/// dtypes of Q, K and V (input_error when they disagree). Adds a note for each file whose
/// values are rounded to it.
std::string attention_storage_type(const std::string& given, const std::vector<npy::array>& qkv,
                                   const std::vector<npy_source>& sources,
                                   std::vector<std::string>& notes);

/// The elements of a (any float dtype, or uint16 for bfloat16), each rounded once to T.
template <class T>
std::vector<T> values_as(const npy::array& a) {
  std::vector<T> result(a.size());
  for (std::size_t i = 0; i < result.size(); ++i) {
    if constexpr (std::is_same_v<T, bfloat16>) {
      if (a.type == npy::dtype::uint16) {
        result[i] = bfloat16::from_bits(a.bits_at(i));
        continue;
      }
    }
    if constexpr (std::is_same_v<T, float16>) {
      if (a.type == npy::dtype::float16) {
        result[i] = float16::from_bits(a.bits_at(i));
        continue;
      }
    }
    const double x = a.number_at(i);  // exact for <f4, <f2 and <f8
    if constexpr (std::is_same_v<T, float>)
      result[i] = float(x);  // rounded once
    else if (a.type == npy::dtype::float64)
      result[i] = T(x);  // rounded once from the exact double
    else
      result[i] = T(float(x));  // float and float16 values are exact in float
  }
  return result;
}

/// A loaded problem in storage type T: the data, its views, and the options' mask.
template <class T>
struct attention_problem_files {
  attention_shape shape;
  std::vector<T> q, k, v;
  std::vector<float> additive;
  std::unique_ptr<bool[]> keep;
  std::size_t keep_size = 0;

  heads_view<const T> q_view() const { return heads_of(q, shape.q_heads, shape.q_len, shape.d); }
  heads_view<const T> k_view() const { return heads_of(k, shape.kv_heads, shape.kv_len, shape.d); }
  heads_view<const T> v_view() const {
    return heads_of(v, shape.kv_heads, shape.kv_len, shape.d_v);
  }
  /// The mask as attention_options takes it (none when there is no mask file).
  score_mask mask() const {
    if (keep) return score_mask(std::span<const bool>(keep.get(), keep_size));
    if (!additive.empty()) return score_mask(std::span<const float>(additive));
    return {};
  }
};

/// The mask's values: an additive mask as float (<f8 rounded once: the library rounds a
/// double mask to float first), a keep mask as bool.
void load_mask(const npy::array& mask, const npy_source& source, std::vector<float>& additive,
               std::unique_ptr<bool[]>& keep, std::size_t& keep_size);

template <class T>
std::unique_ptr<attention_problem_files<T>> load_attention_problem(
    const attention_shape& shape, const npy::array& q, const npy::array& k, const npy::array& v,
    const npy::array* mask, const npy_source& mask_source) {
  auto p = std::make_unique<attention_problem_files<T>>();
  p->shape = shape;
  p->q = values_as<T>(q);
  p->k = values_as<T>(k);
  p->v = values_as<T>(v);
  if (mask != nullptr) load_mask(*mask, mask_source, p->additive, p->keep, p->keep_size);
  return p;
}

/// O as an .npy array: O's shape, dtype <f4 (float), <f2 (f16), <u2 (bf16's bits).
template <class T>
npy::array output_array(const attention_shape& shape, const std::vector<T>& o) {
  if constexpr (std::is_same_v<T, float>) {
    npy::array a = npy::zeros(npy::dtype::float32, shape.output_shape());
    for (std::size_t i = 0; i < o.size(); ++i) npy::set_float32(a, i, o[i]);
    return a;
  } else {
    npy::array a = npy::zeros(std::is_same_v<T, float16> ? npy::dtype::float16 : npy::dtype::uint16,
                              shape.output_shape());
    for (std::size_t i = 0; i < o.size(); ++i) npy::set_bits16(a, i, o[i].bits());
    return a;
  }
}

}  // namespace softlab::cli
