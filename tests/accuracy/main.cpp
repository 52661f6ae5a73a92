// tests/accuracy/main.cpp: the Catch2 main of the accuracy tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
