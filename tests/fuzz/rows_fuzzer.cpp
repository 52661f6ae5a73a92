// tests/fuzz/rows_fuzzer.cpp: libFuzzer target for the rows API through the registry,
// softlab::softmax_rows(k, ...) and softlab::log_softmax_rows(k, ...), with arbitrary shapes,
// strides, options and score bit patterns (issue 13, item 4).
//
// The input bytes decode (clang's FuzzedDataProvider) into: the type (float, double,
// bfloat16, float16), an implementation of the builtin registry meeting the contract (naive is
// allowed to fail it: skipped), the ISA, rows and cols (rows * cols <= 4096), a stride mode
// each for x and y (cols, more, fewer: throws, huge: throws beyond one row), buffers exactly
// long enough or one short (throws), in place or not, the options (scale from raw bits or a
// table with 0, NaN, inf and values that vanish or overflow in the compute type; no, an
// additive float or double, or a keep mask, of the right or a wrong size, values from bits;
// causal any 64-bit offset; threads unset or 0..3), then the scores' bit patterns.
//
// What is checked, independently of the library: std::invalid_argument exactly when some
// argument is invalid, and then y (and x) untouched; otherwise y outside the rows' columns
// untouched, x untouched (not in place), and each row: a NaN among the kept scores z makes it
// all NaN; else every weight in [0, 1], left-out (keep, causal) weights exactly 0 (log: -inf),
// a row whose z are all -inf zeros (log: -inf), the sum within a loose bound of 1, log
// weights <= 0 (to within 4 u of the compute type, which the stated bounds allow). A
// violation traps (__builtin_trap), so libFuzzer saves the input.
//
// Run: build/sanitize/tests/fuzz/softlab_rows_fuzzer CORPUS_DIR -max_total_time=60
// (SOFTLAB_FUZZ_TRACE=1 prints what each input decodes to: `softlab_rows_fuzzer FILE...`)
// (tests/fuzz/CMakeLists.txt: the CTest test does so on a copy of tests/fuzz/corpus).
#include <softlab/kernel_rows.hpp>
#include <softlab/softlab.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace softlab;

[[noreturn]] void violation(const char* what, std::size_t row = 0, std::size_t col = 0) {
  std::fprintf(stderr, "rows_fuzzer: contract violated: %s (row %zu, column %zu)\n", what, row,
               col);
  std::fflush(stderr);
  __builtin_trap();
}

/// Whether the implementation named `name` computes storage type T in double (accurate) rather
/// than float: the compute type the option checks (scale) convert to.
template <class T>
bool computes_in_double(std::string_view name) {
  bool result = false;
  for_each_implementation(builtin_implementations{}, [&]<class Impl>() {
    if (Impl::facts.name == name) result = std::is_same_v<compute_type_t<Impl, T>, double>;
  });
  return result;
}

template <class T>
T from_bits(std::uint64_t bits) {
  if constexpr (std::is_same_v<T, float>) {
    const auto b = static_cast<std::uint32_t>(bits);
    float v;
    std::memcpy(&v, &b, sizeof v);
    return v;
  } else if constexpr (std::is_same_v<T, double>) {
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  } else {
    return T::from_bits(static_cast<std::uint16_t>(bits));
  }
}

template <class T>
double wide(const T& v) {
  return static_cast<double>(v);
}

/// A score: usually from a small table of specials and ordinary values, else raw bits.
template <class T>
T score(FuzzedDataProvider& in) {
  const std::uint8_t how = in.ConsumeIntegral<std::uint8_t>();
  const std::uint64_t bits = in.ConsumeIntegral<std::uint64_t>();
  if (how < 96) return from_bits<T>(bits);
  static const double table[] = {0.0,  -0.0,  1.0,   -1.0,  2.5,  -3.75, 100.0, -100.0,
                                 1e30, -1e30, 1e300, 65504, 3e38, 1e-40, 1e-8,  0.5};
  if (how < 112) return T(how < 104 ? INFINITY : -INFINITY);
  if (how < 120) return T(NAN);
  return T(table[bits % (sizeof table / sizeof table[0])] * (1 + double(bits >> 60) / 16));
}

template <class C>
long double to_compute(long double v) {
  return static_cast<long double>(static_cast<C>(v));
}

template <class T, class C>
void run_one(FuzzedDataProvider& in, const kernel<T>& k) {
  // Shape.
  const std::size_t rows = in.ConsumeIntegralInRange<std::size_t>(0, 64);
  const std::size_t cols = in.ConsumeIntegralInRange<std::size_t>(0, rows == 0 ? 64 : 4096 / rows);
  constexpr std::size_t huge = std::numeric_limits<std::size_t>::max();
  auto stride_of = [&](std::uint8_t mode) -> std::size_t {
    switch (mode % 8) {
      case 0:
        return cols - (cols > 0 ? 1 : 0);  // fewer than cols: throws (unless cols is 0)
      case 1:
        return huge / 2 + 1;  // rows > 2: overflows size_t
      case 2:
        return huge - in.ConsumeIntegralInRange<std::size_t>(0, 3);
      case 3:
      case 4:
        return cols + in.ConsumeIntegralInRange<std::size_t>(1, 7);
      default:
        return cols;
    }
  };
  const std::size_t x_stride = stride_of(in.ConsumeIntegral<std::uint8_t>());
  const bool in_place = in.ConsumeIntegralInRange<int>(0, 5) == 0;
  const std::size_t y_stride = in_place ? x_stride : stride_of(in.ConsumeIntegral<std::uint8_t>());
  const std::optional<std::size_t> x_extent = detail::checked_rows_extent(rows, cols, x_stride);
  const std::optional<std::size_t> y_extent = detail::checked_rows_extent(rows, cols, y_stride);
  constexpr std::size_t cap = 8192;  // buffers of an extent beyond it are allocated at cap
  const bool x_short = in.ConsumeIntegralInRange<int>(0, 15) == 0;
  const bool y_short = in.ConsumeIntegralInRange<int>(0, 15) == 0;
  auto buffer_size = [&](std::optional<std::size_t> extent, bool shorter) {
    if (!extent || *extent > cap) return cap;
    return *extent > 0 && shorter ? *extent - 1 : *extent;
  };
  const std::size_t x_size = buffer_size(x_extent, x_short);
  const std::size_t y_size = in_place ? x_size : buffer_size(y_extent, y_short);

  // Options.
  softmax_options options;
  bool options_valid = true;
  const bool scale_double = computes_in_double<T>(k.facts.name) || std::is_same_v<T, double>;
  if (in.ConsumeBool()) {
    const std::uint8_t how = in.ConsumeIntegral<std::uint8_t>();
    static const double table[] = {1.0,    0.125, -2.0,  0.0,    -0.0,    NAN, INFINITY, -INFINITY,
                                   1e-300, 1e300, 1e-45, 3.5e38, -1e-320, 0.7, 1e38,     -0.1};
    const double s = how < 128 ? from_bits<double>(in.ConsumeIntegral<std::uint64_t>())
                               : table[how % (sizeof table / sizeof table[0])];
    options.scale = s;
    const double converted = scale_double ? s : static_cast<double>(static_cast<float>(s));
    if (!std::isfinite(s) || s == 0 || !std::isfinite(converted) || converted == 0)
      options_valid = false;
  }
  std::vector<float> mask_float;
  std::vector<double> mask_double;
  std::unique_ptr<bool[]> keep;
  const std::uint8_t mask_kind = in.ConsumeIntegralInRange<std::uint8_t>(0, 3);
  std::size_t mask_size = 0;
  if (mask_kind != 0) {
    const std::uint8_t size_mode = in.ConsumeIntegralInRange<std::uint8_t>(0, 4);
    mask_size = size_mode <= 1   ? rows * cols
                : size_mode <= 3 ? cols
                                 : in.ConsumeIntegralInRange<std::size_t>(0, 4200);
    if (mask_size != rows * cols && mask_size != cols) options_valid = false;
    auto mask_value = [&]() -> double {
      const std::uint8_t how = in.ConsumeIntegral<std::uint8_t>();
      if (how < 64) return from_bits<double>(in.ConsumeIntegral<std::uint64_t>());
      if (how < 128) return 0.0;
      if (how < 192) return -INFINITY;
      if (how < 200) return INFINITY;
      if (how < 204) return NAN;
      return -double(how - 200) * 0.75;
    };
    switch (mask_kind) {
      case 1:
        mask_float.resize(mask_size);
        for (float& m : mask_float) m = static_cast<float>(mask_value());
        options.mask = score_mask(mask_float);
        break;
      case 2:
        mask_double.resize(mask_size);
        for (double& m : mask_double) m = mask_value();
        options.mask = score_mask(mask_double);
        break;
      default:
        keep = std::make_unique<bool[]>(mask_size);
        for (std::size_t i = 0; i < mask_size; ++i)
          keep[i] = in.ConsumeIntegral<std::uint8_t>() < 200;
        options.mask = score_mask(std::span<const bool>(keep.get(), mask_size));
        break;
    }
  }
  if (in.ConsumeBool()) {
    const std::uint8_t how = in.ConsumeIntegral<std::uint8_t>();
    options.causal = how < 64    ? in.ConsumeIntegral<std::int64_t>()
                     : how < 128 ? std::numeric_limits<std::ptrdiff_t>::max() - how % 3
                     : how < 140 ? std::numeric_limits<std::ptrdiff_t>::min() + how % 3
                                 : std::ptrdiff_t(how % 40) - 20;
  }
  if (in.ConsumeBool()) {
    options.threads = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    if (*options.threads == 0) options_valid = false;
  }
  const bool log = in.ConsumeBool();

  // The scores, and y filled with a sentinel.
  std::vector<T> x(x_size);
  for (T& v : x) v = score<T>(in);
  const T sentinel = from_bits<T>(0x7ff4'3210'7fa1'2345);  // a signalling-NaN pattern
  std::vector<T> y_buffer(in_place ? 0 : y_size, sentinel);
  const std::vector<T> x_before = x;
  const std::span<const T> x_span(x);
  const std::span<T> y_span = in_place ? std::span<T>(x) : std::span<T>(y_buffer);

  const bool shape_valid = x_stride >= cols && y_stride >= cols && x_extent && y_extent &&
                           x_size >= *x_extent && y_size >= *y_extent;
  const bool valid = shape_valid && options_valid;
  bool threw = false;
  try {
    if (log)
      log_softmax_rows<T>(k, x_span, rows, cols, x_stride, y_span, y_stride, options);
    else
      softmax_rows<T>(k, x_span, rows, cols, x_stride, y_span, y_stride, options);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  const bool trace = std::getenv("SOFTLAB_FUZZ_TRACE") != nullptr;
  if (trace)  // what an input decodes to, for debugging
    std::fprintf(stderr,
                 "%s %s: %zu x %zu, strides %zu %zu%s, sizes %zu %zu, scale %s, mask %d of %zu, "
                 "causal %s, threads %s, %s: %s, %s\n",
                 std::string(type_token_v<T>).c_str(), std::string(k.facts.name).c_str(), rows,
                 cols, x_stride, y_stride, in_place ? " (in place)" : "", x_size, y_size,
                 options.scale ? std::to_string(*options.scale).c_str() : "-", int(mask_kind),
                 mask_size, options.causal ? std::to_string(*options.causal).c_str() : "-",
                 options.threads ? std::to_string(*options.threads).c_str() : "-",
                 log ? "log_softmax_rows" : "softmax_rows", valid ? "valid" : "invalid",
                 threw ? "threw" : "returned");
  auto same_bits = [](const T& a, const T& b) { return std::memcmp(&a, &b, sizeof(T)) == 0; };
  if (threw != !valid) violation(threw ? "threw on valid arguments" : "accepted invalid arguments");
  if (!in_place)
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same_bits(x[i], x_before[i])) violation("x changed", i);
  if (threw) {
    for (std::size_t i = 0; i < y_span.size(); ++i)
      if (!same_bits(y_span[i], in_place ? x_before[i] : sentinel))
        violation("y written before throwing", i);
    return;
  }
  // Outside the rows' columns, y is untouched.
  if (!in_place)
    for (std::size_t i = 0; i < y_span.size(); ++i) {
      const bool inside = rows > 0 && cols > 0 && i / y_stride < rows && i % y_stride < cols;
      if (!inside && !same_bits(y_span[i], sentinel)) violation("y written outside the rows", i);
    }
  if (cols == 0) return;

  // Each row against its scores.
  const long double scale = options.scale ? to_compute<C>(*options.scale) : 1.0L;
  const double eps_t = std::ldexp(1.0, 1 - std::numeric_limits<T>::digits);
  const double eps_c = std::ldexp(1.0, 1 - std::numeric_limits<C>::digits);
  for (std::size_t r = 0; r < rows; ++r) {
    const T* xr = x_before.data() + r * x_stride;
    const T* yr = y_span.data() + r * y_stride;
    const std::size_t mask_base = mask_size == cols ? 0 : r * cols;
    bool any_nan = false, maybe_nan = false, any_kept_finite_or_inf = false;
    std::vector<bool> kept(cols, true);
    for (std::size_t c = 0; c < cols; ++c) {
      if (options.causal) {
        const __int128 last = __int128(r) + __int128(*options.causal);
        if (__int128(c) > last) kept[c] = false;
      }
      if (keep && !keep[mask_base + c]) kept[c] = false;
      if (!kept[c]) continue;
      const long double xv = to_compute<C>(static_cast<long double>(wide(xr[c])));
      long double m = 0;
      if (!mask_float.empty()) m = to_compute<C>(mask_float[mask_base + c]);
      if (!mask_double.empty()) m = to_compute<C>(mask_double[mask_base + c]);
      const long double product = scale * xv;
      const long double z = product + m;
      if (std::isnan(z)) any_nan = true;
      // Unfused in C: the product rounded to C first may overflow to +-inf.
      const long double product_c = to_compute<C>(product);
      if (std::isnan(product_c + m)) maybe_nan = true;
      const long double zc = to_compute<C>(z);
      if (!std::isnan(z) && zc != -INFINITY) any_kept_finite_or_inf = true;
      if (!std::isnan(product_c + m) && to_compute<C>(product_c + m) != -INFINITY)
        any_kept_finite_or_inf = true;
    }
    auto out = [&](std::size_t c) { return static_cast<double>(wide(yr[c])); };
    bool all_nan = true;
    for (std::size_t c = 0; c < cols; ++c) all_nan = all_nan && std::isnan(out(c));
    // A violation in this row: with SOFTLAB_FUZZ_TRACE, the row first.
    auto fail = [&](const char* what, std::size_t c) {
      if (trace)
        for (std::size_t i = 0; i < cols; ++i)
          std::fprintf(stderr, "  column %zu: x %a, mask %a, kept %d, y %a\n", i, wide(xr[i]),
                       !mask_float.empty()    ? double(mask_float[mask_base + i])
                       : !mask_double.empty() ? mask_double[mask_base + i]
                                              : 0.0,
                       int(kept[i]), out(i));
      violation(what, r, c);
    };
    if (any_nan) {
      if (!all_nan) fail("a NaN score, and a weight that is not NaN", 0);
      continue;
    }
    if (maybe_nan && all_nan) continue;
    for (std::size_t c = 0; c < cols; ++c) {
      const double v = out(c);
      if (std::isnan(v)) fail("NaN weight in a row without NaN", c);
      if (log) {
        // <= 0 but for the stated bound's a u max(1, |y|): two_pass gives log weights up to
        // about u above 0 (e.g. 2^-24 in f16 for the weight 1 - e^-6550).
        if (v > 4 * eps_c) fail("log weight > 0 by more than the rounding", c);
        if (!kept[c] && v != -INFINITY) fail("left-out log weight not -inf", c);
        if (!any_kept_finite_or_inf && v != -INFINITY) fail("empty row: log not -inf", c);
      } else {
        if (!(v >= 0 && v <= 1)) fail("weight outside [0, 1]", c);
        if (!kept[c] && v != 0) fail("left-out weight not 0", c);
        if (!any_kept_finite_or_inf && v != 0) fail("empty row: weight not 0", c);
      }
    }
    if (!log && any_kept_finite_or_inf && !maybe_nan) {
      double sum = 0;
      for (std::size_t c = 0; c < cols; ++c) sum += out(c);
      // Each weight rounded to T once (eps_t / 2 relative), plus the implementations' stated
      // bounds of about n + 5 ULPs of the compute type: loose, to catch a wrong row, not an ULP.
      const double tolerance = 4 * eps_t + 4 * (double(cols) + 8) * eps_c;
      if (!(std::fabs(sum - 1) <= tolerance)) fail("weights do not sum to 1", 0);
    }
  }
}

template <class T>
void run_type(FuzzedDataProvider& in) {
  static const registry reg = builtin_registry();
  std::vector<const kernel<T>*> candidates;
  for (const kernel<T>& k : reg.kernels<T>())
    if (k.facts.meets_contract) candidates.push_back(&k);
  if (candidates.empty()) return;
  const kernel<T>& k =
      *candidates[in.ConsumeIntegralInRange<std::size_t>(0, candidates.size() - 1)];
  // The instruction set (fast and accurate have one kernel per ISA).
  static const std::vector<isa> isas = available_isas();
  force_isa(isas[in.ConsumeIntegralInRange<std::size_t>(0, isas.size() - 1)]);
  if constexpr (is_storage_float<T>) {
    if (computes_in_double<T>(k.facts.name))
      run_one<T, double>(in, k);
    else
      run_one<T, float>(in, k);
  } else {
    run_one<T, T>(in, k);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      run_type<float>(in);
      break;
    case 1:
      run_type<double>(in);
      break;
    case 2:
      run_type<bfloat16>(in);
      break;
    default:
      run_type<float16>(in);
      break;
  }
  return 0;
}
