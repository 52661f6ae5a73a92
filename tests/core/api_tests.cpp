// The range API over every implementation of the compile-time list: the overloads a consumer
// writes (std::vector, std::array, std::span), softmax_rows with and without strides, and
// pairwise_attention, each checked against the span entry point it must agree with bit for bit.
#include <softlab/softlab.hpp>
#include <softlab_reference/families.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace softlab;

template <class Impl>
void check_range_api() {
  const std::vector<float> x = reference::generate<float>(reference::family::uniform_1, 37, 11);
  std::vector<float> expected(x.size());
  softmax_span<Impl, float>(x, expected);

  std::vector<float> from_vector(x.size());
  softmax<Impl>(x, from_vector);
  CHECK(from_vector == expected);

  std::array<float, 4> a{0.05f, 0.25f, 0.15f, 0.45f}, b{};
  softmax<Impl>(a, b);
  softmax<Impl>(std::span<const float>(a), std::span<float>(a));  // in place, via spans
  CHECK(a == b);

  std::vector<float> logs(x.size());
  log_softmax<Impl>(x, logs);
  CHECK(logsumexp<Impl>(x) == logsumexp_span<Impl, float>(x));
}

template <class Impl>
void check_rows() {
  constexpr std::size_t rows = 5, cols = 19, stride = 24;
  std::vector<double> x = reference::generate<double>(reference::family::wide_80, rows * stride, 5);
  std::vector<double> y(rows * stride, -1.0);
  softmax_rows<Impl>(x, rows, cols, stride, y, stride);
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<double> row(cols);
    softmax_span<Impl, double>(std::span<const double>(x).subspan(r * stride, cols), row);
    for (std::size_t c = 0; c < cols; ++c) REQUIRE(y[r * stride + c] == row[c]);
    for (std::size_t c = cols; c < stride && r + 1 < rows; ++c) REQUIRE(y[r * stride + c] == -1.0);
  }
  std::vector<double> packed(rows * cols);
  softmax_rows<Impl>(std::span<const double>(x).first(rows * cols), rows, cols, packed);
  softmax_rows<Impl>(x, rows, cols, x);  // in place, same stride
  for (std::size_t i = 0; i < rows * cols; ++i) REQUIRE(x[i] == packed[i]);
  CHECK_THROWS_WITH(softmax_rows<Impl>(packed, rows + 1, cols, packed),
                    Catch::Matchers::Contains("x has 95 elements but 6 rows of 19"));
  CHECK_THROWS_AS(softmax_rows<Impl>(packed, rows, cols, cols - 1, packed, cols),
                  std::invalid_argument);
}

template <class Impl>
void check_attention() {
  const std::vector<float> keys{0.1f, 0.5f, 0.3f, 0.9f};
  std::vector<float> weights(4), expected(4);
  pairwise_attention<Impl>(0.5f, keys, weights);
  const std::vector<float> scores{0.5f * 0.1f, 0.5f * 0.5f, 0.5f * 0.3f, 0.5f * 0.9f};
  softmax_span<Impl, float>(scores, expected);
  CHECK(weights == expected);
  std::vector<float> wrong(3);
  CHECK_THROWS_WITH(pairwise_attention<Impl>(0.5f, keys, wrong),
                    "softlab::pairwise_attention: keys has 4 elements but weights has 3");
}

TEST_CASE("range API, rows and attention agree with the span entry points", "[api]") {
  for_each_implementation(builtin_implementations{}, [&]<class Impl>() {
    INFO("implementation " << Impl::facts.name);
    if constexpr (Impl::template supports<float>) check_range_api<Impl>();
    if constexpr (Impl::template supports<double>) check_rows<Impl>();
    if constexpr (Impl::template supports<float>) check_attention<Impl>();
  });
}

TEST_CASE("the registry lists every implementation of the compile-time list", "[api]") {
  const registry r = builtin_registry();
  std::size_t count = 0;
  for_each_implementation(builtin_implementations{}, [&]<class Impl>() {
    ++count;
    CHECK(r.find<float>(Impl::facts.name) != nullptr);
  });
  CHECK(r.names().size() == count);
  // The compiled implementations: float and double, and the 16-bit storage types through them.
  CHECK(r.types_of("xsimd") == std::vector<std::string_view>{"float", "double", "f16", "bf16"});
  CHECK(r.types_of("stable").size() == element_types::size);
  kernel<float> duplicate = *r.find<float>("stable");
  registry copy = r;
  CHECK_THROWS_AS(copy.add(duplicate), std::invalid_argument);
}

TEST_CASE("README shows the example the tests compile", "[api][readme]") {
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string readme = slurp(SOFTLAB_SOURCE_DIR "/README.md");
  const std::string example = slurp(SOFTLAB_SOURCE_DIR "/tests/core/readme_example.cpp");
  CHECK(readme.find(example) != std::string::npos);
}

}  // namespace
