// tests/accuracy/test_tool.cpp: `softlab check` and `softlab accuracy`, run as processes.
#include "../cli/support.hpp"  // the tool as a process, require_rejected
#include "process.hpp"
#include "support.hpp"

#include <softlab_accuracy/output.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace softlab::cli_test;
using softlab::accuracy_test::read_text;
using softlab::accuracy_test::temporary_directory;

namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> result;
  for (std::string w; in >> w;) result.push_back(w);
  return result;
}

}  // namespace

TEST_CASE("check: a table of every implementation on the user's scores") {
  const run_result r = run_softlab({"check"}, "0.1 0.2 0.3 -inf 100");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  const std::vector<std::string> text = lines(r.out);
  REQUIRE(text.size() >= 7);  // header, six builtin implementations (xsimd once per ISA)
  CHECK(words(text[0]) == std::vector<std::string>{"implementation", "isa", "max_ulp",
                                                   "max_ulp_normal", "normwise", "nan",
                                                   "wrong_zero", "worst_index", "worst_x",
                                                   "worst_y", "worst_exact"});
  bool stable_seen = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const std::vector<std::string> row = words(text[i]);
    REQUIRE(row.size() == 11);
    if (row[0] == "stable") {
      stable_seen = true;
      CHECK(std::stod(row[2]) <= 1);  // 0.2 has a subnormal weight e^-99.8; kept, rounded
      CHECK(row[5] == "0");           // no NaN
    }
    if (row[0] == "naive") CHECK(row[5] == "1");  // exp(100) overflows: inf / inf
  }
  CHECK(stable_seen);
}

TEST_CASE("check: FILE, --type and --format hex") {
  const temporary_directory dir("check");
  const auto file = dir.path() / "scores.txt";
  std::ofstream(file) << "1.5, -2\n0x1p-3\n";
  const run_result r = run_softlab({"check", file.string(), "--type", "double", "--format", "hex"});
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("0x1p-3") != std::string::npos);  // x of some worst element, in hex
  CHECK(r.out.find("0x") != std::string::npos);
}

TEST_CASE("check: bad input names the token and its position, exit 2, nothing on stdout") {
  require_rejected(run_softlab_without_peers({"check"}, "1 2 x3"),
                   {"token 3", "\"x3\"", "line 1", "column 5"});
  require_rejected(run_softlab_without_peers({"check"}, ""), {"no scores"});
  require_rejected(run_softlab_without_peers({"check", "/no/such/file"}), {"/no/such/file"});
  require_rejected(run_softlab_without_peers({"check", "--type", "quad"}, "1"),
                   {"\"quad\"", "float"});
  require_rejected(run_softlab_without_peers({"check", "--type", "bin50", "--format", "hex"}, "1"),
                   {"hex"});
  const temporary_directory dir("check-bad");
  const auto file = dir.path() / "bad.txt";
  std::ofstream(file) << "1\n2 oops\n";
  require_rejected(run_softlab_without_peers({"check", file.string()}),
                   {"token 3", "\"oops\"", "line 2", "column 3", file.string()});
}

TEST_CASE("accuracy: a tiny study through the tool writes both files atomically") {
  const temporary_directory dir("tool");
  const auto out = dir.path() / "data";
  const run_result r = run_softlab({"accuracy", "--out", out.string(), "--family", "uniform_1",
                                    "--family", "causal_mask", "--n", "5", "--type", "float",
                                    "--type", "double", "--reference-threads", "2"});
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("uniform_1") != std::string::npos);  // progress
  const std::string csv = read_text(out / "accuracy.csv");
  const std::vector<std::string> rows = lines(csv);
  REQUIRE(rows.size() > 1);
  CHECK(rows[0].rfind("implementation,origin,type,isa,family,n,vectors,seed,max_ulp,", 0) == 0);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    CHECK((rows[i].find(",float,") != std::string::npos ||
           rows[i].find(",double,") != std::string::npos));
    CHECK((rows[i].find(",uniform_1,5,") != std::string::npos ||
           rows[i].find(",causal_mask,5,") != std::string::npos));
  }
  CHECK(softlab::accuracy_test::valid_json(out / "accuracy.json"));
  CHECK(read_text(out / "accuracy.json").find("\"command_line\"") != std::string::npos);
  for (const auto& entry : std::filesystem::directory_iterator(out))
    CHECK(entry.path().extension() != ".tmp");
  CHECK(r.out.find("accuracy.csv") != std::string::npos);
}

TEST_CASE("accuracy: unknown names are bad usage, an unwritable --out is exit 1, no files") {
  require_rejected(run_softlab_without_peers({"accuracy", "--family", "nope"}),
                   {"\"nope\"", "uniform_1"});
  require_rejected(run_softlab_without_peers({"accuracy", "--impl", "nope"}),
                   {"\"nope\"", "stable"});
  require_rejected(run_softlab_without_peers({"accuracy", "--type", "quad"}),
                   {"\"quad\"", "double"});
  const temporary_directory dir("tool-bad");
  const auto blocker = dir.path() / "file";
  std::ofstream(blocker) << "x";
  const run_result r = run_softlab({"accuracy", "--out", (blocker / "data").string(), "--family",
                                    "uniform_1", "--n", "3", "--type", "float"});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find((blocker / "data").string()) != std::string::npos);
}

TEST_CASE("accuracy --attention: attention's names are checked, --n is the softmax study's") {
  require_rejected(run_softlab_without_peers({"accuracy", "--attention", "--family", "uniform_1"}),
                   {"\"uniform_1\"", "decode_32k"});
  require_rejected(run_softlab_without_peers({"accuracy", "--attention", "--n", "3"}), {"--n"});
}

TEST_CASE("blanchard: the tool writes the per-vector and summary files, bad input is named") {
  const temporary_directory dir("tool-blanchard");
  const auto out = dir.path() / "data";
  const run_result r =
      run_softlab({"blanchard", "--out", out.string(), "--max-vectors", "20", "--family-vectors",
                   "2", "--type", "fp16sim", "--type", "float"});
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  const std::vector<std::string> rows = lines(read_text(out / "blanchard.csv"));
  REQUIRE(rows.size() > 1);
  CHECK(rows[0].rfind("source,index,type,algorithm,theorem,bound,", 0) == 0);
  CHECK(read_text(out / "blanchard.csv").find("mnist,19,fp16sim,theirs:shifted,4.3,") !=
        std::string::npos);
  const std::string summary = read_text(out / "blanchard_summary.csv");
  CHECK(summary.find("mnist,fp16sim,theirs:basic,3.3,20,") != std::string::npos);
  CHECK(summary.find("families,float,stable,4.3,") != std::string::npos);

  require_rejected(run_softlab_without_peers({"blanchard", "--type", "half"}),
                   {"\"half\"", "fp16sim"});
  const auto bad = dir.path() / "bad.csv";
  std::ofstream(bad) << "x1,x2\n1,2\n1,nope\n";
  require_rejected(
      run_softlab_without_peers({"blanchard", "--data", bad.string(), "--out", out.string()}),
      {bad.string(), "line 3", "column 2", "\"nope\""});
}
