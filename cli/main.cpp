// cli/main.cpp: the `softlab` command-line tool.
//
//   softlab list
//   softlab softmax [--impl NAME] [--type TYPE] [--format dec|hex] [--log] [--rows R]
//                   [--scale S] [--mask FILE | --keep FILE] [--causal OFFSET]
//                   [--threads N]                                              < scores
//   softlab attention --query Q --keys K1,K2,... [--impl NAME] [--type TYPE] [--format dec|hex]
//   softlab attention --q Q.npy --k K.npy --v V.npy [--impl NAME[@ISA]] [--type float|f16|bf16]
//                     [--scale S] [--causal OFFSET] [--mask M.npy] [--threads N]
//                     [--format dec|hex | --out O.npy | --check [--rows N|all]]
//   softlab accuracy [--out DIR] [--full] [--seed S] [--family NAME ...] [--impl NAME ...]
//                    [--type T ...] [--n N ...] [--reference-threads N] [--attention]
//   softlab check [FILE] [--type T] [--format dec|hex] [--reference-threads N] [--rows R]
//                 [--scale S] [--mask FILE | --keep FILE] [--causal OFFSET]   < scores
//
// Built with the peers (libtorch, oneDNN, XNNPACK; target softlab_peers), the registry holds
// them too, and every subcommand sees them (cli::add_peers: peers.cpp, or no_peers.cpp in a
// build without them).
//
// Exit status: 0 on success; 2 for bad input, bad usage or a bad SOFTLAB_ISA (one line on
// stderr, nothing on stdout); 1 if standard output cannot be written or something unexpected
// fails (an output file of `softlab accuracy` that cannot be written, for one), or when
// `attention --check` finds an implementation beyond its stated bound (its table printed).
#include "add_peers.hpp"
#include "command.hpp"
#include "scores.hpp"

#include <softlab/attention_registry.hpp>
#include <softlab/softlab.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#ifndef SOFTLAB_VERSION
#define SOFTLAB_VERSION "unknown"
#endif

namespace {

/// True for an argument CLI11 would take for a flag although it is a negative number
/// ("-3", "-.5", "-inf", "-nan", "-0x1p-3", "-1,2").
bool looks_like_negative_number(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  const char c = arg[1];
  if ((c >= '0' && c <= '9') || c == '.') return true;
  std::string rest = arg.substr(1, 3);
  std::transform(rest.begin(), rest.end(), rest.begin(), [](char ch) {
    return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch | 0x20) : ch;
  });
  return rest == "inf" || rest == "nan";
}

/// argv[1..] with "--query -3" joined into "--query=-3" for every numeric option.
std::vector<std::string> join_negative_values(int argc, char** argv,
                                              const std::vector<softlab::cli::command>& commands) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> result;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool numeric = std::any_of(commands.begin(), commands.end(), [&](const auto& c) {
      return std::find(c.numeric_options.begin(), c.numeric_options.end(), args[i]) !=
             c.numeric_options.end();
    });
    if (numeric && i + 1 < args.size() && looks_like_negative_number(args[i + 1])) {
      result.push_back(args[i] + "=" + args[i + 1]);
      ++i;
    } else {
      result.push_back(args[i]);
    }
  }
  return result;
}

int fail(const std::string& message, int status = 2) {
  std::fprintf(stderr, "softlab: %s\n", message.c_str());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  namespace cli = softlab::cli;
  CLI::App app{"softlab: softmax implementations behind one interface", "softlab"};
  app.set_version_flag("--version", SOFTLAB_VERSION);
  app.require_subcommand(1);
  const std::vector<cli::command> commands{
      cli::add_list_command(app),      cli::add_softmax_command(app),
      cli::add_attention_command(app), cli::add_accuracy_command(app),
      cli::add_check_command(app),     cli::add_blanchard_command(app),
  };

  std::vector<std::string> args = join_negative_values(argc, argv, commands);
  // CLI11 would only say "A subcommand is required" for a misspelt one.
  if (!args.empty() && !args[0].empty() && args[0][0] != '-' &&
      std::none_of(commands.begin(), commands.end(),
                   [&](const cli::command& c) { return c.app->check_name(args[0]); })) {
    std::string valid;
    for (const cli::command& c : commands) valid += (valid.empty() ? "" : ", ") + c.app->get_name();
    return fail("unknown subcommand \"" + args[0] + "\"; valid: " + valid);
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(std::string(e.what()) + " (run `softlab --help`)");
  }

  std::string out;
  std::vector<std::string> notes;
  int status = 0;
  try {
    softlab::registry registry = softlab::builtin_registry();
    softlab::attention_registry attention_registry = softlab::builtin_attention_registry();
    cli::add_peers(registry, attention_registry);
    cli::context ctx{registry, attention_registry, std::cin, out};
    for (int i = 0; i < argc; ++i) {
      if (i > 0) ctx.command_line += ' ';
      ctx.command_line += argv[i];
    }
    for (const cli::command& c : commands)
      if (c.app->parsed()) c.run(ctx);
    notes = std::move(ctx.notes);
    status = ctx.status;
  } catch (const std::invalid_argument& e) {  // from a kernel: bad arguments
    return fail(e.what());
  } catch (const std::runtime_error& e) {  // cli::input_error; a bad SOFTLAB_ISA
    return fail(e.what());
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  }

  for (const std::string& note : notes) std::fprintf(stderr, "softlab: note: %s\n", note.c_str());
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0)
    return fail("cannot write to standard output", 1);
  return status;
}
