// tests/cli/test_softmax.cpp: `softlab softmax` against the contract and the library.
#include "support.hpp"

#include <cstdio>
#include <set>
#include <string>

using namespace softlab;
using namespace softlab::cli_test;

namespace {

/// The tool's output lines; by default from the tool without the peers (softlab's own
/// implementations), run_softlab for the threaded runs (the peers' OpenMP runtime loaded).
std::vector<std::string> softmax_lines(const std::string& impl, const std::string& type,
                                       const std::string& input,
                                       std::vector<std::string> extra = {},
                                       decltype(&run_softlab) run = &run_softlab_without_peers) {
  std::vector<std::string> args{"softmax", "--impl", impl, "--type", type};
  args.insert(args.end(), extra.begin(), extra.end());
  const run_result r = run(args, input);
  INFO("softlab " << impl << " " << type << " < " << input << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  REQUIRE(r.err.empty());
  return lines(r.out);
}

using lines_t = std::vector<std::string>;

}  // namespace

// The limits as rows of one run (--rows 3): one tool start per implementation and type (of the
// tool without the peers: softlab's implementations only, no libtorch to load).
TEST_CASE("softmax: the contract's limits for every implementation and type") {
  for_each_contract_kernel([](const auto& k, const std::string& type) {
    const std::string impl(k.facts.name);
    INFO(impl << " " << type);
    CHECK(softmax_lines(impl, type, "-inf -inf -inf -inf\n1 inf 2 inf\n1 nan 2 3\n",
                        {"--rows", "3"}) ==
          lines_t{"0", "0", "0", "0", "0", "0.5", "0", "0.5", "nan", "nan", "nan", "nan"});
  });
}

TEST_CASE("softmax --log: the limits in the log domain") {
  for_each_contract_kernel([]<class T>(const kernel<T>& k, const std::string& type) {
    const std::string impl(k.facts.name);
    INFO(impl << " " << type);
    const lines_t out = softmax_lines(impl, type, "-inf,-inf,-inf,-inf\nNaN 1 1 1\n1 +INF 2 inf",
                                      {"--log", "--rows", "3"});
    REQUIRE(out.size() == 12);
    CHECK(lines_t(out.begin(), out.begin() + 4) == lines_t{"-inf", "-inf", "-inf", "-inf"});
    CHECK(lines_t(out.begin() + 4, out.begin() + 8) == lines_t{"nan", "nan", "nan", "nan"});
    const lines_t half(out.begin() + 8, out.end());
    CHECK(half[0] == "-inf");
    CHECK(half[2] == "-inf");
    if constexpr (is_narrow_format<T>)  // log(1/2), correctly rounded: -0.6934, -0.6914
      CHECK(half[1] == cli::format_value(T(-0.6931471805599453), cli::number_format::dec));
    else
      CHECK(half[1].rfind("-0.693147", 0) == 0);  // log(1/2)
    CHECK(half[3] == half[1]);
  });
}

TEST_CASE("softmax: output equals the library's result, dec and hex") {
  // The seed example's scores, also as hexfloat and with commas, newlines and blank lines.
  const std::string input = "0.05, 0.25\n\n0x1.3333333333333p-3 ,0.45\n";
  // dec for every implementation (the shortest decimal that reads back: it names the value);
  // hex, a printing of the type, for the first implementation of each type.
  std::set<std::string> hex_printed;
  for_each_contract_kernel([&]<class T>(const kernel<T>& k, const std::string& type) {
    const std::string impl(k.facts.name);
    INFO(impl << " " << type);
    const std::vector<T> x{*cli::parse_value<T>("0.05"), *cli::parse_value<T>("0.25"),
                           *cli::parse_value<T>("0x1.3333333333333p-3"),
                           *cli::parse_value<T>("0.45")};
    CHECK(softmax_lines(impl, type, input) == library_weights(k, x, cli::number_format::dec));
    if constexpr (cli::supports_format<T>(cli::number_format::hex)) {
      if (!hex_printed.insert(type).second) return;
      const lines_t hex = softmax_lines(impl, type, input, {"--format", "hex"});
      CHECK(hex == library_weights(k, x, cli::number_format::hex));
      // ... which is exactly printf's %a (%La) of the library's values (as doubles: float and
      // the simulated formats).
      std::vector<T> y(x.size());
      k.softmax(x, y);
      REQUIRE(hex.size() == y.size());
      for (std::size_t i = 0; i < y.size(); ++i) {
        char expected[64];
        if constexpr (std::is_same_v<T, long double>)
          std::snprintf(expected, sizeof expected, "%La", y[i]);
        else
          std::snprintf(expected, sizeof expected, "%a", static_cast<double>(y[i]));
        CHECK(hex[i] == expected);
      }
    }
  });
}

TEST_CASE("softmax: the defaults are stable and double") {
  const registry reg = builtin_registry();
  const kernel<double>* k = reg.find<double>("stable");
  REQUIRE(k != nullptr);
  const run_result r = run_softlab({"softmax"}, "0.05 0.25 0.15 0.45");
  REQUIRE(r.status == 0);
  CHECK(lines(r.out) ==
        library_weights(*k, std::vector<double>{0.05, 0.25, 0.15, 0.45}, cli::number_format::dec));
  CHECK(lines(r.out)[0] == "0.20753784191475178");
}

TEST_CASE("softmax: float input is rounded once, not through double") {
  // Just above the midpoint of 1 and 1 + 2^-23: float rounds up; through double it would be the
  // midpoint exactly, then 1 (ties to even). attention prints the key as parsed.
  const run_result r = run_softlab({"attention", "--type", "float", "--query", "1", "--keys",
                                    "1.0000000596046447753906250000001"});
  REQUIRE(r.status == 0);
  const std::vector<std::string> text = lines(r.out);
  REQUIRE(text.size() == 2);
  CHECK(text[1].rfind("1      1.0000001  1.0000001  1", 0) == 0);
}

namespace {

/// rows x cols scores, row r: (i % 97) / 8 - r, a -inf in row 1 and a NaN in the last row:
/// every row its own softmax, the limits included.
std::string score_matrix(std::size_t rows, std::size_t cols) {
  std::string text;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      if (r == 1 && c == 2)
        text += "-inf";
      else if (r + 1 == rows && rows > 2 && c == 0)
        text += "nan";
      else
        text += std::to_string(double(c % 97) / 8 - double(r));
      text += c + 1 < cols ? ' ' : '\n';
    }
  }
  return text;
}

}  // namespace

TEST_CASE("softmax --rows: one softmax per row, the same bits on 1 and 2 threads") {
  // A small matrix (one thread whatever is asked) and one large enough for two (3 x 12000:
  // 36000 elements, above 2 x detail::min_elements_per_thread).
  REQUIRE(3 * 12000 >= 2 * detail::min_elements_per_thread);
  const registry reg = builtin_registry();
  for (const std::size_t cols : {4, 12000}) {
    const std::string input = score_matrix(3, cols);
    for (const char* impl : {"stable", "fast"}) {
      for (const char* type : {"float", "double"}) {
        INFO(impl << " " << type << ", 3 rows of " << cols);
        // The matrix that splits runs in the tool with the peers (their OpenMP runtime loaded).
        const auto run = cols > 4 ? &run_softlab : &run_softlab_without_peers;
        const lines_t one = softmax_lines(
            impl, type, input, {"--rows", "3", "--threads", "1", "--format", "hex"}, run);
        const lines_t two = softmax_lines(
            impl, type, input, {"--rows", "3", "--threads", "2", "--format", "hex"}, run);
        REQUIRE(one.size() == 3 * cols);
        CHECK(one == two);
        // ... and row by row what the library's softmax gives each row alone.
        auto per_row = [&]<class T>() {
          const std::vector<T> x = cli::parse_scores<T>(input, "").values;
          lines_t expected;
          for (std::size_t r = 0; r < 3; ++r) {
            const std::vector<T> row(x.begin() + r * cols, x.begin() + (r + 1) * cols);
            for (const std::string& w :
                 library_weights(*reg.find<T>(impl), row, cli::number_format::hex))
              expected.push_back(w);
          }
          return expected;
        };
        if (std::string(type) == "float")
          CHECK(one == per_row.template operator()<float>());
        else
          CHECK(one == per_row.template operator()<double>());
      }
    }
  }
  // --log, per row; and without --threads (the default count): the same lines.
  const std::string small = score_matrix(3, 4);
  const lines_t logs = softmax_lines("stable", "double", small, {"--rows", "3", "--log"});
  CHECK(logs ==
        softmax_lines("stable", "double", small, {"--rows", "3", "--log", "--threads", "2"}));
  CHECK(logs[4 + 2] == "-inf");  // row 1's -inf
  CHECK(softmax_lines("stable", "double", "1 2 3 4") ==
        softmax_lines("stable", "double", "1 2 3 4", {"--rows", "1", "--threads", "3"}));
}

TEST_CASE("softmax --rows and --threads: bad values exit 2, named") {
  require_rejected(run_softlab_without_peers({"softmax", "--rows", "2"}, "1 2 3 4 5"),
                   {"--rows 2", "5 scores", "n = 5", "R = 2"});
  require_rejected(run_softlab_without_peers({"softmax", "--rows", "0"}, "1 2"), {"--rows 0"});
  require_rejected(run_softlab_without_peers({"softmax", "--threads", "0"}, "1 2"),
                   {"--threads 0"});
  require_rejected(run_softlab_without_peers({"softmax", "--rows", "3", "--threads", "0"}, "1 2 3"),
                   {"--threads 0"});
  require_rejected(run_softlab_without_peers({"softmax", "--threads", "-1"}, "1 2"), {"--threads"});
  require_rejected(run_softlab_without_peers({"softmax", "--rows", "-2"}, "1 2"), {"--rows"});
  // check's and accuracy's worker pools are --reference-threads; --threads is not theirs.
  require_rejected(run_softlab_without_peers({"check", "--threads", "2"}, "1 2"), {"--threads"});
  const run_result check =
      run_softlab_without_peers({"check", "--reference-threads", "2"}, "1 2 3");
  INFO(check.err);
  CHECK(check.status == 0);
}
