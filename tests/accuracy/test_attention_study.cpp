// tests/accuracy/test_attention_study.cpp: the attention study end to end, in process, on every
// family drawn at a tiny shape: every type, kernel and ISA of the builtin attention registry;
// its rows, its CSV and its JSON.
#include "support.hpp"

#include <softlab_accuracy/attention_study.hpp>

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

using namespace softlab;
using namespace softlab::accuracy;

namespace {

/// Every family of the study at a shape small enough for the sanitizer build: 2 query heads on
/// 1 K/V head, 6 query rows, 16 keys, d = 8 (the causal offsets moved with the shape).
std::vector<attention_family> tiny_families() {
  std::vector<attention_family> result;
  for (attention_family f : attention_families()) {
    f.q_heads = 2;
    f.kv_heads = 1;
    f.q_len = f.q_len == 1 ? 1 : 6;
    f.kv_len = 16;
    f.d = 8;
    if (f.causal) f.causal = std::ptrdiff_t(f.kv_len - f.q_len);
    if (f.sampled_rows != 0) f.sampled_rows = 3;
    result.push_back(f);
  }
  return result;
}

std::size_t count_lines(const std::string& text) {
  std::size_t n = 0;
  for (const char c : text) n += c == '\n' ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("attention study: every family at a tiny shape, every type, kernel and ISA") {
  const attention_registry reg = builtin_attention_registry();
  attention_study_options options;
  options.family_list = tiny_families();
  options.threads = 2;
  std::ostringstream progress;
  const attention_study_result result = run_attention_study(reg, options, progress);

  std::size_t expected = 0;
  for_each_type(attention_element_types{}, [&]<class T>() {
    for (const attention_kernel<T>& k : reg.kernels<T>()) {
      std::size_t isas = 0;
      for (const isa which : available_isas()) isas += (k.isas & isa_bit(which)) != 0 ? 1 : 0;
      expected += options.family_list.size() * std::max<std::size_t>(isas, 1);
    }
  });
  REQUIRE(result.cells.size() == expected);
  CHECK(result.errors.empty());
  CHECK(result.notes.empty());  // no element over its bound
  CHECK(progress.str().find("long_causal") != std::string::npos);

  for (const attention_cell& c : result.cells) {
    INFO(c.implementation << " " << c.type << " " << c.isa << " " << c.family);
    const attention_cell_metrics& m = c.metrics;
    CHECK(c.meets_contract);  // the builtin registry has no peer
    CHECK(c.origin == "softlab");
    CHECK(!c.family_description.empty());
    CHECK(c.sampled_rows == (c.family == "long_causal" ? 2 * 3 : c.rows));
    REQUIRE(m.max_ratio_to_bound.has_value());
    CHECK(*m.max_ratio_to_bound <= 1);
    CHECK(m.over_bound_count == 0);
    CHECK(m.nan_count == 0);
    CHECK(m.max_logsumexp_ratio.value_or(2) <= 1);
    CHECK(m.max_componentwise_u >= m.median_componentwise_u);
    CHECK(m.ulp_elements <= m.elements);
    if (c.mask == "none") {
      CHECK(m.masked_rows == 0);
      CHECK(m.elements == c.sampled_rows * c.d);
    } else {
      // Rows 0 and 5 of each head are fully masked: the contract's zeros.
      CHECK(m.masked_rows == 2 * c.q_heads);
      CHECK(m.masked_rows_zero == m.masked_rows);
      CHECK(m.masked_rows_nan == 0);
    }
  }

  const std::string csv = attention_csv(result);
  std::string header;
  for (std::size_t i = 0; i < attention_csv_columns.size(); ++i)
    header += concat(i > 0 ? "," : "", attention_csv_columns[i]);
  CHECK(csv.substr(0, csv.find('\n')) == header);
  CHECK(count_lines(csv) == result.cells.size() + 1);
  const softlab::accuracy_test::temporary_directory dir("attention");
  write_file_atomically(dir.path() / "attention.json",
                        attention_json(result, collect_attention_meta(reg, options, result, "t")));
  CHECK(softlab::accuracy_test::valid_json(dir.path() / "attention.json"));
  const std::string json = softlab::accuracy_test::read_text(dir.path() / "attention.json");
  CHECK(json.find("\"kind\": \"masks\"") != std::string::npos);
  CHECK(json.find("{\"name\": \"bf16\", \"precision_bits\": 8}") != std::string::npos);
}

TEST_CASE("attention study: options are checked; rows are sampled with the first and the last") {
  const attention_registry reg = builtin_attention_registry();
  attention_study_options options;
  options.families = {"no_such_family"};
  CHECK_THROWS_WITH(validate(options, reg),
                    Catch::Contains("no_such_family") && Catch::Contains("decode_32k"));
  options.families = {};
  options.implementations = {"nope"};
  CHECK_THROWS_WITH(validate(options, reg),
                    Catch::Contains("nope") && Catch::Contains("materialized:stable"));
  options.implementations = {};
  options.types = {"double"};
  CHECK_THROWS_WITH(validate(options, reg), Catch::Contains("bf16"));

  attention_family f;
  f.q_len = 512;
  f.sampled_rows = 8;
  const std::vector<std::size_t> rows = sampled_query_rows(f, false);
  REQUIRE(rows.size() == 8);
  CHECK(rows.front() == 0);
  CHECK(rows.back() == 511);
  CHECK(sampled_query_rows(f, true).size() == 32);
  f.sampled_rows = 0;
  CHECK(sampled_query_rows(f, false).size() == 512);
}
