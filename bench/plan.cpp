// bench/plan.cpp: the sizes and shapes of each run mode.
#include "plan.hpp"

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

std::vector<shape> input_set_shapes(run_mode mode) {
  if (mode == run_mode::smoke) return vectors_of({16});
  return vectors_of({4096, 1 << 20});
}

}  // namespace softlab::bench
