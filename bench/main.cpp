// bench/main.cpp: softlab-bench, the benchmark binary: Google Benchmark's flags plus
//   --quick   n = 16, 4096, 1M only, and --benchmark_min_time=0.01: a CI run in seconds
//   --smoke   n = 16 and rows 2x16 only, one iteration each (--benchmark_min_time=0): every
//             family once, for the CTest smoke test
//   --passes  also registers the passes/ microbenchmarks (passes.hpp), left out otherwise
// Both are taken out of argv before benchmark::Initialize; the --benchmark_min_time they imply
// is put first, so one given on the command line wins. Every benchmark is registered at run
// time from softlab's registry (and the peers', when built): kernel_benchmarks.hpp, roofline.hpp.
#include "attention_benchmarks.hpp"
#include "buffers.hpp"
#include "kernel_benchmarks.hpp"
#include "machine.hpp"
#include "passes.hpp"
#include "plan.hpp"
#include "roofline.hpp"

#include <softlab/attention_registry.hpp>
#include <softlab/registry.hpp>
#include <softlab/simd/isa.hpp>

#ifdef SOFTLAB_WITH_PEERS
#include <softlab_peers/peers.hpp>
#endif

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using softlab::bench::run_mode;

void print_help() {
  std::printf(
      "softlab-bench: softmax, log_softmax, logsumexp, pairwise_attention and rows benchmarks of\n"
      "every softlab implementation and peer, with roofline references.\n"
      "\n"
      "  --quick   sizes 16, 4096, 1M only and --benchmark_min_time=0.01 (a CI run in seconds)\n"
      "  --smoke   size 16 (rows 2x16) only, one iteration each (the CTest smoke test)\n"
      "  --passes  also the passes/ microbenchmarks of fast's streaming passes (bench/README.md)\n"
      "\n"
      "Names: <family>/<type>/<impl>/<n>, e.g. --benchmark_filter='softmax/float/.*/4096$';\n"
      "roofline/<read|copy|copy_nt|memcpy>/<n>, roofline/fma_peak@<isa>/t:<t>;\n"
      "attention/<type>/<impl>/prefill/<h>x<q_len>x<kv_len>x<d>[/causal]/t:<t>,\n"
      "attention/<type>/<impl>/decode/<h>x<kv_len>x<d>/t:<t>. Stable medians:\n"
      "  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true\n"
      "  --benchmark_report_aggregates_only=true --benchmark_min_time=0.05\n"
      "  --benchmark_out=bench.json --benchmark_out_format=json   (bench/README.md)\n"
      "\n");
  benchmark::PrintDefaultHelp();
}

/// Takes --quick and --smoke out of args; --smoke wins over --quick.
run_mode take_mode_flags(std::vector<char*>& args) {
  run_mode mode = run_mode::full;
  std::erase_if(args, [&](const char* arg) {
    const std::string_view flag(arg);
    if (flag == "--smoke")
      mode = run_mode::smoke;
    else if (flag == "--quick" && mode != run_mode::smoke)
      mode = run_mode::quick;
    else
      return false;
    return true;
  });
  return mode;
}

/// Takes `flag` out of args; true when it was there.
bool take_flag(std::vector<char*>& args, std::string_view flag) {
  return std::erase_if(args, [&](const char* arg) { return flag == arg; }) > 0;
}

template <class Items>
std::string joined(const Items& items, std::string_view separator) {
  std::ostringstream out;
  std::string_view between;
  for (const auto& item : items) {
    out << between << item;
    between = separator;
  }
  return out.str();
}

/// What a reader of the JSON needs to interpret the numbers (its "context" object).
void describe_run(run_mode mode, const std::vector<std::string>& peers) {
  const auto& machine = softlab::bench::this_machine();
  benchmark::AddCustomContext("softlab_bench_mode", std::string(run_mode_name(mode)));
  if (machine.cpu_mhz > 0) {
    std::ostringstream mhz;
    mhz << machine.cpu_mhz;
    benchmark::AddCustomContext("cpu_mhz", mhz.str());
  }
  benchmark::AddCustomContext("cpu_mhz_source", machine.cpu_mhz_source);
  benchmark::AddCustomContext("llc_bytes", std::to_string(machine.llc_bytes));
  benchmark::AddCustomContext("llc_source", machine.llc_source);
  benchmark::AddCustomContext(
      "cold_runs",
      "input + output pairs rotated when 2 n sizeof(T) >= llc_bytes, until they "
      "take more than 2 llc_bytes");
  benchmark::AddCustomContext("input_seed", std::to_string(softlab::bench::input_seed));
  std::vector<std::string_view> isas;
  for (softlab::isa which : softlab::available_isas()) isas.push_back(softlab::isa_name(which));
  benchmark::AddCustomContext("softlab_isas", joined(isas, ","));
  benchmark::AddCustomContext("roofline_isa", std::string(softlab::bench::roofline_isa_name()));
  // The roofline references move float arrays (roofline.hpp): the report divides that type's
  // times by them.
  benchmark::AddCustomContext("roofline_type", std::string(softlab::type_token_v<float>));
  benchmark::AddCustomContext("peers", peers.empty() ? "none built" : joined(peers, "; "));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  const run_mode mode = take_mode_flags(args);
  const bool passes = take_flag(args, "--passes");
  // Put first, so that a --benchmark_min_time on the command line, parsed later, wins.
  // (Google Benchmark 1.7 takes seconds as a plain number, no "s" suffix.)
  std::string min_time = mode == run_mode::smoke   ? "--benchmark_min_time=0"
                         : mode == run_mode::quick ? "--benchmark_min_time=0.01"
                                                   : "";
  if (!min_time.empty() && !args.empty()) args.insert(args.begin() + 1, min_time.data());
  int count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&count, args.data(), print_help);
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 2;

  // One thread for every benchmark whose name carries no thread count (softmax/, masked/, ...),
  // as for the peers (libtorch is set to one thread): softlab's own softmax without options runs
  // on softlab::default_threads() threads, and `fast` splits one row from 256 KiB up to its
  // two-pass structure (8 MiB of floats) across them. The families that name theirs (t:N) pass
  // it explicitly, which SOFTLAB_THREADS does not override.
  setenv("SOFTLAB_THREADS", "1", 1);
  benchmark::AddCustomContext("softlab_threads",
                              "1 (SOFTLAB_THREADS, set by softlab-bench), or the t:N of the name");

  softlab::registry registry = softlab::builtin_registry();
  softlab::attention_registry attention = softlab::builtin_attention_registry();
  std::vector<softlab::bench::extra_float_softmax> extras;
  std::vector<std::string> peers;
#ifdef SOFTLAB_WITH_PEERS
  softlab::peers::register_peers(registry);  // libtorch set to one thread here
  for (const auto& variant : softlab::peers::allocating_softmax_variants())
    extras.push_back(
        {.name = variant.name, .variant_of = variant.variant_of, .softmax = variant.softmax});
  softlab::peers::register_attention_peers(attention);
  peers = softlab::peers::peer_descriptions();
#endif
  describe_run(mode, peers);
  softlab::bench::register_kernel_benchmarks(registry, extras, mode);
  softlab::bench::register_attention_benchmarks(attention, mode);
  softlab::bench::register_roofline_benchmarks(mode);
  if (passes) softlab::bench::register_pass_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
