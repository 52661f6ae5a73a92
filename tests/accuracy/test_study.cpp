// tests/accuracy/test_study.cpp: a small study end to end, in process: every type, a few
// families, tiny n; its rows, its CSV and its JSON.
#include "support.hpp"

#include <softlab_accuracy/output.hpp>
#include <softlab_accuracy/study.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>

using namespace softlab;
using namespace softlab::accuracy;
using softlab::accuracy_test::temporary_directory;

namespace {

std::size_t count_lines(const std::string& text) {
  std::size_t n = 0;
  for (const char c : text) n += c == '\n' ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("study: a few families at n = 3, every type, every kernel and ISA") {
  const registry reg = builtin_registry();
  study_options options;
  options.families = {"uniform_1", "one_nan", "fully_masked"};
  options.sizes = {3};
  options.threads = 2;
  std::ostringstream progress;
  const study_result result = run_study(reg, options, progress);

  // One cell per (type, family, kernel, ISA); five special inputs per (type, kernel, ISA).
  std::size_t expected_cells = 0, expected_specials = 0;
  std::set<std::string> types;
  for_each_type(element_types{}, [&]<class T>() {
    types.insert(std::string(type_token_v<T>));
    for (const kernel<T>& k : reg.kernels<T>()) {
      expected_cells += options.families.size() * kernel_isas(k).size();
      expected_specials += 5 * kernel_isas(k).size();
    }
  });
  REQUIRE(result.cells.size() == expected_cells);
  CHECK(result.special_values.size() == expected_specials);
  CHECK(result.errors.empty());
  std::set<std::string> seen_types;
  for (const cell_row& row : result.cells) seen_types.insert(row.type);
  CHECK(seen_types == types);
  CHECK(progress.str().find("uniform_1") != std::string::npos);

  for (const cell_row& row : result.cells) {
    INFO(row.implementation << " " << row.type << " " << row.isa << " " << row.family);
    const cell_metrics& m = row.metrics;
    CHECK(row.n == 3);
    CHECK(m.elements == 3 * row.vectors);
    CHECK(row.seed == family_seed(options.seed, row.family, 3, 0));
    // The registry says which implementations keep the contract (all but the naive baseline).
    bool contract = false;
    for_each_type(element_types{}, [&]<class T>() {
      if (row.type == type_token_v<T>)
        if (const kernel<T>* k = reg.find<T>(row.implementation))
          contract = k->facts.meets_contract;
    });
    if (row.family == "one_nan") {
      CHECK(m.nan_count == m.elements);  // every output NaN: the contract
      CHECK(m.max_ulp == 0);
      CHECK(std::isnan(m.argmax_preserved));
    }
    if (row.family == "fully_masked" && contract) {
      CHECK(m.max_ulp == 0);
      CHECK(m.max_sum_error == 0);
      CHECK(m.wrong_nonzero_count == 0);
      CHECK(m.argmax_preserved == 1);
    }
    if (row.family == "uniform_1" && contract) {
      CHECK(m.max_observed_over_stated <= 1);
      CHECK(m.nan_count == 0);
      CHECK(m.argmax_preserved == 1);
      CHECK(m.log_softmax_error.has_value());
    }
  }

  // The files: the CSV's header and one line per cell; the JSON parses.
  const temporary_directory dir("study");
  const std::string csv = study_csv(result);
  std::string header;
  for (std::size_t c = 0; c < csv_columns.size(); ++c)
    header += concat(c > 0 ? "," : "", csv_columns[c]);
  CHECK(csv.substr(0, csv.find('\n')) == header);
  CHECK(count_lines(csv) == result.cells.size() + 1);
  write_file_atomically(dir.path() / "accuracy.csv", csv);
  const run_meta meta = collect_meta(reg, options, result, "test");
  const std::string json = study_json(result, meta);
  write_file_atomically(dir.path() / "accuracy.json", json);
  CHECK(softlab::accuracy_test::valid_json(dir.path() / "accuracy.json"));
  CHECK(json.find("\"special_values\"") != std::string::npos);
  CHECK(json.find("\"cpu\"") != std::string::npos);
  // The vocabulary the report scripts read: kinds and size classes, every type's precision.
  CHECK(json.find("\"kind\": \"finite\"") != std::string::npos);
  CHECK(json.find("\"types\": [") != std::string::npos);
  CHECK(json.find("{\"name\": \"float\", \"precision_bits\": 24, \"ieee_storage\": true, "
                  "\"storage_bits\": 32}") != std::string::npos);
  CHECK(json.find("{\"name\": \"bf16\", \"precision_bits\": 8, \"ieee_storage\": true, "
                  "\"storage_bits\": 16}") != std::string::npos);
}

TEST_CASE("study: options are checked against the registry, the families and the types") {
  const registry reg = builtin_registry();
  study_options options;
  options.families = {"no_such_family"};
  CHECK_THROWS_WITH(validate(options, reg),
                    Catch::Contains("no_such_family") && Catch::Contains("uniform_1"));
  options.families = {};
  options.implementations = {"nope"};
  CHECK_THROWS_WITH(validate(options, reg), Catch::Contains("nope") && Catch::Contains("stable"));
  options.implementations = {};
  options.types = {"quad"};
  CHECK_THROWS_WITH(validate(options, reg), Catch::Contains("quad") && Catch::Contains("double"));
}

TEST_CASE("study: sizes per family and type") {
  study_options options;
  const family_spec& uniform = *find_family("uniform_1");
  const family_spec& large = *find_family("large_n");
  CHECK(study_sizes(uniform, 24, options) == std::vector<std::size_t>{10, 1000, 100000});
  CHECK(study_sizes(large, 53, options) == std::vector<std::size_t>{1000000});
  CHECK(study_sizes(large, 64, options) == std::vector<std::size_t>{100000});
  CHECK(study_sizes(uniform, 168, options) == std::vector<std::size_t>{10, 100});
  options.full = true;
  CHECK(study_sizes(large, 24, options) == std::vector<std::size_t>{1000000, 16777216});
  CHECK(study_sizes(uniform, 334, options).back() == 1000);
  options.sizes = {5, 5000};
  CHECK(study_sizes(uniform, 168, options) == std::vector<std::size_t>{5});
}
