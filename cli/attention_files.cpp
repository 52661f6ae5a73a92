// cli/attention_files.cpp: the shapes and the storage type of `softlab attention`'s files.
#include "attention_files.hpp"

#include <numeric>

namespace softlab::cli {

namespace {

std::string dims(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " dimension" : " dimensions");
}

std::size_t product(const std::vector<std::size_t>& shape, std::size_t first, std::size_t last) {
  return std::accumulate(shape.begin() + static_cast<std::ptrdiff_t>(first),
                         shape.begin() + static_cast<std::ptrdiff_t>(last), std::size_t{1},
                         std::multiplies<>());
}

bool is_float_dtype(npy::dtype t) {
  return t == npy::dtype::float32 || t == npy::dtype::float16 || t == npy::dtype::float64;
}

/// The storage type a file's dtype suggests.
std::string_view type_of_dtype(npy::dtype t) {
  switch (t) {
    case npy::dtype::float16:
      return "f16";
    case npy::dtype::uint16:
      return "bf16";
    default:
      return "float";
  }
}

}  // namespace

std::vector<std::size_t> attention_shape::output_shape() const {
  std::vector<std::size_t> s = q_shape;
  s.back() = d_v;
  return s;
}

attention_shape attention_shape_of(const npy::array& q, const npy::array& k, const npy::array& v,
                                   const npy_source& qs, const npy_source& ks,
                                   const npy_source& vs) {
  const std::size_t n = q.shape.size();
  if (n < 2 || n > 4)
    throw input_error(qs.label() + ": shape " + npy::shape_text(q.shape) + " has " + dims(n) +
                      "; Q is [L, d], [H, L, d] or [B, H, L, d]");
  for (const auto& [a, s] : {std::pair{&k, &ks}, std::pair{&v, &vs}})
    if (a->shape.size() != n)
      throw input_error(s->label() + ": shape " + npy::shape_text(a->shape) + " has " +
                        dims(a->shape.size()) + " but " + qs.label() + " has " + dims(n) +
                        " (K and V are [.., S, d] as Q is [.., L, d])");
  attention_shape shape;
  shape.q_shape = q.shape;
  shape.q_len = q.shape[n - 2];
  shape.d = q.shape[n - 1];
  shape.kv_len = k.shape[n - 2];
  shape.d_v = v.shape[n - 1];
  if (k.shape[n - 1] != shape.d)
    throw input_error(ks.label() + ": d is " + std::to_string(k.shape[n - 1]) + " but " +
                      qs.label() + " has d " + std::to_string(shape.d));
  if (v.shape[n - 2] != shape.kv_len)
    throw input_error(vs.label() + ": kv_len is " + std::to_string(v.shape[n - 2]) + " but " +
                      ks.label() + " has kv_len " + std::to_string(shape.kv_len));
  if (n == 4 && k.shape[0] != q.shape[0])
    throw input_error(ks.label() + ": batch " + std::to_string(k.shape[0]) + " but " + qs.label() +
                      " has batch " + std::to_string(q.shape[0]));
  for (std::size_t i = 0; i + 2 < n; ++i)
    if (v.shape[i] != k.shape[i])
      throw input_error(vs.label() + ": shape " + npy::shape_text(v.shape) + " but " + ks.label() +
                        " has " + npy::shape_text(k.shape) + " (K and V differ only in d and d_v)");
  shape.q_heads = product(q.shape, 0, n - 2);
  shape.kv_heads = product(k.shape, 0, n - 2);
  const std::size_t q_per_batch = n == 2 ? 1 : q.shape[n - 3];
  const std::size_t kv_per_batch = n == 2 ? 1 : k.shape[n - 3];
  if (kv_per_batch == 0 ? q_per_batch != 0 : q_per_batch % kv_per_batch != 0)
    throw input_error(ks.label() + ": " + std::to_string(kv_per_batch) + " heads do not divide " +
                      qs.label() + "'s " + std::to_string(q_per_batch) +
                      " (grouped-query attention: Q's heads are a multiple of K's and V's)");
  return shape;
}

std::size_t checked_mask_size(const npy::array& mask, const attention_shape& shape,
                              const npy_source& source) {
  const std::size_t n = mask.shape.size();
  // Appended piece by piece: g++ 12 -O3 warns (-Wrestrict, a false positive: GCC bug 105651)
  // on "literal" + std::string&&.
  std::string expected(1, '(');
  expected.append(std::to_string(shape.q_len))
      .append(", ")
      .append(std::to_string(shape.kv_len))
      .append(") = [q_len, kv_len]");
  if (n < 2 || mask.shape[n - 2] != shape.q_len || mask.shape[n - 1] != shape.kv_len)
    throw input_error(source.label() + ": shape " + npy::shape_text(mask.shape) +
                      " does not end in " + expected);
  const std::size_t heads = product(mask.shape, 0, n - 2);
  if (heads != 1 && heads != shape.q_heads)
    throw input_error(source.label() + ": shape " + npy::shape_text(mask.shape) + " is " +
                      std::to_string(heads) + " masks of " + expected + "; give one, or one per " +
                      "query head (" + std::to_string(shape.q_heads) + ")");
  return heads * shape.q_len * shape.kv_len;
}

std::string attention_storage_type(const std::string& given, const std::vector<npy::array>& qkv,
                                   const std::vector<npy_source>& sources,
                                   std::vector<std::string>& notes) {
  if (!given.empty() && given != "float" && given != "f16" && given != "bf16")
    throw input_error("--type " + given +
                      ": with --q, --k and --v the storage type is float, f16 or bf16");
  for (std::size_t i = 0; i < qkv.size(); ++i) {
    const npy::dtype t = qkv[i].type;
    if (t == npy::dtype::boolean)
      throw input_error(sources[i].label() +
                        ": dtype |b1 (bool): Q, K and V are <f4, <f2, <f8 or "
                        "<u2 (bfloat16 bits)");
    if (t == npy::dtype::uint16 && given != "bf16")
      throw input_error(
          sources[i].label() + ": dtype <u2 holds bfloat16 bits, read only with --type bf16 (" +
          (given.empty() ? std::string("no --type given") : "not --type " + given) + ")");
  }
  std::string type = given;
  if (type.empty()) {
    type = type_of_dtype(qkv[0].type);
    for (std::size_t i = 1; i < qkv.size(); ++i)
      if (type_of_dtype(qkv[i].type) != type)
        throw input_error(sources[i].label() + " is " + std::string(npy::descr(qkv[i].type)) +
                          " (" + std::string(type_of_dtype(qkv[i].type)) + ") but " +
                          sources[0].label() + " is " + std::string(npy::descr(qkv[0].type)) +
                          " (" + type + "): give --type float, f16 or bf16");
  }
  for (std::size_t i = 0; i < qkv.size(); ++i) {
    const npy::dtype t = qkv[i].type;
    const bool exact = t == npy::dtype::uint16 || (t == npy::dtype::float32 && type == "float") ||
                       (t == npy::dtype::float16 && (type == "float" || type == "f16"));
    if (!exact && is_float_dtype(t))
      notes.push_back(sources[i].label() + ": " + std::string(npy::dtype_name(t)) + " (" +
                      std::string(npy::descr(t)) + ") values rounded once to " + type);
  }
  return type;
}

void load_mask(const npy::array& mask, const npy_source& source, std::vector<float>& additive,
               std::unique_ptr<bool[]>& keep, std::size_t& keep_size) {
  if (mask.type == npy::dtype::boolean) {
    keep_size = mask.size();
    keep = std::make_unique<bool[]>(keep_size);
    for (std::size_t i = 0; i < keep_size; ++i) keep[i] = mask.bytes[i] != 0;
    return;
  }
  if (!is_float_dtype(mask.type))
    throw input_error(source.label() + ": dtype " + std::string(npy::descr(mask.type)) +
                      ": a mask is additive (<f4, <f8, <f2) or a keep mask (|b1)");
  additive.resize(mask.size());
  // <f8: rounded once to float, as the library rounds a double mask before using it.
  for (std::size_t i = 0; i < additive.size(); ++i) additive[i] = float(mask.number_at(i));
}

}  // namespace softlab::cli
