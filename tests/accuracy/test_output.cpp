// tests/accuracy/test_output.cpp: the atomic writer and the text formats.
#include "support.hpp"

#include <softlab_accuracy/output.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

using namespace softlab::accuracy;
using softlab::accuracy_test::read_text;
using softlab::accuracy_test::temporary_directory;

namespace {

bool has_temporary_files(const std::filesystem::path& directory) {
  for (const auto& entry : std::filesystem::directory_iterator(directory))
    if (entry.path().extension() == ".tmp") return true;
  return false;
}

}  // namespace

TEST_CASE("write_file_atomically: the whole text, no .tmp left behind, replaces") {
  const temporary_directory dir("writer");
  const auto path = dir.path() / "out.csv";
  write_file_atomically(path, "a,b\n1,2\n");
  CHECK(read_text(path) == "a,b\n1,2\n");
  CHECK_FALSE(has_temporary_files(dir.path()));
  write_file_atomically(path, "replaced\n");
  CHECK(read_text(path) == "replaced\n");
  CHECK_FALSE(has_temporary_files(dir.path()));
}

TEST_CASE("write_file_atomically: an unwritable path is an error naming it, with nothing left") {
  const temporary_directory dir("unwritable");
  SECTION("a missing directory") {
    const auto path = dir.path() / "missing" / "out.json";
    REQUIRE_THROWS_AS(write_file_atomically(path, "{}"), write_error);
    try {
      write_file_atomically(path, "{}");
    } catch (const write_error& e) {
      CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(dir.path() / "missing"));
  }
  SECTION("a directory where the file should go: the rename fails, the .tmp is removed") {
    const auto path = dir.path() / "taken";
    std::filesystem::create_directories(path / "inside");
    CHECK_THROWS_AS(write_file_atomically(path, "{}"), write_error);
    CHECK_FALSE(has_temporary_files(dir.path()));
    CHECK(std::filesystem::is_directory(path));
  }
}

TEST_CASE("ensure_directory: creates parents, a regular file in the way is an error") {
  const temporary_directory dir("ensure");
  ensure_directory(dir.path() / "a" / "b");
  CHECK(std::filesystem::is_directory(dir.path() / "a" / "b"));
  write_file_atomically(dir.path() / "file", "x");
  CHECK_THROWS_AS(ensure_directory(dir.path() / "file"), write_error);
  CHECK_THROWS_AS(ensure_directory(dir.path() / "file" / "below"), write_error);
}

TEST_CASE("json_string and the CSV columns") {
  CHECK(json_string("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"");
  CHECK(json_string(std::string("\x01", 1)) == "\"\\u0001\"");
  CHECK(csv_columns.front() == "implementation");
  CHECK(csv_columns.back() == "seconds");
  cell_row row;
  CHECK(row_fields(row).size() == csv_columns.size());
  CHECK(format_metric(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(format_metric(std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(format_metric(0.5) == "0.5");
}
