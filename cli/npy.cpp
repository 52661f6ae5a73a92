// cli/npy.cpp: the .npy reader and writer (see npy.hpp).
#include "npy.hpp"

#include "scores.hpp"

#include <softlab/storage.hpp>

#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

namespace softlab::cli::npy {

namespace {

constexpr std::string_view magic = "\x93NUMPY";
constexpr std::size_t alignment = 64;  // numpy pads the header so the data starts aligned

std::uint64_t load_le(const unsigned char* p, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v |= std::uint64_t(p[i]) << (8 * i);
  return v;
}

void store_le(unsigned char* p, std::uint64_t v, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

std::optional<dtype> dtype_of(std::string_view text) {
  for (const dtype t :
       {dtype::float32, dtype::float16, dtype::float64, dtype::uint16, dtype::boolean})
    if (text == descr(t)) return t;
  return std::nullopt;
}

/// Python's repr of a short string for messages: printable ASCII kept, the rest escaped.
std::string python_repr(std::string_view text) {
  std::string result = "'";
  for (const char c : text.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\' && c != '\'') {
      result += c;
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", u);
      result += escaped;
    }
  }
  return result + (text.size() > 40 ? "...'" : "'");
}

/// The header dict, parsed strictly: a Python dict literal of string keys whose values are
/// strings, True/False or tuples of whole numbers (what numpy writes), then only whitespace.
class header_parser {
 public:
  header_parser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  struct fields {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<std::size_t>> shape;
  };

  fields parse() {
    fields f;
    skip_space();
    expect('{', "the header is not a Python dict (it does not start with '{')");
    skip_space();
    while (!at('}')) {
      const std::string key = string_literal("a key");
      skip_space();
      expect(':', "expected ':' after the key " + python_repr(key));
      skip_space();
      if (key == "descr") {
        if (f.descr) fail("the key 'descr' appears twice");
        if (!at('\'') && !at('"'))
          fail("descr is not a string (a structured dtype?); the tool reads " + supported());
        f.descr = string_literal("descr");
      } else if (key == "fortran_order") {
        if (f.fortran_order) fail("the key 'fortran_order' appears twice");
        f.fortran_order = boolean_literal();
      } else if (key == "shape") {
        if (f.shape) fail("the key 'shape' appears twice");
        f.shape = shape_tuple();
      } else {
        fail("unknown key " + python_repr(key) +
             " (an .npy header has descr, fortran_order, shape)");
      }
      skip_space();
      if (at(',')) {
        ++pos_;
        skip_space();
      } else if (!at('}')) {
        fail("expected ',' or '}' " + where());
      }
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) fail("the header has more after its dict " + where());
    if (!f.descr) fail("the header has no 'descr'");
    if (!f.fortran_order) fail("the header has no 'fortran_order'");
    if (!f.shape) fail("the header has no 'shape'");
    return f;
  }

  static std::string supported() { return "<f4, <f2, <f8, <u2 (bfloat16 bits) and |b1"; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw input_error(std::string(source_) + ": malformed .npy header: " + what);
  }
  std::string where() const {
    return pos_ < text_.size() ? "at byte " + std::to_string(pos_) + " of the header (" +
                                     python_repr(text_.substr(pos_, 12)) + ")"
                               : "at the end of the header";
  }
  bool at(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  void expect(char c, const std::string& what) {
    if (!at(c)) fail(what);
    ++pos_;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\t' || text_[pos_] == '\r'))
      ++pos_;
  }
  std::string string_literal(const std::string& what) {
    if (!at('\'') && !at('"')) fail("expected a quoted string for " + what + " " + where());
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail("the string for " + what + " is not closed");
    const std::string_view value = text_.substr(pos_, end - pos_);
    if (value.find('\\') != std::string_view::npos || value.find('\n') != std::string_view::npos)
      fail("the string for " + what + " has an escape or a line break");
    pos_ = end + 1;
    return std::string(value);
  }
  bool boolean_literal() {
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}})
      if (text_.substr(pos_, std::strlen(word)) == word) {
        pos_ += std::strlen(word);
        return value;
      }
    fail("fortran_order is not True or False " + where());
  }
  std::vector<std::size_t> shape_tuple() {
    expect('(', "shape is not a tuple " + where());
    std::vector<std::size_t> shape;
    bool comma_after_last = false;
    skip_space();
    while (!at(')')) {
      if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9')
        fail("shape has something other than a whole number " + where());
      std::size_t n = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        const std::size_t digit = std::size_t(text_[pos_++] - '0');
        if (n > (std::numeric_limits<std::size_t>::max() - digit) / 10)
          fail("a dimension of shape is too large");
        n = n * 10 + digit;
      }
      // numpy writes 3L on Python 2's longs; nothing writes that now.
      shape.push_back(n);
      skip_space();
      comma_after_last = at(',');
      if (comma_after_last) {
        ++pos_;
        skip_space();
      } else if (!at(')')) {
        fail("expected ',' or ')' in shape " + where());
      }
    }
    ++pos_;
    // (3) is the number 3 in Python, not a tuple: a one-dimensional shape is (3,).
    if (shape.size() == 1 && !comma_after_last)
      fail("shape (" + std::to_string(shape[0]) + ") is a number, not a tuple (write (" +
           std::to_string(shape[0]) + ",))");
    return shape;
  }

  std::string_view text_;
  std::string_view source_;
  std::size_t pos_ = 0;
};

/// The product of shape, or nullopt when it overflows size_t.
std::optional<std::size_t> checked_size(const std::vector<std::size_t>& shape, std::size_t item) {
  std::size_t n = item;
  for (const std::size_t d : shape) {
    if (d != 0 && n > std::numeric_limits<std::size_t>::max() / d) return std::nullopt;
    n *= d;
  }
  return n;
}

}  // namespace

std::string_view descr(dtype type) {
  switch (type) {
    case dtype::float32:
      return "<f4";
    case dtype::float16:
      return "<f2";
    case dtype::float64:
      return "<f8";
    case dtype::uint16:
      return "<u2";
    case dtype::boolean:
      return "|b1";
  }
  return "?";
}

std::string_view dtype_name(dtype type) {
  switch (type) {
    case dtype::float32:
      return "float32";
    case dtype::float16:
      return "float16";
    case dtype::float64:
      return "float64";
    case dtype::uint16:
      return "uint16";
    case dtype::boolean:
      return "bool";
  }
  return "?";
}

std::size_t item_size(dtype type) {
  switch (type) {
    case dtype::float32:
      return 4;
    case dtype::float16:
    case dtype::uint16:
      return 2;
    case dtype::float64:
      return 8;
    case dtype::boolean:
      return 1;
  }
  return 1;
}

std::size_t array::size() const {
  std::size_t n = 1;
  for (const std::size_t d : shape) n *= d;
  return n;
}

double array::number_at(std::size_t i) const {
  const unsigned char* p = bytes.data() + i * item_size(type);
  switch (type) {
    case dtype::float32:
      return double(std::bit_cast<float>(std::uint32_t(load_le(p, 4))));
    case dtype::float64:
      return std::bit_cast<double>(load_le(p, 8));
    case dtype::float16:
      return float16::from_bits(std::uint16_t(load_le(p, 2))).value();
    case dtype::uint16:
      return double(load_le(p, 2));
    case dtype::boolean:
      return p[0] != 0 ? 1 : 0;
  }
  return 0;
}

std::uint16_t array::bits_at(std::size_t i) const {
  return std::uint16_t(load_le(bytes.data() + i * 2, 2));
}

array zeros(dtype type, std::vector<std::size_t> shape) {
  array a{type, std::move(shape), {}};
  a.bytes.assign(a.size() * item_size(type), 0);
  return a;
}

void set_float32(array& a, std::size_t i, float v) {
  store_le(a.bytes.data() + i * 4, std::bit_cast<std::uint32_t>(v), 4);
}

void set_bits16(array& a, std::size_t i, std::uint16_t bits) {
  store_le(a.bytes.data() + i * 2, bits, 2);
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i)
    text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

array parse(std::string_view file, std::string_view source) {
  const std::string name(source);
  if (file.substr(0, magic.size()) != magic)
    throw input_error(name + ": not an .npy file (it does not start with \\x93NUMPY)");
  if (file.size() < magic.size() + 2)
    throw input_error(name + ": truncated: " + std::to_string(file.size()) +
                      " bytes, shorter than an .npy header");
  const auto major = static_cast<unsigned char>(file[6]);
  const auto minor = static_cast<unsigned char>(file[7]);
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    throw input_error(name + ": .npy format version " + std::to_string(major) + "." +
                      std::to_string(minor) + " is not supported (1.0, 2.0 and 3.0 are)");
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  const std::size_t prefix = magic.size() + 2 + length_bytes;
  if (file.size() < prefix)
    throw input_error(name + ": truncated: " + std::to_string(file.size()) +
                      " bytes, shorter than an .npy header");
  const auto* u = reinterpret_cast<const unsigned char*>(file.data());
  const std::size_t header_length = load_le(u + magic.size() + 2, length_bytes);
  if (file.size() - prefix < header_length)
    throw input_error(name + ": truncated: the header is " + std::to_string(header_length) +
                      " bytes but only " + std::to_string(file.size() - prefix) + " follow");
  const header_parser::fields f = header_parser(file.substr(prefix, header_length), source).parse();
  const std::optional<dtype> type = dtype_of(*f.descr);
  if (!type) {
    const std::string d = *f.descr;
    const bool big = !d.empty() && d[0] == '>';
    throw input_error(name + ": dtype " + python_repr(d) + " is not supported" +
                      (big ? " (big-endian)" : "") + "; the tool reads " +
                      header_parser::supported());
  }
  if (*f.fortran_order)
    throw input_error(name +
                      ": fortran_order is True: Fortran-ordered (column-major) arrays are not "
                      "supported; save numpy.ascontiguousarray(a) instead");
  const std::optional<std::size_t> data_size = checked_size(*f.shape, item_size(*type));
  if (!data_size)
    throw input_error(name + ": malformed .npy header: shape " + shape_text(*f.shape) +
                      " is too large");
  const std::size_t data_start = prefix + header_length;
  const std::size_t present = file.size() - data_start;
  const std::string what = "shape " + shape_text(*f.shape) + " of " + std::string(*f.descr) +
                           " is " + std::to_string(*data_size) + " bytes of data";
  if (present < *data_size)
    throw input_error(name + ": truncated: " + what + ", the file has " + std::to_string(present));
  if (present > *data_size)
    throw input_error(name + ": " + std::to_string(present - *data_size) +
                      " bytes after the data (" + what + ")");
  array a{*type, *f.shape, {}};
  a.bytes.assign(u + data_start, u + file.size());
  if (*type == dtype::boolean)
    for (std::size_t i = 0; i < a.bytes.size(); ++i)
      if (a.bytes[i] > 1)
        throw input_error(name + ": element " + std::to_string(i) + " of a bool array is " +
                          std::to_string(a.bytes[i]) + ", not 0 or 1");
  return a;
}

array read(const std::string& path, std::string_view source) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(std::string(source) + ": cannot read: " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw input_error(std::string(source) + ": cannot read: " + std::strerror(errno));
  const std::string file = bytes.str();
  return parse(file, source);
}

std::string serialize(const array& a, int major) {
  std::string dict = "{'descr': '" + std::string(descr(a.type)) +
                     "', 'fortran_order': False, 'shape': " + shape_text(a.shape) + ", }";
  const auto padded = [&](std::size_t length_bytes) {
    const std::size_t unpadded = magic.size() + 2 + length_bytes + dict.size() + 1;
    return dict.size() + 1 + (alignment - unpadded % alignment) % alignment;
  };
  if (major == 0) major = padded(2) <= 0xffff ? 1 : 2;
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  const std::size_t header_length = padded(length_bytes);
  std::string file(magic);
  file += static_cast<char>(major);
  file += '\0';
  unsigned char length[4];
  store_le(length, header_length, length_bytes);
  file.append(reinterpret_cast<const char*>(length), length_bytes);
  file += dict;
  file.append(header_length - dict.size() - 1, ' ');
  file += '\n';
  file.append(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size());
  return file;
}

void write(const std::string& path, const array& a, std::string_view source) {
  const std::string file = serialize(a);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw input_error(std::string(source) + ": cannot write: " + std::strerror(errno));
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
  out.close();
  if (!out) throw input_error(std::string(source) + ": cannot write: " + std::strerror(errno));
}

}  // namespace softlab::cli::npy
