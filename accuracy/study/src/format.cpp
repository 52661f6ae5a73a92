// format.cpp: the one instantiation of format_value for every element type (extern in format.hpp).
// GCC 12 at -O3 reports a -Wrestrict false positive inside libstdc++'s string copy once
// Boost.Multiprecision's cpp_int::str is inlined here; the
// pragma precedes the includes because the warning's location is in those headers (GCC bug
// 105651); only this translation unit, only that warning.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <softlab_accuracy/format.hpp>

namespace softlab::accuracy {

#define SOFTLAB_ACCURACY_FORMAT(T) template std::string format_value<T>(const T&, value_format);
SOFTLAB_FOR_EACH_ELEMENT_TYPE(SOFTLAB_ACCURACY_FORMAT)
#undef SOFTLAB_ACCURACY_FORMAT

}  // namespace softlab::accuracy
