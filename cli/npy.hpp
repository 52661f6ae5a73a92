// cli/npy.hpp: NumPy's .npy files, what numpy.save and PyTorch users dump, read and written
// for the `softlab attention` command (Debian has no small npy library; xtensor's pulls in all
// of xtensor).
//
// The format (numpy/lib/format.py, NEP 1): the magic "\x93NUMPY", a major and minor version
// byte (1.0, 2.0 or 3.0), the header's length (2 bytes little-endian for 1.0, 4 for 2.0 and
// 3.0), then the header, a Python dict literal ending in '\n' (3.0: UTF-8), then the data,
// C order. The header is parsed strictly: the keys 'descr', 'fortran_order' and 'shape', each
// once and no other; descr one of the dtypes below; fortran_order False (a Fortran-ordered
// array is an error naming it); shape a tuple of whole numbers ((3,) for one dimension).
// The data must be exactly the shape's size: a truncated file and bytes after the data are
// errors. Every error is a cli::input_error "<source>: <what is wrong>".
//
// The dtypes, little-endian: <f4 (float32), <f2 (float16), <f8 (float64), <u2 (the tool reads
// uint16 as bfloat16's bits: numpy has no bfloat16, and torch's bf16 tensors are saved as
// t.view(torch.uint16) or .numpy() of an int16/uint16 view), |b1 (bool, one byte 0 or 1).
//
// Writing: version 1.0 unless the header does not fit in 65535 bytes (then 2.0), the header
// spelt as numpy spells it, padded with spaces to a multiple of 64 bytes, as numpy does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace softlab::cli::npy {

enum class dtype { float32, float16, float64, uint16, boolean };

/// numpy's descr: "<f4", "<f2", "<f8", "<u2", "|b1".
std::string_view descr(dtype type);
/// numpy's name: "float32", "float16", "float64", "uint16", "bool".
std::string_view dtype_name(dtype type);
/// Bytes per element.
std::size_t item_size(dtype type);

/// An array as the file holds it: its elements' bytes, little-endian, C order.
struct array {
  dtype type = dtype::float32;
  std::vector<std::size_t> shape;
  std::vector<unsigned char> bytes;

  /// The product of the shape (1 for a 0-d array).
  std::size_t size() const;
  /// Element i as a number: float32, float16, float64 exactly, bool 0 or 1; uint16 its integer.
  double number_at(std::size_t i) const;
  /// The 16 bits of element i of a float16 or uint16 array.
  std::uint16_t bits_at(std::size_t i) const;
};

/// An array of `type` and `shape`, every element zero.
array zeros(dtype type, std::vector<std::size_t> shape);
/// Element i of a float32 array set to v.
void set_float32(array& a, std::size_t i, float v);
/// Element i of a float16 or uint16 array set to these bits.
void set_bits16(array& a, std::size_t i, std::uint16_t bits);

/// A shape as Python prints a tuple: "()", "(3,)", "(2, 3)".
std::string shape_text(const std::vector<std::size_t>& shape);

/// The array in an .npy file's bytes; input_error "<source>: ..." naming what is wrong.
array parse(std::string_view file, std::string_view source);
/// Reads the file at path, then parse.
array read(const std::string& path, std::string_view source);

/// The .npy file of a: version `major` (1, 2 or 3; 0: 1.0 unless the header needs 2.0).
std::string serialize(const array& a, int major = 0);
/// Writes serialize(a) to path; input_error "<source>: cannot write ..." on failure.
void write(const std::string& path, const array& a, std::string_view source);

}  // namespace softlab::cli::npy
