// tests/cli/test_scores.cpp: the shared parsing and printing (cli/scores.hpp), in process.
#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

using namespace softlab;
using softlab::cli::number_format;
using softlab::cli::parse_value;

TEST_CASE("scores: tokens, their indices and positions") {
  const auto tokens = cli::tokenize("  1,2\n\n,  abc\t-inf,\r\n0x1p-3");
  REQUIRE(tokens.size() == 5);
  CHECK(tokens[0].text == "1");
  CHECK((tokens[0].index == 1 && tokens[0].line == 1 && tokens[0].column == 3));
  CHECK((tokens[1].text == "2" && tokens[1].column == 5));
  CHECK((tokens[2].text == "abc" && tokens[2].index == 3 && tokens[2].line == 3 &&
         tokens[2].column == 4));
  CHECK((tokens[3].text == "-inf" && tokens[3].column == 8));
  CHECK((tokens[4].text == "0x1p-3" && tokens[4].line == 4 && tokens[4].column == 1));
  CHECK(cli::describe(tokens[2]) == "token 3 (\"abc\") at line 3, column 4");
  CHECK(cli::describe(tokens[2], "--keys") == "token 3 (\"abc\") at line 3, column 4 of --keys");
}

TEST_CASE("scores: special values and hexfloats for every type") {
  for_each_type(element_types{}, [&]<class T>() {
    INFO(type_token_v<T>);
    using std::isnan;
    for (const char* s : {"inf", "+inf", "INF", "Infinity", "+Inf"})
      CHECK(*parse_value<T>(s) == std::numeric_limits<T>::infinity());
    for (const char* s : {"-inf", "-INF", "-infinity"})
      CHECK(*parse_value<T>(s) == -std::numeric_limits<T>::infinity());
    for (const char* s : {"nan", "NaN", "-nan", "NAN"}) CHECK(isnan(*parse_value<T>(s)));
    CHECK(*parse_value<T>("0x1p-3") == T(0.125));
    CHECK(*parse_value<T>("-0X1.8P1") == T(-3));
    CHECK(*parse_value<T>("0x.8") == T(0.5));
    CHECK(*parse_value<T>("+2.5e1") == T(25));
    CHECK(*parse_value<T>(".5") == T(0.5));
    CHECK(*parse_value<T>("5.") == T(5));
    for (const char* s : {"", "-", "1e", "0x", "0x1p", "1.2.3", "abc", "1 2", "infi", "nan(1)"})
      CHECK(!parse_value<T>(s).has_value());
  });
}

TEST_CASE("scores: parsing rounds once, to the type") {
  CHECK(*parse_value<float>("0.1") == 0.1f);
  CHECK(*parse_value<double>("0.1") == 0.1);
  CHECK(*parse_value<long double>("0.1") == 0.1L);
  // Just above the midpoint of 1 and 1 + 2^-23: via double it would round to 1.
  CHECK(*parse_value<float>("1.0000000596046447753906250000001") == 1.00000012f);
  // Beyond the range: IEEE rounding to infinity, to a subnormal, to zero.
  CHECK(*parse_value<float>("1e39") == std::numeric_limits<float>::infinity());
  CHECK(*parse_value<float>("-1e39") == -std::numeric_limits<float>::infinity());
  CHECK(*parse_value<float>("1e-40") == 1e-40f);
  CHECK(*parse_value<float>("1e-50") == 0.0f);
  CHECK(*parse_value<double>("0x1p-1074") == std::numeric_limits<double>::denorm_min());
  CHECK(*parse_value<double>("0x1p-1080") == 0.0);
  CHECK(std::signbit(*parse_value<double>("-0")));
  // The multiprecision types: beyond double's precision and range.
  CHECK(*parse_value<bin50>("0x1p-2000") == ldexp(bin50(1), -2000));
  CHECK(*parse_value<bin50>("0x1.00000000000000000000000000001p0") == 1 + ldexp(bin50(1), -116));
  CHECK(*parse_value<bin100>("1e-400") == bin100("1e-400"));
  CHECK(*parse_value<bin50>("1e99999999999999999999") == std::numeric_limits<bin50>::infinity());
  CHECK(*parse_value<bin50>("1e-99999999999999999999") == 0);
  CHECK(*parse_value<bin50>("0x1p99999999999999") == std::numeric_limits<bin50>::infinity());
  CHECK(signbit(*parse_value<bin50>("-0")));
}

TEST_CASE("scores: formats") {
  const auto dec = number_format::dec;
  const auto hex = number_format::hex;
  CHECK(cli::format_value(0.1f, dec) == "0.1");
  CHECK(cli::format_value(0.1, dec) == "0.1");
  CHECK(cli::format_value(0.1L, dec) == "0.1");
  CHECK(cli::format_value(bin50(1) / 4, dec) == "0.25");
  CHECK(cli::format_value(bin50(1) / 3, dec).size() ==
        2 + std::numeric_limits<bin50>::max_digits10);
  CHECK(cli::format_value(0.5, hex) == "0x1p-1");
  CHECK(cli::format_value(0.0, hex) == "0x0p+0");
  CHECK(cli::format_value(0.1f, hex) == "0x1.99999ap-4");
  CHECK(cli::format_value(0.5L, hex) == "0x8p-4");
  CHECK(cli::format_value(-std::numeric_limits<double>::quiet_NaN(), dec) == "nan");
  CHECK(cli::format_value(-std::numeric_limits<float>::quiet_NaN(), hex) == "nan");
  CHECK(cli::format_value(-std::numeric_limits<bin100>::quiet_NaN(), dec) == "nan");
  CHECK(cli::format_value(-std::numeric_limits<long double>::infinity(), hex) == "-inf");
  CHECK(cli::format_value(std::numeric_limits<bin50>::infinity(), dec) == "inf");
  CHECK_THROWS_AS(cli::format_value(bin50(1), hex), std::invalid_argument);
}

TEST_CASE("scores: dec output reads back to the same value") {
  std::mt19937_64 random(20240601);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int i = 0; i < 2000; ++i) {
    const double d = std::ldexp(unit(random), static_cast<int>(random() % 200) - 100);
    const long double l = static_cast<long double>(d) * (1 + 1e-18L * unit(random));
    CHECK(*parse_value<float>(cli::format_value(static_cast<float>(d), number_format::dec)) ==
          static_cast<float>(d));
    CHECK(*parse_value<double>(cli::format_value(d, number_format::dec)) == d);
    CHECK(*parse_value<long double>(cli::format_value(l, number_format::dec)) == l);
    CHECK(*parse_value<long double>(cli::format_value(l, number_format::hex)) == l);
    CHECK(*parse_value<double>(cli::format_value(d, number_format::hex)) == d);
    if (i % 20 == 0) {
      const bin100 b = bin100(d) / 3;
      CHECK(*parse_value<bin100>(cli::format_value(b, number_format::dec)) == b);
    }
  }
}

TEST_CASE("scores: the simulated formats parse once from the exact value and print shortest") {
  // 1 + 2^-11 is the binary16 midpoint of 1 and 1 + 2^-10 (1 + 2^-8: bfloat16's, of 1 and
  // 1 + 2^-7). Just above it, the nearest double is the midpoint itself, which would round to
  // even (1); the exact value rounds up.
  CHECK(*parse_value<fp16sim>("1.00048828125") == fp16sim(1.0));
  CHECK(*parse_value<fp16sim>("1.00048828125000001") == fp16sim(1.0009765625));
  CHECK(*parse_value<fp16sim>("1.00048828124999999") == fp16sim(1.0));
  CHECK(*parse_value<fp16sim>("-1.00048828125000001") == fp16sim(-1.0009765625));
  CHECK(*parse_value<fp16sim>("0x1.002000000000000001p0") == fp16sim(1.0009765625));
  CHECK(*parse_value<bf16sim>("1.00390625000000001") == bf16sim(1.0078125));
  CHECK(*parse_value<bf16sim>("1.00390625") == bf16sim(1.0));
  // The range: 65504 is binary16's largest, 65520 its midpoint with 2^16 (-> inf); 2^-24 the
  // smallest subnormal, 2^-25 half of it (-> 0, ties to even), just above it -> 2^-24.
  CHECK(*parse_value<fp16sim>("65519.99") == fp16sim(65504.0));
  CHECK(*parse_value<fp16sim>("65520") == std::numeric_limits<fp16sim>::infinity());
  CHECK(*parse_value<fp16sim>("0x1p-25") == fp16sim(0.0));
  CHECK(*parse_value<fp16sim>("0x1.000001p-25") == std::numeric_limits<fp16sim>::denorm_min());
  CHECK(*parse_value<bf16sim>("1e39") == std::numeric_limits<bf16sim>::infinity());
  CHECK(*parse_value<bf16sim>("1e-40") == bf16sim(1e-40));
  CHECK(*parse_value<bf16sim>("1e-400") == bf16sim(0.0));
  CHECK(signbit(*parse_value<fp16sim>("-0")));
  // dec: the shortest decimal that reads back; hex: %a of the value (a double).
  const auto dec = number_format::dec;
  CHECK(cli::format_value(fp16sim(0.1), dec) == "0.1");
  CHECK(cli::format_value(fp16sim(65504.0), dec) == "6.55e+04");
  CHECK(cli::format_value(fp16sim(1.0009765625), dec) == "1.001");
  CHECK(cli::format_value(bf16sim(0.1), dec) == "0.1");
  CHECK(cli::format_value(fp16sim(-0.5), number_format::hex) == "-0x1p-1");
  CHECK(cli::format_value(fp16sim(0.1), number_format::hex) == "0x1.998p-4");
  // Every finite value of both formats reads back from its dec and hex forms.
  for_each_type(type_list<fp16sim, bf16sim>{}, [&]<class T>() {
    INFO(type_token_v<T>);
    std::size_t wrong = 0;
    for (T v = std::numeric_limits<T>::denorm_min(); v <= std::numeric_limits<T>::max();) {
      for (const T w : {v, T(-v)})
        for (const auto format : {dec, number_format::hex})
          if (!(*parse_value<T>(cli::format_value(w, format)) == w)) ++wrong;
      // the next value up: v + the spacing at v, 2^(e - p) for v in [2^(e-1), 2^e), floored
      // at the subnormal spacing
      int e = 0;
      (void)frexp(v, &e);
      v += std::max(std::numeric_limits<T>::denorm_min(),
                    T(ldexp(T(1), e - std::numeric_limits<T>::digits)));
    }
    CHECK(wrong == 0);
  });
}
