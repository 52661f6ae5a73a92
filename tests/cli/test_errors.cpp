// tests/cli/test_errors.cpp: bad input exits 2 with one line on stderr and nothing on stdout.
// The tool without the peers (the same parsing and checks; it starts in milliseconds): the
// registry's names checked here are the builtin ones.
#include "support.hpp"

using namespace softlab;
using namespace softlab::cli_test;

TEST_CASE("errors: an unparsable token is named with its index, line and column") {
  require_rejected(run_softlab_without_peers({"softmax"}, "1, 2, 1.2.3\n"),
                   {"token 3", "\"1.2.3\"", "line 1, column 7", "not a number"});
  require_rejected(
      run_softlab_without_peers({"softmax", "--type", "bin50"}, "1\n2\n  0x1p-3 0x1.g\n"),
      {"token 4", "\"0x1.g\"", "line 3, column 10"});
  for (const char* bad : {"1e", "e5", "--1", "+-1", ".", "0x", "0xp1", "1.5p3", "infin", "nan(1)",
                          "0x1p", "1_000", "1..2"}) {
    INFO(bad);
    require_rejected(
        run_softlab_without_peers({"softmax", "--type", "float"}, std::string("0 ") + bad),
        {"token 2", "line 1, column 3", "not a number"});
  }
  // The bad token comes after good output would have started: still nothing on stdout.
  require_rejected(run_softlab_without_peers({"softmax"}, "1 2 3 4 5 6 7 8 9\nx"),
                   {"token 10", "line 2, column 1"});
}

TEST_CASE("errors: no input") {
  require_rejected(run_softlab_without_peers({"softmax"}, ""), {"no scores"});
  require_rejected(run_softlab_without_peers({"softmax"}, " \n,\t,\n"), {"no scores"});
  require_rejected(run_softlab_without_peers({"attention", "--query", "1", "--keys", ""}),
                   {"--keys"});
}

TEST_CASE("errors: unknown implementation or type lists the valid ones from the registry") {
  const registry reg = builtin_registry();
  const run_result impl = run_softlab_without_peers({"softmax", "--impl", "no-such-impl"}, "1");
  require_rejected(impl, {"\"no-such-impl\""});
  for (const auto name : reg.names()) CHECK(impl.err.find(std::string(name)) != std::string::npos);
  const run_result type = run_softlab_without_peers({"softmax", "--type", "quad"}, "1");
  require_rejected(type, {"\"quad\""});
  for_each_type(element_types{},
                [&]<class T>() { CHECK(type.err.find(type_token_v<T>) != std::string::npos); });
  require_rejected(
      run_softlab_without_peers({"attention", "--query", "1", "--keys", "1", "--impl", "nope"}),
      {"\"nope\""});
}

TEST_CASE("errors: an implementation that does not support the type") {
  const registry reg = builtin_registry();
  for (const auto name : reg.names()) {
    for_each_type(element_types{}, [&]<class T>() {
      if (reg.find<T>(name) != nullptr) return;
      require_rejected(
          run_softlab_without_peers(
              {"softmax", "--impl", std::string(name), "--type", std::string(type_token_v<T>)},
              "1 2"),
          {"\"" + std::string(name) + "\"", "\"" + std::string(type_token_v<T>) + "\""});
    });
  }
}

TEST_CASE("errors: --format hex for the multiprecision types, and unknown formats") {
  for_each_type(element_types{}, [&]<class T>() {
    if constexpr (!cli::supports_format<T>(cli::number_format::hex)) {
      const std::string type(type_token_v<T>);
      require_rejected(
          run_softlab_without_peers({"softmax", "--format", "hex", "--type", type}, "1 2"),
          {"hex", type});
      require_rejected(run_softlab_without_peers({"attention", "--query", "1", "--keys", "1",
                                                  "--format", "hex", "--type", type}),
                       {"hex", type});
    }
  });
  require_rejected(run_softlab_without_peers({"softmax", "--format", "oct"}, "1"),
                   {"\"oct\"", "dec", "hex"});
}

TEST_CASE("errors: attention's --query and --keys") {
  require_rejected(run_softlab_without_peers({"attention", "--query", "1x", "--keys", "1"}),
                   {"token 1", "\"1x\"", "--query"});
  require_rejected(run_softlab_without_peers({"attention", "--query", "1", "--keys", "1,2,zz"}),
                   {"token 3", "\"zz\"", "column 5", "--keys"});
  require_rejected(run_softlab_without_peers({"attention", "--query", "1 2", "--keys", "1"}),
                   {"one number", "token 2"});
}

TEST_CASE("errors: usage errors from CLI11 exit 2") {
  require_rejected(run_softlab_without_peers({}), {"subcommand"});
  require_rejected(run_softlab_without_peers({"frobnicate"}),
                   {"\"frobnicate\"", "list", "softmax", "attention"});
  require_rejected(run_softlab_without_peers({"softmax", "--bogus"}, "1"), {"--bogus"});
  require_rejected(run_softlab_without_peers({"softmax", "--impl"}, "1"), {"--impl"});
  require_rejected(run_softlab_without_peers({"attention", "--keys", "1"}), {"--query"});
  const run_result help = run_softlab_without_peers({"softmax", "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("--impl") != std::string::npos);
}
