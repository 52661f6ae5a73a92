// python/src/check.cpp: the exact reference and the accuracy check of the Python module:
// exact_softmax and exact_log_softmax (MPFR at 2p + 64 bits, rounded once), stated_bounds and
// ulp_errors (the stated bound and THE ULP metric of softlab_accuracy/metrics.hpp, per element),
// and check(): every registry entry on every instruction set, plus Python callables, measured by
// the study's own evaluate(), as `softlab check` measures them.
#include "module.hpp"

#include <softlab_accuracy/families.hpp>
#include <softlab_accuracy/format.hpp>
#include <softlab_accuracy/metrics.hpp>
#include <softlab_accuracy/output.hpp>
#include <softlab_accuracy/study.hpp>
#include <softlab_reference/reference.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>

namespace softlab::python {

namespace {

/// The rows (along the last axis) of x as the study's input vectors.
template <class T>
std::vector<std::vector<T>> rows_of(const row_layout& layout) {
  const std::span<const T> values = values_of<T>(layout.rows.array);
  std::vector<std::vector<T>> rows(layout.count);
  for (std::size_t r = 0; r < layout.count; ++r)
    rows[r].assign(values.begin() + std::ptrdiff_t(r * layout.length),
                   values.begin() + std::ptrdiff_t((r + 1) * layout.length));
  return rows;
}

template <class T>
std::vector<accuracy::vector_reference<T>> references_of(const row_layout& layout) {
  std::vector<std::vector<T>> rows = rows_of<T>(layout);
  return without_gil([&] {
    accuracy::worker_pool pool = accuracy::make_reference_pool(0);
    return accuracy::compute_references<T>(std::move(rows), pool);
  });
}

py::object restore_axis(const py::array& result, const row_layout& layout) {
  if (!layout.moved) return result;
  return py::module_::import("numpy").attr("moveaxis")(result, -1, layout.axis);
}

/// exact_softmax (log_scale false) or exact_log_softmax, rounded once to the element type.
py::object exact_call(const py::object& x, const py::object& dtype, const py::object& axis,
                      bool log_scale) {
  const row_layout layout = rows_along(as_typed(x, dtype, "x"), axis);
  py::array result(numpy_dtype(layout.rows.type),
                   std::vector<py::ssize_t>(layout.rows.array.shape(),
                                            layout.rows.array.shape() + layout.rows.array.ndim()));
  with_element(layout.rows.type, [&]<class T>() {
    const auto refs = references_of<T>(layout);
    const std::span<T> y = mutable_values_of<T>(result);
    without_gil([&] {
      for (std::size_t r = 0; r < refs.size(); ++r)
        for (std::size_t i = 0; i < layout.length; ++i) {
          mpfr_t view;
          y[r * layout.length + i] = reference::round_to<T>(
              log_scale ? refs[r].log_softmax.get(i, view) : refs[r].softmax.get(i, view));
        }
    });
  });
  return restore_axis(result, layout);
}

/// The stated softmax bound of impl at every element of x, in ULPs of the element type: +inf
/// where it states none, NaN in rows with a NaN or +inf (where no bound applies).
py::object stated_bounds_call(const py::object& impl, const py::object& x, const py::object& dtype,
                              const py::object& isa_arg) {
  const row_layout layout = rows_along(as_typed(x, dtype, "x"), py::int_(-1));
  const implementation_choice choice = parse_implementation(impl, isa_arg);
  py::array result(py::dtype("float64"),
                   std::vector<py::ssize_t>(layout.rows.array.shape(),
                                            layout.rows.array.shape() + layout.rows.array.ndim()));
  with_element(layout.rows.type, [&]<class T>() {
    const kernel<T>& k = find_kernel<T>(choice);
    const auto refs = references_of<T>(layout);
    const std::span<double> bounds = mutable_values_of<double>(result);
    for (std::size_t r = 0; r < refs.size(); ++r)
      for (std::size_t i = 0; i < layout.length; ++i) {
        double& b = bounds[r * layout.length + i];
        if (refs[r].kind != accuracy::input_kind::finite)
          b = std::numeric_limits<double>::quiet_NaN();
        else if (k.softmax_bound_ulps == nullptr)
          b = no_bound_claimed;
        else
          b = k.softmax_bound_ulps(refs[r].bounds_at(i));
      }
  });
  return result;
}

/// reference::ulp_error of each y against the exact softmax of x's row (log_scale: of
/// log_softmax, in reference::log_error_units).
py::object ulp_errors_call(const py::object& y, const py::object& x, const py::object& dtype,
                           bool log_scale) {
  const row_layout layout = rows_along(as_typed(x, dtype, "x"), py::int_(-1));
  const py::object y_dtype = py::str(std::string(dtype_name(layout.rows.type)));
  const typed_array computed = as_typed(y, y_dtype, "y");
  if (computed.array.size() != layout.rows.array.size() ||
      computed.array.ndim() != layout.rows.array.ndim())
    value_error("y: shape " + shape_text(computed.array) + " but x has shape " +
                shape_text(layout.rows.array));
  py::array result(py::dtype("float64"),
                   std::vector<py::ssize_t>(layout.rows.array.shape(),
                                            layout.rows.array.shape() + layout.rows.array.ndim()));
  with_element(layout.rows.type, [&]<class T>() {
    const auto refs = references_of<T>(layout);
    const std::span<const T> values = values_of<T>(computed.array);
    const std::span<double> errors = mutable_values_of<double>(result);
    without_gil([&] {
      reference::exact scratch_y(accuracy::vector_reference<T>::bits);
      reference::exact scratch_diff(accuracy::vector_reference<T>::bits);
      for (std::size_t r = 0; r < refs.size(); ++r)
        for (std::size_t i = 0; i < layout.length; ++i) {
          mpfr_t view;
          const std::size_t at = r * layout.length + i;
          errors[at] = log_scale ? reference::log_error_units<T>(
                                       values[at], refs[r].log_softmax.get(i, view),
                                       scratch_y.get(), scratch_diff.get())
                                 : reference::ulp_error<T>(values[at], refs[r].softmax.get(i, view),
                                                           scratch_y.get(), scratch_diff.get());
        }
    });
  });
  return result;
}

// ---- check() -------------------------------------------------------------------------------

/// A registry entry that returns outputs computed before (by a Python callable) for the inputs
/// it was recorded on, so that the study's evaluate() measures a callable exactly as it
/// measures a kernel. Used under check_mutex only.
template <class T>
struct recorded_outputs {
  static inline std::vector<std::pair<const T*, const std::vector<T>*>> table;
  static void softmax(std::span<const T> x, std::span<T> y) {
    for (const auto& [input, output] : table)
      if (input == x.data()) {
        std::copy(output->begin(), output->end(), y.begin());
        return;
      }
    throw std::logic_error("no output recorded for this input");
  }
};
std::mutex check_mutex;

py::object optional_number(double v) {
  if (std::isnan(v) || std::isinf(v)) return py::none();
  return py::float_(v);
}

/// The metric fields of a row of check(), all None: rows without metrics carry them too.
constexpr const char* metric_fields[] = {"max_ulps",
                                         "max_ulps_normal",
                                         "mean_ulps",
                                         "normwise_error",
                                         "max_rel_error",
                                         "max_sum_error",
                                         "max_error_over_u_kappa",
                                         "bound_ulps",
                                         "max_observed_over_stated",
                                         "within_bound",
                                         "nan_count",
                                         "inf_count",
                                         "wrong_zero_count",
                                         "wrong_nonzero_count",
                                         "not_correctly_rounded_count",
                                         "argmax_preserved",
                                         "worst_row",
                                         "worst_index",
                                         "worst_x",
                                         "worst_y",
                                         "worst_exact",
                                         "log_softmax_error",
                                         "logsumexp_error",
                                         "meets_contract",
                                         "faithful",
                                         "origin",
                                         "error"};

template <class T>
py::dict empty_row(const std::string& name, const std::string& isa_label) {
  py::dict row;
  row["name"] = name;
  row["isa"] = isa_label;
  row["dtype"] = dtype_name(element_of_type<T>());
  for (const char* field : metric_fields) row[field] = py::none();
  return row;
}

template <class T>
py::dict metrics_row(const std::string& name, const std::string& isa_label,
                     const std::string& origin, const accuracy::cell_metrics& m,
                     const kernel<T>* k) {
  py::dict row = empty_row<T>(name, isa_label);
  row["origin"] = origin;
  // An entry states a bound when its bound function gives a finite one (the peers' give
  // no_bound_claimed everywhere).
  const bool bounded = k != nullptr && k->softmax_bound_ulps != nullptr &&
                       std::isfinite(k->softmax_bound_ulps(
                           bound_inputs{.n = 1, .precision_bits = std::numeric_limits<T>::digits}));
  row["meets_contract"] =
      k != nullptr ? py::object(py::bool_(k->facts.meets_contract)) : py::none();
  row["faithful"] = k != nullptr ? py::object(py::bool_(k->facts.faithful)) : py::none();
  row["error"] = m.error.empty() ? py::object(py::none()) : py::object(py::str(m.error));
  if (!m.error.empty()) {
    row["within_bound"] = py::none();
    return row;
  }
  row["max_ulps"] = m.max_ulp;
  row["max_ulps_normal"] = optional_number(m.max_ulp_normal);
  row["mean_ulps"] = m.mean_ulp;
  row["normwise_error"] = m.normwise_error;
  row["max_rel_error"] = m.max_rel_error;
  row["max_sum_error"] = m.max_sum_error;
  row["max_error_over_u_kappa"] = optional_number(m.max_error_over_u_kappa);
  row["bound_ulps"] = bounded ? optional_number(m.stated_bound_at_worst) : py::none();
  row["max_observed_over_stated"] = optional_number(m.max_observed_over_stated);
  // Within the stated bound: every result >= the smallest normal within it (the study's
  // max_observed_over_stated <= 1), and, for a faithful entry, every result within 1 ULP.
  if (bounded)
    row["within_bound"] =
        (std::isnan(m.max_observed_over_stated) || m.max_observed_over_stated <= 1) &&
        (!k->facts.faithful || m.max_ulp < 1);
  else
    row["within_bound"] = py::none();
  row["nan_count"] = m.nan_count;
  row["inf_count"] = m.inf_count;
  row["wrong_zero_count"] = m.wrong_zero_count;
  row["wrong_nonzero_count"] = m.wrong_nonzero_count;
  row["not_correctly_rounded_count"] = m.not_correctly_rounded_count;
  row["argmax_preserved"] = optional_number(m.argmax_preserved);
  row["worst_row"] = m.worst_vector;
  row["worst_index"] = m.worst_index;
  row["worst_x"] = m.worst_x;
  row["worst_y"] = m.worst_y;
  row["worst_exact"] = m.worst_exact;
  row["log_softmax_error"] =
      m.log_softmax_error ? py::object(py::float_(*m.log_softmax_error)) : py::none();
  row["logsumexp_error"] =
      m.logsumexp_error ? py::object(py::float_(*m.logsumexp_error)) : py::none();
  return row;
}

/// The callable's outputs for every row, as T, or the error text.
template <class T>
std::string call_candidate(const py::object& f, const std::vector<std::vector<T>>& rows,
                           std::vector<std::vector<T>>& outputs) {
  const py::module_ np = py::module_::import("numpy");
  // A 16-bit row goes to the callable as float32 (exact); its result is rounded once to T.
  const element type = element_of_type<T>();
  const py::dtype given =
      type == element::bf16 || type == element::f16 ? py::dtype("float32") : numpy_dtype(type);
  outputs.assign(rows.size(), {});
  try {
    for (std::size_t r = 0; r < rows.size(); ++r) {
      py::array row(given, std::vector<py::ssize_t>{py::ssize_t(rows[r].size())});
      for (std::size_t i = 0; i < rows[r].size(); ++i) {
        if (type == element::f64)
          static_cast<double*>(row.mutable_data())[i] = static_cast<double>(rows[r][i]);
        else
          static_cast<float*>(row.mutable_data())[i] = static_cast<float>(rows[r][i]);
      }
      const py::object result = f(row);
      py::array y = np.attr("asarray")(result);
      if (y.ndim() != 1 || std::size_t(y.size()) != rows[r].size())
        return "returned shape " + shape_text(y) + " for an input of shape (" +
               std::to_string(rows[r].size()) + ",)";
      if (y.dtype().kind() != 'f')
        return "returned dtype " + py::str(y.dtype()).cast<std::string>();
      const py::array as_double = np.attr("asarray")(y, "float64");
      outputs[r].resize(rows[r].size());
      const double* d = static_cast<const double*>(as_double.data());
      for (std::size_t i = 0; i < rows[r].size(); ++i) {
        if constexpr (std::is_same_v<T, float>) {
          // A float64 result is rounded once to float.
          outputs[r][i] = static_cast<float>(d[i]);
        } else {
          outputs[r][i] = T(d[i]);
        }
      }
    }
  } catch (const py::error_already_set& e) {
    return e.what();
  }
  return {};
}

/// A Python callable's outputs on every input vector, or why it has none.
template <class T>
struct candidate_outputs {
  std::string name, error;
  std::vector<std::vector<T>> outputs;
  double seconds = 0;  ///< the calls (wall time), for the cell's seconds
};

/// Every (name, callable) pair of candidates called on every row, with the GIL.
template <class T>
std::vector<candidate_outputs<T>> call_candidates(const py::list& candidates,
                                                  const std::vector<std::vector<T>>& rows) {
  std::vector<candidate_outputs<T>> called;
  for (const py::handle item : candidates) {
    const auto pair = py::reinterpret_borrow<py::tuple>(item);
    candidate_outputs<T> c;
    c.name = pair[0].cast<std::string>();
    const auto start = std::chrono::steady_clock::now();
    c.error = call_candidate<T>(py::reinterpret_borrow<py::object>(pair[1]), rows, c.outputs);
    c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    called.push_back(std::move(c));
  }
  return called;
}

/// The study's metrics of each callable's outputs against refs (computed from the same rows, in
/// order): evaluate() measures them through a registry entry that replays them, exactly as it
/// measures a kernel. A callable that failed gets its error.
template <class T>
std::vector<accuracy::cell_metrics> measure_recorded(
    const std::vector<candidate_outputs<T>>& called,
    const std::vector<accuracy::vector_reference<T>>& refs, accuracy::worker_pool& pool,
    accuracy::value_format format) {
  std::vector<accuracy::cell_metrics> metrics(called.size());
  const std::lock_guard lock(check_mutex);
  for (std::size_t c = 0; c < called.size(); ++c) {
    if (!called[c].error.empty()) {
      metrics[c].error = called[c].error;
      continue;
    }
    recorded_outputs<T>::table.clear();
    for (std::size_t r = 0; r < refs.size(); ++r)
      recorded_outputs<T>::table.emplace_back(refs[r].x.data(), &called[c].outputs[r]);
    kernel<T> replay;
    replay.facts.name = called[c].name;
    replay.softmax = &recorded_outputs<T>::softmax;
    metrics[c] = accuracy::evaluate<T>(replay, refs, pool, format);
    metrics[c].seconds += called[c].seconds;  // the replay's time is the metric pass's only
    recorded_outputs<T>::table.clear();
  }
  return metrics;
}

py::list check_call(const py::object& x, const py::list& candidates, const py::object& dtype) {
  const row_layout layout = rows_along(as_typed(x, dtype, "x"), py::int_(-1));
  py::list table;
  with_element(layout.rows.type, [&]<class T>() {
    const std::vector<std::vector<T>> rows = rows_of<T>(layout);
    // The Python callables first, with the GIL.
    const std::vector<candidate_outputs<T>> called = call_candidates<T>(candidates, rows);

    struct measured {
      std::string name, isa, origin;
      const kernel<T>* k = nullptr;
      accuracy::cell_metrics metrics;
      bool unsupported = false;
    };
    std::vector<measured> results;
    const registry& reg = the_registries().softmax;
    without_gil([&] {
      accuracy::worker_pool pool = accuracy::make_reference_pool(0);
      const std::vector<accuracy::vector_reference<T>> refs =
          accuracy::compute_references<T>(rows, pool);
      const accuracy::isa_guard restore_isa;
      for (const std::string_view name : reg.names()) {
        const kernel<T>* k = reg.find<T>(name);
        if (k == nullptr) {
          results.push_back({std::string(name), "-", "", nullptr, {}, true});
          continue;
        }
        for (const auto& [isa_label, which] : accuracy::kernel_isas(*k)) {
          if (which) force_isa(*which);
          results.push_back({std::string(name), isa_label, std::string(k->origin), k,
                             accuracy::evaluate<T>(*k, refs, pool, accuracy::value_format::dec)});
        }
      }
      const std::vector<accuracy::cell_metrics> metrics =
          measure_recorded<T>(called, refs, pool, accuracy::value_format::dec);
      for (std::size_t c = 0; c < called.size(); ++c)
        results.push_back({called[c].name, "-", "python", nullptr, metrics[c], false});
    });
    for (const measured& m : results) {
      if (m.unsupported) {
        py::dict row = empty_row<T>(m.name, m.isa);
        row["error"] = "unsupported: not registered for this dtype";
        table.append(row);
        continue;
      }
      table.append(metrics_row<T>(m.name, m.isa, m.origin, m.metrics, m.k));
    }
  });
  return table;
}

// ---- the study's families ---------------------------------------------------------------

const accuracy::family_spec& checked_family(const std::string& name) {
  const accuracy::family_spec* f = accuracy::find_family(name);
  if (f != nullptr) return *f;
  std::string known;
  for (const accuracy::family_spec& each : accuracy::study_families())
    known += (known.empty() ? "" : ", ") + std::string(each.name);
  value_error("family: unknown family \"" + name + "\"; known: " + known);
}

/// The study's families with what it knows of each, and the sizes it runs them at per dtype.
py::list study_families_call() {
  py::list result;
  for (const accuracy::family_spec& f : accuracy::study_families()) {
    py::dict entry;
    entry["name"] = std::string(f.name);
    entry["kind"] = std::string(reference::kind_name(f.kind));
    entry["sizes"] = std::string(accuracy::size_class_name(f.sizes));
    py::dict sizes;
    for (const element e : {element::f32, element::f64, element::f16, element::bf16})
      with_element(e, [&]<class T>() {
        if (!accuracy::applies_to<T>(f)) return;
        py::list ns;
        for (const std::size_t n :
             accuracy::study_sizes(f, std::numeric_limits<T>::digits, accuracy::study_options{}))
          ns.append(n);
        sizes[py::str(std::string(dtype_name(e)))] = ns;
      });
    entry["study_sizes"] = sizes;
    result.append(entry);
  }
  return result;
}

/// The number of vectors of a cell of f at n in T: vectors_arg, or the study's own count; a
/// ValueError when the study does not draw f in T.
template <class T>
std::size_t vectors_of_cell(const accuracy::family_spec& f, std::size_t n,
                            const py::object& vectors_arg) {
  if (!accuracy::applies_to<T>(f))
    value_error("family: \"" + std::string(f.name) + "\" is not drawn in " +
                std::string(dtype_name(element_of_type<T>())) + ": " +
                std::string(accuracy::skip_reason<T>(f)));
  return vectors_arg.is_none() ? accuracy::vectors_per_cell(n, std::numeric_limits<T>::digits)
                               : vectors_arg.cast<std::size_t>();
}

/// The study's input vectors of a cell: vectors x n scores of the family in dtype, vector v
/// drawn from family_seed(seed, family, n, v), as `softlab accuracy` draws them.
py::array family_vectors_call(const std::string& name, std::size_t n, const py::object& dtype,
                              std::uint64_t seed, const py::object& vectors_arg) {
  const accuracy::family_spec& f = checked_family(name);
  const element type = requested_element(dtype).value_or(element::f64);
  py::array result = no_array();
  with_element(type, [&]<class T>() {
    const std::size_t vectors = vectors_of_cell<T>(f, n, vectors_arg);
    result = py::array(numpy_dtype(type),
                       std::vector<py::ssize_t>{py::ssize_t(vectors), py::ssize_t(n)});
    const std::span<T> out = mutable_values_of<T>(result);
    without_gil([&] {
      const std::vector<std::vector<T>> inputs = accuracy::cell_inputs<T>(f, n, seed, vectors);
      for (std::size_t v = 0; v < vectors; ++v)
        std::copy(inputs[v].begin(), inputs[v].end(), out.begin() + std::ptrdiff_t(v * n));
    });
  });
  return result;
}

/// Python callables measured as cells of the study: the vectors of family at n drawn as the
/// study draws them (seed, vectors), each candidate's outputs against the exact reference, one
/// entry per candidate: "fields", the cell's row in the study's CSV columns (origin "python"),
/// and "error" (None, or why the callable has no metrics).
py::list study_cells_call(const py::list& candidates, const std::string& name, std::size_t n,
                          const py::object& dtype, std::uint64_t seed,
                          const py::object& vectors_arg) {
  const accuracy::family_spec& f = checked_family(name);
  const element type = requested_element(dtype).value_or(element::f64);
  py::list table;
  with_element(type, [&]<class T>() {
    const std::size_t vectors = vectors_of_cell<T>(f, n, vectors_arg);
    std::vector<std::vector<T>> inputs = accuracy::cell_inputs<T>(f, n, seed, vectors);
    const std::vector<candidate_outputs<T>> called = call_candidates<T>(candidates, inputs);
    std::vector<accuracy::cell_metrics> metrics;
    without_gil([&] {
      accuracy::worker_pool pool = accuracy::make_reference_pool(0);
      const std::vector<accuracy::vector_reference<T>> refs =
          accuracy::compute_references<T>(std::move(inputs), pool);
      metrics = measure_recorded<T>(called, refs, pool, accuracy::study_value_format<T>());
    });
    for (std::size_t c = 0; c < called.size(); ++c) {
      accuracy::cell_row row = accuracy::describe_cell<T>(f, n, vectors, seed);
      row.implementation = called[c].name;
      row.origin = "python";
      row.isa = "-";
      row.metrics = metrics[c];
      py::dict entry;
      entry["fields"] = accuracy::row_fields(row);
      entry["error"] = row.metrics.error.empty() ? py::object(py::none())
                                                 : py::object(py::str(row.metrics.error));
      table.append(entry);
    }
  });
  return table;
}

}  // namespace

void add_reference_functions(py::module_& m) {
  using namespace pybind11::literals;
  m.def(
      "exact_softmax",
      [](const py::object& x, const py::object& dtype, const py::object& axis) {
        return exact_call(x, dtype, axis, false);
      },
      "x"_a, "dtype"_a = py::none(), "axis"_a = -1);
  m.def(
      "exact_log_softmax",
      [](const py::object& x, const py::object& dtype, const py::object& axis) {
        return exact_call(x, dtype, axis, true);
      },
      "x"_a, "dtype"_a = py::none(), "axis"_a = -1);
  m.def("stated_bounds", &stated_bounds_call, "impl"_a, "x"_a, "dtype"_a = py::none(),
        "isa"_a = py::none());
  m.def(
      "ulp_errors",
      [](const py::object& y, const py::object& x, const py::object& dtype) {
        return ulp_errors_call(y, x, dtype, false);
      },
      "y"_a, "x"_a, "dtype"_a = py::none());
  m.def(
      "log_errors",
      [](const py::object& y, const py::object& x, const py::object& dtype) {
        return ulp_errors_call(y, x, dtype, true);
      },
      "y"_a, "x"_a, "dtype"_a = py::none());
  m.def("study_families", &study_families_call);
  m.def("family_vectors", &family_vectors_call, "family"_a, "n"_a, "dtype"_a = py::none(),
        "seed"_a = accuracy::default_seed, "vectors"_a = py::none());
  m.attr("default_seed") = accuracy::default_seed;
  m.def("study_cells", &study_cells_call, "candidates"_a, "family"_a, "n"_a, "dtype"_a = py::none(),
        "seed"_a = accuracy::default_seed, "vectors"_a = py::none());
  m.attr("study_csv_columns") =
      std::vector<std::string>(accuracy::csv_columns.begin(), accuracy::csv_columns.end());
  m.def("check", &check_call, "x"_a, "candidates"_a = py::list(), "dtype"_a = py::none());
}

}  // namespace softlab::python
