// softlab-exp-exhaustive: softlab's own vectorized exp (impl/src/softlab_kernels/exp_kernel.hpp,
// exp_kernel<Arch, T, Degree>::of_exact) against the correctly rounded 2^headroom exp(d), on
// every float argument and on 2^26-argument random sets of doubles, once per instruction set
// (the measurement behind softlab::fast::exp_error_u, the E of fast's stated bound).
// ISA-neutral: the kernels come from exp_sse2.cpp and exp_avx2.cpp.
//
// Why these ranges. In softmax the kernels see d = x - max <= 0: that is their domain. They
// return 2^headroom exp(d) (headroom 64 for float lanes, 512 for double lanes, 0 for the
// double-lane kernel of a float result), so that every result that is not 0 in the caller's
// type is normal here and gradual underflow happens once, in the caller's final multiply by
// 2^-headroom / sum; d below lowest_argument (-inf included) is clamped to it, its exp being
// below half the smallest subnormal after that multiply (AVX-512 returns an exact 0 for it). So:
//  - float kernel (degree 6, 2^64): every float d in [-104, 44] (below -104, exp(d) < 2^-150
//    rounds to 0 in float; from 63.5 ln 2 = 44.01 on, the reduction's k = 64 makes the scale
//    2^(k + 64) infinite: the kernel's range ends there, far above softmax's d <= 0), and,
//    separately, every float in [-120, -104), down to the clamp;
//  - the same kernel as fast's in-cache softmax runs it, through exp_kernel::pivot::shifted:
//    2^(64 - j) exp(x) with j = round(max / ln 2), for every float x in [-359.98, 240), the whole
//    range of a row whose |max| < 240 (rows beyond take x - max exactly, the of_exact path);
//  - double-lane kernel of a float result (degree 7, headroom 0): every float d in [-104, 88.72]
//    (exp(d) finite in float), and [-120, -104) separately; its double result is measured in
//    ULPs of the float it will be rounded to (the pre-rounding error) and of double, and
//    float(result) is compared with the correctly rounded float exp(d): what softlab::accurate
//    delivers for float;
//  - double kernel (degree 11, 2^512): seeded random sets uniform in [-760, 0] and [0, 354],
//    uniform bit patterns in the same ranges, and arguments within 2 ULPs of every multiple
//    of ln(2)/2 (where the reduction's k changes) in [-760, 354].
// Positive d is checked as far as the result is finite, so that the kernels are known as plain
// exps too, though softmax never calls them there.
//
// The reference protocol is in exp_reference.hpp: glibc's exp in double (expl in long double),
// and MPFR at 200 bits whenever the value lies within 2^-40 (2^-60) relative of a rounding
// boundary. Special values (±0, -inf, NaN, the clamp and its neighbours, subnormal d) are
// checked for their exact expected results. Both entry points of of_exact (four vectors
// interleaved, one vector) are run on every input and must agree bit for bit.
//
// Exit status: 0 when every gate holds, 1 when one fails (a measured max ULP above its bound,
// a NaN or infinity where the exact result is finite, a wrong special value, the two entry
// points disagreeing, or the reference's own MPFR cross-check disagreeing), 2 on a bad command
// line. The figures are printed either way.
#include "exp_kernels.hpp"
#include "exp_reference.hpp"

#include <softlab/simd/isa.hpp>
#include <softlab_accuracy/format.hpp>
#include <softlab_accuracy/parallel.hpp>
#include <softlab_reference/families.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace softlab::exp_exhaustive {
namespace {

constexpr const char* program = "softlab-exp-exhaustive";
constexpr std::uint64_t quick_stride = 997;  // --quick: every 997th argument of each sweep
constexpr std::uint64_t chunk_size = 1 << 16;
constexpr std::uint64_t check_every_float = 1 << 14;  // the reference's MPFR cross-check
constexpr std::uint64_t check_every_double = 1 << 12;
constexpr std::uint64_t none = std::numeric_limits<std::uint64_t>::max();
// exp(d) < 2^-150 (half the smallest float subnormal) below ln(2^-150) = -103.97: 0 in float.
constexpr float float_underflow_argument = -104.0f;
constexpr float float_kernel_upper_argument = 44.0f;  // below 63.5 ln 2 (see float_sweep)
// The pivot sweep (softlab::fast's in-cache float softmax, exp_kernel::pivot::shifted): every
// float x in [-359.98, 240), the range a row with |max| < 240 reaches (x >= max - 120), each in a
// group of 64 consecutive arguments whose max (at most +-239.99) serves as the row max.
constexpr float pivot_max_limit = 239.99f, pivot_upper = 240.0f;
constexpr float pivot_lowest = -359.98f;  // above the clamp, -pivot_max_limit - 120 rounded
constexpr std::size_t pivot_group = 64;
constexpr double double_upper_argument = 354;  // 2^512 e^354 = 2^1022.7 (and k <= 511)
constexpr long double ln2 = 0.693147180559945309417232121458176568L;

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An --isa that this CPU lacks: nothing is run (exit status 77).
struct isa_missing : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void print_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: %s [--quick] [--threads N] [--isa sse2|avx2|avx512]... [--kernel "
      "float|float-in-double|"
      "double]...\n"
      "       [--seed S] [--double-count N] [--max-ulp-float X] [--max-ulp-float-in-double X]\n"
      "       [--max-ulp-double X]\n"
      "  --quick            every %llu-th argument of each sweep (a smoke test, seconds)\n"
      "  --threads N        worker threads (default 2)\n"
      "  --isa NAME         only this instruction set (repeatable; default: every one the CPU "
      "has)\n"
      "  --kernel NAME      only this kernel (repeatable; default: all three)\n"
      "  --seed S           seed of the double kernel's random sets (decimal or 0x hex)\n"
      "  --double-count N   arguments per random double set (default 2^26 = 67108864)\n"
      "  --max-ulp-float X  gate of the float kernel, in float ULPs (default 1.5)\n"
      "  --max-ulp-float-in-double X   gate of the double-lane float kernel before its rounding "
      "to\n"
      "                     float, in float ULPs (default 0.01)\n"
      "  --max-ulp-double X gate of the double kernel, in double ULPs (default 1.5)\n"
      "Exit status: 0 every gate holds, 1 a gate fails, 2 bad command line, 77 an --isa this "
      "CPU lacks\n(nothing run: CTest's skip code).\n",
      program, static_cast<unsigned long long>(quick_stride));
}

// ---------------------------------------------------------------------------------------------
// Options

enum kernel_id { float_kernel, float_in_double_kernel, double_kernel, kernel_count };

struct options {
  bool quick = false;
  unsigned threads = 2;
  std::uint64_t seed = 0x5eed0e9e5ab1e5ULL;
  std::uint64_t double_count = std::uint64_t(1) << 26;
  std::vector<isa> isas;  // empty: every available one
  std::array<bool, kernel_count> kernels{};
  std::array<double, kernel_count> bounds{1.5, 0.01, 1.5};
};

std::uint64_t parse_unsigned(std::string_view option, const std::string& text) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    if (text.empty() || text[0] < '0' || text[0] > '9') throw std::invalid_argument("sign");
    const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    value = std::stoull(text, &used, hex ? 16 : 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw usage_error(std::string(option) + ": expected a non-negative integer, got '" + text +
                      "'");
  return value;
}

double parse_bound(std::string_view option, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(value > 0) || !std::isfinite(value))
    throw usage_error(std::string(option) + ": expected a positive number of ULPs, got '" + text +
                      "'");
  return value;
}

options parse_options(int argc, char** argv) {
  options o;
  bool any_kernel = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw usage_error(std::string(arg) + ": missing value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      print_usage(stdout);
      std::exit(0);
    } else if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--threads") {
      const std::uint64_t t = parse_unsigned(arg, value());
      if (t < 1 || t > 256) throw usage_error("--threads: expected 1 to 256");
      o.threads = unsigned(t);
    } else if (arg == "--isa") {
      const std::string name = value();
      const auto which = parse_isa(name);
      if (!which)
        throw usage_error("--isa: unknown instruction set '" + name + "' (sse2, avx2, avx512)");
      if (!cpu_supports(*which)) throw isa_missing("--isa " + name + ": this CPU lacks it");
      if (std::find(o.isas.begin(), o.isas.end(), *which) == o.isas.end()) o.isas.push_back(*which);
    } else if (arg == "--kernel") {
      const std::string name = value();
      if (name == "float")
        o.kernels[float_kernel] = true;
      else if (name == "float-in-double")
        o.kernels[float_in_double_kernel] = true;
      else if (name == "double")
        o.kernels[double_kernel] = true;
      else
        throw usage_error("--kernel: unknown kernel '" + name +
                          "' (float, float-in-double, double)");
      any_kernel = true;
    } else if (arg == "--seed") {
      o.seed = parse_unsigned(arg, value());
    } else if (arg == "--double-count") {
      o.double_count = parse_unsigned(arg, value());
      if (o.double_count < 1 || o.double_count > (std::uint64_t(1) << 40))
        throw usage_error("--double-count: expected 1 to 2^40");
    } else if (arg == "--max-ulp-float") {
      o.bounds[float_kernel] = parse_bound(arg, value());
    } else if (arg == "--max-ulp-float-in-double") {
      o.bounds[float_in_double_kernel] = parse_bound(arg, value());
    } else if (arg == "--max-ulp-double") {
      o.bounds[double_kernel] = parse_bound(arg, value());
    } else {
      throw usage_error("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (!any_kernel) o.kernels.fill(true);
  if (o.isas.empty()) o.isas = available_isas();
  std::sort(o.isas.begin(), o.isas.end());
  return o;
}

// ---------------------------------------------------------------------------------------------
// Statistics, merged across threads in a way that does not depend on the thread count: maxima
// tie-break on the smallest argument index.

struct worst_case {
  double ulp = -1;  // -1: no input yet
  double d = 0, y = 0;
  std::uint64_t index = none;
  void offer(double u, double at, double result, std::uint64_t i) {
    if (u > ulp || (u == ulp && i < index)) {
      ulp = u;
      d = at;
      y = result;
      index = i;
    }
  }
  void merge(const worst_case& o) {
    if (o.index != none) offer(o.ulp, o.d, o.y, o.index);
  }
};

struct first_case {
  std::uint64_t index = none;
  double d = 0, y = 0;
  void offer(std::uint64_t i, double at, double result) {
    if (i < index) {
      index = i;
      d = at;
      y = result;
    }
  }
  void merge(const first_case& o) { offer(o.index, o.d, o.y); }
};

struct row_stats {
  std::uint64_t inputs = 0;
  std::uint64_t not_correctly_rounded = 0;  // float kernel: y; double-lane: float(y); double: y
  std::uint64_t non_finite = 0;             // NaN or infinity (every exact result is finite)
  std::uint64_t entry_mismatch = 0;         // of_exact<4> and of_exact(batch) differ
  worst_case worst;                         // in ULPs of the result type (float for degree 7)
  worst_case worst_double;                  // degree 7 only: in ULPs of double
  first_case first_non_finite;
  double exact_worst = -1, exact_worst_double = -1;  // the worst cases, recomputed with MPFR
  // The largest relative error in units of u = 2^-p of the result type (float: 2^-24, double:
  // 2^-53): the E of the softmax kernels' bounds. A ULP is between u and 2u of the value, so
  // this lies between max ULP and 2 max ULP.
  double max_relative_u = 0;

  void merge(const row_stats& o) {
    inputs += o.inputs;
    not_correctly_rounded += o.not_correctly_rounded;
    non_finite += o.non_finite;
    entry_mismatch += o.entry_mismatch;
    worst.merge(o.worst);
    worst_double.merge(o.worst_double);
    first_non_finite.merge(o.first_non_finite);
    max_relative_u = std::max(max_relative_u, o.max_relative_u);
  }
  void offer_relative(double error, double exact, int precision) {
    max_relative_u = std::max(max_relative_u, std::ldexp(error / exact, precision));
  }
};

struct reference_stats {
  std::uint64_t arguments = 0, mpfr = 0;    // references computed, of them via MPFR
  std::uint64_t checked = 0, disagree = 0;  // cross-checked against MPFR outright
  double max_libm_error = 0;  // glibc exp (in ULPs of double) or expl (of long double)
  void merge(const reference_stats& o) {
    arguments += o.arguments;
    mpfr += o.mpfr;
    checked += o.checked;
    disagree += o.disagree;
    max_libm_error = std::max(max_libm_error, o.max_libm_error);
  }
};

constexpr std::size_t max_isas = 2;
constexpr std::size_t float_rows = 3;   // [-104, -0], [+0, upper], [-120, -104)
constexpr std::size_t double_rows = 5;  // the random sets and the multiples of ln 2 / 2

struct float_accumulator {
  std::array<std::array<row_stats, float_rows>, max_isas> single{}, in_double{};
  reference_stats reference;
  void merge(const float_accumulator& o) {
    for (std::size_t i = 0; i < max_isas; ++i)
      for (std::size_t r = 0; r < float_rows; ++r) {
        single[i][r].merge(o.single[i][r]);
        in_double[i][r].merge(o.in_double[i][r]);
      }
    reference.merge(o.reference);
  }
};

struct double_accumulator {
  std::array<std::array<row_stats, double_rows>, max_isas> rows{};
  reference_stats reference;
  void merge(const double_accumulator& o) {
    for (std::size_t i = 0; i < max_isas; ++i)
      for (std::size_t r = 0; r < double_rows; ++r) rows[i][r].merge(o.rows[i][r]);
    reference.merge(o.reference);
  }
};

/// The sweeps' threads: o.threads in all (the caller's included), each freeing MPFR's caches of
/// its thread when the pool ends.
accuracy::worker_pool make_sweep_pool(unsigned threads) {
  return accuracy::worker_pool(threads, {}, [] { mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE); });
}

/// Runs lane(accumulator, reference) once per thread of the pool, each lane with its own
/// accumulator and MPFR reference (MPFR variables are per thread), and merges the accumulators
/// in lane order. A lane takes chunks from its sweep's shared counter until none is left.
template <class Accumulator, class Lane>
Accumulator run_lanes(accuracy::worker_pool& pool, Lane lane) {
  std::vector<Accumulator> per_lane(pool.size());
  pool.run(pool.size(), [&](std::size_t t) {
    exp_reference reference;
    lane(per_lane[t], reference);
  });
  Accumulator result;
  for (const Accumulator& a : per_lane) result.merge(a);
  return result;
}

std::uint32_t bits_of(float v) { return std::bit_cast<std::uint32_t>(v); }
std::uint64_t bits_of(double v) { return std::bit_cast<std::uint64_t>(v); }

/// The two entry points agree: the same bits, or both NaN (a NaN's sign and payload are no
/// result of the kernel's: clang -O1 folds x - x and the like differently in the two copies).
template <class T>
bool entries_agree(T a, T b) {
  return bits_of(a) == bits_of(b) || (std::isnan(a) && std::isnan(b));
}

struct isa_kernels {
  isa which;
  kernel_set set;
};

// ---------------------------------------------------------------------------------------------
// Every float: the two float kernels

/// A run of consecutive float bit patterns (ascending magnitude) and the rows it counts in.
struct float_range {
  std::uint32_t first_bits;
  std::uint64_t count;
  std::uint64_t start = 0;  // its first argument's index in the sweep
  int row_single;           // row of the float kernel, -1: not checked here
  int row_in_double;        // row of the double-lane kernel
};

/// The largest float d whose correctly rounded 2^s exp(d) is finite in float.
float largest_finite_argument(exp_reference& reference, int s) {
  auto finite = [&](float d) {
    return std::isfinite(mpfr_get_flt(reference.exact(d, s).get(), MPFR_RNDN));
  };
  float d = float(std::log(double(std::numeric_limits<float>::max())) - s * double(ln2));
  while (!finite(d)) d = std::nextafter(d, 0.0f);
  while (finite(std::nextafter(d, std::numeric_limits<float>::infinity())))
    d = std::nextafter(d, std::numeric_limits<float>::infinity());
  return d;
}

struct float_sweep {
  std::vector<float_range> ranges;
  std::uint64_t total = 0;
  float upper_single = 0, upper_in_double = 0, lowest = 0;

  float_sweep(const options& o, exp_reference& reference, const kernel_constants& single,
              const kernel_constants& in_double) {
    // The float kernel's own end: from 63.5 ln 2 = 44.0148 on, k rounds to 64 and 2^(k + 64)
    // is infinite (softmax never comes near: its d is <= 0, its pivot keeps k - j <= 0).
    upper_single =
        std::min(largest_finite_argument(reference, single.headroom), float_kernel_upper_argument);
    upper_in_double = largest_finite_argument(reference, in_double.headroom);
    lowest = float(std::max(single.lowest_argument, in_double.lowest_argument));
    const bool s = o.kernels[float_kernel], w = o.kernels[float_in_double_kernel];
    auto add = [&](float from, float to, int row_single, int row_in_double) {
      if (row_single < 0 && row_in_double < 0) return;
      const std::uint32_t a = bits_of(from), b = bits_of(to);  // same sign, |from| <= |to|
      ranges.push_back({a, std::uint64_t(b - a) + 1, total, row_single, row_in_double});
      total += b - a + 1;
    };
    const float below_underflow =
        std::nextafter(float_underflow_argument, -std::numeric_limits<float>::infinity());
    add(-0.0f, float_underflow_argument, s ? 0 : -1, w ? 0 : -1);
    add(0.0f, upper_single, s ? 1 : -1, w ? 1 : -1);
    add(std::nextafter(upper_single, std::numeric_limits<float>::infinity()), upper_in_double, -1,
        w ? 1 : -1);
    add(below_underflow, lowest, s ? 2 : -1, w ? 2 : -1);
  }

  /// The argument with index g (ranges are few: a linear search).
  const float_range& range_of(std::uint64_t g) const {
    for (const float_range& r : ranges)
      if (g < r.start + r.count) return r;
    return ranges.back();
  }
};

float_accumulator run_float_sweep(const options& o, const float_sweep& sweep,
                                  const std::vector<isa_kernels>& kernels,
                                  accuracy::worker_pool& pool) {
  const std::uint64_t stride = o.quick ? quick_stride : 1;
  const std::uint64_t selected = (sweep.total + stride - 1) / stride;
  const std::uint64_t chunks = (selected + chunk_size - 1) / chunk_size;
  const bool run_single = o.kernels[float_kernel],
             run_in_double = o.kernels[float_in_double_kernel];
  std::atomic<std::uint64_t> next{0};
  return run_lanes<float_accumulator>(pool, [&](float_accumulator& acc, exp_reference& reference) {
    std::vector<float> d(chunk_size), y_single_entry(chunk_size);
    std::vector<double> y_in_double_entry(chunk_size);
    std::vector<std::uint64_t> index(chunk_size);
    std::vector<const float_range*> range(chunk_size);
    std::vector<std::vector<float>> y_single(kernels.size(), std::vector<float>(chunk_size));
    std::vector<std::vector<double>> y_in_double(kernels.size(), std::vector<double>(chunk_size));
    for (std::uint64_t c; (c = next.fetch_add(1)) < chunks;) {
      const std::uint64_t begin = c * chunk_size, end = std::min(begin + chunk_size, selected);
      const std::size_t n = end - begin;
      for (std::size_t j = 0; j < n; ++j) {
        const std::uint64_t g = (begin + j) * stride;
        const float_range& r = sweep.range_of(g);
        index[j] = g;
        range[j] = &r;
        d[j] = std::bit_cast<float>(std::uint32_t(r.first_bits + (g - r.start)));
      }
      for (std::size_t i = 0; i < kernels.size(); ++i) {
        const kernel_set& k = kernels[i].set;
        if (run_single) {
          k.float_exp(d.data(), y_single[i].data(), n, entry::unrolled);
          k.float_exp(d.data(), y_single_entry.data(), n, entry::single);
          for (std::size_t j = 0; j < n; ++j)
            if (range[j]->row_single >= 0 && !entries_agree(y_single[i][j], y_single_entry[j]))
              ++acc.single[i][range[j]->row_single].entry_mismatch;
        }
        if (run_in_double) {
          k.float_exp_in_double(d.data(), y_in_double[i].data(), n, entry::unrolled);
          k.float_exp_in_double(d.data(), y_in_double_entry.data(), n, entry::single);
          for (std::size_t j = 0; j < n; ++j)
            if (range[j]->row_in_double >= 0 &&
                !entries_agree(y_in_double[i][j], y_in_double_entry[j]))
              ++acc.in_double[i][range[j]->row_in_double].entry_mismatch;
        }
      }
      for (std::size_t j = 0; j < n; ++j) {
        const float_range& r = *range[j];
        const std::uint64_t g = index[j];
        const double dd = d[j];
        const double exp_d = std::exp(dd);
        const bool check = (begin + j) % check_every_float == 0;
        auto cross_check = [&](const reference_value<float, double>& v, int s) {
          const reference::exact& e = reference.exact(dd, s);
          ++acc.reference.checked;
          if (bits_of(mpfr_get_flt(e.get(), MPFR_RNDN)) != bits_of(v.rounded))
            ++acc.reference.disagree;
          if (!v.from_mpfr)
            acc.reference.max_libm_error =
                std::max(acc.reference.max_libm_error,
                         reference.ulp_error_against<double>(exp_d * std::ldexp(1.0, s), e));
        };
        if (r.row_single >= 0) {
          const int s = kernels[0].set.float_constants.headroom;
          const auto v = reference.to_float(d[j], exp_d, std::ldexp(1.0, s), s);
          ++acc.reference.arguments;
          if (check) cross_check(v, s);
          const double ulp = reference::ulp_of<float>(v.value);
          for (std::size_t i = 0; i < kernels.size(); ++i) {
            row_stats& st = acc.single[i][r.row_single];
            const float y = y_single[i][j];
            ++st.inputs;
            if (bits_of(y) != bits_of(v.rounded)) ++st.not_correctly_rounded;
            if (!std::isfinite(y)) {
              ++st.non_finite;
              st.first_non_finite.offer(g, dd, y);
            } else {
              st.worst.offer(std::abs(double(y) - v.value) / ulp, dd, y, g);
              st.offer_relative(std::abs(double(y) - v.value), v.value, 24);
            }
          }
        }
        if (r.row_in_double >= 0) {
          const int s = kernels[0].set.float_in_double_constants.headroom;
          const auto v = reference.to_float(d[j], exp_d, std::ldexp(1.0, s), s);
          ++acc.reference.arguments;
          if (check) cross_check(v, s);
          const double ulp = reference::ulp_of<float>(v.value),
                       ulp_double = reference::ulp_of<double>(v.value);
          for (std::size_t i = 0; i < kernels.size(); ++i) {
            row_stats& st = acc.in_double[i][r.row_in_double];
            const double y = y_in_double[i][j];
            ++st.inputs;
            if (bits_of(float(y)) != bits_of(v.rounded)) ++st.not_correctly_rounded;
            if (!std::isfinite(y)) {
              ++st.non_finite;
              st.first_non_finite.offer(g, dd, y);
            } else {
              const double error = std::abs(y - v.value);
              st.worst.offer(error / ulp, dd, y, g);
              st.worst_double.offer(error / ulp_double, dd, y, g);
              st.offer_relative(error, v.value, 24);
            }
          }
        }
      }
    }
    acc.reference.mpfr += reference.mpfr_calls;
  });
}

// ---------------------------------------------------------------------------------------------
// Every float of [-359.98, 240) through the pivot: the float kernel as the in-cache softmax runs it

struct pivot_accumulator {
  std::array<std::array<row_stats, 2>, max_isas> rows{};  // [-360, -0], [+0, 240)
  std::uint64_t arguments = 0, mpfr = 0;
  void merge(const pivot_accumulator& o) {
    for (std::size_t i = 0; i < max_isas; ++i)
      for (std::size_t r = 0; r < 2; ++r) rows[i][r].merge(o.rows[i][r]);
    arguments += o.arguments;
    mpfr += o.mpfr;
  }
};

pivot_accumulator run_pivot_sweep(const options& o, const std::vector<isa_kernels>& kernels,
                                  accuracy::worker_pool& pool) {
  // Two halves, each in groups of its own (a group's arguments share a row max): -0 down to
  // -360 by bits, and +0 up to the float below 240.
  const std::uint64_t stride = o.quick ? quick_stride : 1;
  const std::array<std::uint32_t, 2> first{bits_of(-0.0f), bits_of(0.0f)};
  const std::array<std::uint64_t, 2> count{
      std::uint64_t(bits_of(pivot_lowest) - first[0]) + 1,
      std::uint64_t(bits_of(std::nextafter(pivot_upper, 0.0f)) - first[1]) + 1};
  std::array<std::uint64_t, 2> selected{}, groups{};
  for (std::size_t h = 0; h < 2; ++h) {
    selected[h] = (count[h] + stride - 1) / stride;
    groups[h] = (selected[h] + pivot_group - 1) / pivot_group;
  }
  constexpr std::uint64_t groups_per_task = 1024;
  std::atomic<std::uint64_t> next{0};
  return run_lanes<pivot_accumulator>(pool, [&](pivot_accumulator& acc, exp_reference& reference) {
    std::array<float, pivot_group> x{}, y{}, y_single{};
    for (std::uint64_t task;
         (task = next.fetch_add(1)) * groups_per_task < groups[0] + groups[1];) {
      const std::uint64_t last = std::min(groups[0] + groups[1], (task + 1) * groups_per_task);
      for (std::uint64_t group_id = task * groups_per_task; group_id < last; ++group_id) {
        const std::size_t half = group_id < groups[0] ? 0 : 1;
        const std::uint64_t group = group_id - (half == 0 ? 0 : groups[0]);
        const std::uint64_t begin = group * pivot_group;
        const std::size_t n = std::size_t(std::min(begin + pivot_group, selected[half]) - begin);
        float m = -std::numeric_limits<float>::infinity();
        for (std::size_t e = 0; e < n; ++e) {
          x[e] = std::bit_cast<float>(std::uint32_t(first[half] + (begin + e) * stride));
          m = std::max(m, x[e]);
        }
        m = std::clamp(m, -pivot_max_limit, pivot_max_limit);
        for (std::size_t i = 0; i < kernels.size(); ++i) {
          const kernel_set& k = kernels[i].set;
          const int j = k.float_exp_pivoted(x.data(), m, y.data(), n, entry::unrolled);
          k.float_exp_pivoted(x.data(), m, y_single.data(), n, entry::single);
          const int s = kernels[0].set.float_constants.headroom - j;
          for (std::size_t e = 0; e < n; ++e) {
            const std::uint64_t g = (begin + e) * stride;
            row_stats& st = acc.rows[i][half];
            const auto v = reference.to_float(x[e], std::exp(double(x[e])), std::ldexp(1.0, s), s);
            if (i == 0) ++acc.arguments;
            ++st.inputs;
            if (!entries_agree(y[e], y_single[e])) ++st.entry_mismatch;
            if (bits_of(y[e]) != bits_of(v.rounded)) ++st.not_correctly_rounded;
            if (!std::isfinite(y[e])) {
              ++st.non_finite;
              st.first_non_finite.offer(g, x[e], y[e]);
            } else {
              st.worst.offer(std::abs(double(y[e]) - v.value) / reference::ulp_of<float>(v.value),
                             x[e], y[e], g);
              st.offer_relative(std::abs(double(y[e]) - v.value), v.value, 24);
            }
          }
        }
      }
    }
    acc.mpfr += reference.mpfr_calls;
  });
}

// ---------------------------------------------------------------------------------------------
// Random doubles: the double kernel

struct double_set {
  const char* label;
  std::uint64_t count;
};

struct double_sweep {
  std::array<double_set, double_rows> sets{};
  std::uint64_t seed;
  double lowest;
  long long first_multiple = 0;  // the multiples j ln(2)/2 of set 4: j from first_multiple
  static constexpr int neighbours = 2;

  double_sweep(const options& o, double lowest_argument) : seed(o.seed), lowest(lowest_argument) {
    first_multiple = static_cast<long long>(std::ceil(lowest / double(ln2 / 2)));
    const auto last_multiple =
        static_cast<long long>(std::floor(double_upper_argument / double(ln2 / 2)));
    sets = {{{"uniform in [-760, 0]", o.double_count},
             {"bit patterns in [-760, -0]", o.double_count},
             {"uniform in [0, 354]", o.double_count},
             {"bit patterns in [+0, 354]", o.double_count},
             {"j ln(2)/2 +- 2 ULP",
              std::uint64_t(last_multiple - first_multiple + 1) * (2 * neighbours + 1)}}};
  }

  /// Argument i of set s: output i of the splitmix64 stream seeded with the first output of the
  /// one seeded with seed + s, as a uniform real or a uniform bit pattern; set 4 is
  /// deterministic.
  double argument(std::size_t s, std::uint64_t i) const {
    const std::uint64_t h =
        reference::seeded_random(reference::seeded_random(seed + s).next()).output_at(i);
    const double unit = reference::unit_interval(h);  // [0, 1)
    switch (s) {
      case 0:
        return lowest * unit;
      case 1: {
        const std::uint64_t from = bits_of(-0.0), to = bits_of(lowest);
        return std::bit_cast<double>(from + h % (to - from + 1));
      }
      case 2:
        return double_upper_argument * unit;
      case 3:
        return std::bit_cast<double>(h % (bits_of(double_upper_argument) + 1));
      default: {
        const long long j = first_multiple + static_cast<long long>(i / (2 * neighbours + 1));
        double d = static_cast<double>(static_cast<long double>(j) * (ln2 / 2));
        const int step = int(i % (2 * neighbours + 1)) - neighbours;
        for (int k = 0; k < std::abs(step); ++k)
          d = std::nextafter(d, step < 0 ? -std::numeric_limits<double>::infinity()
                                         : std::numeric_limits<double>::infinity());
        return std::clamp(d, lowest, double_upper_argument);
      }
    }
  }
};

double_accumulator run_double_sweep(const options& o, const double_sweep& sweep,
                                    const std::vector<isa_kernels>& kernels,
                                    accuracy::worker_pool& pool) {
  struct job {
    std::size_t set;
    std::uint64_t begin, end;  // selected arguments
    std::uint64_t stride;
  };
  std::vector<job> jobs;
  for (std::size_t s = 0; s < double_rows; ++s) {
    const std::uint64_t stride = o.quick && s < 4 ? quick_stride : 1;
    const std::uint64_t selected = (sweep.sets[s].count + stride - 1) / stride;
    for (std::uint64_t b = 0; b < selected; b += chunk_size)
      jobs.push_back({s, b, std::min(b + chunk_size, selected), stride});
  }
  const int s_headroom = kernels[0].set.double_constants.headroom;
  const long double two_to_s = std::ldexp(1.0L, s_headroom);
  std::atomic<std::size_t> next{0};
  return run_lanes<double_accumulator>(
      pool, [&](double_accumulator& acc, exp_reference& reference) {
        std::vector<double> d(chunk_size), y_entry(chunk_size);
        std::vector<std::vector<double>> y(kernels.size(), std::vector<double>(chunk_size));
        for (std::size_t c; (c = next.fetch_add(1)) < jobs.size();) {
          const job& jb = jobs[c];
          const std::size_t n = jb.end - jb.begin;
          for (std::size_t j = 0; j < n; ++j)
            d[j] = sweep.argument(jb.set, (jb.begin + j) * jb.stride);
          for (std::size_t i = 0; i < kernels.size(); ++i) {
            kernels[i].set.double_exp(d.data(), y[i].data(), n, entry::unrolled);
            kernels[i].set.double_exp(d.data(), y_entry.data(), n, entry::single);
            for (std::size_t j = 0; j < n; ++j)
              if (!entries_agree(y[i][j], y_entry[j])) ++acc.rows[i][jb.set].entry_mismatch;
          }
          for (std::size_t j = 0; j < n; ++j) {
            const std::uint64_t g = (jb.begin + j) * jb.stride;
            const auto v = reference.to_double(d[j], two_to_s, s_headroom);
            ++acc.reference.arguments;
            if ((jb.begin + j) % check_every_double == 0) {
              const reference::exact& e = reference.exact(d[j], s_headroom);
              ++acc.reference.checked;
              if (bits_of(mpfr_get_d(e.get(), MPFR_RNDN)) != bits_of(v.rounded))
                ++acc.reference.disagree;
              if (!v.from_mpfr)
                acc.reference.max_libm_error =
                    std::max(acc.reference.max_libm_error,
                             reference.ulp_error_against<long double>(
                                 std::exp(static_cast<long double>(d[j])) * two_to_s, e));
            }
            const long double ulp = reference::ulp_of<double>(v.value);
            for (std::size_t i = 0; i < kernels.size(); ++i) {
              row_stats& st = acc.rows[i][jb.set];
              const double yi = y[i][j];
              ++st.inputs;
              if (bits_of(yi) != bits_of(v.rounded)) ++st.not_correctly_rounded;
              if (!std::isfinite(yi)) {
                ++st.non_finite;
                st.first_non_finite.offer(g, d[j], yi);
              } else {
                st.worst.offer(double(std::abs(static_cast<long double>(yi) - v.value) / ulp), d[j],
                               yi, g);
                st.offer_relative(double(std::abs(static_cast<long double>(yi) - v.value)),
                                  double(v.value), 53);
              }
            }
          }
        }
        acc.reference.mpfr += reference.mpfr_calls;
      });
}

// ---------------------------------------------------------------------------------------------
// Special values

enum class expect {
  exact_value,  // bit for bit 2^headroom (exp(±0) = 1)
  nan,          // a NaN
  clamped,      // exactly +0 where the kernel zeroes clamped lanes (clamped_to_zero), else bit
                // for bit the result at lowest_argument, finite, 0 after the 2^-headroom
  accurate,     // within the gate of the correctly rounded 2^headroom exp(d)
};

struct special {
  std::string label;
  double d;
  expect kind;
};

/// The special arguments of a kernel whose argument type is Arg.
template <class Arg>
std::vector<special> specials_for(double lowest_argument) {
  using limits = std::numeric_limits<Arg>;
  const Arg lowest = Arg(lowest_argument);
  auto up = [](Arg v, int steps) {
    for (int k = 0; k < steps; ++k) v = std::nextafter(v, limits::infinity());
    return v;
  };
  auto down = [](Arg v, int steps) {
    for (int k = 0; k < steps; ++k) v = std::nextafter(v, -limits::infinity());
    return v;
  };
  return {
      {"+0", 0.0, expect::exact_value},
      {"-0", -0.0, expect::exact_value},
      {"NaN", double(limits::quiet_NaN()), expect::nan},
      {"-NaN", double(-limits::quiet_NaN()), expect::nan},
      {"-inf", -double(limits::infinity()), expect::clamped},
      {"lowest finite", double(limits::lowest()), expect::clamped},
      {"lowest_argument - 1", double(lowest - Arg(1)), expect::clamped},
      {"lowest_argument - 2 ULP", double(down(lowest, 2)), expect::clamped},
      {"lowest_argument - 1 ULP", double(down(lowest, 1)), expect::clamped},
      {"lowest_argument", double(lowest), expect::accurate},
      {"lowest_argument + 1 ULP", double(up(lowest, 1)), expect::accurate},
      {"lowest_argument + 2 ULP", double(up(lowest, 2)), expect::accurate},
      {"-smallest normal", -double(limits::min()), expect::accurate},
      {"-smallest subnormal", -double(limits::denorm_min()), expect::accurate},
      {"+smallest subnormal", double(limits::denorm_min()), expect::accurate},
  };
}

/// Evaluates kernel `which` of one ISA at d through both entry points (d repeated over several
/// vectors, so that the four-vector path runs): the result, or NaN if the copies disagree.
double evaluate(const kernel_set& k, kernel_id which, double d, bool& consistent) {
  constexpr std::size_t copies = 64;  // >= 2 x 4 vectors of 8 floats
  consistent = true;
  if (which == double_kernel) {
    std::array<double, copies> in, a, b;
    in.fill(d);
    k.double_exp(in.data(), a.data(), copies, entry::unrolled);
    k.double_exp(in.data(), b.data(), copies, entry::single);
    for (std::size_t i = 0; i < copies; ++i)
      consistent &= entries_agree(a[i], a[0]) && entries_agree(b[i], a[0]);
    return a[0];
  }
  std::array<float, copies> in;
  in.fill(float(d));
  if (which == float_kernel) {
    std::array<float, copies> a, b;
    k.float_exp(in.data(), a.data(), copies, entry::unrolled);
    k.float_exp(in.data(), b.data(), copies, entry::single);
    for (std::size_t i = 0; i < copies; ++i)
      consistent &= entries_agree(a[i], a[0]) && entries_agree(b[i], a[0]);
    return a[0];
  }
  std::array<double, copies> a, b;
  k.float_exp_in_double(in.data(), a.data(), copies, entry::unrolled);
  k.float_exp_in_double(in.data(), b.data(), copies, entry::single);
  for (std::size_t i = 0; i < copies; ++i)
    consistent &= entries_agree(a[i], a[0]) && entries_agree(b[i], a[0]);
  return a[0];
}

const kernel_constants& constants_of(const kernel_set& k, kernel_id which) {
  return which == float_kernel             ? k.float_constants
         : which == float_in_double_kernel ? k.float_in_double_constants
                                           : k.double_constants;
}

// ---------------------------------------------------------------------------------------------
// Printing

const char* kernel_title(kernel_id which) {
  switch (which) {
    case float_kernel:
      return "exp_kernel<Arch, float, 6>: 2^64 exp(d) in float lanes (softlab::fast, float)";
    case float_in_double_kernel:
      return "exp_kernel<Arch, double, 7>: exp(d) of a float d in double lanes, headroom 0 "
             "(softlab::accurate, float)";
    default:
      return "exp_kernel<Arch, double, 11>: 2^512 exp(d) in double lanes (softlab::fast, double)";
  }
}

/// v exactly (%a) and to its type's max_digits10 (float 9, double 17 significant digits).
std::string hex_and_decimal(double v, bool is_float) {
  return accuracy::concat(accuracy::format_hex(v), " (",
                          accuracy::format_significant(v, is_float ? 9 : 17), ")");
}

std::string ulp_text(double u) {
  char buffer[32];
  if (u < 0) return "-";
  std::snprintf(buffer, sizeof buffer, u < 1e-3 && u > 0 ? "%.3e" : "%.4f", u);
  return buffer;
}

struct gate_log {
  std::vector<std::string> failures;
  void fail(std::string what) { failures.push_back(std::move(what)); }
};

/// One row of an accuracy table; returns whether it passes its gate.
bool print_row(const char* isa, const std::string& label, const row_stats& st, double bound,
               bool is_float, bool with_double_ulp) {
  const int at_width = is_float ? 30 : 44;
  const double worst = st.exact_worst;
  const bool ok = worst <= bound && st.non_finite == 0 && st.entry_mismatch == 0;
  std::printf("%-5s %-26s %11llu  %11s  %-*s", isa, label.c_str(),
              static_cast<unsigned long long>(st.inputs), ulp_text(worst).c_str(), at_width,
              st.worst.index == none ? "-" : hex_and_decimal(st.worst.d, is_float).c_str());
  if (with_double_ulp)
    std::printf(
        "  %12s  %-*s", ulp_text(st.exact_worst_double).c_str(), at_width,
        st.worst_double.index == none ? "-" : hex_and_decimal(st.worst_double.d, is_float).c_str());
  std::printf("  %9.4f  %10llu  %10llu  %-*s  %5llu  %s\n", st.max_relative_u,
              static_cast<unsigned long long>(st.not_correctly_rounded),
              static_cast<unsigned long long>(st.non_finite), at_width,
              st.first_non_finite.index == none
                  ? "-"
                  : hex_and_decimal(st.first_non_finite.d, is_float).c_str(),
              static_cast<unsigned long long>(st.entry_mismatch), ok ? "ok" : "FAIL");
  return ok;
}

void print_header(bool is_float, bool with_double_ulp, const char* ulp_name) {
  const int at_width = is_float ? 30 : 44;
  std::printf("%-5s %-26s %11s  %11s  %-*s", "isa", "d", "inputs", ulp_name, at_width, "at d");
  if (with_double_ulp) std::printf("  %12s  %-*s", "max dbl ULP", at_width, "at d");
  std::printf("  %9s  %10s  %10s  %-*s  %5s  %s\n", "max rel u", "not CR", "non-finite", at_width,
              "first non-finite d", "entry", "gate");
}

/// The worst cases, recomputed from MPFR (the sweeps rank them with the double reference).
void recompute_worst(row_stats& st, kernel_id which, int headroom, exp_reference& reference) {
  if (st.worst.index != none)
    st.exact_worst = which == double_kernel
                         ? reference.exact_ulp_error<double>(st.worst.y, st.worst.d, headroom)
                         : reference.exact_ulp_error<float>(st.worst.y, st.worst.d, headroom);
  if (st.worst_double.index != none)
    st.exact_worst_double =
        reference.exact_ulp_error<double>(st.worst_double.y, st.worst_double.d, headroom);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(const options& o) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<isa_kernels> kernels;
  for (isa which : o.isas) kernels.push_back({which, kernels_of(which)});
  const kernel_set& any = sse2::kernels();  // the constants do not depend on the ISA
  exp_reference reference;
  accuracy::worker_pool pool = make_sweep_pool(o.threads);

  std::printf(
      "%s: softlab's vectorized exp (impl/src/softlab_kernels/exp_kernel.hpp, of_exact) against "
      "the correctly rounded 2^headroom exp(d)\n",
      program);
  std::printf("run: %s, %u threads, seed 0x%llx, %llu arguments per random double set\n",
              o.quick ? "quick (every 997th argument of each sweep)" : "full (every float)",
              o.threads, static_cast<unsigned long long>(o.seed),
              static_cast<unsigned long long>(o.double_count));
  std::printf("instruction sets:");
  for (const isa_kernels& k : kernels) std::printf(" %s", std::string(isa_name(k.which)).c_str());
  const auto available = available_isas();
  if (std::find(available.begin(), available.end(), isa::avx2) == available.end())
    std::printf(" (avx2 skipped: this CPU lacks AVX2 or FMA)");
  std::printf(
      "\nreference: glibc exp in double (expl in long double for the double kernel), MPFR "
      "at 200 bits within 2^-40 (2^-60) relative of a rounding boundary\n");
  std::printf(
      "gates: float kernel %g float ULP; double-lane float kernel %g float ULP before "
      "rounding; double kernel %g double ULP; no NaN or infinity; the special values "
      "exact; both entry points equal\n",
      o.bounds[float_kernel], o.bounds[float_in_double_kernel], o.bounds[double_kernel]);
  std::printf(
      "columns: max ULP = |y - exact| / ulp(exact), the worst case recomputed with MPFR; "
      "max rel u = max |y - exact| / exact in u = 2^-p of the result type (float 2^-24, double "
      "2^-53; the E of softlab::fast's bound);\n"
      "         not CR = result (for degree 7: float(result)) != the correctly rounded value;\n"
      "         non-finite = NaN or infinity; entry = inputs where of_exact<4> and "
      "of_exact(batch) differ\n\n");
  std::fflush(stdout);

  gate_log gates;
  std::array<double, kernel_count> seconds{};

  // The float sweeps.
  const bool any_float = o.kernels[float_kernel] || o.kernels[float_in_double_kernel];
  float_accumulator floats;
  float upper_single = 0, upper_in_double = 0, lowest_float = 0;
  if (any_float) {
    const auto t0 = std::chrono::steady_clock::now();
    const float_sweep sweep(o, reference, any.float_constants, any.float_in_double_constants);
    upper_single = sweep.upper_single;
    upper_in_double = sweep.upper_in_double;
    lowest_float = sweep.lowest;
    floats = run_float_sweep(o, sweep, kernels, pool);
    seconds[float_kernel] = seconds_since(t0);
  }
  pivot_accumulator pivots;
  if (o.kernels[float_kernel]) {
    const auto t0 = std::chrono::steady_clock::now();
    pivots = run_pivot_sweep(o, kernels, pool);
    seconds[float_kernel] += seconds_since(t0);
  }
  double_accumulator doubles;
  std::unique_ptr<double_sweep> dsweep;
  if (o.kernels[double_kernel]) {
    const auto t0 = std::chrono::steady_clock::now();
    dsweep = std::make_unique<double_sweep>(o, any.double_constants.lowest_argument);
    doubles = run_double_sweep(o, *dsweep, kernels, pool);
    seconds[double_kernel] = seconds_since(t0);
  }

  auto range_label = [](const char* format, double value) {
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, format, value);
    return std::string(buffer);
  };

  for (int w = 0; w < kernel_count; ++w) {
    const auto which = static_cast<kernel_id>(w);
    if (!o.kernels[which]) continue;
    const kernel_constants& c = constants_of(any, which);
    std::printf("== %s; lowest_argument %g ==\n", kernel_title(which), c.lowest_argument);
    const bool is_float_arg = which != double_kernel;
    const char* ulp_name = which == double_kernel ? "max ULP" : "max flt ULP";
    print_header(is_float_arg, which == float_in_double_kernel, ulp_name);
    for (std::size_t i = 0; i < kernels.size(); ++i) {
      const std::string isa_label(isa_name(kernels[i].which));
      const char* isa = isa_label.c_str();
      const double bound = o.bounds[which];
      auto report = [&](row_stats st, const std::string& label) {
        recompute_worst(st, which, c.headroom, reference);
        if (!print_row(isa, label, st, bound, is_float_arg, which == float_in_double_kernel))
          gates.fail(std::string(isa) + " " + kernel_title(which) + ", d in " + label);
      };
      if (which == double_kernel) {
        for (std::size_t r = 0; r < double_rows; ++r)
          report(doubles.rows[i][r], dsweep->sets[r].label);
        continue;
      }
      const auto& rows = which == float_kernel ? floats.single[i] : floats.in_double[i];
      const float upper = which == float_kernel ? upper_single : upper_in_double;
      report(rows[0], "[-104, -0]");
      report(rows[1], range_label("[+0, %.7g]", upper));
      row_stats all = rows[0];
      all.merge(rows[1]);
      report(all, range_label("all [-104, %.7g]", upper));
      report(rows[2], range_label("[%g, -104)", lowest_float));
      if (which == float_kernel) {
        // Through the pivot: 2^(64 - j) exp(x), j from the group's max; the worst case's scale
        // 64 - j is recovered from its result (y / exp(x) is a power of 2 to within 2 ULP).
        auto report_pivot = [&](row_stats st, const std::string& label) {
          if (st.worst.index != none) {
            const int scale = int(std::lround(std::log2(st.worst.y) - st.worst.d / double(ln2)));
            st.exact_worst = reference.exact_ulp_error<float>(st.worst.y, st.worst.d, scale);
          }
          if (!print_row(isa, label, st, bound, true, false))
            gates.fail(std::string(isa) + " " + kernel_title(which) + ", pivot, x in " + label);
        };
        report_pivot(pivots.rows[i][0], range_label("pivot x in [%g, -0]", pivot_lowest));
        report_pivot(pivots.rows[i][1], range_label("pivot x in [+0, %g)", pivot_upper));
      }
    }

    // Special values.
    std::printf("special values (%s):\n", which == double_kernel ? "double d" : "float d");
    std::printf("  %-24s %-26s %-36s", "argument", "d", "expected");
    for (const isa_kernels& k : kernels)
      std::printf(" %-26s %-12s", std::string(isa_name(k.which)).c_str(), "");
    std::printf("\n");
    const std::vector<special> list = which == double_kernel
                                          ? specials_for<double>(c.lowest_argument)
                                          : specials_for<float>(c.lowest_argument);
    for (const special& sp : list) {
      const double two_to_h = std::ldexp(1.0, c.headroom);
      std::string expected;
      char buffer[64];
      switch (sp.kind) {
        case expect::exact_value:
          expected = accuracy::concat(accuracy::format_hex(two_to_h), " exactly");
          break;
        case expect::nan:
          expected = "NaN";
          break;
        case expect::clamped:
          if (c.headroom != 0)
            std::snprintf(buffer, sizeof buffer, "+0 or = at %g; 0 after x 2^-%d",
                          c.lowest_argument, c.headroom);
          else
            std::snprintf(buffer, sizeof buffer, "+0 or = at %g; 0 as float", c.lowest_argument);
          expected = buffer;
          break;
        case expect::accurate: {
          const reference::exact& e = reference.exact(sp.d, c.headroom);
          const double cr = which == float_kernel ? double(mpfr_get_flt(e.get(), MPFR_RNDN))
                                                  : mpfr_get_d(e.get(), MPFR_RNDN);
          expected = accuracy::concat("CR ", accuracy::format_hex(cr));
          break;
        }
      }
      std::printf("  %-24s %-26s %-36s", sp.label.c_str(), accuracy::format_hex(sp.d).c_str(),
                  expected.c_str());
      for (const isa_kernels& k : kernels) {
        bool consistent = true;
        const double y = evaluate(k.set, which, sp.d, consistent);
        bool ok = consistent;
        std::string note;
        switch (sp.kind) {
          case expect::exact_value:
            ok &= bits_of(y) == bits_of(two_to_h);
            break;
          case expect::nan:
            ok &= std::isnan(y);
            break;
          case expect::clamped: {
            bool at_lowest_consistent = true;
            const double at_lowest =
                evaluate(k.set, which, c.lowest_argument, at_lowest_consistent);
            // The caller's final product y * 2^-headroom / sum, here with sum = 1, in its type.
            const double scaled = y * std::ldexp(1.0, -c.headroom);
            const bool zero = which == double_kernel ? scaled == 0 : float(scaled) == 0;
            if (constants_of(k.set, which).clamped_to_zero)
              ok &= bits_of(y) == bits_of(0.0);
            else
              ok &= bits_of(y) == bits_of(at_lowest) && std::isfinite(y) && y > 0 && zero;
            break;
          }
          case expect::accurate: {
            const double u = which == double_kernel
                                 ? reference.exact_ulp_error<double>(y, sp.d, c.headroom)
                                 : reference.exact_ulp_error<float>(y, sp.d, c.headroom);
            ok &= std::isfinite(y) && u <= o.bounds[which];
            std::snprintf(buffer, sizeof buffer, "%.3f ULP", u);
            note = buffer;
            break;
          }
        }
        if (!consistent) note += " entries differ";
        std::printf(" %-26s %-12s", accuracy::format_hex(y).c_str(),
                    (std::string(ok ? "ok" : "FAIL") + " " + note).c_str());
        if (!ok)
          gates.fail(std::string(isa_name(k.which)) + " " + kernel_title(which) + ": special " +
                     sp.label);
      }
      std::printf("\n");
    }
    std::printf("\n");
  }

  // The reference's own statistics.
  auto report_reference = [&](const reference_stats& r, const char* type, const char* arguments,
                              const char* libm) {
    std::printf(
        "%s reference: %llu arguments%s, %llu via MPFR (%.2e); %llu cross-checked with MPFR, "
        "%llu disagree; %s on them\n",
        type, static_cast<unsigned long long>(r.arguments), arguments,
        static_cast<unsigned long long>(r.mpfr), double(r.mpfr) / double(r.arguments),
        static_cast<unsigned long long>(r.checked), static_cast<unsigned long long>(r.disagree),
        libm);
    if (r.disagree > 0) gates.fail(std::string(type) + " reference disagrees with MPFR");
  };
  char libm_error[96];
  if (any_float) {
    std::snprintf(libm_error, sizeof libm_error, "glibc exp max error %.3f double ULP",
                  floats.reference.max_libm_error);
    report_reference(floats.reference, "float", " (both float kernels)", libm_error);
  }
  if (o.kernels[double_kernel]) {
    std::snprintf(libm_error, sizeof libm_error,
                  "expl max error %.3f long double ULP (margin 2^-60 = 8)",
                  doubles.reference.max_libm_error);
    report_reference(doubles.reference, "double", "", libm_error);
  }
  std::printf("time: float sweep (both float kernels) %.1f s, double sweep %.1f s, total %.1f s\n",
              seconds[float_kernel], seconds[double_kernel], seconds_since(start));
  if (gates.failures.empty()) {
    std::printf("verdict: PASS\n");
    return 0;
  }
  std::printf("verdict: FAIL (%zu):\n", gates.failures.size());
  for (const std::string& f : gates.failures) std::printf("  %s\n", f.c_str());
  return 1;
}

}  // namespace
}  // namespace softlab::exp_exhaustive

int main(int argc, char** argv) {
  using namespace softlab::exp_exhaustive;
  options o;
  try {
    o = parse_options(argc, argv);
  } catch (const isa_missing& e) {
    std::printf("%s: skipped: %s\n", program, e.what());
    return 77;
  } catch (const usage_error& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    print_usage(stderr);
    return 2;
  }
  try {
    const int status = run(o);
    mpfr_free_cache();
    return status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 3;
  }
}
