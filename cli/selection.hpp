// cli/selection.hpp: the --type and --impl options, resolved against the types and the registry.
#pragma once

#include "scores.hpp"

#include <softlab/registry.hpp>
#include <softlab/types.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace softlab::cli {

/// "a, b, c".
std::string join(const std::vector<std::string_view>& items, std::string_view separator = ", ");

/// Every type token, in element_types order.
std::vector<std::string_view> type_tokens();

/// Calls f.template operator()<T>() for the element type whose token is `token`; input_error
/// listing the valid tokens if there is none.
template <class F>
void with_type(std::string_view token, F&& f) {
  bool found = false;
  for_each_type(element_types{}, [&]<class T>() {
    if (!found && token == type_token_v<T>) {
      found = true;
      f.template operator()<T>();
    }
  });
  if (!found)
    throw input_error("unknown type \"" + std::string(token) + "\"; valid: " + join(type_tokens()));
}

/// The registry's kernel `name` for T; input_error if the name is unknown (listing the
/// registry's names) or the implementation does not support T (listing the types it does).
template <class T>
const kernel<T>& require_kernel(const registry& reg, std::string_view name) {
  if (const kernel<T>* k = reg.find<T>(name)) return *k;
  const std::vector<std::string_view> types = reg.types_of(name);
  if (types.empty())
    throw input_error("unknown implementation \"" + std::string(name) +
                      "\"; valid: " + join(reg.names()));
  throw input_error("implementation \"" + std::string(name) + "\" does not support type \"" +
                    std::string(type_token_v<T>) + "\"; it supports: " + join(types));
}

/// input_error unless format_value<T> can print in format.
template <class T>
void require_format(number_format format) {
  if (!supports_format<T>(format))
    throw input_error("--format hex is not available for type \"" + std::string(type_token_v<T>) +
                      "\" (printf's %a knows float, double and long-double, and fp16sim and "
                      "bf16sim, whose values are doubles); use --format dec");
}

}  // namespace softlab::cli
