// tests/cli/process.hpp: run the built `softlab` tool with given arguments and standard input.
#pragma once

#include <string>
#include <vector>

namespace softlab::cli_test {

struct run_result {
  std::string out;  ///< standard output
  std::string err;  ///< standard error
  int status = -1;  ///< exit status, or -1 if the process did not exit normally
};

/// Runs the tool (path from SOFTLAB_CLI_PATH) with args, feeding input on its standard input.
run_result run_softlab(const std::vector<std::string>& args, const std::string& input = {});

/// The same with the tool built without the peers (softlab-without-peers, cli/CMakeLists.txt;
/// `softlab` itself when the peers are not built): for the loops over softlab's own
/// implementations, which would otherwise load libtorch at every start.
run_result run_softlab_without_peers(const std::vector<std::string>& args,
                                     const std::string& input = {});

/// The lines of text (without their '\n'); a final line without '\n' counts too.
std::vector<std::string> lines(const std::string& text);

}  // namespace softlab::cli_test
