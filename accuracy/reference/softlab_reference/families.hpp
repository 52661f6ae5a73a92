// softlab_reference/families.hpp: named families of input scores, each with a reason, drawn
// from a printed seed. The core tests and the accuracy study draw from the same families.
#pragma once

#include <softlab/detail/reductions.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

namespace softlab::reference {

/// SplitMix64's increment: the golden ratio in 64 bits (Steele, Lea & Flood 2014).
inline constexpr std::uint64_t splitmix64_increment = 0x9e3779b97f4a7c15ULL;

/// SplitMix64's output for the state `state` advanced once: the state plus the increment,
/// mixed (Steele, Lea & Flood 2014). The k-th output (from 0) of a generator seeded with s is
/// splitmix64(s + k * splitmix64_increment), so any output can be had without the ones before.
constexpr std::uint64_t splitmix64(std::uint64_t state) {
  std::uint64_t z = state + splitmix64_increment;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The top 53 bits of a random word as a double uniform in [0, 1), every value a multiple of
/// 2^-53 (exact: no rounding, the same on every platform).
constexpr double unit_interval(std::uint64_t random_bits) {
  return double(random_bits >> 11) * 0x1p-53;
}

/// splitmix64 as a stream: tiny, fast, and the same sequence on every platform, unlike
/// std::uniform_real_distribution.
class seeded_random {
 public:
  explicit seeded_random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    const std::uint64_t result = splitmix64(state_);
    state_ += splitmix64_increment;
    return result;
  }
  /// Output `k` of the stream from its current state (k = 0: what next() returns), without
  /// advancing it.
  std::uint64_t output_at(std::uint64_t k) const {
    return splitmix64(state_ + k * splitmix64_increment);
  }
  /// Uniform in [lo, hi), 53 random bits.
  double uniform(double lo, double hi) { return lo + (hi - lo) * unit_interval(next()); }
  std::size_t below(std::size_t n) { return std::size_t(next() % n); }

 private:
  std::uint64_t state_;
};

enum class family {
  uniform_1,       ///< uniform [-1, 1]: benign
  wide_80,         ///< uniform [-80, 80]: x - max rounds, exp amplifies it
  wide_500,        ///< uniform [-500, 500]: most weights underflow
  equal_huge,      ///< all 1e30 (max T / 4 if smaller: 16376 in fp16sim): exact ties,
                   ///< far beyond exp's range yet finite; exact answer 1/n
  one_dominant,    ///< one entry 30 above uniform [-1, 1]: weight ~1, the rest ~e^-30
  very_negative,   ///< uniform [-1000, -900]: every exp(x) underflows in float and double
  half_masked,     ///< uniform [-1, 1] with a random half set to -inf (attention masks)
  near_ties,       ///< 8 + k ulp, k in [0, 16): differences of one rounding
  query_keys_1e4,  ///< scores = T(1e4) * key, keys uniform [-1, 1]: attention, large query
  offset_rows,     ///< uniform [-20, 20] around a row offset c = ±{0.5, 200, ..., 2^62, 1e30}:
                   ///< where kernels switch how they form x - max, and coarse spacings
};

inline constexpr std::array all_families{
    family::uniform_1,      family::wide_80,       family::wide_500,    family::equal_huge,
    family::one_dominant,   family::very_negative, family::half_masked, family::near_ties,
    family::query_keys_1e4, family::offset_rows,
};

constexpr std::string_view family_name(family f) {
  switch (f) {
    case family::uniform_1:
      return "uniform_1";
    case family::wide_80:
      return "wide_80";
    case family::wide_500:
      return "wide_500";
    case family::equal_huge:
      return "equal_huge";
    case family::one_dominant:
      return "one_dominant";
    case family::very_negative:
      return "very_negative";
    case family::half_masked:
      return "half_masked";
    case family::near_ties:
      return "near_ties";
    case family::query_keys_1e4:
      return "query_keys_1e4";
    case family::offset_rows:
      return "offset_rows";
  }
  return "?";
}

/// What a family's scores test, so that a report can tell accuracy from the contract's rules
/// without a list of names: finite scores measure accuracy; -inf, +inf and NaN entries have an
/// exact answer the contract fixes (0 where masked, the weight on the +inf, NaN everywhere).
enum class family_kind {
  finite,   ///< finite scores
  wide,     ///< finite scores with gaps |x - max| of tens or more: rounding x - max, which exp
            ///< amplifies by the gap, dominates the error of max-subtracting codes
  masks,    ///< some entries -inf (attention masks), at least one finite unless fully masked
  pos_inf,  ///< a +inf entry: it takes all the weight
  nan,      ///< a NaN entry: every exact output is NaN
};

constexpr std::string_view kind_name(family_kind k) {
  switch (k) {
    case family_kind::finite:
      return "finite";
    case family_kind::wide:
      return "wide";
    case family_kind::masks:
      return "masks";
    case family_kind::pos_inf:
      return "pos_inf";
    case family_kind::nan:
      return "nan";
  }
  return "?";
}

/// The kind of each shared family (see family_kind).
constexpr family_kind kind_of(family f) {
  switch (f) {
    case family::wide_80:
    case family::wide_500:
    case family::query_keys_1e4:
      return family_kind::wide;
    case family::half_masked:
      return family_kind::masks;
    default:
      return family_kind::finite;
  }
}

/// n scores of family f, drawn from seed (values rounded to T from double, then stored in T:
/// the reference uses the stored values).
template <class T>
std::vector<T> generate(family f, std::size_t n, std::uint64_t seed) {
  seeded_random rng(seed);
  std::vector<T> x(n);
  auto fill_uniform = [&](double lo, double hi) {
    for (T& v : x) v = T(rng.uniform(lo, hi));
  };
  switch (f) {
    case family::uniform_1:
      fill_uniform(-1, 1);
      break;
    case family::wide_80:
      fill_uniform(-80, 80);
      break;
    case family::wide_500:
      fill_uniform(-500, 500);
      break;
    case family::equal_huge: {
      // Huge for T but finite: 1e30, or a quarter of the largest T where that is smaller
      // (binary16's max is 65504), so that the family tests ties, not the +inf limit.
      const double largest = static_cast<double>(std::numeric_limits<T>::max());
      for (T& v : x) v = T(std::min(1e30, largest / 4));
      break;
    }
    case family::one_dominant:
      fill_uniform(-1, 1);
      if (n > 0) x[rng.below(n)] = T(30);
      break;
    case family::very_negative:
      fill_uniform(-1000, -900);
      break;
    case family::half_masked:
      fill_uniform(-1, 1);
      for (std::size_t i = 0; i < n / 2; ++i) x[rng.below(n)] = -detail::infinity<T>();
      if (n > 0) x[rng.below(n)] = T(0.5);  // keep at least one entry finite
      break;
    case family::near_ties: {
      using std::ldexp;
      const T base(8);
      const T ulp = T(ldexp(T(1), 4 - std::numeric_limits<T>::digits));  // ulp(8) = 2^(3+1-p)
      for (T& v : x) v = T(base + T(T(double(rng.below(16))) * ulp));
      break;
    }
    case family::query_keys_1e4: {
      const T query(1e4);
      for (T& v : x) v = T(query * T(rng.uniform(-1, 1)));
      break;
    }
    case family::offset_rows: {
      // The same spread at offsets on both sides of the |max| where softlab::fast switches
      // from its exponent-bit pivot to an exact x - max (240 for float, 1520 for double), and
      // far beyond, where T's spacing near c is 16 to 1024 (float 2^27..2^30, double 2^56..
      // 2^62) and a few ties dominate. Offsets past a quarter of the largest T are left out.
      constexpr std::array<double, 14> offsets{0.5,  200, 239,    241,    300,    1e3,    1519,
                                               1521, 1e5, 0x1p27, 0x1p30, 0x1p61, 0x1p62, 1e30};
      const double largest = static_cast<double>(std::numeric_limits<T>::max()) / 4;
      std::size_t usable = 0;
      while (usable < offsets.size() && offsets[usable] + 20 <= largest) ++usable;
      const double sign = rng.below(2) == 0 ? 1.0 : -1.0;
      const double c = sign * offsets[rng.below(usable)];
      fill_uniform(c - 20, c + 20);
      break;
    }
  }
  return x;
}

}  // namespace softlab::reference
