// bench/plan.cpp: the sizes and shapes of each run mode.
#include "plan.hpp"

#include <algorithm>
#include <initializer_list>

namespace softlab::bench {
namespace {

std::vector<shape> vectors_of(std::initializer_list<std::size_t> lengths) {
  std::vector<shape> shapes;
  for (std::size_t n : lengths) shapes.push_back({.rows = 1, .cols = n});
  return shapes;
}

}  // namespace

std::string_view run_mode_name(run_mode mode) {
  switch (mode) {
    case run_mode::full:
      return "full";
    case run_mode::quick:
      return "quick";
    case run_mode::smoke:
      return "smoke";
  }
  return "?";
}

std::string shape::label() const {
  if (rows == 1) return std::to_string(cols);
  return std::to_string(rows) + "x" + std::to_string(cols);
}

std::vector<shape> vector_shapes(run_mode mode) {
  switch (mode) {
    case run_mode::smoke:
      return vectors_of({16});
    case run_mode::quick:
      return vectors_of({16, 4096, 1 << 20});
    case run_mode::full:
      break;
  }
  return vectors_of({16, 64, 77, 128, 256, 1000, 1024, 4096, 16384, 32000, 65536, 128000, 1 << 18,
                     1 << 20, 1 << 22, 1 << 24});
}

std::vector<shape> row_shapes(run_mode mode) {
  switch (mode) {
    case run_mode::smoke:
      return {{.rows = 2, .cols = 16}};
    case run_mode::quick:
      return {{.rows = 8, .cols = 128}, {.rows = 64, .cols = 1000}};
    case run_mode::full:
      break;
  }
  return {{.rows = 8, .cols = 128},
          {.rows = 64, .cols = 1000},
          {.rows = 4096, .cols = 77},
          {.rows = 16, .cols = 32000}};
}

std::vector<shape> score_shapes(run_mode mode) {
  switch (mode) {
    case run_mode::smoke:
      return {{.rows = 4, .cols = 16384}};
    case run_mode::quick:
      return {{.rows = 256, .cols = 4096}};
    case run_mode::full:
      break;
  }
  return {{.rows = 16384, .cols = 512}, {.rows = 1024, .cols = 4096}};
}

std::string attention_shape::label() const {
  const auto n = [](std::size_t v) { return std::to_string(v); };
  if (decode) return "decode/" + n(heads) + "x" + n(kv_len) + "x" + n(d);
  return "prefill/" + n(heads) + "x" + n(q_len) + "x" + n(kv_len) + "x" + n(d) +
         (causal ? "/causal" : "");
}

std::size_t attention_shape::kept_scores() const {
  if (!causal) return heads * q_len * kv_len;
  // Query r keeps min(r + 1, kv_len) keys.
  std::size_t kept = 0;
  for (std::size_t r = 0; r < q_len; ++r) kept += std::min(r + 1, kv_len);
  return heads * kept;
}

std::vector<attention_shape> attention_shapes(run_mode mode) {
  const std::vector<std::size_t> both{1, 2}, one{1};
  std::vector<attention_shape> shapes;
  const auto prefill = [&](std::size_t heads, std::size_t len, std::size_t d,
                           const std::vector<std::size_t>& threads) {
    for (const bool causal : {false, true})
      shapes.push_back({.decode = false,
                        .heads = heads,
                        .q_len = len,
                        .kv_len = len,
                        .d = d,
                        .causal = causal,
                        .threads = threads});
  };
  const auto decode = [&](std::size_t heads, std::size_t kv_len, std::size_t d) {
    shapes.push_back({.decode = true,
                      .heads = heads,
                      .q_len = 1,
                      .kv_len = kv_len,
                      .d = d,
                      .causal = false,
                      .threads = both});
  };
  switch (mode) {
    case run_mode::smoke:
      prefill(2, 16, 8, both);
      decode(2, 64, 8);
      return shapes;
    case run_mode::quick:
      prefill(8, 512, 64, both);
      decode(8, 4096, 128);
      return shapes;
    case run_mode::full:
      break;
  }
  prefill(8, 512, 64, both);
  prefill(8, 2048, 128, both);
  prefill(1, 2048, 128, one);
  for (const std::size_t kv_len : {4096, 32768, 131072}) decode(8, kv_len, 128);
  return shapes;
}

std::vector<shape> input_set_shapes(run_mode mode) {
  if (mode == run_mode::smoke) return vectors_of({16});
  return vectors_of({4096, 1 << 20});
}

}  // namespace softlab::bench
