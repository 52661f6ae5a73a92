// cli/command.hpp: what a subcommand of the `softlab` tool is, and what it runs with.
//
// A subcommand is one add_*_command function (one .cpp file): it registers its CLI11 subcommand
// and options on the root app and returns how to run it. main() parses, runs the one chosen,
// and prints ctx.out only when the run returns normally, so a failure leaves stdout empty.
// Errors: throw cli::input_error (bad input or usage) or let std::invalid_argument from a
// kernel through; both print "softlab: <message>" on stderr and exit with status 2. A run that
// prints its result but judges it a failure sets ctx.status (1).
#pragma once

#include <softlab/registry.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <istream>
#include <string>
#include <vector>

namespace softlab {
class attention_registry;  // softlab/attention_registry.hpp
}  // namespace softlab

namespace softlab::cli {

struct context {
  const softlab::registry& registry;
  const softlab::attention_registry& attention_registry;  ///< builtin, and the peers when built
  std::istream& in;  ///< standard input, read only by subcommands that take data from it
  std::string& out;  ///< everything for standard output, written after a successful run
  std::string command_line = {};  ///< the tool's arguments as given, joined by spaces
  /// Lines for standard error ("softlab: note: ..."), written with ctx.out after a run that
  /// returns normally: what the run did to the input (values rounded to the storage type).
  std::vector<std::string> notes = {};
  /// The exit status after a run that returns normally: 1 when its output says it failed
  /// (`attention --check`: an implementation beyond its stated bound).
  int status = 0;
};

struct command {
  CLI::App* app = nullptr;
  std::function<void(context&)> run;
  /// Options whose value may be a negative number ("--query -inf"): main joins them with
  /// their value ("--query=-inf") before CLI11, which would read "-inf" as the flag "-i".
  std::vector<std::string> numeric_options;
};

command add_list_command(CLI::App& root);
command add_softmax_command(CLI::App& root);
command add_attention_command(CLI::App& root);
command add_accuracy_command(CLI::App& root);
command add_check_command(CLI::App& root);
command add_blanchard_command(CLI::App& root);

}  // namespace softlab::cli
