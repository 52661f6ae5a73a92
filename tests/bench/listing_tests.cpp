// tests/bench/listing_tests.cpp: softlab-bench registers what the registry holds, under the
// documented names (bench/README.md), checked through --benchmark_list_tests; and the one entry
// it times that is not in the registry (torch_alloc) computes what its registry sibling does.
#include <catch2/catch.hpp>

#include <softlab/attention_registry.hpp>
#include <softlab/registry.hpp>
#include <softlab/simd/isa.hpp>

#ifdef SOFTLAB_WITH_PEERS
#include <softlab_peers/peers.hpp>
#endif

#include <algorithm>
#include <cstdio>
#include <memory>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

/// The names softlab-bench lists with these extra arguments (one process each: libtorch, when
/// linked, makes every start take a second or two).
std::vector<std::string> listed(const std::string& arguments) {
  const std::string command =
      std::string("'") + SOFTLAB_BENCH_PATH + "' --benchmark_list_tests " + arguments;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), &pclose);
  REQUIRE(pipe != nullptr);
  std::vector<std::string> names;
  std::string line;
  for (int c; (c = std::fgetc(pipe.get())) != EOF;) {
    if (c != '\n') {
      line += static_cast<char>(c);
    } else if (!line.empty()) {
      names.push_back(line);
      line.clear();
    }
  }
  if (!line.empty()) names.push_back(line);
  return names;
}

softlab::registry full_registry() {
  softlab::registry registry = softlab::builtin_registry();
#ifdef SOFTLAB_WITH_PEERS
  softlab::peers::register_peers(registry);
#endif
  return registry;
}

/// The <impl> segments bench/README.md promises for T: each registry name, a vectorized softlab
/// kernel once per instruction set as <name>@<isa>, and (float) the peers' allocating calls.
template <class T>
std::set<std::string> documented_impls(const softlab::registry& registry) {
  std::set<std::string> impls;
  for (const auto& k : registry.kernels<T>()) {
    for (softlab::isa which : softlab::isa_variants_of(k))
      impls.insert(std::string(k.facts.name) + "@" + std::string(softlab::isa_name(which)));
    if (softlab::isa_variants_of(k).empty()) impls.insert(std::string(k.facts.name));
  }
#ifdef SOFTLAB_WITH_PEERS
  if constexpr (std::is_same_v<T, float>)
    for (const auto& variant : softlab::peers::allocating_softmax_variants())
      impls.insert(variant.name);
#endif
  return impls;
}

/// The <n> segments of the names that match ^prefix(.+)$, leaving out the threaded ones
/// (.../t:<threads>).
std::set<std::string> sizes_after(const std::vector<std::string>& names,
                                  const std::string& prefix) {
  std::set<std::string> sizes;
  for (const auto& name : names)
    if (name.rfind(prefix, 0) == 0 && name.find("/t:") == std::string::npos)
      sizes.insert(name.substr(prefix.size()));
  return sizes;
}

const std::set<std::string> full_sizes{"16",     "64",      "77",      "128",     "256",   "1000",
                                       "1024",   "4096",    "16384",   "32000",   "65536", "128000",
                                       "262144", "1048576", "4194304", "16777216"};

}  // namespace

TEST_CASE("the float 4096 softmax slice lists every implementation, each ISA, and the peers") {
  const auto registry = full_registry();
  // The filter is a search, not a full match: it also selects log_softmax/float/.../4096 (and
  // softmax_inputs/.../float/...), which the other test cases cover; here the softmax ones.
  const auto names = listed("--benchmark_filter='softmax/float/.*/4096$'");
  std::vector<std::string> softmax_names;
  for (const auto& name : names) {
    CHECK(name.find("softmax/float/") != std::string::npos);
    if (name.rfind("softmax/float/", 0) == 0) softmax_names.push_back(name);
  }
  std::set<std::string> expected;
  for (const auto& impl : documented_impls<float>(registry))
    expected.insert("softmax/float/" + impl + "/4096");
  CHECK(std::set<std::string>(softmax_names.begin(), softmax_names.end()) == expected);
  CHECK(softmax_names.size() == expected.size());  // no name twice
}

TEST_CASE("the roofline references stand at every length softmax/float is measured at") {
  const auto names = listed("--benchmark_filter='^(roofline/|softmax/float/stable/)'");
  CHECK(sizes_after(names, "softmax/float/stable/") == full_sizes);
  for (const char* reference : {"read", "copy", "copy_nt", "memcpy"})
    CHECK(sizes_after(names, std::string("roofline/") + reference + "/") == full_sizes);
}

TEST_CASE("the whole list: every family, types capped, entries without an operation skipped") {
  const auto registry = full_registry();
  const auto names = listed("");
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());

  // Timed in wall-clock time, the threaded families carry Google Benchmark's /real_time.
  // The model shapes (vocab/, masked/) also run the 16-bit storage types.
  const std::regex pattern(
      "(?:(softmax|log_softmax|logsumexp|pairwise_attention|rows|scores|vocab|masked|"
      "softmax_inputs/(wide|near_underflow|masked))/(float|double|long-double|bin50|bf16|f16)/"
      "([^/]+)/(([0-9]+)x)?([0-9]+)(/t:([12])(/real_time)?)?|"
      "roofline/(read|copy|copy_nt|memcpy)/[0-9]+(/t:[12]/real_time)?)");
  std::set<std::string> families;
  for (const auto& name : names) {
    std::smatch parts;
    INFO(name);
    if (name.rfind("attention/", 0) == 0 || name.rfind("roofline/fma_peak@", 0) == 0)
      continue;  // the attention test case below
    REQUIRE(std::regex_match(name, parts, pattern));
    if (name.rfind("roofline/", 0) == 0) continue;
    families.insert(name.substr(0, name.find('/')));
    const std::string type = parts[3];
    const std::string impl = parts[4];
    const std::size_t elements =
        (parts[6].matched ? std::stoull(parts[6]) : 1) * std::stoull(parts[7]);
    // The caps of bench/plan.hpp: long double up to 1M elements, bin50 up to 1024.
    if (type == "long-double") CHECK(elements <= (std::size_t{1} << 20));
    if (type == "bin50") CHECK(elements <= 1024);
    if (type == "bin50") CHECK(parts[2].matched == false);  // no data-dependent sets
    // rows/ and scores/ only for batches, the other families only for single vectors; the
    // thread count only for scores/ and vocab/, where a peer runs on 1 thread only
    // (kernel_benchmarks.hpp).
    const bool batch = parts[1] == "rows" || parts[1] == "scores";
    CHECK(parts[6].matched == batch);
    CHECK(parts[8].matched == (parts[1] == "scores" || parts[1] == "vocab"));
    // Wall-clock time: the threaded families.
    CHECK(parts[10].matched == (parts[1] == "scores" || parts[1] == "vocab"));
    if ((parts[1] == "scores" || parts[1] == "vocab") && parts[9] == "2") {
      // Only registry entries of softlab's own (no peer, no allocating variant like torch_alloc).
      const std::string registry_name = impl.substr(0, impl.find('@'));
      std::string origin = "none";
      if (type == "float" && registry.find<float>(registry_name) != nullptr)
        origin = registry.find<float>(registry_name)->origin;
      if (type == "double" && registry.find<double>(registry_name) != nullptr)
        origin = registry.find<double>(registry_name)->origin;
      if (type == "float" || type == "double") CHECK(origin == "softlab");
    }
    const std::string registry_name = impl.substr(0, impl.find('@'));
    if (parts[1] == "pairwise_attention") {
      // Peers have no pairwise_attention entry point: skipped, not timed through a fallback.
      const auto* k = type == "float" ? registry.find<float>(registry_name) : nullptr;
      if (k != nullptr) CHECK(k->pairwise_attention != nullptr);
    }
  }
  CHECK(families == std::set<std::string>{"softmax", "log_softmax", "logsumexp",
                                          "pairwise_attention", "rows", "scores", "vocab", "masked",
                                          "softmax_inputs"});
#ifdef SOFTLAB_WITH_PEERS
  if (registry.find<float>("xnnpack") != nullptr) {
    // XNNPACK has no log_softmax (its entry throws std::logic_error): not registered.
    CHECK(std::count(names.begin(), names.end(), "softmax/float/xnnpack/4096") == 1);
    CHECK(std::count(names.begin(), names.end(), "log_softmax/float/xnnpack/4096") == 0);
    CHECK(std::count(names.begin(), names.end(), "logsumexp/float/xnnpack/4096") == 0);
  }
#endif
}

TEST_CASE("--quick measures n = 16, 4096 and 1M only") {
  const auto names = listed("--quick --benchmark_filter='^(softmax/float/stable|roofline/read)/'");
  const std::set<std::string> quick_sizes{"16", "4096", "1048576"};
  CHECK(sizes_after(names, "softmax/float/stable/") == quick_sizes);
  CHECK(sizes_after(names, "roofline/read/") == quick_sizes);
}

#ifdef SOFTLAB_WITH_PEERS
TEST_CASE("an allocating variant computes what the peer's registry entry computes") {
  const auto registry = full_registry();
  std::vector<float> x(1000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 37) * 0.5f - 9.0f;
  for (const auto& variant : softlab::peers::allocating_softmax_variants()) {
    INFO(variant.name);
    // "torch_alloc" is the allocating call of registry entry "torch": the same ATen kernel.
    const auto* sibling = registry.find<float>(variant.name.substr(0, variant.name.find('_')));
    REQUIRE(sibling != nullptr);
    std::vector<float> allocated(x.size()), written_by_entry(x.size());
    variant.softmax(x, allocated);
    sibling->softmax(x, written_by_entry);
    CHECK(allocated == written_by_entry);
    std::vector<float> too_short(x.size() - 1);
    CHECK_THROWS_AS(variant.softmax(x, too_short), std::invalid_argument);
  }
}
#endif

TEST_CASE("attention: every measured entry, each ISA, every shape and thread count") {
  softlab::attention_registry registry = softlab::builtin_attention_registry();
#ifdef SOFTLAB_WITH_PEERS
  softlab::peers::register_attention_peers(registry);
#endif
  const auto names = listed("--benchmark_filter='^(attention/|roofline/fma_peak)'");
  const std::set<std::string> listed_names(names.begin(), names.end());
  CHECK(listed_names.size() == names.size());  // no name twice

  // The <impl> segments: every entry but `accurate` and the materialized:<softmax> other than
  // fast and stable (bench/attention_benchmarks.hpp), <name>@<isa> per ISA of its own.
  const auto impls_of = [&]<class T>() {
    std::vector<std::string> impls;
    for (const auto& k : registry.kernels<T>()) {
      const std::string name(k.facts.name);
      if (name == "accurate") continue;
      if (name.rfind("materialized:", 0) == 0 && name != "materialized:fast" &&
          name != "materialized:stable")
        continue;
      bool any = false;
      for (softlab::isa which : softlab::available_isas())
        if ((k.isas & softlab::isa_bit(which)) != 0) {
          impls.push_back(name + "@" + std::string(softlab::isa_name(which)));
          any = true;
        }
      if (!any) impls.push_back(name);
    }
    return impls;
  };
  const std::vector<std::string> prefill_both{"prefill/8x512x512x64", "prefill/8x2048x2048x128"};
  const std::vector<std::string> decode{"decode/8x4096x128", "decode/8x32768x128",
                                        "decode/8x131072x128"};
  std::set<std::string> expected;
  const auto add_type = [&]<class T>() {
    const std::string type(softlab::type_token_v<T>);
    const auto with_time = [](std::string name, const char* threads) {
      return name + "/t:" + threads + (std::string(threads) == "2" ? "/real_time" : "");
    };
    for (const std::string& impl : impls_of.template operator()<T>()) {
      const std::string prefix = "attention/" + type + "/" + impl + "/";
      for (const char* threads : {"1", "2"}) {
        for (const auto& shape : prefill_both) {
          expected.insert(with_time(prefix + shape, threads));
          expected.insert(with_time(prefix + shape + "/causal", threads));
        }
        for (const auto& shape : decode) expected.insert(with_time(prefix + shape, threads));
      }
      expected.insert(prefix + "prefill/1x2048x2048x128/t:1");
      expected.insert(prefix + "prefill/1x2048x2048x128/causal/t:1");
    }
    for (const char* threads : {"1", "2"})
      for (const auto& shape : decode)
        expected.insert(with_time("attention/" + type + "/read_floor/" + shape, threads));
  };
  add_type.operator()<float>();
  add_type.operator()<softlab::bfloat16>();
  add_type.operator()<softlab::float16>();
  for (softlab::isa which : softlab::available_isas()) {
    expected.insert("roofline/fma_peak@" + std::string(softlab::isa_name(which)) + "/t:1");
    expected.insert("roofline/fma_peak@" + std::string(softlab::isa_name(which)) +
                    "/t:2/real_time");
  }
  CHECK(listed_names == expected);

  // Pinned: the names the README and the report quote.
  CHECK(listed_names.count("attention/float/materialized:stable/prefill/1x2048x2048x128/t:1") == 1);
  CHECK(listed_names.count("attention/float/read_floor/decode/8x131072x128/t:1") == 1);
  CHECK(listed_names.count("roofline/fma_peak@sse2/t:1") == 1);
  CHECK(listed_names.count("attention/bf16/accurate/prefill/8x512x512x64/t:1") == 0);
  if (softlab::cpu_supports(softlab::isa::avx2))
    CHECK(listed_names.count(
              "attention/float/materialized:fast@avx2/prefill/8x2048x2048x128/causal/t:2/"
              "real_time") == 1);
#ifdef SOFTLAB_WITH_PEERS
  if (registry.find<float>("torch_sdpa") != nullptr) {
    CHECK(listed_names.count("attention/float/torch_sdpa/decode/8x32768x128/t:1") == 1);
    CHECK(listed_names.count("attention/bf16/torch_composed/prefill/8x512x512x64/t:1") == 1);
    CHECK(listed_names.count("attention/f16/torch_composed/prefill/8x512x512x64/t:1") == 0);
  }
  if (registry.find<float>("onednn_composed") != nullptr)
    CHECK(listed_names.count("attention/float/onednn_composed/prefill/8x2048x2048x128/t:1") == 1);
#endif

  // --quick: one prefill and one decode shape.
  const auto quick = listed("--quick --benchmark_filter='^attention/float/read_floor/'");
  CHECK(std::set<std::string>(quick.begin(), quick.end()) ==
        std::set<std::string>{"attention/float/read_floor/decode/8x4096x128/t:1",
                              "attention/float/read_floor/decode/8x4096x128/t:2/real_time"});
}
