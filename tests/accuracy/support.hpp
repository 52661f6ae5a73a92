// tests/accuracy/support.hpp: helpers shared by the accuracy tests.
#pragma once

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace softlab::accuracy_test {

/// A fresh empty directory under the system's temporary directory, removed on destruction.
class temporary_directory {
 public:
  explicit temporary_directory(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("softlab-accuracy-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temporary_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temporary_directory(const temporary_directory&) = delete;
  temporary_directory& operator=(const temporary_directory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// True if `path` is valid JSON: python3 -m json.tool when there is a python3, else a check
/// that braces and brackets balance outside strings.
inline bool valid_json(const std::filesystem::path& path) {
  for (const char* python : {"/usr/bin/python3", "/usr/local/bin/python3"})
    if (std::filesystem::exists(python)) {
      const std::string command =
          std::string(python) + " -m json.tool '" + path.string() + "' > /dev/null 2>&1";
      return std::system(command.c_str()) == 0;
    }
  const std::string text = read_text(path);
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    if (depth < 0) return false;
  }
  return depth == 0 && !in_string;
}

}  // namespace softlab::accuracy_test
