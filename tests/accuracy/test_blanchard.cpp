// tests/accuracy/test_blanchard.cpp: the reproduction of Blanchard, Higham & Higham (2021) on
// the project's copy of their data, and the reading of that data.
#include "support.hpp"

#include <softlab_accuracy/blanchard.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using softlab::accuracy::blanchard_result;
using softlab::accuracy::blanchard_row;
using softlab::accuracy_test::temporary_directory;

namespace {

const std::vector<std::vector<float>>& their_data() {
  static const std::vector<std::vector<float>> data =
      softlab::accuracy::read_logit_vectors(SOFTLAB_BLANCHARD_DATA);
  return data;
}

blanchard_result run_on_their_data(std::vector<std::string> types) {
  softlab::accuracy::blanchard_options options;
  options.family_vectors = 0;
  options.types = std::move(types);
  std::ostringstream progress;
  return softlab::accuracy::run_blanchard(softlab::builtin_registry(), their_data(), options,
                                          progress);
}

std::size_t count_if_row(const blanchard_result& r, const std::string& type,
                         const std::string& algorithm, bool (*predicate)(const blanchard_row&)) {
  std::size_t count = 0;
  for (const blanchard_row& row : r.rows)
    if (row.type == type && row.algorithm == algorithm && predicate(row)) ++count;
  return count;
}

}  // namespace

TEST_CASE("blanchard: their data are 2500 float32 vectors of 10 logits") {
  REQUIRE(their_data().size() == 2500);
  for (const std::vector<float>& v : their_data()) REQUIRE(v.size() == 10);
  // The first value of their first vector, as printed in the CSV.
  CHECK(their_data()[0][0] == 9.86809254f);
}

TEST_CASE("blanchard: a malformed file is named with its line and column") {
  const temporary_directory dir("blanchard");
  const auto write = [&](const std::string& text) {
    const auto path = dir.path() / "x.csv";
    std::ofstream(path) << text;
    return path;
  };
  const auto expect_error = [](const std::filesystem::path& path,
                               const std::vector<std::string>& mentions) {
    try {
      (void)softlab::accuracy::read_logit_vectors(path);
      FAIL("no error");
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      INFO(message);
      CHECK(message.find(path.string()) != std::string::npos);
      for (const std::string& m : mentions) CHECK(message.find(m) != std::string::npos);
    }
  };
  expect_error(write("a,b\n1,2\n3,x\n"), {"line 3", "column 2", "\"x\""});
  expect_error(write("a,b\n1,2\n3\n"), {"line 3", "1 values", "first row had 2"});
  expect_error(write("a,b\n1,inf\n"), {"line 2", "column 2", "\"inf\""});
  expect_error(write("a,b\n1,\n"), {"line 2", "column 2"});
  expect_error(write("a,b\n"), {"no data rows"});
  CHECK_THROWS_AS(softlab::accuracy::read_logit_vectors(dir.path() / "missing.csv"),
                  std::runtime_error);
}

TEST_CASE("blanchard: their fp16 overflow counts: 475 of 2500 unshifted, 0 shifted") {
  // chop_test_softmax.m reports numInfs = 475 (unshifted lse in fp16) and numInfs_shift = 0.
  const blanchard_result r = run_on_their_data({"fp16sim", "bf16sim"});
  const auto overflowed = [](const blanchard_row& row) { return row.overflow; };
  const auto lse_overflowed = [](const blanchard_row& row) { return !row.their_lse_finite; };
  CHECK(count_if_row(r, "fp16sim", "theirs:basic", lse_overflowed) == 475);
  CHECK(count_if_row(r, "fp16sim", "theirs:basic", overflowed) == 475);
  CHECK(count_if_row(r, "fp16sim", "theirs:shifted", overflowed) == 0);
  CHECK(count_if_row(r, "fp16sim", "theirs:shifted_alt", overflowed) == 0);
  // bfloat16 has float's exponent range: nothing overflows.
  CHECK(count_if_row(r, "bf16sim", "theirs:basic", overflowed) == 0);
}

TEST_CASE("blanchard: errors stay under their leading-order bounds, both references agree") {
  const blanchard_result r = run_on_their_data({"fp16sim", "bf16sim"});
  std::size_t measured = 0;
  for (const blanchard_row& row : r.rows) {
    if (row.theorem.empty() || row.overflow || !row.their_lse_finite) continue;
    INFO(row.type << " " << row.algorithm << " vector " << row.index);
    ++measured;
    // The theorems bound the error against the exact softmax to first order in u; at
    // u = 2^-11 the second-order terms are far below the margin observed (ratio <= 0.37).
    CHECK(row.error_exact <= row.bound);
    // Their float32 reference is within a few float ULP of the exact result, that is, within
    // 2^-13 (fp16) of the low precision's units: their metric and ours differ by at most that
    // much (times max|g| / max|g| ~ 1).
    CHECK(std::abs(row.error_their_reference - row.error_exact) < 0.01);
  }
  CHECK(measured > 2 * 2025 * 7 - 100);
}

TEST_CASE("blanchard: naive is their unshifted algorithm, step for step") {
  const blanchard_result r = run_on_their_data({"float"});
  std::vector<double> theirs, naive;
  for (const blanchard_row& row : r.rows) {
    if (row.algorithm == "theirs:basic") theirs.push_back(row.error_exact);
    if (row.algorithm == "naive") naive.push_back(row.error_exact);
  }
  REQUIRE(theirs.size() == 2500);
  CHECK(theirs == naive);
}
