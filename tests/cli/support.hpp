// tests/cli/support.hpp: helpers shared by the tests of the `softlab` tool.
#pragma once

#include "process.hpp"

#include <scores.hpp>
#include <softlab/softlab.hpp>
#ifdef SOFTLAB_WITH_PEERS
#include <softlab_peers/peers.hpp>
#endif

#include <catch2/catch.hpp>

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace softlab::cli_test {

/// The registry the tool builds: the builtin implementations, and the peers when built.
inline registry tool_registry() {
  registry reg = builtin_registry();
#ifdef SOFTLAB_WITH_PEERS
  peers::register_peers(reg);
#endif
  return reg;
}

/// Calls f(kernel, type token) for every registered kernel that meets the contract (every
/// implementation but the naive baseline), for every type it supports; names come from the
/// registry, never from a list here.
template <class F>
void for_each_contract_kernel(F&& f) {
  const registry reg = builtin_registry();
  for_each_type(element_types{}, [&]<class T>() {
    for (const kernel<T>& k : reg.kernels<T>())
      if (k.facts.meets_contract) f(k, std::string(type_token_v<T>));
  });
}

/// The library's own softmax of x through kernel k, each weight as format_value prints it.
template <class T>
std::vector<std::string> library_weights(const kernel<T>& k, const std::vector<T>& x,
                                         cli::number_format format) {
  std::vector<T> y(x.size());
  k.softmax(x, y);
  std::vector<std::string> result;
  for (const T& v : y) result.push_back(cli::format_value(v, format));
  return result;
}

/// Bad input: status 2, nothing on stdout, exactly one line on stderr starting "softlab: " and
/// containing every one of `mentions`.
inline void require_rejected(const run_result& r, const std::vector<std::string>& mentions) {
  INFO("stdout: " << r.out);
  INFO("stderr: " << r.err);
  REQUIRE(r.status == 2);
  REQUIRE(r.out.empty());
  REQUIRE(lines(r.err).size() == 1);
  REQUIRE(r.err.rfind("softlab: ", 0) == 0);
  for (const std::string& m : mentions) REQUIRE(r.err.find(m) != std::string::npos);
}

}  // namespace softlab::cli_test
