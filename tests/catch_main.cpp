// Catch2's main, compiled once (softlab_test_main) and linked into every test executable: the
// main translation unit is the slowest to compile of Catch2 v2's single header.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
