// softlab_accuracy/attention_study.hpp: the accuracy study of attention over an
// attention_registry (softlab/attention_registry.hpp; the peers' entries included when the
// caller registered them).
//
// For every storage type (attention_element_types), every family of attention problems, every
// kernel the registry has for the type (vectorized softlab kernels once per instruction set
// this CPU has, as name@isa): the whole problem is run, and the query rows of the family's
// sample are measured against the exact row of softlab_reference/attention.hpp (the one
// reference the core tests and the tool use). The exact rows are computed once per (type,
// family), in parallel, and shared by every kernel.
//
// Metrics of a cell (attention_cell_metrics), over the sampled rows that keep a key:
//  - componentwise error |O_hat_c - O_c| / sum_j p_j |v_jc| in units of the storage type's u
//    (2^-p): max and median over the elements;
//  - for kernels that meet the contract: the largest error / allowed (the stated bound of the
//    row, attention_allowance) and the count of elements over it (0 is the claim);
//  - ULP error of O_c in the storage type where O is not a cancellation: |O_c| >= 0.5 sum_j
//    p_j |v_jc| (at most a factor 2 between the componentwise and the relative error);
//  - NaN outputs where the exact result is not NaN (every sampled row, fully masked ones
//    included: their exact O is 0);
//  - fully masked rows: how many, how many came back all 0 (the contract), how many with NaN;
//  - logsumexp: the largest absolute error, and its ratio to the stated bound.
#pragma once

#include <softlab/attention_registry.hpp>
#include <softlab_accuracy/output.hpp>
#include <softlab_accuracy/study.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace softlab::accuracy {

/// How a family's Q, K, V (and mask) are drawn.
enum class attention_draw {
  gaussian,          ///< Q, K, V standard normal
  outlier_features,  ///< gaussian; the first `outliers` channels of Q and K times a factor
  attention_sink,    ///< gaussian; key 0's logit about 30 above the others for every query
  keep_mask,         ///< gaussian; a boolean keep-mask per head, some rows fully masked
  additive_mask,     ///< gaussian; an additive mask, -inf or uniform [-6, 0], some rows all -inf
};

/// One family of attention problems: its shape, options and how it is drawn.
struct attention_family {
  std::string_view name;
  std::string_view kind;  ///< softlab_reference's family_kind names: "finite" or "masks"
  std::string_view description;
  std::size_t q_heads = 1, kv_heads = 1, q_len = 1, kv_len = 1, d = 1;
  std::optional<std::ptrdiff_t> causal;
  attention_draw draw = attention_draw::gaussian;
  /// Query rows per head measured against the exact reference: 0 every row; otherwise this
  /// many, spread evenly over [0, q_len) with the first and the last included.
  std::size_t sampled_rows = 0;
};

/// Every family of the attention study, in the order it runs them.
std::vector<attention_family> attention_families();

/// The mask of a family, as the tables print it: "none", "keep", "additive".
std::string_view attention_mask_name(attention_draw draw);

/// The query rows of one head that are measured (see attention_family::sampled_rows); `full`
/// (--full) measures four times as many.
std::vector<std::size_t> sampled_query_rows(const attention_family& f, bool full);

struct attention_study_options {
  std::uint64_t seed = default_seed;
  bool full = false;
  std::vector<std::string> families;         ///< empty: every family
  std::vector<std::string> implementations;  ///< empty: every registered one
  std::vector<std::string> types;            ///< empty: every attention storage type
  unsigned threads = 0;                      ///< 0: one per core
  /// The families to choose from; empty: attention_families(). (The tests pass small shapes.)
  std::vector<attention_family> family_list;
};

struct attention_cell_metrics {
  std::size_t elements = 0;  ///< output elements of the sampled rows that keep a key
  double max_componentwise_u = 0, median_componentwise_u = 0;
  std::optional<double> max_ratio_to_bound;  ///< only for kernels with a bound
  std::size_t over_bound_count = 0;
  std::size_t ulp_elements = 0;  ///< elements where |O_c| >= 0.5 sum_j p_j |v_jc|
  double max_ulp = 0, median_ulp = 0;
  std::size_t nan_count = 0;  ///< NaN outputs where the exact one is not NaN
  std::size_t masked_rows = 0, masked_rows_zero = 0, masked_rows_nan = 0;
  std::optional<double> max_logsumexp_error;  ///< nullopt: the kernel takes no logsumexp
  std::optional<double> max_logsumexp_ratio;  ///< only for kernels with a bound
  /// The element of the largest componentwise error: head, row, column, values (hex).
  std::size_t worst_head = 0, worst_row = 0, worst_column = 0;
  std::string worst_computed = "-", worst_exact = "-";
  double seconds = 0;  ///< the kernel's run over the whole problem
  std::string error;   ///< the kernel threw this: the cell is left out of the files
};

/// One row of attention.csv: a cell, its vocabulary and its metrics.
struct attention_cell {
  std::string implementation, origin, type, isa, family, family_kind, family_description;
  std::string softmax;  ///< the softmax it runs (flash: the one whose algorithm it fuses)
  bool meets_contract = true;
  int type_precision_bits = 0;
  std::size_t q_heads = 0, kv_heads = 0, q_len = 0, kv_len = 0, d = 0;
  std::string causal = "none", mask = "none";
  std::string shape;                       ///< "Q heads x q_len x d, K/V heads x kv_len x d"
  std::size_t rows = 0, sampled_rows = 0;  ///< query rows in the problem, and measured
  std::uint64_t seed = 0;
  attention_cell_metrics metrics;
};

struct attention_study_result {
  std::vector<attention_cell> cells;
  std::vector<attention_family> families;
  std::vector<std::string> notes;   ///< elements over a stated bound, by cell
  std::vector<std::string> errors;  ///< kernels that threw, by cell
  unsigned threads = 0;
  double elapsed_seconds = 0;
  double reference_seconds = 0;
};

/// options.family_list, or attention_families() when it is empty.
std::vector<attention_family> families_of(const attention_study_options& options);

/// Throws std::invalid_argument naming an unknown family, implementation or type and listing
/// the valid ones.
void validate(const attention_study_options& options, const attention_registry& reg);

/// Runs the study; one progress line per (type, family) to `progress`.
attention_study_result run_attention_study(const attention_registry& reg,
                                           const attention_study_options& options,
                                           std::ostream& progress);

inline constexpr std::array<std::string_view, 41> attention_csv_columns{
    "implementation",
    "origin",
    "meets_contract",
    "softmax",
    "type",
    "type_precision_bits",
    "isa",
    "family",
    "family_kind",
    "family_description",
    "q_heads",
    "kv_heads",
    "q_len",
    "kv_len",
    "d",
    "causal",
    "mask",
    "rows",
    "sampled_rows",
    "seed",
    "elements",
    "max_componentwise_u",
    "median_componentwise_u",
    "max_ratio_to_bound",
    "over_bound_count",
    "ulp_elements",
    "max_ulp",
    "median_ulp",
    "nan_count",
    "masked_rows",
    "masked_rows_zero",
    "masked_rows_nan",
    "max_logsumexp_error",
    "max_logsumexp_ratio",
    "worst_head",
    "worst_row",
    "worst_column",
    "worst_computed",
    "worst_exact",
    "seconds",
    "shape",
};

/// One row per cell (kernels that threw are left out: see the JSON's "errors").
std::string attention_csv(const attention_study_result& result);

/// The run's facts (run_meta: date, host, CPU, build, the attention peers, the seed).
run_meta collect_attention_meta(const attention_registry& reg,
                                const attention_study_options& options,
                                const attention_study_result& result,
                                std::string_view command_line);

/// {"meta", "notes", "errors", "families": [name, kind, description, shape], "types": [name,
/// precision_bits], "cells": the CSV's rows as objects}.
std::string attention_json(const attention_study_result& result, const run_meta& meta);

}  // namespace softlab::accuracy
