// tests/cli/test_npy.cpp: the .npy reader and writer (cli/npy.hpp) and the attention command's
// shapes and storage types (cli/attention_files.hpp), in process: every dtype and version,
// each malformed header named, each shape mismatch named.
#include <attention_files.hpp>
#include <npy.hpp>
#include <scores.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace softlab;
using namespace softlab::cli;

namespace {

constexpr npy::dtype every_dtype[] = {npy::dtype::float32, npy::dtype::float16, npy::dtype::float64,
                                      npy::dtype::uint16, npy::dtype::boolean};

/// An .npy file of version `major` with this header text (padded as numpy pads) and data.
std::string file_with_header(const std::string& dict, const std::string& data = {}, int major = 1) {
  std::string header = dict;
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  while ((8 + length_bytes + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file = "\x93NUMPY";
  file += static_cast<char>(major);
  file += '\0';
  for (std::size_t i = 0; i < length_bytes; ++i)
    file += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return file + header + data;
}

std::string f4_header(const std::string& shape) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
}

/// parse() throws an input_error whose message starts with the source and contains every
/// one of `mentions`.
void require_malformed(const std::string& file, const std::vector<std::string>& mentions) {
  try {
    npy::parse(file, "--q q.npy");
    FAIL("parsed without an error");
  } catch (const input_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.rfind("--q q.npy: ", 0) == 0);
    for (const std::string& m : mentions) CHECK(what.find(m) != std::string::npos);
  }
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const input_error& e) {
    return e.what();
  }
  FAIL("no error");
  return {};
}

npy::array shaped(npy::dtype type, std::vector<std::size_t> shape) {
  return npy::zeros(type, std::move(shape));
}

}  // namespace

// One test case, its parts as sections: each case of this executable is a process in CTest,
// and the process starts slowly (the peers' libraries load).
TEST_CASE("npy files and the attention command's shapes and storage types") {
  SECTION("npy: every dtype and version round-trips, headers as numpy writes them") {
    const std::vector<std::vector<std::size_t>> shapes{{}, {0}, {3}, {2, 3}, {1, 2, 3, 4}};
    for (const npy::dtype type : every_dtype)
      for (const auto& shape : shapes)
        for (const int major : {0, 1, 2, 3}) {
          INFO(npy::descr(type) << " " << npy::shape_text(shape) << " version " << major);
          npy::array a = npy::zeros(type, shape);
          for (std::size_t i = 0; i < a.bytes.size(); ++i)
            a.bytes[i] = type == npy::dtype::boolean ? (i % 2) : static_cast<unsigned char>(i * 37);
          const std::string file = npy::serialize(a, major);
          const std::size_t length_bytes = major >= 2 ? 4 : 2;
          CHECK(file[6] == char(major == 0 ? 1 : major));
          const std::size_t data_start = file.size() - a.bytes.size();
          CHECK(data_start % 64 == 0);  // numpy aligns the data
          CHECK(file[data_start - 1] == '\n');
          CHECK(file.substr(8 + length_bytes, 11) == "{'descr': '");
          const npy::array back = npy::parse(file, "test");
          CHECK(back.type == type);
          CHECK(back.shape == shape);
          CHECK(back.bytes == a.bytes);
        }
    // numpy.save(f, numpy.array([1.5, -2], dtype='<f4')), byte for byte.
    npy::array two = npy::zeros(npy::dtype::float32, {2});
    npy::set_float32(two, 0, 1.5f);
    npy::set_float32(two, 1, -2.0f);
    const std::string numpy_file =
        file_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                         std::string("\x00\x00\xc0\x3f\x00\x00\x00\xc0", 8));
    CHECK(npy::serialize(two) == numpy_file);
  }

  SECTION("npy: element values of each dtype") {
    npy::array f2 = npy::zeros(npy::dtype::float16, {2});
    npy::set_bits16(f2, 0, 0x3c00);  // 1
    npy::set_bits16(f2, 1, 0x0001);  // 2^-24, the smallest subnormal
    CHECK(f2.number_at(0) == 1.0);
    CHECK(f2.number_at(1) == std::ldexp(1.0, -24));
    CHECK(f2.bits_at(1) == 0x0001);
    const npy::array f8 =
        npy::parse(file_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                                    std::string("\x9a\x99\x99\x99\x99\x99\xb9\x3f", 8)),
                   "f8");
    CHECK(f8.number_at(0) == 0.1);
    const npy::array b1 =
        npy::parse(file_with_header("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
                                    std::string("\x01\x00", 2)),
                   "b1");
    CHECK(b1.number_at(0) == 1.0);
    CHECK(b1.number_at(1) == 0.0);
    // Other key orders and spacing, and no trailing comma, are the same dict.
    const npy::array reordered = npy::parse(
        file_with_header("{ 'shape':(1, 1),'fortran_order':False,\"descr\":'<u2'}", "\x80\x3f"),
        "u2");
    CHECK(reordered.type == npy::dtype::uint16);
    CHECK(reordered.shape == std::vector<std::size_t>{1, 1});
    CHECK(reordered.bits_at(0) == 0x3f80);
  }

  SECTION("npy: each malformed file is named, with what is wrong") {
    const std::string data(24, '\0');  // (2, 3) float32
    require_malformed("PK\x03\x04 not numpy", {"not an .npy file"});
    require_malformed(std::string("\x93NUMPY\x04\x00", 8) + "xx", {"version 4.0", "1.0, 2.0"});
    require_malformed(std::string("\x93NUMPY\x01\x01", 8) + "xx", {"version 1.1"});
    require_malformed(std::string("\x93NUMPY\x01", 7), {"truncated"});
    require_malformed(std::string("\x93NUMPY\x02\x00\x10\x00", 10), {"truncated"});
    require_malformed(file_with_header(f4_header("(2, 3)"), data).substr(0, 40),
                      {"truncated: the header is"});
    require_malformed(file_with_header(f4_header("(2, 3)"), data.substr(0, 20)),
                      {"truncated", "(2, 3)", "24 bytes", "has 20"});
    require_malformed(file_with_header(f4_header("(2, 3)"), data + "xyz"),
                      {"3 bytes after the data"});
    require_malformed(file_with_header("['descr', '<f4']", data), {"not a Python dict"});
    require_malformed(file_with_header("{'fortran_order': False, 'shape': (2, 3), }", data),
                      {"no 'descr'"});
    require_malformed(file_with_header("{'descr': '<f4', 'shape': (2, 3), }", data),
                      {"no 'fortran_order'"});
    require_malformed(file_with_header("{'descr': '<f4', 'fortran_order': False}", data),
                      {"no 'shape'"});
    require_malformed(
        file_with_header(
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data),
        {"'descr' appears twice"});
    require_malformed(
        file_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'align': False}", data),
        {"unknown key 'align'"});
    require_malformed(
        file_with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data),
        {"fortran_order is True", "Fortran", "not supported"});
    require_malformed(
        file_with_header("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", data),
        {"not True or False"});
    require_malformed(file_with_header(f4_header("(6)"), data), {"(6) is a number, not a tuple"});
    require_malformed(file_with_header(f4_header("[2, 3]"), data), {"shape is not a tuple"});
    require_malformed(file_with_header(f4_header("(2, -3)"), data), {"whole number"});
    require_malformed(file_with_header(f4_header("(2 3)"), data), {"expected ',' or ')'"});
    require_malformed(
        file_with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", data),
        {"dtype '<i4' is not supported", "<f4, <f2, <f8, <u2"});
    require_malformed(
        file_with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data),
        {"'>f4'", "big-endian"});
    require_malformed(
        file_with_header("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2, 3), }",
                         data),
        {"descr is not a string"});
    require_malformed(file_with_header(f4_header("(2, 3)") + " 7", data), {"more after its dict"});
    require_malformed(
        file_with_header("{'descr': '<f4', 'fortran_order': False 'shape': (2, 3)}", data),
        {"expected ',' or '}'"});
    require_malformed(
        file_with_header("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "\x01\x02"),
        {"element 1", "not 0 or 1"});
    CHECK_THROWS_WITH(npy::read("/nonexistent/q.npy", "--q /nonexistent/q.npy"),
                      Catch::StartsWith("--q /nonexistent/q.npy: cannot read"));
  }

  SECTION("attention files: shapes, grouped-query heads, masks, each mismatch named") {
    const npy_source qs{"--q", "q.npy"}, ks{"--k", "k.npy"}, vs{"--v", "v.npy"},
        ms{"--mask", "m.npy"};
    const auto f4 = npy::dtype::float32;
    const attention_shape s = attention_shape_of(
        shaped(f4, {2, 8, 5, 16}), shaped(f4, {2, 2, 7, 16}), shaped(f4, {2, 2, 7, 4}), qs, ks, vs);
    CHECK(s.q_heads == 16);
    CHECK(s.kv_heads == 4);
    CHECK(s.q_len == 5);
    CHECK(s.kv_len == 7);
    CHECK(s.d == 16);
    CHECK(s.d_v == 4);
    CHECK(s.output_shape() == std::vector<std::size_t>{2, 8, 5, 4});
    const attention_shape one =
        attention_shape_of(shaped(f4, {5, 3}), shaped(f4, {7, 3}), shaped(f4, {7, 2}), qs, ks, vs);
    CHECK(one.q_heads == 1);
    CHECK(checked_mask_size(shaped(npy::dtype::boolean, {5, 7}), one, ms) == 35);
    CHECK(checked_mask_size(shaped(f4, {2, 8, 5, 7}), s, ms) == 16 * 35);
    CHECK(checked_mask_size(shaped(f4, {1, 1, 5, 7}), s, ms) == 35);

    const auto shape_error = [&](std::vector<std::size_t> q, std::vector<std::size_t> k,
                                 std::vector<std::size_t> v) {
      return error_of([&] {
        attention_shape_of(shaped(f4, std::move(q)), shaped(f4, std::move(k)),
                           shaped(f4, std::move(v)), qs, ks, vs);
      });
    };
    CHECK(shape_error({4, 128}, {4, 64}, {4, 64}) == "--k k.npy: d is 64 but --q q.npy has d 128");
    CHECK_THAT(shape_error({4, 8}, {6, 8}, {5, 8}),
               Catch::Contains("--v v.npy: kv_len is 5 but --k k.npy has kv_len 6"));
    CHECK_THAT(shape_error({8}, {6, 8}, {6, 8}),
               Catch::Contains("--q q.npy: shape (8,) has 1 dimension"));
    CHECK_THAT(shape_error({2, 4, 8}, {6, 8}, {6, 8}),
               Catch::Contains("--k k.npy: shape (6, 8) has 2 dimensions but --q q.npy has 3"));
    CHECK_THAT(shape_error({6, 4, 8}, {4, 6, 8}, {4, 6, 8}),
               Catch::Contains("--k k.npy: 4 heads do not divide --q q.npy's 6"));
    CHECK_THAT(shape_error({2, 4, 4, 8}, {3, 4, 6, 8}, {3, 4, 6, 8}),
               Catch::Contains("--k k.npy: batch 3 but --q q.npy has batch 2"));
    CHECK_THAT(shape_error({4, 4, 8}, {2, 6, 8}, {1, 6, 8}),
               Catch::Contains("--v v.npy: shape (1, 6, 8) but --k k.npy has (2, 6, 8)"));
    CHECK_THAT(error_of([&] {
                 checked_mask_size(shaped(f4, {5, 6}), s, ms);
               }),
               Catch::Contains("--mask m.npy: shape (5, 6) does not end in (5, 7)"));
    CHECK_THAT(error_of([&] {
                 checked_mask_size(shaped(f4, {3, 5, 7}), s, ms);
               }),
               Catch::Contains("--mask m.npy: shape (3, 5, 7) is 3 masks"));
  }

  SECTION("attention files: the storage type from the dtypes, each value rounded once") {
    const std::vector<npy_source> sources{{"--q", "q.npy"}, {"--k", "k.npy"}, {"--v", "v.npy"}};
    const auto arrays = [](npy::dtype q, npy::dtype k, npy::dtype v) {
      return std::vector<npy::array>{shaped(q, {1, 1}), shaped(k, {1, 1}), shaped(v, {1, 1})};
    };
    using npy::dtype;
    std::vector<std::string> notes;
    CHECK(attention_storage_type("", arrays(dtype::float32, dtype::float32, dtype::float32),
                                 sources, notes) == "float");
    CHECK(notes.empty());
    CHECK(attention_storage_type("", arrays(dtype::float16, dtype::float16, dtype::float16),
                                 sources, notes) == "f16");
    CHECK(attention_storage_type("bf16", arrays(dtype::uint16, dtype::uint16, dtype::uint16),
                                 sources, notes) == "bf16");
    CHECK(notes.empty());
    CHECK(attention_storage_type("", arrays(dtype::float64, dtype::float32, dtype::float64),
                                 sources, notes) == "float");
    REQUIRE(notes.size() == 2);
    CHECK(notes[0] == "--q q.npy: float64 (<f8) values rounded once to float");
    CHECK(notes[1] == "--v v.npy: float64 (<f8) values rounded once to float");
    notes.clear();
    CHECK(attention_storage_type("f16", arrays(dtype::float32, dtype::float16, dtype::float16),
                                 sources, notes) == "f16");
    CHECK(notes == std::vector<std::string>{"--q q.npy: float32 (<f4) values rounded once to f16"});
    CHECK_THAT(error_of([&] {
                 attention_storage_type("", arrays(dtype::float32, dtype::float16, dtype::float32),
                                        sources, notes);
               }),
               Catch::Contains("--k k.npy is <f2 (f16) but --q q.npy is <f4 (float): give --type"));
    CHECK_THAT(error_of([&] {
                 attention_storage_type(
                     "float", arrays(dtype::uint16, dtype::uint16, dtype::uint16), sources, notes);
               }),
               Catch::Contains("--q q.npy: dtype <u2 holds bfloat16 bits"));
    CHECK_THAT(error_of([&] {
                 attention_storage_type("", arrays(dtype::uint16, dtype::uint16, dtype::uint16),
                                        sources, notes);
               }),
               Catch::Contains("--q q.npy: dtype <u2 holds bfloat16 bits, read only with --type "
                               "bf16 (no --type given)"));
    CHECK_THAT(error_of([&] {
                 attention_storage_type("double",
                                        arrays(dtype::float32, dtype::float32, dtype::float32),
                                        sources, notes);
               }),
               Catch::Contains("float, f16 or bf16"));
    CHECK_THAT(error_of([&] {
                 attention_storage_type("", arrays(dtype::float32, dtype::boolean, dtype::float32),
                                        sources, notes);
               }),
               Catch::Contains("--k k.npy: dtype |b1"));

    // <f8 rounded once to each type: through float, x would round twice (to a tie, then to 1).
    npy::array f8 = npy::zeros(dtype::float64, {1});
    const double x = 1 + 0x1p-8 + 0x1p-40;  // just above the tie between two bf16 neighbours
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
    for (std::size_t i = 0; i < 8; ++i) f8.bytes[i] = static_cast<unsigned char>(bits >> (8 * i));
    CHECK(values_as<float>(f8)[0] == float(x));
    CHECK(values_as<bfloat16>(f8)[0].bits() == bfloat16(x).bits());
    CHECK(double(values_as<bfloat16>(f8)[0]) == 1 + 0x1p-7);  // float(x) = 1 + 2^-8 would tie to 1
    npy::array u2 = npy::zeros(dtype::uint16, {1});
    npy::set_bits16(u2, 0, 0x7fc1);  // a NaN with a payload: the bits kept
    CHECK(values_as<bfloat16>(u2)[0].bits() == 0x7fc1);
    npy::array f2 = npy::zeros(dtype::float16, {1});
    npy::set_bits16(f2, 0, 0x0001);
    CHECK(values_as<float16>(f2)[0].bits() == 0x0001);
    CHECK(values_as<float>(f2)[0] == 0x1p-24f);

    attention_shape shape;
    shape.q_shape = {2, 1, 3};
    shape.d_v = 2;
    const npy::array o = output_array<bfloat16>(shape, std::vector<bfloat16>(4, bfloat16(1.0f)));
    CHECK(o.type == dtype::uint16);
    CHECK(o.shape == std::vector<std::size_t>{2, 1, 2});
    CHECK(o.bits_at(3) == 0x3f80);
  }
}
