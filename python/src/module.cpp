// python/src/module.cpp: the Python module softlab._softlab: softmax, log_softmax, logsumexp
// and attention over numpy arrays through the runtime registries, implementations(), and the
// shared pieces of module.hpp. The exact reference and check() are in check.cpp.
//
// Nothing here instantiates an algorithm: every call goes through a registry entry's function
// pointers (the library compiled them once), so the module compiles in seconds.
#include "module.hpp"
#include "fast_call.hpp"

#include <softlab/kernel_rows.hpp>
#include <softlab/options.hpp>

#ifdef SOFTLAB_PYTHON_HAVE_PEERS
#include <softlab_peers/peers.hpp>
#endif

#include <Python.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <sstream>

namespace softlab::python {

namespace {

std::atomic<bool> gil_held{true};

/// An int argument: a Python int or anything with __index__ (numpy integers), not a bool.
bool is_integer(const py::handle& h) {
  return !py::isinstance<py::bool_>(h) && PyIndex_Check(h.ptr()) != 0;
}

py::module_ numpy() { return py::module_::import("numpy"); }

std::string join(const std::vector<std::string>& items) {
  std::string result;
  for (const std::string& item : items) result += (result.empty() ? "" : ", ") + item;
  return result;
}

std::string type_name(const py::handle& h) {
  return py::str(py::type::handle_of(h).attr("__name__")).cast<std::string>();
}

std::string dtype_text(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

}  // namespace

const registries& the_registries() {
  static const registries r = [] {
    registries built{builtin_registry(), builtin_attention_registry()};
#ifdef SOFTLAB_PYTHON_HAVE_PEERS
    softlab::peers::register_peers(built.softmax);
    softlab::peers::register_attention_peers(built.attention);
#endif
    return built;
  }();
  return r;
}

void record_gil_state() { gil_held.store(PyGILState_Check() != 0); }
bool gil_held_in_last_call() { return gil_held.load(); }

std::string_view dtype_name(element e) {
  switch (e) {
    case element::f32:
      return "float32";
    case element::f64:
      return "float64";
    case element::f16:
      return "float16";
    case element::bf16:
      break;
  }
  return "bfloat16";
}

py::dtype numpy_dtype(element e) {
  // Made once (parsing a dtype string costs microseconds: the call overhead of a short row),
  // and never destroyed: Python objects must not outlive the interpreter in static destructors.
  static const auto* const dtypes = new std::array<py::dtype, 4>{
      py::dtype("float32"), py::dtype("float64"), py::dtype("float16"), py::dtype("uint16")};
  return (*dtypes)[static_cast<std::size_t>(e)];
}

std::optional<element> element_of_token(std::string_view token) {
  std::optional<element> result;
  for (const element e : {element::f32, element::f64, element::f16, element::bf16})
    with_element(e, [&]<class T>() {
      if (type_token_v<T> == token) result = e;
    });
  return result;
}

std::string shape_text(const py::array& a) {
  std::string text = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i)
    text += (i > 0 ? ", " : "") + std::to_string(a.shape(i));
  return text + (a.ndim() == 1 ? ",)" : ")");
}

std::optional<element> requested_element(const py::object& dtype) {
  if (dtype.is_none()) return std::nullopt;
  if (py::isinstance<py::str>(dtype)) {
    const auto text = dtype.cast<std::string>();
    if (text == "bfloat16" || text == "bf16") return element::bf16;
  }
  py::dtype d;
  try {
    d = py::dtype::from_args(dtype);
  } catch (const py::error_already_set&) {
    value_error("dtype: " + py::repr(dtype).cast<std::string>() +
                " is not a dtype; expected float32, float64, float16 or \"bfloat16\"");
  }
  if (d.kind() == 'f' && d.itemsize() == 4) return element::f32;
  if (d.kind() == 'f' && d.itemsize() == 8) return element::f64;
  if (d.kind() == 'f' && d.itemsize() == 2) return element::f16;
  value_error("dtype: " + py::str(d).cast<std::string>() +
              " is not computed; expected float32, float64, float16 or \"bfloat16\"");
}

typed_array as_typed(const py::object& x, const py::object& dtype, const char* argument) {
  if (!py::isinstance<py::array>(x))
    value_error(std::string(argument) + ": expected a numpy array, got " + type_name(x));
  auto a = py::reinterpret_borrow<py::array>(x);
  const py::dtype own = a.dtype();
  const std::optional<element> wanted = requested_element(dtype);
  typed_array result;
  if (wanted == element::bf16) {
    if (!(own.kind() == 'u' && own.itemsize() == 2))
      value_error(std::string(argument) + ": dtype \"bfloat16\" takes a uint16 array of " +
                  "bfloat16's bits; got dtype " + dtype_text(a));
    result.type = element::bf16;
  } else if (!wanted) {
    if (own.kind() == 'f' && own.itemsize() == 4)
      result.type = element::f32;
    else if (own.kind() == 'f' && own.itemsize() == 8)
      result.type = element::f64;
    else if (own.kind() == 'f' && own.itemsize() == 2)
      result.type = element::f16;
    else if (own.kind() == 'u' && own.itemsize() == 2)
      value_error(std::string(argument) + ": dtype uint16 is read as bfloat16's bits only with " +
                  "dtype=\"bfloat16\"");
    else
      value_error(std::string(argument) + ": dtype " + dtype_text(a) +
                  " is not computed; expected float32, float64, float16, or uint16 with "
                  "dtype=\"bfloat16\"");
  } else {
    if (own.kind() != 'f')
      value_error(std::string(argument) + ": dtype " + dtype_text(a) + " cannot be converted to " +
                  std::string(dtype_name(*wanted)) + "; expected a floating-point array");
    result.type = *wanted;
  }
  const py::dtype target = numpy_dtype(result.type);
  const bool convert = !own.is(target) && !own.equal(target);
  const bool contiguous = (a.flags() & py::array::c_style) != 0;
  if (convert || !contiguous) {
    result.array = numpy().attr("ascontiguousarray")(a, target);
    result.copied = true;
  } else {
    result.array = a;
  }
  // The byte order must be the machine's: ascontiguousarray with a native dtype converts.
  if (!result.array.dtype().equal(target)) {
    result.array = numpy().attr("ascontiguousarray")(result.array, target);
    result.copied = true;
  }
  return result;
}

implementation_choice parse_implementation(const py::object& impl_arg, const py::object& isa_arg) {
  if (!py::isinstance<py::str>(impl_arg))
    value_error(
        "impl: expected an implementation name (a string such as \"fast\" or "
        "\"fast@avx2\"), got " +
        type_name(impl_arg));
  const auto impl = impl_arg.cast<std::string>();
  implementation_choice choice;
  std::string isa_text;
  const auto at = impl.find('@');
  choice.name = impl.substr(0, at);
  if (at != std::string::npos) isa_text = impl.substr(at + 1);
  if (!isa_arg.is_none()) {
    if (!py::isinstance<py::str>(isa_arg))
      value_error("isa: expected a string such as \"avx2\", got " + type_name(isa_arg));
    const auto given = isa_arg.cast<std::string>();
    if (!isa_text.empty() && given != isa_text)
      value_error("isa: \"" + given + "\" but impl names \"" + impl + "\"");
    isa_text = given;
  }
  if (!isa_text.empty()) {
    choice.forced = parse_isa(isa_text);
    if (!choice.forced) {
      std::vector<std::string> known;
      for (const isa which : every_isa) known.emplace_back(isa_name(which));
      value_error("isa: unknown instruction set \"" + isa_text + "\"; known: " + join(known));
    }
  }
  return choice;
}

namespace {

/// The ValueError for a name no entry has, or has not for this type, or an ISA it cannot run.
template <class T, class K>
const K& checked_entry(const K* found, const implementation_choice& choice,
                       const std::vector<std::string>& known,
                       const std::vector<std::string>& its_types, isa_set isas, const char* what) {
  if (found == nullptr) {
    if (std::find(known.begin(), known.end(), choice.name) == known.end())
      value_error("impl: unknown " + std::string(what) + " implementation \"" + choice.name +
                  "\"; known: " + join(known));
    std::vector<std::string> dtypes;
    for (const std::string& token : its_types)
      if (const auto e = element_of_token(token)) dtypes.emplace_back(dtype_name(*e));
    value_error("impl: \"" + choice.name + "\" is not registered for " +
                std::string(dtype_name(element_of_type<T>())) + " (it computes: " +
                (dtypes.empty() ? std::string("no numpy dtype") : join(dtypes)) + ")");
  }
  if (choice.forced) {
    std::vector<std::string> runs;
    for (const isa which : available_isas())
      if ((isas & isa_bit(which)) != 0) runs.emplace_back(isa_name(which));
    if (std::find(runs.begin(), runs.end(), std::string(isa_name(*choice.forced))) == runs.end())
      value_error("isa: \"" + choice.name + "\" cannot run on " +
                  std::string(isa_name(*choice.forced)) + " here; it runs on: " +
                  (runs.empty() ? std::string("none (it does not follow softlab's instruction "
                                              "set)")
                                : join(runs)));
  }
  return *found;
}

}  // namespace

template <class T>
const kernel<T>& find_kernel(const implementation_choice& choice) {
  const registry& reg = the_registries().softmax;
  const kernel<T>* found = reg.find<T>(choice.name);
  if (found != nullptr && !choice.forced) return *found;  // the common call: no lists made
  std::vector<std::string> known, types;
  for (const std::string_view name : reg.names()) known.emplace_back(name);
  for (const std::string_view token : reg.types_of(choice.name)) types.emplace_back(token);
  return checked_entry<T>(found, choice, known, types, found ? found->isas : 0, "softmax");
}
template const kernel<float>& find_kernel<float>(const implementation_choice&);
template const kernel<double>& find_kernel<double>(const implementation_choice&);
template const kernel<float16>& find_kernel<float16>(const implementation_choice&);
template const kernel<bfloat16>& find_kernel<bfloat16>(const implementation_choice&);

row_layout rows_along(typed_array x, const py::object& axis_arg) {
  const py::ssize_t ndim = x.array.ndim();
  if (ndim == 0) value_error("x: a 0-d array has no axis to take a softmax over");
  if (!is_integer(axis_arg)) value_error("axis: expected an int, got " + type_name(axis_arg));
  const auto given = py::int_(axis_arg).cast<py::ssize_t>();
  if (given < -ndim || given >= ndim)
    value_error("axis: " + std::to_string(given) + " is out of range for x of shape " +
                shape_text(x.array));
  row_layout layout;
  layout.axis = static_cast<std::size_t>(given < 0 ? given + ndim : given);
  layout.moved = layout.axis != static_cast<std::size_t>(ndim - 1);
  if (layout.moved) {
    x.array = numpy().attr("ascontiguousarray")(numpy().attr("moveaxis")(x.array, layout.axis, -1));
    x.copied = true;
  }
  layout.length = static_cast<std::size_t>(x.array.shape(ndim - 1));
  layout.count = 1;
  for (py::ssize_t i = 0; i + 1 < ndim; ++i) layout.count *= std::size_t(x.array.shape(i));
  layout.rows = std::move(x);
  return layout;
}

namespace {

// ---- options ----------------------------------------------------------------------------

std::optional<double> number_option(const py::object& value, const char* argument) {
  if (value.is_none()) return std::nullopt;
  if (py::isinstance<py::bool_>(value) ||
      !(py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value) ||
        py::hasattr(value, "__float__")))
    value_error(std::string(argument) + ": expected a number, got " + type_name(value));
  return value.cast<double>();
}

std::optional<std::ptrdiff_t> offset_option(const py::object& value, const char* argument) {
  if (value.is_none()) return std::nullopt;
  if (!is_integer(value))
    value_error(std::string(argument) + ": expected an int offset, got " + type_name(value));
  return py::int_(value).cast<std::ptrdiff_t>();
}

std::optional<std::size_t> threads_option(const py::object& value) {
  if (value.is_none()) return std::nullopt;
  if (!is_integer(value)) value_error("threads: expected a positive int, got " + type_name(value));
  const auto n = py::int_(value).cast<long long>();
  if (n <= 0)
    value_error("threads: " + std::to_string(n) +
                "; expected a positive count (unset: "
                "SOFTLAB_THREADS or the CPUs this process may use)");
  return static_cast<std::size_t>(n);
}

/// A mask argument held for the call: its array (contiguous, bool, float32 or float64) and the
/// score_mask view of it.
struct held_mask {
  py::array array = no_array();
  score_mask view;
};

/// A C-contiguous bool, float32 or float64 array as the score_mask viewing its memory.
score_mask view_of_mask(const py::array& mask) {
  const auto size = static_cast<std::size_t>(mask.size());
  if (mask.dtype().kind() == 'b')
    return score_mask(std::span<const bool>(static_cast<const bool*>(mask.data()), size));
  if (mask.dtype().itemsize() == 4)
    return score_mask(std::span<const float>(static_cast<const float*>(mask.data()), size));
  return score_mask(std::span<const double>(static_cast<const double*>(mask.data()), size));
}

/// mask for rows of x: x's shape (moved like x when the axis is not the last) or one row.
held_mask mask_for_rows(const py::object& mask, const py::array& original_x,
                        const row_layout& layout) {
  held_mask held;
  if (mask.is_none()) return held;
  if (!py::isinstance<py::array>(mask))
    value_error(
        "mask: expected a numpy array (bool keep-mask, or float32/float64 additive), "
        "got " +
        type_name(mask));
  auto m = py::reinterpret_borrow<py::array>(mask);
  const py::dtype d = m.dtype();
  const bool keep = d.kind() == 'b';
  if (!keep && !(d.kind() == 'f' && (d.itemsize() == 4 || d.itemsize() == 8)))
    value_error("mask: dtype " + dtype_text(m) +
                "; expected bool (True keeps a score) or float32/float64 (added to the scores)");
  const bool one_row = m.ndim() == 1 && std::size_t(m.shape(0)) == layout.length;
  bool same_shape = m.ndim() == original_x.ndim();
  for (py::ssize_t i = 0; same_shape && i < m.ndim(); ++i)
    same_shape = m.shape(i) == original_x.shape(i);
  if (!same_shape && !one_row)
    value_error("mask: shape " + shape_text(m) + " fits neither x's shape " +
                shape_text(original_x) + " nor one row (" + std::to_string(layout.length) + ",)");
  py::object arranged = m;
  if (same_shape && layout.moved && !one_row)
    arranged = numpy().attr("moveaxis")(m, layout.axis, -1);
  held.array =
      numpy().attr("ascontiguousarray")(arranged, py::dtype(d.kind() == 'b'     ? "bool"
                                                            : d.itemsize() == 4 ? "float32"
                                                                                : "float64"));
  held.view = view_of_mask(held.array);
  return held;
}

/// out checked against the result's shape and dtype: exactly them, writable, C-contiguous.
py::array checked_out(const py::object& out, const py::array& x, element type,
                      const std::vector<py::ssize_t>& shape) {
  if (!py::isinstance<py::array>(out))
    value_error("out: expected a numpy array, got " + type_name(out));
  auto o = py::reinterpret_borrow<py::array>(out);
  bool same_shape = o.ndim() == py::ssize_t(shape.size());
  for (std::size_t i = 0; same_shape && i < shape.size(); ++i)
    same_shape = o.shape(py::ssize_t(i)) == shape[i];
  if (!same_shape)
    value_error("out: shape " + shape_text(o) + " but the result has shape " + shape_text(x));
  if (!o.dtype().equal(numpy_dtype(type)))
    value_error("out: dtype " + dtype_text(o) + " but the result is " +
                std::string(dtype_name(type)) +
                (type == element::bf16 ? " (bfloat16's bits in uint16)" : ""));
  if (!o.writeable()) value_error("out: the array is read-only");
  if ((o.flags() & py::array::c_style) == 0) value_error("out: the array is not C-contiguous");
  return o;
}

std::vector<py::ssize_t> shape_of(const py::array& a) { return {a.shape(), a.shape() + a.ndim()}; }

// ---- softmax, log_softmax, logsumexp -------------------------------------------------------

enum class rows_operation { softmax, log_softmax };

/// What softmax, log_softmax and logsumexp read from their arguments alike, checked.
struct rows_arguments {
  py::array original = no_array();  ///< x as given (converted to its dtype)
  implementation_choice choice;
  row_layout layout;
  held_mask held;  ///< options.mask views held.array
  softmax_options options;
};

rows_arguments read_rows_arguments(const py::object& x, const py::object& impl,
                                   const py::object& axis, const py::object& dtype,
                                   const py::object& scale, const py::object& mask,
                                   const py::object& threads, const py::object& isa_arg) {
  typed_array typed = as_typed(x, dtype, "x");
  rows_arguments a;
  a.original = typed.array;
  a.choice = parse_implementation(impl, isa_arg);
  a.layout = rows_along(std::move(typed), axis);
  a.held = mask_for_rows(mask, a.original, a.layout);
  a.options.scale = number_option(scale, "scale");
  a.options.mask = a.held.view;
  a.options.threads = threads_option(threads);
  return a;
}

py::array rows_call(rows_operation operation, const py::object& x, const py::object& impl,
                    const py::object& axis, const py::object& out, const py::object& dtype,
                    const py::object& scale, const py::object& mask, const py::object& causal,
                    const py::object& threads, const py::object& isa_arg) {
  rows_arguments a = read_rows_arguments(x, impl, axis, dtype, scale, mask, threads, isa_arg);
  a.options.causal = offset_option(causal, "causal");
  const py::array& original = a.original;
  const implementation_choice& choice = a.choice;
  const row_layout& layout = a.layout;
  const softmax_options& options = a.options;
  const element type = layout.rows.type;

  // The result goes straight into out when the rows are x's own last axis.
  py::array result = no_array();
  const bool direct = !out.is_none() && !layout.moved;
  if (!out.is_none()) result = checked_out(out, original, type, shape_of(original));
  if (!direct) result = py::array(numpy_dtype(type), shape_of(layout.rows.array));

  with_element(type, [&]<class T>() {
    const kernel<T>& k = find_kernel<T>(choice);
    const std::span<const T> in = values_of<T>(layout.rows.array);
    const std::span<T> y = mutable_values_of<T>(result);
    const std::size_t rows = layout.count, cols = layout.length;
    without_gil([&] {
      const forced_isa isa_in_force(choice.forced);
      if (operation == rows_operation::softmax)
        softmax_rows<T>(k, in, rows, cols, cols, y, cols, options);
      else
        log_softmax_rows<T>(k, in, rows, cols, cols, y, cols, options);
    });
  });
  if (direct) return result;
  py::array arranged = result;
  if (layout.moved) arranged = numpy().attr("moveaxis")(result, -1, layout.axis);
  if (out.is_none()) return arranged;
  numpy().attr("copyto")(out, arranged);
  return py::reinterpret_borrow<py::array>(out);
}

py::object logsumexp_call(const py::object& x, const py::object& impl, const py::object& axis,
                          const py::object& dtype, const py::object& scale, const py::object& mask,
                          const py::object& threads, const py::object& isa_arg) {
  const rows_arguments a = read_rows_arguments(x, impl, axis, dtype, scale, mask, threads, isa_arg);
  const implementation_choice& choice = a.choice;
  const row_layout& layout = a.layout;
  const softmax_options& options = a.options;
  const element type = layout.rows.type;
  std::vector<py::ssize_t> shape = shape_of(layout.rows.array);
  shape.pop_back();
  py::array result(numpy_dtype(type), shape);

  with_element(type, [&]<class T>() {
    const kernel<T>& k = find_kernel<T>(choice);
    if (k.logsumexp == nullptr) value_error("impl: \"" + choice.name + "\" has no logsumexp");
    const std::span<const T> in = values_of<T>(layout.rows.array);
    const std::span<T> lse = mutable_values_of<T>(result);
    without_gil([&] {
      const forced_isa isa_in_force(choice.forced);
      logsumexp_rows<T>(k, in, layout.count, layout.length, layout.length, lse, options);
    });
  });
  if (shape.empty()) return result[py::tuple()];
  return result;
}

// ---- attention -----------------------------------------------------------------------------

struct attention_dims {
  std::size_t q_heads = 1, kv_heads = 1, q_len = 0, kv_len = 0, d = 0, d_v = 0;
};

/// Q [L, d], [H, L, d] or [B, H, L, d]; K [.., S, d] and V [.., S, d_v] with as many
/// dimensions, the same batch, heads dividing Q's (grouped-query attention); as the tool reads
/// its .npy files.
attention_dims attention_dims_of(const py::array& q, const py::array& k, const py::array& v) {
  const py::ssize_t n = q.ndim();
  if (n < 2 || n > 4)
    value_error("q: shape " + shape_text(q) + "; Q is [L, d], [H, L, d] or [B, H, L, d]");
  for (const auto& [a, name] : {std::pair{&k, "k"}, std::pair{&v, "v"}})
    if (a->ndim() != n)
      value_error(std::string(name) + ": shape " + shape_text(*a) + " but q has shape " +
                  shape_text(q) + " (K and V are [.., S, d] as Q is [.., L, d])");
  attention_dims dims;
  dims.q_len = std::size_t(q.shape(n - 2));
  dims.d = std::size_t(q.shape(n - 1));
  dims.kv_len = std::size_t(k.shape(n - 2));
  dims.d_v = std::size_t(v.shape(n - 1));
  if (std::size_t(k.shape(n - 1)) != dims.d)
    value_error("k: d is " + std::to_string(k.shape(n - 1)) + " but q has d " +
                std::to_string(dims.d));
  if (std::size_t(v.shape(n - 2)) != dims.kv_len)
    value_error("v: kv_len is " + std::to_string(v.shape(n - 2)) + " but k has kv_len " +
                std::to_string(dims.kv_len));
  if (n == 4 && k.shape(0) != q.shape(0))
    value_error("k: batch " + std::to_string(k.shape(0)) + " but q has batch " +
                std::to_string(q.shape(0)));
  for (py::ssize_t i = 0; i + 2 < n; ++i)
    if (v.shape(i) != k.shape(i))
      value_error("v: shape " + shape_text(v) + " but k has shape " + shape_text(k) +
                  " (K and V differ only in d and d_v)");
  for (py::ssize_t i = 0; i + 2 < n; ++i) {
    dims.q_heads *= std::size_t(q.shape(i));
    dims.kv_heads *= std::size_t(k.shape(i));
  }
  const std::size_t q_per_batch = n == 2 ? 1 : std::size_t(q.shape(n - 3));
  const std::size_t kv_per_batch = n == 2 ? 1 : std::size_t(k.shape(n - 3));
  if (kv_per_batch == 0 ? q_per_batch != 0 : q_per_batch % kv_per_batch != 0)
    value_error("k: " + std::to_string(kv_per_batch) + " heads do not divide q's " +
                std::to_string(q_per_batch) +
                " (grouped-query attention: Q's heads are a multiple of K's and V's)");
  return dims;
}

py::array attention_call(const py::object& q_arg, const py::object& k_arg, const py::object& v_arg,
                         const py::object& impl, const py::object& mask, const py::object& causal,
                         const py::object& scale, const py::object& threads,
                         const py::object& dtype, const py::object& isa_arg) {
  const typed_array q = as_typed(q_arg, dtype, "q");
  const typed_array k = as_typed(k_arg, dtype, "k");
  const typed_array v = as_typed(v_arg, dtype, "v");
  for (const auto& [other, name] : {std::pair{&k, "k"}, std::pair{&v, "v"}})
    if (other->type != q.type)
      value_error(std::string(name) + ": dtype " + std::string(dtype_name(other->type)) +
                  " but q is " + std::string(dtype_name(q.type)) +
                  " (pass dtype= to convert all three)");
  if (q.type == element::f64)
    value_error(
        "q: attention computes float32, float16 and bfloat16; pass dtype=\"float32\" to "
        "round float64 values once");
  const attention_dims dims = attention_dims_of(q.array, k.array, v.array);
  const implementation_choice choice = parse_implementation(impl, isa_arg);

  attention_options options;
  options.scale = number_option(scale, "scale");
  options.threads = threads_option(threads);
  if (!causal.is_none()) {
    if (py::isinstance<py::bool_>(causal)) {
      if (causal.cast<bool>()) options.causal = 0;
    } else {
      options.causal = offset_option(causal, "causal");
    }
  }
  held_mask held;
  if (!mask.is_none()) {
    if (!py::isinstance<py::array>(mask))
      value_error("mask: expected a numpy array, got " + type_name(mask));
    auto m = py::reinterpret_borrow<py::array>(mask);
    const py::dtype d = m.dtype();
    const bool keep = d.kind() == 'b';
    if (!keep && !(d.kind() == 'f' && (d.itemsize() == 4 || d.itemsize() == 8)))
      value_error("mask: dtype " + dtype_text(m) +
                  "; expected bool (True keeps a key) or float32/float64 (added to the logits)");
    if (m.ndim() < 2 || std::size_t(m.shape(m.ndim() - 2)) != dims.q_len ||
        std::size_t(m.shape(m.ndim() - 1)) != dims.kv_len)
      value_error("mask: shape " + shape_text(m) + "; expected [L, S] = (" +
                  std::to_string(dims.q_len) + ", " + std::to_string(dims.kv_len) +
                  ") or one per query head [.., L, S]");
    held.array = numpy().attr("ascontiguousarray")(m);
    held.view = view_of_mask(held.array);
    options.mask = held.view;
  }
  std::vector<py::ssize_t> shape = shape_of(q.array);
  shape.back() = py::ssize_t(dims.d_v);
  py::array result(numpy_dtype(q.type), shape);

  with_element(q.type, [&]<class T>() {
    if constexpr (attention_element<T>) {
      const attention_registry& reg = the_registries().attention;
      std::vector<std::string> known, types;
      for_each_type(attention_element_types{}, [&]<class U>() {
        for (const auto& entry : reg.kernels<U>()) {
          const std::string name(entry.facts.name);
          if (std::find(known.begin(), known.end(), name) == known.end()) known.push_back(name);
          if (name == choice.name) types.emplace_back(type_token_v<U>);
        }
      });
      const attention_kernel<T>* found = reg.find<T>(choice.name);
      const attention_kernel<T>& kernel =
          checked_entry<T>(found, choice, known, types, found ? found->isas : 0, "attention");
      const heads_view<const T> qv =
          heads_of(values_of<T>(q.array), dims.q_heads, dims.q_len, dims.d);
      const heads_view<const T> kv =
          heads_of(values_of<T>(k.array), dims.kv_heads, dims.kv_len, dims.d);
      const heads_view<const T> vv =
          heads_of(values_of<T>(v.array), dims.kv_heads, dims.kv_len, dims.d_v);
      const heads_view<T> ov =
          heads_of(mutable_values_of<T>(result), dims.q_heads, dims.q_len, dims.d_v);
      without_gil([&] {
        const forced_isa isa_in_force(choice.forced);
        kernel.attention(qv, kv, vv, ov, options);
      });
    }
  });
  return result;
}

// ---- implementations() ---------------------------------------------------------------------

std::vector<std::string> isa_names(isa_set isas) {
  std::vector<std::string> names;
  for (const isa which : available_isas())
    if ((isas & isa_bit(which)) != 0) names.emplace_back(isa_name(which));
  return names;
}

py::list implementations() {
  const registries& regs = the_registries();
  py::list result;
  for (const std::string_view name : regs.softmax.names()) {
    py::dict entry;
    bool described = false;
    py::list types, dtypes;
    for_each_type(element_types{}, [&]<class T>() {
      const kernel<T>* k = regs.softmax.find<T>(name);
      if (k == nullptr) return;
      types.append(std::string(type_token_v<T>));
      if (const auto e = element_of_token(type_token_v<T>)) dtypes.append(dtype_name(*e));
      if (described) return;
      described = true;
      entry["kind"] = "softmax";
      entry["name"] = std::string(name);
      entry["algorithm"] = std::string(k->facts.algorithm);
      entry["passes"] = std::string(k->facts.passes);
      entry["stated_bound"] = std::string(k->facts.stated_bound);
      entry["meets_contract"] = k->facts.meets_contract;
      entry["faithful"] = k->facts.faithful;
      entry["vectorized"] = k->facts.vectorized;
      entry["origin"] = std::string(k->origin);
      entry["isas"] = isa_names(k->isas);
      entry["has_bound"] = k->softmax_bound_ulps != nullptr;
    });
    entry["types"] = types;
    entry["dtypes"] = dtypes;
    result.append(entry);
  }
  std::vector<std::string> seen;
  for_each_type(attention_element_types{}, [&]<class T>() {
    for (const attention_kernel<T>& k : regs.attention.kernels<T>()) {
      const std::string name(k.facts.name);
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
      seen.push_back(name);
      py::dict entry;
      py::list types, dtypes;
      for_each_type(attention_element_types{}, [&]<class U>() {
        if (regs.attention.find<U>(name) == nullptr) return;
        types.append(std::string(type_token_v<U>));
        dtypes.append(dtype_name(element_of_type<U>()));
      });
      entry["kind"] = "attention";
      entry["name"] = name;
      entry["algorithm"] = std::string(k.facts.algorithm);
      entry["passes"] = std::string(k.facts.passes);
      entry["stated_bound"] = std::string(k.facts.stated_bound);
      entry["softmax"] = std::string(k.facts.softmax);
      entry["meets_contract"] = k.meets_contract;
      entry["faithful"] = false;
      entry["vectorized"] = k.isas != 0;
      entry["origin"] = std::string(k.origin);
      entry["isas"] = isa_names(k.isas);
      entry["has_bound"] = k.softmax_bound_ulps != nullptr;
      entry["types"] = types;
      entry["dtypes"] = dtypes;
      result.append(entry);
    }
  });
  return result;
}

// ---- the vectorcall entries (fast_call.hpp) -------------------------------------------------

/// x as the rows functions take it: a numpy array as it is, anything else (a list, a scalar)
/// converted to a float64 array.
py::object array_argument(PyObject* x) {
  const auto given = py::reinterpret_borrow<py::object>(x);
  if (py::isinstance<py::array>(given)) return given;
  return numpy().attr("asarray")(given, "float64");
}

/// The defaults the rows functions share: impl "fast", axis -1, None (made once, with the GIL,
/// and never destroyed: no Python object may outlive the interpreter in a static destructor).
struct rows_defaults {
  py::object impl = py::str("fast"), axis = py::int_(-1), none = py::none();
};
const rows_defaults& defaults() {
  static const auto* const d = new rows_defaults;
  return *d;
}

constexpr std::array<const char*, 10> rows_parameter_names{
    "x", "impl", "axis", "out", "dtype", "scale", "mask", "causal", "threads", "isa"};
constexpr parameter_list<10> softmax_parameters{"softmax", rows_parameter_names, 1};
constexpr parameter_list<10> log_softmax_parameters{"log_softmax", rows_parameter_names, 1};
constexpr parameter_list<8> logsumexp_parameters{
    "logsumexp", {"x", "impl", "axis", "dtype", "scale", "mask", "threads", "isa"}, 1};

template <rows_operation operation>
PyObject* rows_entry(PyObject*, PyObject* const* args, Py_ssize_t nargsf, PyObject* kwnames) {
  const auto& p =
      operation == rows_operation::softmax ? softmax_parameters : log_softmax_parameters;
  return call_with_bound_arguments(
      p, args, static_cast<std::size_t>(nargsf), kwnames, [](const bound_arguments<10>& a) {
        const rows_defaults& d = defaults();
        return rows_call(operation, array_argument(a[0]), argument_or(a[1], d.impl),
                         argument_or(a[2], d.axis), argument_or(a[3], d.none),
                         argument_or(a[4], d.none), argument_or(a[5], d.none),
                         argument_or(a[6], d.none), argument_or(a[7], d.none),
                         argument_or(a[8], d.none), argument_or(a[9], d.none));
      });
}

PyObject* logsumexp_entry(PyObject*, PyObject* const* args, Py_ssize_t nargsf, PyObject* kwnames) {
  return call_with_bound_arguments(logsumexp_parameters, args, static_cast<std::size_t>(nargsf),
                                   kwnames, [](const bound_arguments<8>& a) {
                                     const rows_defaults& d = defaults();
                                     return logsumexp_call(
                                         array_argument(a[0]), argument_or(a[1], d.impl),
                                         argument_or(a[2], d.axis), argument_or(a[3], d.none),
                                         argument_or(a[4], d.none), argument_or(a[5], d.none),
                                         argument_or(a[6], d.none), argument_or(a[7], d.none));
                                   });
}

// The docstrings: the first lines are the signature Python's inspect reads (__text_signature__).
constexpr const char* softmax_doc =
    "softmax($module, /, x, impl='fast', axis=-1, out=None, dtype=None, scale=None, mask=None, "
    "causal=None, threads=None, isa=None)\n--\n\n"
    "Softmax of each row of x along ``axis``: y_i = exp(z_i) / sum_j exp(z_j).\n\n"
    "z_i = scale * x_i + mask_i is formed inside the call (softlab/options.hpp). Rows are all "
    "the axes but ``axis``; ``axis`` other than the last copies x (and mask) to move it last.\n\n"
    "x: numpy array (float32, float64, float16; uint16 with dtype=\"bfloat16\"); anything else "
    "(a list) becomes float64.\n"
    "impl: a registry name (\"fast\", \"stable\", \"torch\", ...), optionally "
    "\"name@isa\".\n"
    "out: an array of x's shape and the result's dtype, writable and C-contiguous; written and "
    "returned (directly, with no copy, when axis is the last).\n"
    "dtype: compute in this dtype (x converted, rounded once) or \"bfloat16\" (x is uint16 "
    "bits).\n"
    "scale: a finite non-zero number.\n"
    "mask: bool keep-mask (False leaves a score out: weight 0) or float32/float64 additive mask, "
    "of x's shape or of one row's (the same for every row).\n"
    "causal: int offset: row r keeps the columns c <= r + causal (rows counted over all but the "
    "last axis, row-major).\n"
    "threads: rows split across this many threads (the same bits for every count).\n"
    "isa: \"sse2\", \"avx2\" or \"avx512\" for vectorized implementations.\n"
    "Returns the weights, x's shape, the computed dtype (bfloat16: uint16 bits).";
constexpr const char* log_softmax_doc =
    "log_softmax($module, /, x, impl='fast', axis=-1, out=None, dtype=None, scale=None, "
    "mask=None, causal=None, threads=None, isa=None)\n--\n\n"
    "log of softmax (y_i = z_i - logsumexp(z)), with the arguments of softmax; a score left "
    "out, or a row left with nothing, gives -inf.";
constexpr const char* logsumexp_doc =
    "logsumexp($module, /, x, impl='fast', axis=-1, dtype=None, scale=None, mask=None, "
    "threads=None, isa=None)\n--\n\n"
    "log sum_j exp(z_j) of each row along ``axis``: an array over the other axes (a numpy "
    "scalar for 1-D x); -inf for an empty or fully masked row. The library's logsumexp_rows: "
    "softlab's entries form z = scale x + mask in their compute type (float for the 16-bit "
    "types), fused; a peer gets z formed and rounded in the element type, then its logsumexp "
    "(separate ops).";

PyMethodDef rows_methods[] = {
    {"softmax",
     reinterpret_cast<PyCFunction>(
         reinterpret_cast<void (*)()>(&rows_entry<rows_operation::softmax>)),
     METH_FASTCALL | METH_KEYWORDS, softmax_doc},
    {"log_softmax",
     reinterpret_cast<PyCFunction>(
         reinterpret_cast<void (*)()>(&rows_entry<rows_operation::log_softmax>)),
     METH_FASTCALL | METH_KEYWORDS, log_softmax_doc},
    {"logsumexp", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&logsumexp_entry)),
     METH_FASTCALL | METH_KEYWORDS, logsumexp_doc},
};

}  // namespace

}  // namespace softlab::python

PYBIND11_MODULE(_softlab, m) {
  namespace sp = softlab::python;
  namespace py = pybind11;
  using namespace pybind11::literals;
  m.doc() =
      "softlab's C++ core: softmax, log_softmax, logsumexp and attention over numpy "
      "arrays through softlab's registry; see the package softlab for the documentation.";
  for (PyMethodDef& def : sp::rows_methods) sp::add_vectorcall_function(m, def);
  m.def("attention", &sp::attention_call, "q"_a, "k"_a, "v"_a, "impl"_a = "flash",
        "mask"_a = py::none(), "causal"_a = py::none(), "scale"_a = py::none(),
        "threads"_a = py::none(), "dtype"_a = py::none(), "isa"_a = py::none());
  m.def("implementations", &sp::implementations);
  m.def("available_isas", [] {
    std::vector<std::string> names;
    for (const softlab::isa which : softlab::available_isas())
      names.emplace_back(softlab::isa_name(which));
    return names;
  });
  m.def("active_isa", [] { return std::string(softlab::isa_name(softlab::active_isa())); });
  sp::add_reference_functions(m);
  py::module_ testing = m.def_submodule("_testing", "Test hooks.");
  testing.def("gil_held_in_last_call", &sp::gil_held_in_last_call,
              "PyGILState_Check() as recorded inside the last computation's GIL-released region "
              "(False: the GIL was released).");
}
