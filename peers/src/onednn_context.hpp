// peers/src/onednn_context.hpp: what both oneDNN peers (the softmax, onednn_peer.cpp, and the
// attention composition, onednn_attention.cpp) share: the library's version for their origin,
// one CPU engine and stream per thread, and oneDNN's data type of each element type.
#pragma once

#include <softlab/storage.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <type_traits>

#define SOFTLAB_STRINGIFY_(x) #x
#define SOFTLAB_STRINGIFY(x) SOFTLAB_STRINGIFY_(x)
#define SOFTLAB_DNNL_VERSION            \
  SOFTLAB_STRINGIFY(DNNL_VERSION_MAJOR) \
  "." SOFTLAB_STRINGIFY(DNNL_VERSION_MINOR) "." SOFTLAB_STRINGIFY(DNNL_VERSION_PATCH)

namespace softlab::peers::detail {

/// One thread's engine and stream.
struct onednn_context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

/// The calling thread's, made on its first call (onednn_peer.cpp). A thread_local cache of
/// primitives calls this before it is first touched, so that the context is made first and
/// destroyed last: primitives must not outlive their engine.
onednn_context& this_thread_onednn_context();

/// oneDNN's data type of T (the peers' types: float, bfloat16).
template <class T>
constexpr dnnl::memory::data_type data_type_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, bfloat16>);
  if constexpr (std::is_same_v<T, float>)
    return dnnl::memory::data_type::f32;
  else
    return dnnl::memory::data_type::bf16;
}

}  // namespace softlab::peers::detail
