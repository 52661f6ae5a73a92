// python/src/module.hpp: what the two translation units of the Python module `softlab._softlab`
// share: the registries (built once, the peers added as the tool adds them), the one helper
// that releases the GIL around a computation, and numpy arrays seen as softlab's element types.
//
// Every array argument comes in as py::array or py::object and is checked here, so that a
// wrong dtype, shape or layout is a ValueError naming the argument, never pybind11's TypeError.
#pragma once

#include <softlab/attention_registry.hpp>
#include <softlab/registry.hpp>
#include <softlab/simd/isa.hpp>
#include <softlab/types.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace softlab::python {

namespace py = pybind11;

/// The softmax and attention registries of the module: the builtins plus the peers this build
/// has (the same entries as the `softlab` tool's).
struct registries {
  registry softmax;
  attention_registry attention;
};
const registries& the_registries();

/// Records PyGILState_Check() as seen from inside the released region (the test hook).
void record_gil_state();
bool gil_held_in_last_call();

/// Runs f with the GIL released: every computation goes through here. Python objects must not
/// be touched inside f; exceptions propagate (and become Python exceptions) after the GIL is
/// taken back.
template <class F>
decltype(auto) without_gil(F&& f) {
  py::gil_scoped_release release;
  record_gil_state();
  return std::forward<F>(f)();
}

/// A ValueError with this message (pybind11 turns std::invalid_argument into ValueError).
[[noreturn]] inline void value_error(const std::string& message) {
  throw std::invalid_argument(message);
}

/// The storage types the module computes, as numpy holds them: float32, float64, float16, and
/// bfloat16 as uint16 (its bits; numpy 1.24 has no bfloat16).
enum class element { f32, f64, f16, bf16 };

/// Calls f.template operator()<T>() with the softlab type of e.
template <class F>
decltype(auto) with_element(element e, F&& f) {
  switch (e) {
    case element::f32:
      return f.template operator()<float>();
    case element::f64:
      return f.template operator()<double>();
    case element::f16:
      return f.template operator()<float16>();
    case element::bf16:
      break;
  }
  return f.template operator()<bfloat16>();
}

template <class T>
constexpr element element_of_type() {
  if constexpr (std::is_same_v<T, float>)
    return element::f32;
  else if constexpr (std::is_same_v<T, double>)
    return element::f64;
  else if constexpr (std::is_same_v<T, float16>)
    return element::f16;
  else
    return element::bf16;
}

/// The name Python users pass as dtype= ("float32", "float64", "float16", "bfloat16").
std::string_view dtype_name(element e);
/// The numpy dtype of e's arrays (bfloat16: uint16).
py::dtype numpy_dtype(element e);
/// The element a softlab type token ("float", "f16", ...) names, if the module computes it.
std::optional<element> element_of_token(std::string_view token);

/// A py::array holding nothing, for a variable assigned later. pybind11's default constructor
/// makes a new empty numpy array instead (~0.3 us each: five of them were most of the call
/// overhead of a short row).
inline py::array no_array() { return py::reinterpret_steal<py::array>(py::handle()); }

/// An array as softlab reads it: C-contiguous, of element type `type`.
struct typed_array {
  py::array array = no_array();
  element type = element::f64;
  bool copied = false;  ///< converted or made contiguous (not the caller's memory)
};

/// x (a numpy array) as a typed_array: dtype None takes x's own (float32, float64, float16;
/// uint16 only with dtype="bfloat16"); another dtype converts x (a copy, each value rounded
/// once). A non-contiguous x is copied. `argument` names x in messages.
typed_array as_typed(const py::object& x, const py::object& dtype, const char* argument);
/// The element type dtype names, or nullopt for None.
std::optional<element> requested_element(const py::object& dtype);

template <class T>
std::span<const T> values_of(const py::array& a) {
  static_assert(sizeof(T) == 2 || std::is_floating_point_v<T>);
  return {static_cast<const T*>(a.data()), static_cast<std::size_t>(a.size())};
}
template <class T>
std::span<T> mutable_values_of(py::array& a) {
  return {static_cast<T*>(a.mutable_data()), static_cast<std::size_t>(a.size())};
}

/// The shape of a as a text "(2, 3)", for messages.
std::string shape_text(const py::array& a);

/// An implementation name as given (impl="fast@avx2", or impl="fast" with isa="avx2").
struct implementation_choice {
  std::string name;
  std::optional<isa> forced;  ///< the instruction set to run it on, if one was named
};
implementation_choice parse_implementation(const py::object& impl, const py::object& isa_arg);

/// The registry entry for the choice and T, or a ValueError naming what is wrong (an unknown
/// name, listing the known ones; a name not registered for T; an instruction set it has no
/// kernels for).
template <class T>
const kernel<T>& find_kernel(const implementation_choice& choice);
extern template const kernel<float>& find_kernel<float>(const implementation_choice&);
extern template const kernel<double>& find_kernel<double>(const implementation_choice&);
extern template const kernel<float16>& find_kernel<float16>(const implementation_choice&);
extern template const kernel<bfloat16>& find_kernel<bfloat16>(const implementation_choice&);

/// Forces an instruction set for its lifetime (the library's one global state), then restores
/// the one in force before.
class forced_isa {
 public:
  explicit forced_isa(std::optional<isa> which) {
    if (which) {
      original_ = active_isa();
      force_isa(*which);
    }
  }
  ~forced_isa() {
    try {
      if (original_) force_isa(*original_);
    } catch (...) {  // it was available when read
    }
  }
  forced_isa(const forced_isa&) = delete;
  forced_isa& operator=(const forced_isa&) = delete;

 private:
  std::optional<isa> original_;
};

/// Rows along `axis`: x with that axis moved last, contiguous (a copy unless axis is already
/// the last one), and the row count and length.
struct row_layout {
  typed_array rows;
  std::size_t axis = 0;
  bool moved = false;
  std::size_t count = 0;
  std::size_t length = 0;
};
row_layout rows_along(typed_array x, const py::object& axis);

/// Registers exact_softmax, exact_log_softmax, stated_bounds, ulp_errors and check
/// (check.cpp).
void add_reference_functions(py::module_& m);

}  // namespace softlab::python
