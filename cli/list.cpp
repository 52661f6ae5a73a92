// cli/list.cpp: `softlab list`, the registry as a table, and the instruction set in use.
#include "command.hpp"
#include "selection.hpp"
#include "table.hpp"

#include <softlab/simd/isa.hpp>

#include <optional>
#include <string>
#include <vector>

namespace softlab::cli {

namespace {

/// The facts of `name` as registered for the first type that has it.
implementation_facts facts_of(const registry& reg, std::string_view name) {
  std::optional<implementation_facts> result;
  for_each_type(element_types{}, [&]<class T>() {
    if (!result)
      if (const kernel<T>* k = reg.find<T>(name)) result = k->facts;
  });
  return *result;  // names() lists only registered names
}

/// name@isa for every instruction set this CPU runs `name`'s kernels on (registered for the
/// first type that has it), comma-separated; "-" for scalar code and for a library that
/// dispatches on its own.
std::string variants_of(const registry& reg, std::string_view name) {
  std::vector<std::string> variants;
  bool found = false;
  for_each_type(element_types{}, [&]<class T>() {
    if (found) return;
    if (const kernel<T>* k = reg.find<T>(name)) {
      found = true;
      for (const isa which : isa_variants_of(*k))
        variants.push_back(std::string(name) + "@" + std::string(isa_name(which)));
    }
  });
  return variants.empty() ? "-" : join({variants.begin(), variants.end()}, ",");
}

std::string yes_no(bool value) { return value ? "yes" : "no"; }

void run_list(context& ctx) {
  std::vector<std::vector<std::string>> rows{{"name", "types", "variants (this CPU)", "passes",
                                              "vectorized", "contract", "subnormals",
                                              "stated bound", "algorithm"}};
  for (const std::string_view name : ctx.registry.names()) {
    const implementation_facts facts = facts_of(ctx.registry, name);
    rows.push_back({std::string(name), join(ctx.registry.types_of(name), ","),
                    variants_of(ctx.registry, name), std::string(facts.passes),
                    yes_no(facts.vectorized), yes_no(facts.meets_contract),
                    facts.subnormals == subnormal_results::kept ? "kept" : "flushed",
                    std::string(facts.stated_bound), std::string(facts.algorithm)});
  }
  std::vector<std::string_view> available;
  for (const isa which : available_isas()) available.push_back(isa_name(which));
  // active_isa() throws std::runtime_error for a bad SOFTLAB_ISA (main: exit status 2).
  const std::string isa_line = "isa: " + std::string(isa_name(active_isa())) +
                               " (available: " + join(available) + "; SOFTLAB_ISA selects one)\n";
  ctx.out += format_table(rows);
  ctx.out += isa_line;
}

}  // namespace

command add_list_command(CLI::App& root) {
  CLI::App* app = root.add_subcommand(
      "list", "List the implementations (registry order), their facts, and the instruction set");
  return {app, run_list, {}};
}

}  // namespace softlab::cli
