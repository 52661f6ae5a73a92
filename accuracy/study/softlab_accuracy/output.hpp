// softlab_accuracy/output.hpp: the study's files, written atomically.
//
//   write_file_atomically(path, text)   text to `path.tmp` in the same directory, flushed and
//                                       closed, then renamed over path: a reader never sees a
//                                       partial file. On any error the .tmp is removed and
//                                       write_error names the path.
//   study_csv(result)                   one row per cell, the columns of csv_columns
//   study_json(result, meta)            {"meta": ..., "families": [name, reason, kind, sizes],
//                                       "types": [name, precision_bits, ieee_storage], "cells":
//                                       [the rows as objects], "special_values": ..., "notes",
//                                       "errors"}
//   collect_meta(reg, options, ...)     date, host, CPU, compiler, build flags, library versions
#pragma once

#include <softlab/registry.hpp>
#include <softlab_accuracy/study.hpp>

#include <array>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace softlab::accuracy {

/// A file could not be written. Not a std::runtime_error: the `softlab` tool reports it with
/// exit status 1 (an environment failure), not 2 (bad input).
class write_error : public std::exception {
 public:
  explicit write_error(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

void write_file_atomically(const std::filesystem::path& path, std::string_view text);

/// Creates `directory` (and its parents) if needed; write_error naming it if that fails or it
/// is not a directory.
void ensure_directory(const std::filesystem::path& directory);

inline constexpr std::array<std::string_view, 35> csv_columns{
    "implementation",
    "origin",
    "type",
    "isa",
    "family",
    "n",
    "vectors",
    "seed",
    "max_ulp",
    "mean_ulp",
    "max_ulp_normal",
    "mean_ulp_normal",
    "max_rel_error",
    "normwise_error",
    "max_sum_error",
    "max_error_over_u_kappa",
    "nan_count",
    "inf_count",
    "wrong_zero_count",
    "wrong_nonzero_count",
    "not_correctly_rounded_count",
    "argmax_preserved",
    "worst_index",
    "worst_x",
    "worst_y",
    "worst_exact",
    "stated_bound_at_worst",
    "max_observed_over_stated",
    "log_softmax_error",
    "logsumexp_error",
    "family_kind",
    "family_sizes",
    "type_precision_bits",
    "type_ieee_storage",
    "seconds",
};

/// The cells of one row, in csv_columns order, as text ("inf", "nan", "unsupported" included).
std::vector<std::string> row_fields(const cell_row& row);

std::string study_csv(const study_result& result);

/// The element samples: implementation, type, isa, family, distance_below_max, ulp, kappa.
std::string elements_csv(const study_result& result);

/// Facts about the run, for the JSON's "meta".
struct run_meta {
  std::vector<std::pair<std::string, std::string>> entries;  ///< in order; values are strings
  double elapsed_seconds = 0;
};

run_meta collect_meta(const registry& reg, const study_options& options, const study_result& result,
                      std::string_view command_line);

std::string study_json(const study_result& result, const run_meta& meta);

/// s as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

/// The fields as one CSV line (each quoted where it must be), newline included.
std::string csv_line(const std::vector<std::string>& fields);

/// A CSV field's text as a JSON value: a number when it reads as one and is not text.
std::string json_value_of(const std::string& text, bool text_column);

/// Items as a JSON array of strings.
std::string json_array(const std::vector<std::string>& items);

/// What every study's "meta" starts with: date, host, CPU, threads, softlab version, compiler,
/// build type and flags, library versions.
run_meta common_meta(unsigned threads);

/// What every study's "meta" has after its peers: the seed and how draws follow from it, whether
/// the run was full, the command line, the reference and the time it took, and the run's time.
struct run_facts {
  std::uint64_t seed = 0;
  std::string seed_rule;
  bool full = false;
  std::string_view command_line;
  std::string reference;
  double reference_seconds = 0;
  double elapsed_seconds = 0;
};
void add_run_facts(run_meta& meta, const run_facts& facts);

/// The opening every study's JSON shares, up to its own arrays: {"meta": {...}, "notes": [...],
/// "errors": [...], and a newline.
std::string json_opening(const run_meta& meta, const std::vector<std::string>& notes,
                         const std::vector<std::string>& errors);

/// Appends message to a run's notes or errors and prints it on the progress stream as a warning,
/// so that what the files record and what the run said as it went are the same words.
void record_warning(std::vector<std::string>& into, std::string message, std::ostream& progress);

/// Seconds as the files write them (%.3f).
std::string seconds_text(double s);

}  // namespace softlab::accuracy
