// tests/cli/test_attention.cpp: `softlab attention`, the seed example.
#include "support.hpp"

#include <set>
#include <sstream>
#include <string>

using namespace softlab;
using namespace softlab::cli_test;

namespace {

struct table_row {
  std::string index, key, score, weight;
};

/// The rows of the attention table, header checked and dropped.
std::vector<table_row> attention_rows(const std::vector<std::string>& args) {
  std::vector<std::string> full{"attention"};
  full.insert(full.end(), args.begin(), args.end());
  const run_result r = run_softlab_without_peers(full);  // softlab's implementations only
  INFO("stderr: " << r.err);
  REQUIRE(r.status == 0);
  REQUIRE(r.err.empty());
  const std::vector<std::string> text = lines(r.out);
  REQUIRE(!text.empty());
  std::istringstream header(text[0]);
  std::string a, b, c, d;
  header >> a >> b >> c >> d;
  REQUIRE((a == "index" && b == "key" && c == "score" && d == "weight"));
  std::vector<table_row> rows;
  for (std::size_t i = 1; i < text.size(); ++i) {
    std::istringstream line(text[i]);
    table_row row;
    line >> row.index >> row.key >> row.score >> row.weight;
    REQUIRE(!line.fail());
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("attention: the seed example, query 0.5 and keys 0.1,0.5,0.3,0.9") {
  const auto rows = attention_rows({"--query", "0.5", "--keys", "0.1,0.5,0.3,0.9"});
  REQUIRE(rows.size() == 4);
  const std::vector<std::string> keys{"0.1", "0.5", "0.3", "0.9"};
  const std::vector<std::string> scores{"0.05", "0.25", "0.15", "0.45"};
  const registry reg = builtin_registry();
  std::vector<double> k{0.1, 0.5, 0.3, 0.9}, w(4);
  softlab::pairwise_attention<softlab::stable>(0.5, k, w);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(rows[i].index == std::to_string(i + 1));
    CHECK(rows[i].key == keys[i]);
    CHECK(rows[i].score == scores[i]);
    CHECK(rows[i].weight == cli::format_value(w[i], cli::number_format::dec));
  }
}

TEST_CASE("attention: every implementation and type agrees with the library, dec and hex") {
  // dec for every implementation, hex for the first of each type (as the softmax test).
  std::set<std::string> hex_printed;
  for_each_contract_kernel([&]<class T>(const kernel<T>& k, const std::string& type) {
    INFO(k.facts.name << " " << type);
    const T q = *cli::parse_value<T>("0.5");
    std::vector<T> scores;
    for (const char* key : {"0.1", "0.5", "0.3", "0.9"})
      scores.push_back(T(q * *cli::parse_value<T>(key)));
    for (const auto format : {cli::number_format::dec, cli::number_format::hex}) {
      if (!cli::supports_format<T>(format)) continue;
      if (format == cli::number_format::hex && !hex_printed.insert(type).second) continue;
      const std::string name = format == cli::number_format::dec ? "dec" : "hex";
      const auto rows =
          attention_rows({"--query", "0.5", "--keys", "0.1,0.5,0.3,0.9", "--impl",
                          std::string(k.facts.name), "--type", type, "--format", name});
      const auto expected = library_weights(k, scores, format);
      REQUIRE(rows.size() == expected.size());
      for (std::size_t i = 0; i < rows.size(); ++i) {
        CHECK(rows[i].score == cli::format_value(scores[i], format));
        CHECK(rows[i].weight == expected[i]);
      }
    }
  });
}

TEST_CASE("attention: negative query and keys are values, not flags") {
  const auto rows = attention_rows({"--query", "-3", "--keys", "-1,2"});
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].key == "-1");
  CHECK(rows[0].score == "3");
  CHECK(rows[1].key == "2");
  CHECK(rows[1].score == "-6");
  std::vector<double> k{-1, 2}, w(2);
  softlab::pairwise_attention<softlab::stable>(-3.0, k, w);
  CHECK(rows[0].weight == cli::format_value(w[0], cli::number_format::dec));
  CHECK(rows[1].weight == cli::format_value(w[1], cli::number_format::dec));

  // Forms CLI11 alone would read as flags, and the --opt=value form.
  const auto inf = attention_rows({"--keys", "-.5,inf", "--query", "-inf"});
  REQUIRE(inf.size() == 2);
  CHECK(inf[0].score == "inf");
  CHECK(inf[1].score == "-inf");
  CHECK(inf[0].weight == "1");
  CHECK(inf[1].weight == "0");
  const auto equals = attention_rows({"--query=-0x1p-1", "--keys=-2"});
  REQUIRE(equals.size() == 1);
  CHECK(equals[0].score == "1");
  CHECK(equals[0].weight == "1");
}
