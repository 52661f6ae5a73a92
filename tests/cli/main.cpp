// tests/cli/main.cpp: the Catch2 main of the `softlab` tool's tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
