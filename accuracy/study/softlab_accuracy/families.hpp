// softlab_accuracy/families.hpp: the input families of the accuracy study.
//
// Every family of softlab_reference/families.hpp (shared with the core tests; a family added
// there joins the study with no edit here), then the study's own: the special values the
// contract rules on (a fully masked row, one +inf, one NaN), the ranges where exp under- or
// overflows or the sum grows long, inputs no score distribution produces but a user's data can
// (subnormal, near the largest finite value, random bit patterns), and scores users meet every
// day. Each family is drawn from a seed derived from the study's printed base seed, its name, n
// and the vector's index (family_seed), so any cell can be drawn again alone.
#pragma once

#include <softlab/detail/reductions.hpp>
#include <softlab/types.hpp>
#include <softlab_reference/families.hpp>

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace softlab::accuracy {

/// The study's own families (the shared ones are softlab::reference::family).
enum class own_family {
  fully_masked,       ///< every entry -inf
  one_pos_inf,        ///< uniform [-1, 1] and one +inf
  one_nan,            ///< uniform [-1, 1] and one NaN
  near_underflow,     ///< one 0 (the max), the rest uniform [-104, -80]
  large_n,            ///< uniform [-10, 10] at n = 10^6 (and 2^24 with --full)
  subnormal_inputs,   ///< random subnormal values of T, random sign
  near_max,           ///< T's largest finite value times uniform [0.5, 1], random sign
  random_bits,        ///< every finite value of T equally likely by its bits
  sorted_ascending,   ///< uniform [-10, 10], sorted ascending
  classifier_logits,  ///< Gaussian (sigma 3) and one entry +10
  int8_dequantized,   ///< uniform [-8, 8] quantized to int8 (scale 8/127) and dequantized
  causal_mask,        ///< the first k entries uniform [-4, 4], the rest -inf, k random in [1, n]
  padding_mask,       ///< attention scores (Gaussian, sigma 2), a random trailing block of -inf
  equal_scores,       ///< equal scores (n = 512): exactly 1/n each (ExecuTorch's bfloat16 sum)
  vocab_t0_1,         ///< 256000 long-tailed logits over temperature 0.1
  vocab_t1,           ///< the same logits, temperature 1
  vocab_t10,          ///< the same logits, temperature 10
};

/// Which sizes a family runs at (see study.hpp: study_sizes).
enum class size_class {
  standard,  ///< the study's ordinary sizes
  large,     ///< only the largest sizes: the family is about long sums
  specials,  ///< small sizes: the answer is a limit, the same at every n
  fixed,     ///< one size, the family's own (family_spec::fixed_n): a shape from a model
};

/// The size class's name in the study's files ("standard", "large", "specials").
constexpr std::string_view size_class_name(size_class c) {
  switch (c) {
    case size_class::standard:
      return "standard";
    case size_class::large:
      return "large";
    case size_class::specials:
      return "specials";
    case size_class::fixed:
      return "fixed";
  }
  return "?";
}

struct family_spec {
  std::string_view name;
  std::string_view reason;
  size_class sizes = size_class::standard;
  reference::family_kind kind = reference::family_kind::finite;  ///< written with every cell
  std::optional<reference::family> shared;                       ///< drawn by reference::generate
  own_family own = own_family::fully_masked;  ///< drawn here when `shared` is empty
  std::size_t fixed_n = 0;                    ///< size_class::fixed: the one n it runs at
};

/// Every family of the study, the shared ones first (in reference::all_families order).
std::vector<family_spec> study_families();

/// The family called `name`, or nullptr.
const family_spec* find_family(std::string_view name);

/// The seed of vector `index` of the cell (family, n): splitmix64 of the base seed mixed with
/// the family name's FNV-1a hash, n and the index. Independent of the family's position in the
/// list and of the type, so every type sees the same draws (each rounded to the type).
std::uint64_t family_seed(std::uint64_t base_seed, std::string_view family, std::size_t n,
                          std::size_t index);

namespace detail {

/// T is an IEEE interchange format (or bfloat16, the same layout with float's exponent) stored in
/// exactly its bits (sign, exponent, fraction), so a random unsigned integer of its size is a
/// random value of T.
template <class T>
constexpr bool is_plain_ieee_storage() {
  using limits = std::numeric_limits<T>;
  if constexpr (is_storage_float<T>) {  // bfloat16 and float16: sign, exponent, fraction
    return true;
  } else if constexpr (!limits::is_iec559 || !std::is_trivially_copyable_v<T>) {
    return false;
  } else {
    int exponent_bits = 0;
    for (long e = limits::max_exponent; e > 1; e >>= 1) ++exponent_bits;
    ++exponent_bits;  // max_exponent = 2^(bits - 1)
    const std::size_t bits = 1 + static_cast<std::size_t>(exponent_bits) + (limits::digits - 1);
    return bits == sizeof(T) * CHAR_BIT && (sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
  }
}

template <std::size_t Bytes>
struct unsigned_of_size;
template <>
struct unsigned_of_size<2> {
  using type = std::uint16_t;
};
template <>
struct unsigned_of_size<4> {
  using type = std::uint32_t;
};
template <>
struct unsigned_of_size<8> {
  using type = std::uint64_t;
};

/// The integer k (< 2^64) exactly in T when T holds it (any k < 2^min(p, 53), or any 64-bit k
/// when p >= 64). Below 2^53 one conversion from double is exact; above, two exact halves (the
/// split is only taken by types wide enough for 2^32, so a narrow format never forms an inf).
template <class T>
T integer_as(std::uint64_t k) {
  if (k < (std::uint64_t{1} << 53)) return T(static_cast<double>(k));
  const T high = T(static_cast<double>(k >> 32));
  const T low = T(static_cast<double>(k & 0xffffffffULL));
  return T(T(high * T(4294967296.0)) + low);
}

/// A standard normal deviate (Box-Muller; u1 in (0, 1] so the log is finite).
inline double gaussian(reference::seeded_random& rng) {
  const double u1 = 1.0 - rng.uniform(0, 1);
  const double u2 = rng.uniform(0, 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

/// A language model's next-token logits over a vocabulary of x.size() entries, divided by the
/// sampling temperature, each rounded once into T (what a sampler that scales before its softmax
/// stores): a Zipf-like long tail, the token of rank r at 8 - 1.1 ln r plus Gaussian noise
/// (sigma 0.3), the ranks shuffled over the vocabulary. Over 256000 entries the logits span about
/// 14 (T = 1): 140 at T = 0.1 (a few tokens take nearly all the weight) and 1.4 at T = 10
/// (nearly uniform: the sum is long and every term counts).
template <class T>
void vocabulary_logits(std::vector<T>& x, double temperature, reference::seeded_random& rng) {
  for (std::size_t r = 0; r < x.size(); ++r)
    x[r] = T((8.0 - 1.1 * std::log(double(r + 1)) + 0.3 * gaussian(rng)) / temperature);
  for (std::size_t i = x.size(); i > 1; --i) std::swap(x[i - 1], x[rng.below(i)]);
}

}  // namespace detail

/// Why family f is not drawn in T, or an empty string when it is. random_bits needs a T stored
/// as its IEEE bits (float and double here; not long double's x87 format, not the
/// multiprecision types).
template <class T>
std::string_view skip_reason(const family_spec& f) {
  if (f.shared) return {};
  if (f.own == own_family::random_bits && !detail::is_plain_ieee_storage<T>())
    return "its values are not stored as IEEE bits";
  return {};
}

template <class T>
bool applies_to(const family_spec& f) {
  return skip_reason<T>(f).empty();
}

/// n scores of family f in T, drawn from seed.
template <class T>
std::vector<T> generate(const family_spec& f, std::size_t n, std::uint64_t seed) {
  if (f.shared) return reference::generate<T>(*f.shared, n, seed);
  using limits = std::numeric_limits<T>;
  reference::seeded_random rng(seed);
  std::vector<T> x(n);
  auto fill_uniform = [&](double lo, double hi) {
    for (T& v : x) v = T(rng.uniform(lo, hi));
  };
  auto random_sign = [&](const T& v) { return (rng.next() >> 63) != 0 ? T(-v) : v; };
  switch (f.own) {
    case own_family::fully_masked:
      for (T& v : x) v = -softlab::detail::infinity<T>();
      break;
    case own_family::one_pos_inf:
      fill_uniform(-1, 1);
      if (n > 0) x[rng.below(n)] = softlab::detail::infinity<T>();
      break;
    case own_family::one_nan:
      fill_uniform(-1, 1);
      if (n > 0) x[rng.below(n)] = softlab::detail::quiet_nan<T>();
      break;
    case own_family::near_underflow:
      fill_uniform(-104, -80);
      if (n > 0) x[rng.below(n)] = T(0);
      break;
    case own_family::large_n:
      fill_uniform(-10, 10);
      break;
    case own_family::subnormal_inputs:
      if constexpr (limits::has_denorm == std::denorm_present) {
        // k * denorm_min, k uniform in [1, 2^(p-1)): every subnormal magnitude equally likely.
        const int fraction_bits = std::min(limits::digits - 1, 63);
        for (T& v : x) {
          const std::uint64_t k = 1 + rng.next() % ((std::uint64_t{1} << fraction_bits) - 1);
          v = random_sign(T(detail::integer_as<T>(k) * limits::denorm_min()));
        }
      } else {
        // No subnormals: the binade of the smallest normal value stands in.
        for (T& v : x) v = random_sign(T(limits::min() * T(rng.uniform(1, 2))));
      }
      break;
    case own_family::near_max:
      for (T& v : x) v = random_sign(T(limits::max() * T(rng.uniform(0.5, 1))));
      break;
    case own_family::random_bits:
      if constexpr (detail::is_plain_ieee_storage<T>()) {
        using bits_t = typename detail::unsigned_of_size<sizeof(T)>::type;
        for (T& v : x) {
          do {
            v = std::bit_cast<T>(static_cast<bits_t>(rng.next()));
          } while (!softlab::detail::is_finite(v));
        }
      }
      break;
    case own_family::sorted_ascending:
      fill_uniform(-10, 10);
      std::sort(x.begin(), x.end());
      break;
    case own_family::classifier_logits:
      for (T& v : x) v = T(3.0 * detail::gaussian(rng));
      if (n > 0) x[rng.below(n)] = T(10);
      break;
    case own_family::int8_dequantized: {
      const double scale = 8.0 / 127.0;
      for (T& v : x) {
        const double q = std::clamp(std::round(rng.uniform(-8, 8) / scale), -127.0, 127.0);
        v = T(q * scale);
      }
      break;
    }
    case own_family::causal_mask: {
      const std::size_t k = n > 0 ? 1 + rng.below(n) : 0;
      for (std::size_t i = 0; i < n; ++i)
        x[i] = i < k ? T(rng.uniform(-4, 4)) : -softlab::detail::infinity<T>();
      break;
    }
    case own_family::padding_mask: {
      // A padded sequence's keys: the last n - k positions are padding, k random in [1, n].
      const std::size_t k = n > 0 ? 1 + rng.below(n) : 0;
      for (std::size_t i = 0; i < n; ++i)
        x[i] = i < k ? T(2.0 * detail::gaussian(rng)) : -softlab::detail::infinity<T>();
      break;
    }
    case own_family::equal_scores: {
      const T value(rng.uniform(-4, 4));
      for (T& v : x) v = value;
      break;
    }
    case own_family::vocab_t0_1:
    case own_family::vocab_t1:
    case own_family::vocab_t10:
      detail::vocabulary_logits(x,
                                f.own == own_family::vocab_t0_1 ? 0.1
                                : f.own == own_family::vocab_t1 ? 1.0
                                                                : 10.0,
                                rng);
      break;
  }
  return x;
}

}  // namespace softlab::accuracy
