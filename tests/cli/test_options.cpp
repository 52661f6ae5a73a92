// tests/cli/test_options.cpp: `softlab softmax` and `softlab check` with --scale, --mask,
// --keep, --causal and --rows, and 16-bit storage read with one rounding and printed shortest.
#include "../accuracy/support.hpp"  // temporary_directory
#include "support.hpp"

#include <softlab/storage.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace softlab;
using namespace softlab::cli_test;
using softlab::accuracy_test::temporary_directory;

namespace {

using lines_t = std::vector<std::string>;

/// The tool's output lines; by default from the tool without the peers (these options are
/// softlab's own, and every start of the tool with them loads libtorch: most of this file's time),
/// run_softlab where the peers' OpenMP runtime matters (the threaded runs).
lines_t softmax_ok(const std::vector<std::string>& args, const std::string& input,
                   decltype(&run_softlab) run = &run_softlab_without_peers) {
  std::vector<std::string> all{"softmax"};
  all.insert(all.end(), args.begin(), args.end());
  const run_result r = run(all, input);
  INFO("stdin: " << input.substr(0, 200) << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  REQUIRE(r.err.empty());
  return lines(r.out);
}

std::string write(const temporary_directory& dir, const std::string& name,
                  const std::string& text) {
  const std::filesystem::path file = dir.path() / name;
  std::ofstream(file) << text;
  return file.string();
}

}  // namespace

TEST_CASE("softmax --scale: the softmax of scale * scores, negative scales included") {
  for (const char* impl : {"stable", "fast"}) {
    INFO(impl);
    const lines_t base = {"--impl", impl, "--format", "hex"};
    auto with = [&](std::vector<std::string> extra) {
      lines_t args = base;
      args.insert(args.end(), extra.begin(), extra.end());
      return args;
    };
    // Scaling by a power of two is exact: the same bits as the scaled scores.
    CHECK(softmax_ok(with({"--scale", "2"}), "1 2 3 -inf") == softmax_ok(base, "2 4 6 -inf"));
    CHECK(softmax_ok(with({"--scale", "-0.5"}), "1 2 4") == softmax_ok(base, "-0.5 -1 -2"));
    CHECK(softmax_ok(with({"--scale", "0x1p-3", "--log"}), "8 16") ==
          softmax_ok(with({"--log"}), "1 2"));
  }
  for (const char* bad : {"0", "nan", "-inf", "1e-400"})
    require_rejected(run_softlab_without_peers({"softmax", "--scale", bad}, "1 2"), {"scale"});
  require_rejected(run_softlab_without_peers({"softmax", "--scale", "two"}, "1 2"),
                   {"--scale", "\"two\""});
}

TEST_CASE("softmax --mask and --keep: per score, or per column with --rows") {
  const temporary_directory dir("options-mask");
  const std::string mask = write(dir, "mask.txt", "0 -inf\n0 -1\n");
  const std::string column_mask = write(dir, "columns.txt", "0, -inf");
  const std::string keep = write(dir, "keep.txt", "1 0 1 1");
  for (const char* type : {"double", "bf16"}) {
    INFO(type);
    const lines_t base{"--type", type, "--format", "hex", "--rows", "2"};
    auto with = [&](std::vector<std::string> extra) {
      lines_t args = base;
      args.insert(args.end(), extra.begin(), extra.end());
      return args;
    };
    CHECK(softmax_ok(with({"--mask", mask}), "1 2 3 5") == softmax_ok(base, "1 -inf 3 4"));
    CHECK(softmax_ok(with({"--mask", column_mask}), "1 2 3 5") ==
          softmax_ok(base, "1 -inf 3 -inf"));
    CHECK(softmax_ok(with({"--keep", keep}), "1 nan 3 4") == softmax_ok(base, "1 -inf 3 4"));
  }
  // A NaN in the mask makes its row NaN; the other row is untouched.
  const std::string nan_mask = write(dir, "nan.txt", "nan 0 0 0");
  CHECK(softmax_ok({"--rows", "2", "--mask", nan_mask}, "1 2 3 3") ==
        lines_t{"nan", "nan", "0.5", "0.5"});
  // Bad tokens name the file, the token and its position; wrong sizes name both sizes.
  const std::string bad = write(dir, "bad.txt", "0 0\n0 zero\n");
  require_rejected(run_softlab_without_peers({"softmax", "--mask", bad}, "1 2 3 4"),
                   {bad, "token 4", "\"zero\"", "line 2, column 3"});
  const std::string bad_keep = write(dir, "badkeep.txt", "1 0 2");
  require_rejected(run_softlab_without_peers({"softmax", "--keep", bad_keep}, "1 2 3"),
                   {bad_keep, "token 3", "\"2\"", "0 or 1"});
  require_rejected(run_softlab_without_peers({"softmax", "--mask", mask}, "1 2 3"),
                   {"4 elements", "3"});
  require_rejected(
      run_softlab_without_peers({"softmax", "--rows", "3", "--mask", mask}, "1 2 3 4 5 6"),
      {"4 elements", "3 rows of 2"});
  require_rejected(
      run_softlab_without_peers({"softmax", "--mask", mask, "--keep", keep}, "1 2 3 4"),
      {"--mask", "--keep"});
  require_rejected(run_softlab_without_peers({"softmax", "--mask", "/no/such/mask"}, "1 2"),
                   {"/no/such/mask"});
}

TEST_CASE("softmax --causal: row r keeps columns <= r + offset, and needs --rows") {
  CHECK(softmax_ok({"--rows", "3", "--causal", "0"}, "5 5 5 5 5 5 5 5 5") ==
        lines_t{"1", "0", "0", "0.5", "0.5", "0", "0.3333333333333333", "0.3333333333333333",
                "0.3333333333333333"});
  // A negative offset leaves the first row with nothing: zeros; --log: -inf.
  CHECK(softmax_ok({"--rows", "2", "--causal", "-1"}, "1 nan 2 2") == lines_t{"0", "0", "1", "0"});
  CHECK(softmax_ok({"--rows", "2", "--causal", "-1", "--log"}, "1 2 3 4") ==
        lines_t{"-inf", "-inf", "0", "-inf"});
  // With a keep-mask and a scale together, on 2 threads and 1: the same bits.
  const temporary_directory dir("options-causal");
  const std::string keep = write(dir, "keep.txt", "1 1 0 1");
  CHECK(softmax_ok({"--rows", "2", "--causal", "+1", "--keep", keep, "--scale", "3"},
                   "1 2 3 4 5 6 7 8") ==
        softmax_ok({"--rows", "2", "--scale", "3"}, "1 2 -inf -inf 5 6 -inf -inf"));
  require_rejected(run_softlab_without_peers({"softmax", "--causal", "0"}, "1 2"),
                   {"--causal", "--rows"});
  require_rejected(run_softlab_without_peers({"softmax", "--rows", "1", "--causal", "x"}, "1 2"),
                   {"--causal", "\"x\""});
  require_rejected(
      run_softlab_without_peers({"softmax", "--rows", "3", "--causal", "0"}, "1 2 3 4"),
      {"--rows 3", "4 scores"});
}

TEST_CASE("softmax --type bf16: 512 equal scores give 2^-9 each, printed shortest") {
  std::string input;
  for (int i = 0; i < 512; ++i) input += "1.5 ";
  const lines_t weights = softmax_ok({"--type", "bf16", "--impl", "fast"}, input);
  REQUIRE(weights.size() == 512);
  for (const std::string& w : weights) {
    INFO(w);
    const std::optional<bfloat16> back = cli::parse_value<bfloat16>(w);
    REQUIRE(back.has_value());
    CHECK(static_cast<float>(*back) == std::ldexp(1.0f, -9));
  }
  CHECK(weights[0] == "0.00195");
  CHECK(softmax_ok({"--type", "bf16", "--format", "hex"}, "1.5 1.5")[0] == "0x1p-1");
  for (const char* impl : {"stable", "accurate"})
    CHECK(softmax_ok({"--type", "bf16", "--impl", impl}, input) == weights);
}

TEST_CASE("softmax --type bf16 and f16: each decimal rounded once, not through float") {
  // Just above the midpoint of 1 and the next value: through float it would be the midpoint
  // exactly, then 1 (ties to even); rounded once it is the next value. attention prints the
  // keys as parsed.
  auto key = [](const char* type, const char* text) {
    const run_result r = run_softlab_without_peers(
        {"attention", "--type", type, "--format", "hex", "--query", "1", "--keys", text});
    INFO(r.err);
    REQUIRE(r.status == 0);
    return r.out;
  };
  CHECK(key("bf16", "1.00390625000000001").find("0x1.02p+0") != std::string::npos);
  CHECK(key("bf16", "1.00390625").find("0x1.02p+0") == std::string::npos);  // the tie: to 1
  CHECK(key("f16", "1.00048828125000001").find("0x1.004p+0") != std::string::npos);
  CHECK(key("f16", "1.00048828125").find("0x1.004p+0") == std::string::npos);
}

TEST_CASE("softmax --type bf16: a 256000-logit row, the same output on 1 and 2 threads") {
  std::string input;
  for (int i = 0; i < 256000; ++i)
    input += std::to_string(std::fmod(i * 0.618033988749895, 1.0) * 20 - 10) + '\n';
  const lines_t one =
      softmax_ok({"--type", "bf16", "--impl", "fast", "--threads", "1"}, input, run_softlab);
  const lines_t two =
      softmax_ok({"--type", "bf16", "--impl", "fast", "--threads", "2"}, input, run_softlab);
  REQUIRE(one.size() == 256000);
  CHECK(one == two);
  // The same logits as 2 rows of 128000, which do split across the 2 threads.
  const lines_t rows_one = softmax_ok(
      {"--type", "bf16", "--rows", "2", "--scale", "0.5", "--threads", "1"}, input, run_softlab);
  CHECK(rows_one ==
        softmax_ok({"--type", "bf16", "--rows", "2", "--scale", "0.5", "--threads", "2"}, input,
                   run_softlab));
}

TEST_CASE("check: --scale, --mask, --causal and --rows, and unsupported types said so") {
  const temporary_directory dir("options-check");
  const std::string mask = write(dir, "mask.txt", "0 -inf 0.5");
  for (const char* type : {"float", "bf16"}) {
    INFO(type);
    const run_result r = run_softlab({"check", "--type", type, "--scale", "0.125", "--mask", mask,
                                      "--rows", "2", "--causal", "1"},
                                     "1 2 3 4 5 6");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    const lines_t text = lines(r.out);
    REQUIRE(text.size() >= 2);
    CHECK(text[0].rfind("implementation", 0) == 0);
    CHECK(text[0].find("not_correctly_rounded") != std::string::npos);
    const registry reg = tool_registry();
    for (const std::string_view name : reg.names()) {
      bool seen = false;
      for (const std::string& line : text)
        if (line.rfind(std::string(name) + " ", 0) == 0) seen = true;
      CHECK(seen);
    }
    for (const std::string& line : text)
      if (line.rfind("stable ", 0) == 0) {
        std::istringstream in(line);
        std::string name, isa, max_ulp, not_rounded;
        in >> name >> isa >> max_ulp >> not_rounded;
        CHECK(std::stod(max_ulp) < 8);
      }
  }
  // Every name the registry holds but not for bf16 is printed "unsupported".
  const registry reg = tool_registry();
  const run_result plain = run_softlab({"check", "--type", "bf16"}, "1 2 3");
  REQUIRE(plain.status == 0);
  for (const std::string_view name : reg.names())
    if (reg.find<bfloat16>(name) == nullptr)
      CHECK(plain.out.find(std::string(name) + "  ") != std::string::npos);
  if (plain.out.find("unsupported") != std::string::npos)
    for (const std::string& line : lines(plain.out))
      if (line.find("unsupported") != std::string::npos)
        CHECK(reg.find<bfloat16>(line.substr(0, line.find(' '))) == nullptr);
  require_rejected(run_softlab_without_peers({"check", "--scale", "0"}, "1 2"), {"scale"});
  require_rejected(run_softlab_without_peers({"check", "--causal", "0"}, "1 2"),
                   {"--causal", "--rows"});
  require_rejected(run_softlab_without_peers({"check", "--rows", "2"}, "1 2 3"), {"--rows 2"});
}
