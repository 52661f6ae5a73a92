// tests/cli/test_list.cpp: `softlab list` shows the registry and the instruction set.
#include "support.hpp"

#include <softlab/simd/isa.hpp>

#include <sstream>

using namespace softlab;
using namespace softlab::cli_test;

TEST_CASE("list: every registry name in order, its types, its ISA variants, and the active ISA") {
  const run_result r = run_softlab({"list"});
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  REQUIRE(r.err.empty());
  const std::vector<std::string> text = lines(r.out);
  const registry reg = tool_registry();
  const auto names = reg.names();
  REQUIRE(text.size() == names.size() + 2);  // header, one row per name, the ISA line
  CHECK(text[0].rfind("name ", 0) == 0);
  for (std::size_t i = 0; i < names.size(); ++i) {
    INFO("row of " << names[i]);
    std::istringstream row(text[i + 1]);
    std::string name, types, variants;
    row >> name >> types >> variants;
    CHECK(name == names[i]);
    std::string expected_types;
    for (const auto t : reg.types_of(names[i])) {
      if (!expected_types.empty()) expected_types += ',';
      expected_types += t;
    }
    CHECK(types == expected_types);
    const implementation_facts* facts = nullptr;
    for_each_type(element_types{}, [&]<class T>() {
      if (!facts)
        if (const kernel<T>* k = reg.find<T>(names[i])) facts = &k->facts;
    });
    REQUIRE(facts != nullptr);
    // name@isa for each instruction set the CPU runs its kernels on (AVX-512 where it has it).
    std::string expected_variants;
    bool found = false;
    for_each_type(element_types{}, [&]<class T>() {
      if (found) return;
      if (const kernel<T>* k = reg.find<T>(names[i])) {
        found = true;
        for (const isa which : isa_variants_of(*k))
          expected_variants += (expected_variants.empty() ? "" : ",") + std::string(names[i]) +
                               "@" + std::string(isa_name(which));
      }
    });
    CHECK(variants == (expected_variants.empty() ? "-" : expected_variants));
    CHECK(text[i + 1].find(facts->stated_bound) != std::string::npos);
    CHECK(text[i + 1].find(facts->algorithm) != std::string::npos);
    CHECK(text[i + 1].find(facts->passes) != std::string::npos);
  }
  const std::string isa_line = text.back();
  CHECK(isa_line.rfind("isa: " + std::string(isa_name(active_isa())) + " ", 0) == 0);
  for (const isa which : available_isas())
    CHECK(isa_line.find(std::string(isa_name(which))) != std::string::npos);
}
