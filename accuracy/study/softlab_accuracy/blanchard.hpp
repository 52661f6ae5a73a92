// softlab_accuracy/blanchard.hpp: the reproduction of Blanchard, Higham & Higham (2021).
//
// P. Blanchard, D. J. Higham and N. J. Higham, "Accurately computing the log-sum-exp and softmax
// functions", IMA J. Numer. Anal. 41(4), 2021, doi:10.1093/imanum/draa038; experiment code in
// the repository higham/logsumexp-softmax-tests (chop_test_softmax.m and its helpers).
//
// THEIR PROTOCOL, reproduced as-is and labelled "theirs" everywhere it appears:
//   - each input vector (their 2500 MNIST logit vectors, n = 10, float32-exact) is rounded to
//     the low precision (fp16, and separately bfloat16);
//   - four algorithms run in simulated arithmetic (a rounding after every operation, softlab's
//     fp16sim / bf16sim): the unshifted softmax e_i / s (their Thm 3.3), the unshifted
//     division-free exp(x_i - lse) (Thm 3.4), the shifted softmax, whose sum leaves out the
//     max's own term and whose lse uses log1p (Thm 4.3), and the shifted division-free
//     exp(x_i - lse) (Thm 4.4);
//   - their reference is NOT exact: it is the unshifted algorithm run in float32 on the same
//     rounded inputs;
//   - error = max_i |y_i - g_i| / (u max_i |g_i|), u = 2^-p of the low precision;
//   - leading-order bounds (with x the float32 vector before rounding and lse the reference's):
//     Thm 3.3: n + 3; Thm 3.4: |lse| + max|x - lse| + n + 2; Thm 4.3: n + 2 + 2(max x - min x);
//     Thm 4.4: 1 + max|x - lse| + |lse + n - min x|;
//   - the vectors whose low-precision unshifted logsumexp overflows are counted (they report 475
//     of 2500 in fp16) and left out of their plots (their_lse_finite in the CSV).
// OURS, beside it: the same four algorithms and every registry kernel of the type (naive is
// the unshifted algorithm, stable the shifted one with the max's term kept in the sum, divfree
// the shifted division-free one), measured against the exact MPFR softmax of the rounded input
// (normwise in their units, and componentwise in ULPs), in fp16sim, bf16sim, float and double,
// on their data and on the extreme families of softlab_reference at n = 10.
#pragma once

#include <softlab/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace softlab::accuracy {

/// Their 2500 vectors: a CSV with a header line and n comma-separated decimal values per line.
/// Throws std::invalid_argument naming the file, line and column of anything else (a missing
/// value, a non-number, a non-finite value, a ragged row) and std::runtime_error if it cannot
/// be read.
std::vector<std::vector<float>> read_logit_vectors(const std::filesystem::path& path);

struct blanchard_row {
  std::string source;     ///< "mnist" (their data) or a softlab_reference family name
  std::size_t index = 0;  ///< the vector's index within its source
  std::string type;       ///< fp16sim, bf16sim, float, double
  std::string algorithm;  ///< theirs:basic, theirs:basic_alt, theirs:shifted, theirs:shifted_alt,
                          ///< or a registry kernel's name
  std::string theorem;    ///< the bound's theorem ("3.3", ...), "" when none applies
  double bound = 0;       ///< their leading-order bound (nan when none applies)
  double error_their_reference = 0;  ///< their metric (nan above float32's precision)
  double error_exact = 0;            ///< the same metric against the exact softmax
  double max_ulp = 0;                ///< componentwise, against the exact softmax
  bool overflow = false;             ///< a NaN or inf in the result (or theirs' lse)
  bool their_lse_finite = true;      ///< their filter: the unshifted lse of this vector in this
                                     ///< type is finite
};

struct blanchard_options {
  std::uint64_t seed = 0;            ///< for the extreme families
  std::size_t family_vectors = 250;  ///< vectors per family
  std::vector<std::string> types;    ///< empty: fp16sim, bf16sim, float, double
  std::size_t max_data_vectors = 0;  ///< 0: all of them
};

struct blanchard_result {
  std::vector<blanchard_row> rows;
  std::vector<std::string> families;
  double elapsed_seconds = 0;
};

/// Runs both protocols on `data` (their vectors) and the extreme families, for every registry
/// kernel of each type. Progress lines go to `progress`.
blanchard_result run_blanchard(const registry& reg, const std::vector<std::vector<float>>& data,
                               const blanchard_options& options, std::ostream& progress);

std::string blanchard_csv(const blanchard_result& result);

/// Per (source group, type, algorithm): vectors, overflow count, max and median of each metric,
/// the largest error / bound; "source group" is mnist or "families".
std::string blanchard_summary_csv(const blanchard_result& result);

}  // namespace softlab::accuracy
