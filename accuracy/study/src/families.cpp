// families.cpp: the study's family list, with a one-line reason for each.
#include <softlab_accuracy/families.hpp>

#include <array>
#include <string>

namespace softlab::accuracy {

namespace {

/// Why each shared family is in the study (softlab_reference/families.hpp says the same).
std::string_view shared_reason(reference::family f) {
  switch (f) {
    case reference::family::uniform_1:
      return "benign scores: every algorithm should be near 1 ULP";
    case reference::family::wide_80:
      return "x - max rounds before exp amplifies it: the 60-ULP loss of max-subtracting codes";
    case reference::family::wide_500:
      return "most weights underflow; naive overflows";
    case reference::family::equal_huge:
      return "exact ties far beyond exp's range: the answer is exactly 1/n";
    case reference::family::one_dominant:
      return "one weight near 1, the rest near e^-30";
    case reference::family::very_negative:
      return "every exp(x) underflows without the shift: naive gives 0/0";
    case reference::family::half_masked:
      return "attention padding: half the entries -inf";
    case reference::family::near_ties:
      return "scores one rounding apart";
    case reference::family::query_keys_1e4:
      return "attention scores query * key with a large query: huge gaps";
    case reference::family::offset_rows:
      return "the same spread at offsets up to 1e30: how x - max is formed, ties at huge max";
    default:
      break;  // a family added to softlab_reference since
  }
  return "see softlab_reference/families.hpp";
}

struct own_entry {
  own_family family;
  std::string_view name;
  std::string_view reason;
  size_class sizes;
  reference::family_kind kind = reference::family_kind::finite;
  std::size_t fixed_n = 0;
};

constexpr std::array own_entries{
    own_entry{own_family::fully_masked, "fully_masked",
              "a row with every position masked: the contract's safe-softmax zeros",
              size_class::specials, reference::family_kind::masks},
    own_entry{own_family::one_pos_inf, "one_pos_inf",
              "a score that overflowed to +inf: the contract gives it weight 1, the rest 0",
              size_class::specials, reference::family_kind::pos_inf},
    own_entry{own_family::one_nan, "one_nan",
              "a NaN score: every output must be NaN, never a silent number", size_class::specials,
              reference::family_kind::nan},
    own_entry{own_family::near_underflow, "near_underflow",
              "exp(x - max) lands around FLT_MIN (e^-87.3) and below: float subnormal results",
              size_class::standard},
    own_entry{own_family::large_n, "large_n",
              "long sums (10^6, 2^24 with --full): summation error grows with n",
              size_class::large},
    own_entry{own_family::subnormal_inputs, "subnormal_inputs",
              "tiny scores (subnormal; the smallest normal binade for types without): "
              "softmax ~ 1/n",
              size_class::standard},
    own_entry{own_family::near_max, "near_max",
              "scores near the largest finite value, random sign: x - max overflows to -inf",
              size_class::standard},
    own_entry{own_family::random_bits, "random_bits",
              "every finite value equally likely by its bits (IEEE-stored types only)",
              size_class::standard},
    own_entry{own_family::sorted_ascending, "sorted_ascending",
              "ascending scores: the online normalizer rescales its sum at every element",
              size_class::standard},
    own_entry{own_family::classifier_logits, "classifier_logits",
              "a trained classifier's logits: one confident class (+10) over a Gaussian "
              "(sigma 3)",
              size_class::standard},
    own_entry{own_family::int8_dequantized, "int8_dequantized",
              "scores of an int8-quantized model, dequantized: 255 values, many exact ties",
              size_class::standard},
    own_entry{own_family::causal_mask, "causal_mask",
              "a causal-attention row: k finite scores, then -inf for the masked future",
              size_class::standard, reference::family_kind::masks},
    own_entry{own_family::padding_mask, "padding_mask",
              "a padded sequence's attention scores: Gaussian, then -inf for the padding",
              size_class::standard, reference::family_kind::masks},
    own_entry{own_family::equal_scores, "equal_scores",
              "512 equal scores: exactly 2^-9 each; a bfloat16 running sum stalls at 256 "
              "(ExecuTorch's 1/256)",
              size_class::fixed, reference::family_kind::finite, 512},
    own_entry{own_family::vocab_t0_1, "vocab_t0.1",
              "256000 long-tailed vocabulary logits at temperature 0.1 (spread ~140)",
              size_class::fixed, reference::family_kind::wide, 256000},
    own_entry{own_family::vocab_t1, "vocab_t1",
              "256000 long-tailed vocabulary logits at temperature 1 (spread ~14)",
              size_class::fixed, reference::family_kind::finite, 256000},
    own_entry{own_family::vocab_t10, "vocab_t10",
              "256000 long-tailed vocabulary logits at temperature 10: nearly uniform, a long sum",
              size_class::fixed, reference::family_kind::finite, 256000},
};

std::vector<family_spec> build_families() {
  std::vector<family_spec> result;
  for (const reference::family f : reference::all_families)
    result.push_back(family_spec{.name = reference::family_name(f),
                                 .reason = shared_reason(f),
                                 .sizes = size_class::standard,
                                 .kind = reference::kind_of(f),
                                 .shared = f});
  for (const own_entry& e : own_entries)
    result.push_back(family_spec{.name = e.name,
                                 .reason = e.reason,
                                 .sizes = e.sizes,
                                 .kind = e.kind,
                                 .shared = std::nullopt,
                                 .own = e.family,
                                 .fixed_n = e.fixed_n});
  return result;
}

}  // namespace

std::vector<family_spec> study_families() {
  static const std::vector<family_spec> families = build_families();
  return families;
}

const family_spec* find_family(std::string_view name) {
  static const std::vector<family_spec> families = build_families();
  for (const family_spec& f : families)
    if (f.name == name) return &f;
  return nullptr;
}

std::uint64_t family_seed(std::uint64_t base_seed, std::string_view family, std::size_t n,
                          std::size_t index) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits
  for (const char c : family) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  const std::uint64_t seed = reference::splitmix64(base_seed ^ hash);
  return reference::splitmix64(reference::splitmix64(seed ^ static_cast<std::uint64_t>(n)) ^
                               static_cast<std::uint64_t>(index));
}

}  // namespace softlab::accuracy
