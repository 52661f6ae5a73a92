// softlab_accuracy/study.hpp: the accuracy study over a registry.
//
// For every element type, every kernel the registry has for it (vectorized softlab kernels once
// per instruction set this CPU has), every family and every size: the metrics of metrics.hpp,
// one cell each. The exact reference of each input vector is computed once, in parallel, and
// shared by every kernel. Then, for every kernel and type, what it returns for the special
// inputs the contract rules on.
//
// Sizes (study_sizes): types of at most 53 bits run at n = 10, 1000, 10^5 (large_n: 10^6; the
// special-value families 1, 10, 1000); --full adds 1, 100, 10^4, 10^6 and 2^24 (large_n).
// Types of 54..64 bits (long double) stop at 10^5 (10^6 with --full); wider ones (the
// multiprecision bin50, bin100, whose exp is 10^4 times slower) run at 10 and 100 (1 to 1000
// with --full). Small n repeats over several vectors per cell (vectors_per_cell).
#pragma once

#include <softlab/registry.hpp>
#include <softlab/simd/isa.hpp>
#include <softlab_accuracy/families.hpp>
#include <softlab_accuracy/metrics.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace softlab::accuracy {

inline constexpr std::uint64_t default_seed = 20261127;

struct study_options {
  std::uint64_t seed = default_seed;
  bool full = false;
  std::vector<std::string> families;         ///< empty: every family
  std::vector<std::string> implementations;  ///< empty: every registered one
  std::vector<std::string> types;            ///< empty: every element type
  std::vector<std::size_t> sizes;            ///< empty: each family's own (then capped per type)
  unsigned threads = 0;                      ///< 0: one per core
};

/// One row of the CSV: a cell and its metrics.
struct cell_row {
  std::string implementation, origin, type, isa, family;
  // The vocabulary a report needs, carried by the data so that no script keeps a list of
  // names: the family's kind and size class, the type's precision and storage.
  std::string family_kind, family_sizes;
  int type_precision_bits = 0;
  bool type_ieee_storage = false;  ///< stored as its IEEE interchange bits (float, double)
  std::size_t n = 0;
  std::size_t vectors = 0;
  std::uint64_t seed = 0;  ///< family_seed(base, family, n, 0); vector v uses index v
  cell_metrics metrics;
};

/// The row of a cell of family f at n in T, with what the data carries of the family and the
/// type (kind, size class, precision, storage), its vectors and its seed (family_seed(base_seed,
/// f, n, 0)); the caller names the implementation, its origin and instruction set, and measures.
template <class T>
cell_row describe_cell(const family_spec& f, std::size_t n, std::size_t vectors,
                       std::uint64_t base_seed) {
  cell_row row;
  row.type = std::string(type_token_v<T>);
  row.family = std::string(f.name);
  row.family_kind = std::string(reference::kind_name(f.kind));
  row.family_sizes = std::string(size_class_name(f.sizes));
  row.type_precision_bits = std::numeric_limits<T>::digits;
  row.type_ieee_storage = detail::is_plain_ieee_storage<T>();
  row.n = n;
  row.vectors = vectors;
  row.seed = family_seed(base_seed, f.name, n, 0);
  return row;
}

/// The input vectors of a cell: vector v of f at n drawn from family_seed(base_seed, f, n, v).
template <class T>
std::vector<std::vector<T>> cell_inputs(const family_spec& f, std::size_t n,
                                        std::uint64_t base_seed, std::size_t vectors) {
  std::vector<std::vector<T>> inputs;
  for (std::size_t v = 0; v < vectors; ++v)
    inputs.push_back(generate<T>(f, n, family_seed(base_seed, f.name, n, v)));
  return inputs;
}

/// The form the study writes T's values in (worst_x, ...): hexadecimal, exact, up to 64 bits;
/// decimal beyond.
template <class T>
constexpr value_format study_value_format() {
  return std::numeric_limits<T>::digits <= 64 ? value_format::hex : value_format::dec;
}

/// What one kernel returns for one special input (values printed in decimal).
struct special_value_row {
  std::string type, implementation, isa, input;
  std::vector<std::string> x, expected, softmax;
  std::vector<std::string> expected_log_softmax, log_softmax;  ///< log_softmax empty: unsupported
  std::string expected_logsumexp, logsumexp;                   ///< "unsupported" if so
  std::string error;                                           ///< softmax threw this
};

/// One element of one vector: its distance below the max and a kernel's error on it. Sampled
/// (the first vector of the scatter families at n = scatter_size) for the error-vs-|x - max|
/// plot, which shows the error that rounding x - max costs grow with the distance.
struct element_sample {
  std::string implementation, type, isa, family;
  double distance_below_max = 0;  ///< max x - x_i (as double)
  double ulp = 0;                 ///< the kernel's error on element i, ULPs of T
  double kappa = 0;               ///< |x_i| + sum_j g_j |x_j|, the condition number
};

/// The families and the size whose elements are sampled into study_result::element_samples.
inline constexpr std::array<std::string_view, 3> scatter_families{"wide_80", "wide_500",
                                                                  "near_underflow"};
inline constexpr std::size_t scatter_size = 1000;

struct study_result {
  std::vector<cell_row> cells;
  std::vector<element_sample> element_samples;  ///< float and double only
  std::vector<special_value_row> special_values;
  std::vector<std::string> notes;   ///< what the reader must know (sizes capped, families skipped)
  std::vector<std::string> errors;  ///< kernels that threw, by cell
  std::vector<family_spec> families;
  unsigned threads = 0;
  double elapsed_seconds = 0;
  double reference_seconds = 0;  ///< of which computing the exact references
};

/// The instruction sets a kernel is measured on: every one available of those it follows
/// softlab::active_isa() on ("sse2", "avx2", "avx512": set with force_isa before evaluating;
/// kernel::isas); "native" for a vectorized peer that dispatches on its own; "-" for a scalar
/// kernel.
template <class T>
std::vector<std::pair<std::string, std::optional<isa>>> kernel_isas(const kernel<T>& k) {
  std::vector<std::pair<std::string, std::optional<isa>>> result;
  for (const isa which : isa_variants_of(k))
    result.emplace_back(std::string(isa_name(which)), which);
  if (!result.empty()) return result;
  if (!k.facts.vectorized) return {{"-", std::nullopt}};
  return {{"native", std::nullopt}};
}

/// Restores the instruction set in force when it was made (active_isa() may throw
/// std::runtime_error for a bad SOFTLAB_ISA).
class isa_guard {
 public:
  isa_guard() : original_(active_isa()) {}
  ~isa_guard() {
    try {
      force_isa(original_);
    } catch (...) {  // it was available when read
    }
  }
  isa_guard(const isa_guard&) = delete;
  isa_guard& operator=(const isa_guard&) = delete;

 private:
  isa original_;
};

/// Throws std::invalid_argument naming an unknown family, implementation or type and listing the
/// valid ones, or a size of 0.
void validate(const study_options& options, const registry& reg);

/// The sizes of family f for a type of `precision_bits` bits.
std::vector<std::size_t> study_sizes(const family_spec& f, int precision_bits,
                                     const study_options& options);

/// Input vectors per cell of size n.
std::size_t vectors_per_cell(std::size_t n, int precision_bits);

/// Runs the study; progress lines (cell, how far, elapsed time) go to `progress`.
study_result run_study(const registry& reg, const study_options& options, std::ostream& progress);

}  // namespace softlab::accuracy
