// python/src/fast_call.hpp: module functions that Python calls through vectorcall
// (METH_FASTCALL | METH_KEYWORDS), their arguments bound here, for the calls whose overhead is
// the whole cost of a short row (softmax, log_softmax, logsumexp).
//
// Why not pybind11's dispatcher: for ten py::object parameters it builds a function_call per
// call (two heap vectors) and looks every parameter up in the keywords by a new Python string;
// measured on Zen 3, a call with out= given by keyword cost 1.33 us of which ~0.5 us was that
// (the numpy ufunc floor, np.exp(x, out=y) on 16 floats, is 0.46 us). PyTorch binds its hot
// functions with its own argument parser for the same reason. The C++ bodies stay the ones
// pybind11 would call; C++ exceptions become Python exceptions by pybind11's own translators.
#pragma once

#include "module.hpp"

#include <Python.h>

#include <array>
#include <cstddef>
#include <exception>

namespace softlab::python {

/// A function's parameter names in order, the first `required` of them without a default.
template <std::size_t N>
struct parameter_list {
  const char* function;
  std::array<const char*, N> names;
  std::size_t required;
};

/// One call's arguments bound to the parameters: the argument of parameter i, or a null
/// handle where the call gives none.
template <std::size_t N>
using bound_arguments = std::array<PyObject*, N>;

/// Binds a vectorcall's arguments (args: the positional ones, then the values of the keywords
/// kwnames names) to p's parameters. On a call Python would refuse for a def of the same
/// signature (too many positional arguments, an unknown or repeated keyword, a missing required
/// argument) sets the TypeError Python would raise and returns false.
template <std::size_t N>
bool bind_arguments(const parameter_list<N>& p, PyObject* const* args, std::size_t nargsf,
                    PyObject* kwnames, bound_arguments<N>& bound) {
  const auto positional = static_cast<std::size_t>(PyVectorcall_NARGS(nargsf));
  if (positional > N) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most %zu arguments (%zu given)", p.function, N,
                 positional);
    return false;
  }
  bound.fill(nullptr);
  for (std::size_t i = 0; i < positional; ++i) bound[i] = args[i];
  const Py_ssize_t keywords = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  for (Py_ssize_t k = 0; k < keywords; ++k) {
    PyObject* const name = PyTuple_GET_ITEM(kwnames, k);
    std::size_t i = 0;
    while (i < N && PyUnicode_CompareWithASCIIString(name, p.names[i]) != 0) ++i;
    if (i == N) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", p.function,
                   name);
      return false;
    }
    if (bound[i] != nullptr) {
      PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", p.function,
                   p.names[i]);
      return false;
    }
    bound[i] = args[positional + static_cast<std::size_t>(k)];
  }
  for (std::size_t i = 0; i < p.required; ++i)
    if (bound[i] == nullptr) {
      PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", p.function, p.names[i]);
      return false;
    }
  return true;
}

/// The argument, or `otherwise` (a default) where the call gave none.
inline py::object argument_or(PyObject* given, const py::object& otherwise) {
  return given != nullptr ? py::reinterpret_borrow<py::object>(given) : otherwise;
}

/// The body of a vectorcall entry: binds the arguments, runs call(bound) and returns its
/// result (a new reference); a C++ exception becomes the Python exception pybind11 would make
/// of it (its translators: ValueError for std::invalid_argument, the error itself for
/// py::error_already_set, ...).
template <std::size_t N, class F>
PyObject* call_with_bound_arguments(const parameter_list<N>& p, PyObject* const* args,
                                    std::size_t nargsf, PyObject* kwnames, F&& call) noexcept {
  bound_arguments<N> bound;
  if (!bind_arguments(p, args, nargsf, kwnames, bound)) return nullptr;
  try {
    return std::forward<F>(call)(bound).release().ptr();
  } catch (...) {
    if (py::detail::apply_exception_translators(
            py::detail::get_local_internals().registered_exception_translators) ||
        py::detail::apply_exception_translators(
            py::detail::get_internals().registered_exception_translators))
      return nullptr;
    PyErr_SetString(PyExc_SystemError, "softlab: an exception no translator took");
    return nullptr;
  }
}

/// Adds a vectorcall entry to m under def's name (def must outlive the module: a static).
inline void add_vectorcall_function(py::module_& m, PyMethodDef& def) {
  // The module as __self__: inspect then drops the signature's $module.
  PyObject* const function = PyCFunction_NewEx(&def, m.ptr(), m.attr("__name__").ptr());
  if (function == nullptr) throw py::error_already_set();
  m.add_object(def.ml_name, py::reinterpret_steal<py::object>(function));
}

}  // namespace softlab::python
