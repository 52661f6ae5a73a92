// tests/cli/test_attention.cpp: `softlab attention`, the seed example, and attention over .npy
// files written by numpy (the reader's own tests: test_npy.cpp).
#include "support.hpp"

#include <npy.hpp>
#include <softlab/attention_registry.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
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

namespace {

/// The attention registry the tool builds: the builtin implementations, and the peers when built.
attention_registry tool_attention_registry() {
  attention_registry reg = builtin_attention_registry();
#ifdef SOFTLAB_WITH_PEERS
  peers::register_attention_peers(reg);
#endif
  return reg;
}

/// A python3 with numpy, or empty: the .npy tests use numpy to write the inputs and to check O.
std::string python_with_numpy() {
  for (const char* python : {"/usr/bin/python3", "/usr/local/bin/python3"})
    if (std::filesystem::exists(python) &&
        std::system((std::string(python) + " -c 'import numpy' > /dev/null 2>&1").c_str()) == 0)
      return python;
  return {};
}

/// Runs python's script with the directory as its argument; true when it exits 0.
bool run_python(const std::string& python, const std::string& script,
                const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "script.py";
  std::ofstream(file) << script;
  return std::system((python + " '" + file.string() + "' '" + dir.string() + "'").c_str()) == 0;
}

/// The inputs, written by numpy as its users write them: Q in numpy's default float64 (the
/// tool rounds it to float and says so), K and V float32 with half as many heads (grouped-query
/// attention), a keep mask shared by every head. Then O's numpy reference, float64.
constexpr const char* numpy_inputs = R"(
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(20261201)
np.save(d + '/q.npy', rng.uniform(-2, 2, (2, 4, 6, 16)))
np.save(d + '/k.npy', rng.uniform(-2, 2, (2, 2, 9, 16)).astype(np.float32))
np.save(d + '/v.npy', rng.uniform(-1, 1, (2, 2, 9, 8)).astype(np.float32))
np.save(d + '/keep.npy', rng.uniform(0, 1, (6, 9)) < 0.7)
)";

constexpr const char* numpy_compare = R"(
import sys, numpy as np
d = sys.argv[1]
o = np.load(d + '/o.npy')
assert o.dtype == np.float32 and o.shape == (2, 4, 6, 8), (o.dtype, o.shape)
q = np.load(d + '/q.npy').astype(np.float32).astype(np.float64)
k = np.repeat(np.load(d + '/k.npy').astype(np.float64), 2, axis=1)  # head h reads K/V head h // 2
v = np.repeat(np.load(d + '/v.npy').astype(np.float64), 2, axis=1)
kept = np.load(d + '/keep.npy') & (np.arange(9)[None, :] <= np.arange(6)[:, None] + 3)
s = np.where(kept, q @ k.transpose(0, 1, 3, 2) * np.float32(0.25), -np.inf)
m = np.where(kept.any(-1, keepdims=True), s.max(-1, keepdims=True), 0)
p = np.exp(s - m)
p = p / np.where(kept.any(-1, keepdims=True), p.sum(-1, keepdims=True), 1)
ref = p @ v
err = np.abs(o - ref).max()
print('softlab attention --out against numpy: max |O - O_numpy| =', err)
assert err < 1e-5, err
)";

}  // namespace

TEST_CASE("attention: .npy files from numpy, --check and --out against numpy's O") {
  const std::string python = python_with_numpy();
  if (python.empty()) {
    WARN("no python3 with numpy: the .npy end-to-end test is skipped");
    return;
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("softlab_attention_npy_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  REQUIRE(run_python(python, numpy_inputs, dir));
  const std::string d = dir.string();
  const std::vector<std::string> files{"attention",     "--q",      d + "/q.npy", "--k",
                                       d + "/k.npy",    "--v",      d + "/v.npy", "--mask",
                                       d + "/keep.npy", "--causal", "3"};

  // --check: every implementation and peer, those with a bound within it (exit 0), the
  // rounding of Q noted; 4 of the 6 rows of each head checked.
  std::vector<std::string> check = files;
  check.insert(check.end(), {"--check", "--rows", "4"});
  const run_result checked = run_softlab(check);
  INFO("stdout: " << checked.out);
  INFO("stderr: " << checked.err);
  CHECK(checked.status == 0);
  CHECK(checked.err ==
        "softlab: note: --q " + d + "/q.npy: float64 (<f8) values rounded once to float\n");
  const std::vector<std::string> table = lines(checked.out);
  REQUIRE(table.size() > 3);
  CHECK(table[0].find("implementation") == 0);
  const attention_registry reg = tool_attention_registry();
  for (const attention_kernel<float>& k : reg.kernels<float>())
    CHECK(checked.out.find("\n" + std::string(k.facts.name) + " ") != std::string::npos);
  CHECK(checked.out.find("within bound") != std::string::npos);
  CHECK(checked.out.find("BEYOND") == std::string::npos);
  CHECK(checked.out.find("checked 4 of 6 query rows per head (8 heads), evenly spaced") !=
        std::string::npos);

  // --out: O as float32 [2, 4, 6, 8], against numpy's float64 computation.
  std::vector<std::string> out = files;
  out.insert(out.end(), {"--out", d + "/o.npy"});
  const run_result written = run_softlab(out);
  INFO("stderr: " << written.err);
  CHECK(written.status == 0);
  CHECK(written.out.empty());
  CHECK(run_python(python, numpy_compare, dir));

  // Printed in hex: the same values, one query row per line.
  std::vector<std::string> printed_args = files;
  printed_args.insert(printed_args.end(), {"--format", "hex"});
  const run_result printed = run_softlab(printed_args);
  CHECK(printed.status == 0);
  const cli::npy::array o = cli::npy::read(d + "/o.npy", "o.npy");
  const std::vector<std::string> rows = lines(printed.out);
  REQUIRE(rows.size() == 2 * 4 * 6);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string expected;
    for (std::size_t c = 0; c < 8; ++c)
      expected += (c > 0 ? " " : "") +
                  cli::format_value(float(o.number_at(r * 8 + c)), cli::number_format::hex);
    CHECK(rows[r] == expected);
  }

  std::filesystem::remove_all(dir);
}
