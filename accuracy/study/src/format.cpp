// format.cpp: the one instantiation of format_value for every element type (extern in format.hpp).
#include <softlab_accuracy/format.hpp>

namespace softlab::accuracy {

#define SOFTLAB_ACCURACY_FORMAT(T) template std::string format_value<T>(const T&, value_format);
SOFTLAB_FOR_EACH_ELEMENT_TYPE(SOFTLAB_ACCURACY_FORMAT)
#undef SOFTLAB_ACCURACY_FORMAT

}  // namespace softlab::accuracy
