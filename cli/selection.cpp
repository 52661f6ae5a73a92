// cli/selection.cpp
#include "selection.hpp"

namespace softlab::cli {

std::string join(const std::vector<std::string_view>& items, std::string_view separator) {
  std::string result;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) result += separator;
    result += items[i];
  }
  return result;
}

std::vector<std::string_view> type_tokens() {
  std::vector<std::string_view> result;
  for_each_type(element_types{}, [&]<class T>() { result.push_back(type_token_v<T>); });
  return result;
}

}  // namespace softlab::cli
