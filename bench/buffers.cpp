// bench/buffers.cpp: the names of the input sets and the pair count for cold runs.
#include "buffers.hpp"

namespace softlab::bench {

std::string_view input_set_name(input_set set) {
  switch (set) {
    case input_set::uniform:
      return "uniform";
    case input_set::wide:
      return "wide";
    case input_set::near_underflow:
      return "near_underflow";
    case input_set::masked:
      return "masked";
  }
  return "?";
}

std::size_t pairs_for_cold_runs(std::size_t pair_bytes, std::size_t llc_bytes) {
  if (pair_bytes < llc_bytes) return 1;
  return 2 * llc_bytes / pair_bytes + 1;  // so that their total exceeds 2 LLC
}

}  // namespace softlab::bench
